import Foundation

/// Writes LoRA adapters in Hugging Face PEFT's layout (SPEC.md §3) so `PeftModel.from_pretrained` loads
/// them: `adapter_config.json` + `adapter_model.safetensors` with keys
/// `base_model.model.model.layers.{i}.{self_attn|mlp}.{module}.lora_{A|B}.weight`, shapes [r, in] / [out, r].
///
/// GGUF llama files store q/k rows permuted for interleaved RoPE (llama.cpp `convert_hf_to_gguf.py`
/// `permute()`); Tailor trains in that order, so lora_B rows of q_proj and k_proj are mapped back to
/// Hugging Face's rotate-half order on export (and forward again on import).
public enum PEFTAdapter {
    /// GGUF row index → Hugging Face row index for a q/k projection with `heads` heads of `headDim`.
    /// GGUF row h·D + 2i + j holds HF row h·D + j·D/2 + i (i < D/2, j ∈ {0, 1}).
    public static func hfRow(ofGGUFRow row: Int, headDim D: Int) -> Int {
        let h = row / D, w = row % D
        let i = w / 2, j = w % 2
        return h * D + j * (D / 2) + i
    }

    static func permutesRows(_ t: LoRATarget, config: ModelConfig) -> Bool {
        config.ropeAdjacentPairs && (t == .qProj || t == .kProj)
    }

    public static func key(layer: Int, target: LoRATarget, matrix: String) -> String {
        "base_model.model.model.layers.\(layer).\(target.peftModule).lora_\(matrix).weight"
    }

    /// B in Hugging Face row order.
    public static func exportB(_ b: Matrix, target: LoRATarget, config: ModelConfig) -> [Float] {
        var out = b.toArray()
        guard permutesRows(target, config: config) else { return out }
        let r = b.cols
        for row in 0..<b.rows {
            let hr = hfRow(ofGGUFRow: row, headDim: config.headDim)
            for c in 0..<r { out[hr * r + c] = b[row, c] }
        }
        return out
    }

    /// Writes the adapter directory (created if needed), each file atomically.
    public static func write(
        model: LlamaModel, to dir: URL, baseModelName: String, extraMetadata: [String: String] = [:]
    ) throws {
        var st = SafetensorsWriter()
        for (k, v) in extraMetadata { st.metadata[k] = v }
        for a in model.adapters {
            st.add(key(layer: a.layer, target: a.target, matrix: "A"), shape: [a.lora.rank, a.lora.inFeatures], floats: a.lora.a.toArray())
            st.add(key(layer: a.layer, target: a.target, matrix: "B"), shape: [a.lora.outFeatures, a.lora.rank],
                   floats: exportB(a.lora.b, target: a.target, config: model.config))
        }
        let s = model.lora
        let allLayers = Set(s.layers).count == model.config.layerCount
        let config: [String: Any] = [
            "peft_type": "LORA",
            "task_type": "CAUSAL_LM",
            "r": s.rank,
            "lora_alpha": Double(s.alpha),
            "lora_dropout": Double(s.dropout),
            "target_modules": s.targets.map(\.rawValue).sorted(),
            "bias": "none",
            "use_rslora": s.useRSLoRA,
            "use_dora": false,
            "fan_in_fan_out": false,
            "base_model_name_or_path": baseModelName,
            "inference_mode": true,
            "modules_to_save": NSNull(),
            "layers_to_transform": allLayers ? NSNull() : s.layers.sorted() as Any,
            "init_lora_weights": true,
            "revision": NSNull(),
        ]
        let json = try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys])
        try st.write(to: dir.appendingPathComponent("adapter_model.safetensors"))
        try AtomicFile.write(json, to: dir.appendingPathComponent("adapter_config.json"))
    }
}
