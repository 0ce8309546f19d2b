import Foundation

/// Hugging Face PEFT's LoRA layout (SPEC.md §3), the format Tailor trains into and reads back:
/// `adapter_config.json` + `adapter_model.safetensors` with keys
/// `base_model.model.model.layers.{i}.{self_attn|mlp}.{module}.lora_{A|B}.weight`, shapes [r, in] / [out, r].
/// `PeftModel.from_pretrained` loads what `write` produces (scripts/verify/peft_logits.py checks it).
///
/// GGUF llama files store q/k rows permuted for interleaved RoPE (llama.cpp `convert_hf_to_gguf.py`
/// `permute()`); Tailor trains in that order, so lora_B rows of q_proj and k_proj are mapped back to
/// Hugging Face's rotate-half order on export (and forward again on import).
public enum PEFTAdapter {
    public static let configFile = "adapter_config.json"
    public static let weightsFile = "adapter_model.safetensors"

    /// GGUF row index → Hugging Face row index for a q/k projection with `heads` heads of `headDim`.
    /// GGUF row h·D + 2i + j holds HF row h·D + j·D/2 + i (i < D/2, j ∈ {0, 1}).
    public static func hfRow(ofGGUFRow row: Int, headDim D: Int) -> Int {
        let h = row / D
        let w = row % D
        let i = w / 2
        let j = w % 2
        return h * D + j * (D / 2) + i
    }

    static func permutesRows(_ t: LoRATarget, config: ModelConfig) -> Bool {
        config.ropeAdjacentPairs && (t == .qProj || t == .kProj)
    }

    public static func key(layer: Int, target: LoRATarget, matrix: String) -> String {
        "base_model.model.model.layers.\(layer).\(target.peftModule).lora_\(matrix).weight"
    }

    /// B [out, r] (GGUF row order) in Hugging Face row order.
    public static func exportB(_ b: Matrix, target: LoRATarget, config: ModelConfig) -> [Float] {
        hfOrderB(b.toArray(), rank: b.cols, target: target, config: config)
    }

    /// B [out, r] with its rows moved from GGUF to Hugging Face order (q/k of RoPE-permuted GGUF bases only).
    public static func hfOrderB(_ b: [Float], rank r: Int, target: LoRATarget, config: ModelConfig) -> [Float] {
        guard permutesRows(target, config: config) else { return b }
        var out = b
        for row in 0..<b.count / r {
            let hr = hfRow(ofGGUFRow: row, headDim: config.headDim)
            for c in 0..<r { out[hr * r + c] = b[row * r + c] }
        }
        return out
    }

    /// B [out, r] with its rows moved from Hugging Face to GGUF order (the inverse of `hfOrderB`).
    public static func ggufOrderB(_ b: [Float], rank r: Int, target: LoRATarget, config: ModelConfig) -> [Float] {
        guard permutesRows(target, config: config) else { return b }
        var out = b
        for row in 0..<b.count / r {
            let src = hfRow(ofGGUFRow: row, headDim: config.headDim)
            for c in 0..<r { out[row * r + c] = b[src * r + c] }
        }
        return out
    }

    /// Writes a model's adapters as a PEFT directory (created if needed), each file atomically. The tensors
    /// are streamed from the live A and B buffers (B's q/k rows gathered into Hugging Face order on the
    /// way): saving costs no copy of the adapter.
    public static func write(
        model: LlamaModel, to dir: URL, baseModelName: String, extraMetadata: [String: String] = [:]
    ) throws {
        var st = SafetensorsWriter()
        for (k, v) in extraMetadata { st.metadata[k] = v }
        for a in model.adapters {
            let l = a.lora
            st.add(key(layer: a.layer, target: a.target, matrix: "A"), shape: [l.rank, l.inFeatures], values: l.a.data, count: l.a.count)
            st.add(
                key(layer: a.layer, target: a.target, matrix: "B"), shape: [l.outFeatures, l.rank], rowsOf: l.b.data, cols: l.rank,
                order: hfRowOrder(rows: l.outFeatures, target: a.target, config: model.config))
        }
        try st.write(to: dir.appendingPathComponent(weightsFile))
        try AtomicFile.write(
            try configJSON(LoRAAdapter.settings(of: model), baseModel: baseModelName, layerCount: model.config.layerCount),
            to: dir.appendingPathComponent(configFile))
    }

    /// Writes `adapter` as a PEFT directory for a base with `config` (created if needed), each file atomically.
    public static func write(
        _ adapter: LoRAAdapter, config: ModelConfig, to dir: URL, extraMetadata: [String: String] = [:]
    ) throws {
        var st = SafetensorsWriter()
        for (k, v) in extraMetadata { st.metadata[k] = v }
        for w in adapter.weights {
            let (inF, outF) = config.loraDimensions(of: w.target)
            st.add(key(layer: w.layer, target: w.target, matrix: "A"), shape: [w.rank, inF], floats: w.a)
            st.add(
                key(layer: w.layer, target: w.target, matrix: "B"), shape: [outF, w.rank],
                floats: hfOrderB(w.b, rank: w.rank, target: w.target, config: config))
        }
        try st.write(to: dir.appendingPathComponent(weightsFile))
        try AtomicFile.write(
            try configJSON(adapter.settings, baseModel: adapter.baseModel, layerCount: config.layerCount),
            to: dir.appendingPathComponent(configFile))
    }

    /// For each Hugging Face row of a B [rows, r], the GGUF row that holds it (identity unless q/k rows of
    /// a RoPE-permuted GGUF base).
    static func hfRowOrder(rows: Int, target: LoRATarget, config: ModelConfig) -> [Int] {
        guard permutesRows(target, config: config) else { return Array(0..<rows) }
        var order = [Int](repeating: 0, count: rows)
        for row in 0..<rows { order[hfRow(ofGGUFRow: row, headDim: config.headDim)] = row }
        return order
    }

    /// `adapter_config.json` with the fields PEFT's `LoraConfig` reads (PEFT 0.21; SPEC.md §3).
    /// `layers_to_transform` is null when every block is adapted, else the block list.
    static func configJSON(_ s: LoRASettings, baseModel: String, layerCount: Int) throws -> Data {
        let allLayers = Set(s.layers) == Set(0..<layerCount)
        let config: [String: Any] = [
            "peft_type": "LORA",
            "task_type": "CAUSAL_LM",
            "r": s.rank,
            "lora_alpha": Double(s.alpha),
            "lora_dropout": Double(s.dropout),
            "target_modules": s.targets.sorted().map(\.rawValue),
            "bias": "none",
            "use_rslora": s.useRSLoRA,
            "use_dora": false,
            "fan_in_fan_out": false,
            "base_model_name_or_path": baseModel,
            "inference_mode": true,
            "modules_to_save": NSNull(),
            "layers_to_transform": allLayers ? NSNull() : s.layers.sorted() as Any,
            "layers_pattern": NSNull(),
            "rank_pattern": [String: Any](),
            "alpha_pattern": [String: Any](),
            "init_lora_weights": true,
            "revision": NSNull(),
        ]
        return try JSONSerialization.data(
            withJSONObject: config, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    }
}
