import CKernels
import Foundation

/// The frozen weights of one Llama block (SPEC.md §1), quantized linears kept in the GGUF mapping.
public struct LlamaLayerWeights: @unchecked Sendable {
    public let attnNorm: [Float]   // [d]
    public let q, k, v, o: FrozenLinear  // [qDim, d], [kvDim, d], [kvDim, d], [d, qDim]
    public let ffnNorm: [Float]    // [d]
    public let gate, up, down: FrozenLinear  // [F, d], [F, d], [d, F]
}

/// A frozen Llama-family model read from a GGUF file. Linear weights stay memory-mapped in their
/// quantized blocks; norms (tiny) are dequantized to Float32 once.
public final class LlamaWeights: @unchecked Sendable {
    public let file: GGUFFile
    public let config: ModelConfig
    public let tokenEmbedding: FrozenLinear  // [vocab, d]
    public let outputNorm: [Float]           // [d]
    public let lmHead: FrozenLinear          // [vocab, d]; the embedding when tied
    public let layers: [LlamaLayerWeights]

    public convenience init(path: String) throws {
        try self.init(file: GGUFFile(path: path))
    }

    public init(file: GGUFFile) throws {
        self.file = file
        let c = try ModelConfig(gguf: file)
        config = c
        let d = c.hiddenSize
        func linear(_ name: String, out: Int, in n: Int) throws -> FrozenLinear {
            let t = try file.requireTensor(name, shape: [out, n])
            guard t.type.isSupported else {
                throw GGUFError.unsupportedType(path: file.path, tensor: name, type: t.type.name)
            }
            return FrozenLinear(name: name, type: t.type, outFeatures: out, inFeatures: n, weights: file.data(of: t))
        }
        func vector(_ name: String, count: Int) throws -> [Float] {
            let t = try file.requireTensor(name, shape: [count])
            guard t.type.isSupported else {
                throw GGUFError.unsupportedType(path: file.path, tensor: name, type: t.type.name)
            }
            var out = [Float](repeating: 0, count: count)
            out.withUnsafeMutableBufferPointer { buf in
                if let p = buf.baseAddress {
                    tk_dequantize_row(Int32(t.type.rawValue), file.data(of: t), p, Int64(count), TK_ISA_BEST.rawValue)
                }
            }
            return out
        }
        tokenEmbedding = try linear("token_embd.weight", out: c.vocabSize, in: d)
        outputNorm = try vector("output_norm.weight", count: d)
        lmHead = c.tiedEmbeddings ? tokenEmbedding : try linear("output.weight", out: c.vocabSize, in: d)
        layers = try (0..<c.layerCount).map { i in
            let p = "blk.\(i)."
            return LlamaLayerWeights(
                attnNorm: try vector(p + "attn_norm.weight", count: d),
                q: try linear(p + "attn_q.weight", out: c.qDim, in: d),
                k: try linear(p + "attn_k.weight", out: c.kvDim, in: d),
                v: try linear(p + "attn_v.weight", out: c.kvDim, in: d),
                o: try linear(p + "attn_output.weight", out: d, in: c.qDim),
                ffnNorm: try vector(p + "ffn_norm.weight", count: d),
                gate: try linear(p + "ffn_gate.weight", out: c.intermediateSize, in: d),
                up: try linear(p + "ffn_up.weight", out: c.intermediateSize, in: d),
                down: try linear(p + "ffn_down.weight", out: d, in: c.intermediateSize))
        }
    }

    /// Writes the embedding rows of `tokens` into x [T, d].
    public func embed(_ tokens: UnsafeBufferPointer<Int32>, into x: UnsafeMutablePointer<Float>) {
        let d = config.hiddenSize
        let e = tokenEmbedding
        for (t, id) in tokens.enumerated() {
            tk_dequantize_row(Int32(e.type.rawValue), e.weights + Int(id) * e.rowBytes, x + t * d, Int64(d), TK_ISA_BEST.rawValue)
        }
    }

    /// Bytes of all tensors as stored (what stays mapped).
    public var storedBytes: Int { file.tensors.reduce(0) { $0 + $1.byteCount } }
    public var parameterCount: Int { file.tensors.reduce(0) { $0 + $1.elementCount } }
}
