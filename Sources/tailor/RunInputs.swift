import ArgumentParser
import Foundation
import TailorKit
import TailorRuns

/// What `train`, `plan` and `data` load: the resolved config, the model, its tokenizer, the chat
/// template and the data pipeline.
struct RunInputs {
    let config: TrainingConfig
    let file: GGUFFile
    let weights: LlamaWeights
    let tokenizer: Tokenizer
    let template: ChatTemplate?
    var pipeline: DataPipeline

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
        try self.init(config: try ConfigLoader.load(path: configPath, overrides: overrides), source: configPath)
    }

    /// The inputs of an already loaded config; `source` names it in errors (a file, or a stored run).
    init(config cfg: TrainingConfig, source: String) throws {
        guard FileManager.default.fileExists(atPath: cfg.model) else {
            throw InputError(message: "\(source): model \(cfg.model) does not exist (fetch the demo model with scripts/fetch-model.sh)")
        }
        let file = try GGUFFile(path: cfg.model)
        config = cfg
        self.file = file
        weights = try LlamaWeights(file: file)
        let tok = try Tokenizer(gguf: file)
        tokenizer = tok
        template = try Self.chatTemplate(named: cfg.data.chatTemplate, file: file, tokenizer: tok)
        pipeline = DataPipeline(config: cfg, tokenizer: tok, template: template)
    }

    /// The chat template a run uses: `data.chat_template` (a built-in name or a Jinja file), else the one
    /// in the model's metadata; nil when neither exists (only chat data needs one). The bos and eos tokens
    /// are the model's.
    static func chatTemplate(named name: String?, file: GGUFFile, tokenizer: Tokenizer) throws -> ChatTemplate? {
        let bos = tokenizer.bosId.map { tokenizer.piece($0) } ?? ""
        let eos = tokenizer.eosId.map { tokenizer.piece($0) } ?? ""
        if let name {
            if ChatTemplate.builtinSource(name) != nil {
                return try ChatTemplate.named(name, bosToken: bos, eosToken: eos)
            }
            guard let text = FileManager.default.contents(atPath: name).map({ String(decoding: $0, as: UTF8.self) }) else {
                throw InputError(
                    message: "data.chat_template: \(name) is neither a built-in template ("
                        + ChatTemplate.builtinNames.joined(separator: ", ") + ") nor a readable Jinja file")
            }
            return try ChatTemplate(source: text, name: name, bosToken: bos, eosToken: eos)
        }
        guard file.optionalString("tokenizer.chat_template") != nil else { return nil }
        return try ChatTemplate(gguf: file)
    }

    /// A trainer on the streaming pipeline: steps from `train.epochs` need one counting pass over the data.
    func makeTrainer() throws -> Trainer {
        let count = try pipeline.countTraining()
        let valid = try pipeline.validExamples()
        let batches = try pipeline.trainBatches()
        return try Trainer(
            config: config, weights: weights, tokenizer: tokenizer, batches: batches, trainExampleCount: count.examples,
            trainTokenCount: count.tokens, valid: valid)
    }

    /// Tokens of the examples a run holds in memory at once: the shuffle buffer's worth of training
    /// examples (read from the start of the file) and the validation set.
    func residentDataTokens() throws -> (train: Int, valid: Int) {
        let s = try pipeline.trainSource()
        var train = 0, n = 0
        let cap = max(config.data.shuffleBuffer, config.train.batchSize * 8)
        while n < cap, let e = try s.next() {
            train += e.example.tokens.count
            n += 1
        }
        let valid = try pipeline.validExamples().reduce(0) { $0 + $1.tokens.count }
        return (train, valid)
    }
}
