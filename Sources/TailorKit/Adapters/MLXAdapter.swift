import Foundation

/// mlx-lm's LoRA adapter layout (mlx-lm `tuner/utils.py` `load_adapters`, `tuner/lora.py` `LoRALinear`):
///
/// - `adapter_config.json`: `fine_tune_type: "lora"`, `num_layers` (mlx-lm adapts the **last** N blocks),
///   `lora_parameters: {rank, scale, dropout, keys}` with keys such as `self_attn.q_proj`;
/// - `adapters.safetensors`: `model.layers.{i}.{self_attn|mlp}.{module}.lora_a` [in, r] and `.lora_b` [r, out].
///
/// mlx-lm computes `y = x W0ᵀ + scale · (x lora_a) lora_b`, so `lora_a = Aᵀ`, `lora_b = Bᵀ` and `scale` is
/// the whole factor: alpha / r, or alpha / √r for rsLoRA (SPEC.md §3). mlx-lm runs Hugging Face
/// checkpoints, so q/k rows are in Hugging Face order (as in PEFT files).
public enum MLXAdapter {
    public static let configFile = "adapter_config.json"
    public static let weightsFile = "adapters.safetensors"

    public static func key(layer: Int, target: LoRATarget, matrix: String) -> String {
        "model.layers.\(layer).\(target.peftModule).lora_\(matrix)"
    }

    /// Writes `adapter` as an mlx-lm adapter directory (created if needed), each file atomically.
    ///
    /// `num_layers` reaches down to the lowest adapted block; blocks in that range without an adapter get
    /// zero `lora_a` and `lora_b` (no effect), so mlx-lm's "last N blocks" covers any block list exactly.
    public static func write(
        _ adapter: LoRAAdapter, config: ModelConfig, to dir: URL, type: AdapterFloatType = .f32
    ) throws {
        let s = adapter.settings
        guard let lowest = s.layers.min() else {
            throw AdapterError.cannotWrite(path: dir.path, reason: "the adapter has no layers")
        }
        var byBlock: [Int: [LoRATarget: AdapterWeights]] = [:]
        for w in adapter.weights { byBlock[w.layer, default: [:]][w.target] = w }
        var st = SafetensorsWriter()
        st.metadata = ["format": "mlx"]
        for l in lowest..<config.layerCount {
            for t in s.targets {
                let (inF, outF) = config.loraDimensions(of: t)
                let r = s.rank
                var a = [Float](repeating: 0, count: inF * r)  // [in, r] = Aᵀ
                var b = [Float](repeating: 0, count: r * outF)  // [r, out] = Bᵀ
                if let w = byBlock[l]?[t] {
                    let bHF = PEFTAdapter.hfOrderB(w.b, rank: r, target: t, config: config)
                    for i in 0..<r {
                        for j in 0..<inF { a[j * r + i] = w.a[i * inF + j] }
                        for o in 0..<outF { b[i * outF + o] = bHF[o * r + i] }
                    }
                }
                st.add(
                    key(layer: l, target: t, matrix: "a"), dtype: type.safetensorsDType, shape: [inF, r],
                    bytes: Data(type.bytes(a)))
                st.add(
                    key(layer: l, target: t, matrix: "b"), dtype: type.safetensorsDType, shape: [r, outF],
                    bytes: Data(type.bytes(b)))
            }
        }
        let json: [String: Any] = [
            "fine_tune_type": "lora",
            "num_layers": config.layerCount - lowest,
            "lora_parameters": [
                "rank": s.rank,
                "scale": s.useRSLoRA ? Double(s.alpha) / Double(s.rank).squareRoot() : Double(s.alpha) / Double(s.rank),
                "dropout": Double(s.dropout),
                "keys": s.targets.sorted().map(\.peftModule),
            ] as [String: Any],
            "model": adapter.baseModel,
        ]
        try st.write(to: dir.appendingPathComponent(weightsFile))
        let data = try JSONSerialization.data(
            withJSONObject: json, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        try AtomicFile.write(data, to: dir.appendingPathComponent(configFile))
    }
}
