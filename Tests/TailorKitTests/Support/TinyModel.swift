import Foundation

@testable import TailorKit

/// A tiny random Llama in an in-memory GGUF, for finite-difference tests of the full backward:
/// 2 blocks, hidden 32, 4 query heads / 2 KV heads of dim 8 (GQA), ffn 64, vocab 40. Linears are F32 except
/// v and down, which are Q8_0 so a quantized frozen path is exercised too.
func tinyModelWeights(seed: UInt64 = 3, layers: Int = 2, vocab: Int = 40) throws -> LlamaWeights {
    try LlamaWeights(file: GGUFFile(bytes: tinyModelGGUF(seed: seed, layers: layers, vocab: vocab), path: "tiny.gguf"))
}

/// The tiny model's GGUF file bytes.
func tinyModelGGUF(seed: UInt64 = 3, layers: Int = 2, vocab: Int = 40) throws -> [UInt8] {
    var rng = TestRNG(seed: seed)
    let d = 32, heads = 4, kv = 2, hd = 8, F = 64, V = vocab
    var w = GGUFWriter()
    w.set("general.architecture", .string("llama"))
    w.set("llama.embedding_length", .uint32(UInt32(d)))
    w.set("llama.block_count", .uint32(UInt32(layers)))
    w.set("llama.feed_forward_length", .uint32(UInt32(F)))
    w.set("llama.attention.head_count", .uint32(UInt32(heads)))
    w.set("llama.attention.head_count_kv", .uint32(UInt32(kv)))
    w.set("llama.attention.layer_norm_rms_epsilon", .float32(1e-5))
    w.set("llama.rope.freq_base", .float32(10000))
    w.set("llama.context_length", .uint32(64))
    func rand(_ n: Int, _ s: Float) -> [Float] { (0..<n).map { _ in rng.normal() * s } }
    func q8(_ values: [Float]) -> [UInt8] {
        var out: [UInt8] = []
        for b in 0..<(values.count / 32) {
            let block = values[(32 * b)..<(32 * b + 32)]
            let amax = block.map(abs).max() ?? 0
            let dScale = Float(Float16(amax / 127))
            withUnsafeBytes(of: Float16(dScale).bitPattern.littleEndian) { out.append(contentsOf: $0) }
            for v in block { out.append(UInt8(bitPattern: Int8(dScale == 0 ? 0 : max(-127, min(127, (v / dScale).rounded()))))) }
        }
        return out
    }
    w.add("token_embd.weight", shape: [V, d], floats: rand(V * d, 0.5))
    w.add("output_norm.weight", shape: [d], floats: (0..<d).map { _ in 1 + 0.2 * rng.normal() })
    for l in 0..<layers {
        let p = "blk.\(l)."
        w.add(p + "attn_norm.weight", shape: [d], floats: (0..<d).map { _ in 1 + 0.2 * rng.normal() })
        w.add(p + "ffn_norm.weight", shape: [d], floats: (0..<d).map { _ in 1 + 0.2 * rng.normal() })
        w.add(p + "attn_q.weight", shape: [heads * hd, d], floats: rand(heads * hd * d, 0.4))
        w.add(p + "attn_k.weight", shape: [kv * hd, d], floats: rand(kv * hd * d, 0.4))
        w.add(p + "attn_v.weight", type: .q8_0, shape: [kv * hd, d], data: q8(rand(kv * hd * d, 0.4)))
        w.add(p + "attn_output.weight", shape: [d, heads * hd], floats: rand(d * heads * hd, 0.4))
        w.add(p + "ffn_gate.weight", shape: [F, d], floats: rand(F * d, 0.4))
        w.add(p + "ffn_up.weight", shape: [F, d], floats: rand(F * d, 0.4))
        w.add(p + "ffn_down.weight", type: .q8_0, shape: [d, F], data: q8(rand(d * F, 0.3)))
    }
    return try w.bytes()
}
