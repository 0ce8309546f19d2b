import Foundation

/// One adapted projection: A [r, in] and B [out, r], row-major, B's rows in the GGUF order Tailor
/// computes in (q/k rows interleaved for RoPE; see `PEFTAdapter.hfRow(ofGGUFRow:headDim:)`).
public struct AdapterWeights: Sendable, Equatable {
    public let layer: Int
    public let target: LoRATarget
    public let rank: Int
    /// s in y = x W0ᵀ + s (x Aᵀ) Bᵀ.
    public let scale: Float
    public let a: [Float]
    public let b: [Float]

    public init(layer: Int, target: LoRATarget, rank: Int, scale: Float, a: [Float], b: [Float]) {
        self.layer = layer
        self.target = target
        self.rank = rank
        self.scale = scale
        self.a = a
        self.b = b
    }
}

/// A LoRA adapter apart from any file format: its settings and its weights (SPEC.md §2, §3). Readers
/// (`PEFTAdapter.load`) produce it checked against a base model; writers (PEFT, mlx-lm, llama.cpp GGUF)
/// take it, so every format is written from the same numbers.
public struct LoRAAdapter: Sendable {
    /// Rank, alpha, dropout, targets and layers (`layers` ascending, `targets` in `LoRATarget` order).
    public var settings: LoRASettings
    /// The base model as the adapter names it (PEFT `base_model_name_or_path`); informational.
    public var baseModel: String
    /// One entry per (layer, target) of `settings`, block-major, `LoRATarget` order within a block.
    public var weights: [AdapterWeights]

    public init(settings: LoRASettings, baseModel: String, weights: [AdapterWeights]) {
        self.settings = settings
        self.baseModel = baseModel
        self.weights = weights
    }

    /// The adapter a model is training (copies of its A and B).
    public init(model: LlamaModel, baseModel: String) {
        settings = Self.settings(of: model)
        self.baseModel = baseModel
        weights = model.adapters.map { a in
            AdapterWeights(
                layer: a.layer, target: a.target, rank: a.lora.rank, scale: a.lora.scale, a: a.lora.a.toArray(),
                b: a.lora.b.toArray())
        }
    }

    /// A model's LoRA settings with `layers` ascending and `targets` in `LoRATarget` order.
    static func settings(of model: LlamaModel) -> LoRASettings {
        var settings = model.lora
        settings.layers = settings.layers.sorted()
        settings.targets = settings.targets.sorted()
        return settings
    }

    /// s = alpha / r, or alpha / √r with rsLoRA (SPEC.md §2).
    public var scale: Float { Self.scale(alpha: settings.alpha, rank: settings.rank, rsLoRA: settings.useRSLoRA) }

    static func scale(alpha: Float, rank: Int, rsLoRA: Bool) -> Float {
        rsLoRA ? alpha / Float(rank).squareRoot() : alpha / Float(rank)
    }
}

extension ModelConfig {
    /// (in, out) features of a block's projection: the shapes A [r, in] and B [out, r] must have.
    public func loraDimensions(of target: LoRATarget) -> (inFeatures: Int, outFeatures: Int) {
        switch target {
        case .qProj: (hiddenSize, qDim)
        case .kProj, .vProj: (hiddenSize, kvDim)
        case .oProj: (qDim, hiddenSize)
        case .gateProj, .upProj: (hiddenSize, intermediateSize)
        case .downProj: (intermediateSize, hiddenSize)
        }
    }
}
