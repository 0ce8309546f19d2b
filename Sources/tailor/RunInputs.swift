import ArgumentParser
import Foundation
import TailorKit
import TailorRuns

/// What `train` and `plan` both load: the resolved config, the model, its tokenizer and the data.
struct RunInputs {
    let config: TrainingConfig
    let weights: LlamaWeights
    let tokenizer: Tokenizer
    let train: [TokenizedExample]
    let valid: [TokenizedExample]

    /// Parses `--set key=value` assignments.
    static func overrides(_ assignments: [String]) throws -> [String: String] {
        var o: [String: String] = [:]
        for s in assignments {
            guard let eq = s.firstIndex(of: "="), eq != s.startIndex else {
                throw ValidationError("--set expects key=value, got '\(s)'")
            }
            o[String(s[..<eq])] = String(s[s.index(after: eq)...])
        }
        return o
    }

    init(configPath: String, overrides: [String: String]) throws {
        let cfg = try ConfigLoader.load(path: configPath, overrides: overrides)
        guard FileManager.default.fileExists(atPath: cfg.model) else {
            throw InputError(message: "\(configPath): model \(cfg.model) does not exist (fetch the demo model with scripts/fetch-model.sh)")
        }
        let file = try GGUFFile(path: cfg.model)
        config = cfg
        weights = try LlamaWeights(file: file)
        let tok = try Tokenizer(gguf: file)
        tokenizer = tok
        let maxTokens = cfg.train.maxSeqLen + 1
        train = try TextDataset.load(path: cfg.data.train, key: cfg.data.textKey, tokenizer: tok, maxTokens: maxTokens)
        valid = try cfg.data.valid.map { try TextDataset.load(path: $0, key: cfg.data.textKey, tokenizer: tok, maxTokens: maxTokens) } ?? []
    }
}
