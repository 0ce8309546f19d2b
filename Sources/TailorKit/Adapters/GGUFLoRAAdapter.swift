import Foundation

extension LoRATarget {
    /// The base tensor's name in a llama GGUF block (`blk.{i}.{name}.weight`; llama.cpp `LLM_TENSOR_*`).
    public var ggufName: String {
        switch self {
        case .qProj: "attn_q"
        case .kProj: "attn_k"
        case .vProj: "attn_v"
        case .oProj: "attn_output"
        case .gateProj: "ffn_gate"
        case .upProj: "ffn_up"
        case .downProj: "ffn_down"
        }
    }
}

/// llama.cpp's LoRA adapter GGUF, as its `convert_lora_to_gguf.py` writes it and `llama-adapter.cpp`
/// loads it (`llama-cli --lora`, llama-cpp-python `Llama(lora_path=)`):
///
/// - metadata `general.architecture` (must equal the base's), `general.type = "adapter"`,
///   `adapter.type = "lora"`, `adapter.lora.alpha` (float32);
/// - tensors `blk.{i}.attn_q.weight.lora_a` with PyTorch shape [r, in] (GGUF dims `[in, r]`) and
///   `.lora_b` [out, r] (GGUF dims `[r, out]`), F32 or F16.
///
/// llama.cpp scales by `alpha / r` with r read from lora_b, so an rsLoRA adapter (alpha / √r) is written
/// with alpha·√r. The base GGUF's q/k rows are in interleaved-RoPE order and so is Tailor's B: it is
/// written as is (the converter permutes PEFT's B rows the same way it permutes the base weights).
public enum GGUFLoRAAdapter {
    public static func tensorName(layer: Int, target: LoRATarget, matrix: String) -> String {
        "blk.\(layer).\(target.ggufName).weight.lora_\(matrix)"
    }

    /// The `adapter.lora.alpha` that makes llama.cpp's alpha / r equal the adapter's scale.
    public static func llamaCppAlpha(_ s: LoRASettings) -> Float {
        s.useRSLoRA ? s.alpha * Float(s.rank).squareRoot() : s.alpha
    }

    /// The GGUF file's contents for `adapter` on a base with `config`.
    public static func gguf(_ adapter: LoRAAdapter, config: ModelConfig, type: AdapterFloatType = .f32) -> GGUFWriter {
        var w = GGUFWriter()
        w.set("general.architecture", .string(config.architecture))
        w.set("general.type", .string("adapter"))
        let name = adapter.baseModel.isEmpty ? config.name : adapter.baseModel
        w.set("general.name", .string(URL(fileURLWithPath: name).deletingPathExtension().lastPathComponent + " LoRA"))
        // llama_ftype: 0 = ALL_F32, 1 = MOSTLY_F16.
        w.set("general.file_type", .uint32(type == .f32 ? 0 : 1))
        w.set("general.quantization_version", .uint32(2))
        w.set("adapter.type", .string("lora"))
        w.set("adapter.lora.alpha", .float32(llamaCppAlpha(adapter.settings)))
        for a in adapter.weights {
            let (inF, outF) = config.loraDimensions(of: a.target)
            w.add(
                tensorName(layer: a.layer, target: a.target, matrix: "a"), type: type.ggmlType, shape: [a.rank, inF],
                data: type.bytes(a.a))
            w.add(
                tensorName(layer: a.layer, target: a.target, matrix: "b"), type: type.ggmlType, shape: [outF, a.rank],
                data: type.bytes(a.b))
        }
        return w
    }

    /// Writes `adapter` as a llama.cpp LoRA GGUF at `url` (atomically).
    public static func write(
        _ adapter: LoRAAdapter, config: ModelConfig, to url: URL, type: AdapterFloatType = .f32
    ) throws {
        try gguf(adapter, config: config, type: type).write(to: url)
    }
}
