import Foundation

/// Timings of one generation, in milliseconds.
public struct GenerationTimings: Sendable, Codable {
    public var promptTokens = 0
    public var promptMs = 0.0
    public var generatedTokens = 0
    public var generateMs = 0.0

    enum CodingKeys: String, CodingKey {
        case promptTokens = "prompt_tokens", promptMs = "prompt_ms"
        case generatedTokens = "generated_tokens", generateMs = "generate_ms"
    }

    public var promptTokensPerSecond: Double { promptMs > 0 ? Double(promptTokens) / promptMs * 1000 : 0 }
    public var generateTokensPerSecond: Double { generateMs > 0 ? Double(generatedTokens) / generateMs * 1000 : 0 }
}

/// Why generation stopped.
public enum StopReason: String, Sendable, Codable {
    case endOfGeneration = "eos", maxTokens = "length", contextFull = "context"
}

/// Autoregressive generation over a `LlamaInference` session.
public struct Generator {
    public let model: LlamaInference
    public let tokenizer: Tokenizer

    public init(model: LlamaInference, tokenizer: Tokenizer) {
        self.model = model
        self.tokenizer = tokenizer
    }

    /// Generates up to `maxTokens` after `prompt`; `onToken` receives each id as it is chosen.
    public func generate(
        prompt: [Int32], maxTokens: Int, sampler: inout Sampler, ignoreEOS: Bool = false,
        onToken: (Int32) -> Void
    ) throws -> (tokens: [Int32], stop: StopReason, timings: GenerationTimings) {
        var timings = GenerationTimings()
        model.reset()
        let t0 = DispatchTime.now()
        var logits = try model.forward(prompt)
        timings.promptTokens = prompt.count
        timings.promptMs = Double(DispatchTime.now().uptimeNanoseconds - t0.uptimeNanoseconds) / 1e6
        let stopIds = tokenizer.endOfGenerationIds
        var out: [Int32] = []
        var stop = StopReason.maxTokens
        let t1 = DispatchTime.now()
        while out.count < maxTokens {
            let next = sampler.sample(logits)
            if !ignoreEOS && stopIds.contains(next) {
                stop = .endOfGeneration
                break
            }
            out.append(next)
            onToken(next)
            if out.count == maxTokens { break }
            if model.cache.length >= model.cache.capacity {
                stop = .contextFull
                break
            }
            logits = try model.forward([next])
        }
        timings.generatedTokens = out.count
        timings.generateMs = Double(DispatchTime.now().uptimeNanoseconds - t1.uptimeNanoseconds) / 1e6
        return (out, stop, timings)
    }
}
