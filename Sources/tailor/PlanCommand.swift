import ArgumentParser
import Foundation
import TailorKit
import TailorRuns

struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Predict a run's parameters, peak memory by part and seconds per step, without training.",
        discussion: "Example: tailor plan configs/smollm2-demo.yaml --set train.grad_checkpoint=true")

    @Argument(help: "The run config (YAML).")
    var config: String

    @Option(name: .customLong("set"), help: "Override a config value, dotted: --set train.batch_size=8 (repeatable).")
    var overrides: [String] = []

    @Flag(help: "Print JSON only.")
    var json = false

    func run() throws {
        var o: [String: String] = [:]
        for s in overrides {
            guard let eq = s.firstIndex(of: "="), eq != s.startIndex else { throw ValidationError("--set expects key=value, got '\(s)'") }
            o[String(s[..<eq])] = String(s[s.index(after: eq)...])
        }
        let cfg = try ConfigLoader.load(path: config, overrides: o)
        guard FileManager.default.fileExists(atPath: cfg.model) else {
            throw InputError(message: "\(config): model \(cfg.model) does not exist (fetch the demo model with scripts/fetch-model.sh)")
        }
        let file = try GGUFFile(path: cfg.model)
        let weights = try LlamaWeights(file: file)
        let tokenizer = try Tokenizer(gguf: file)
        let maxTokens = cfg.train.maxSeqLen + 1
        let train = try TextDataset.load(path: cfg.data.train, key: cfg.data.textKey, tokenizer: tokenizer, maxTokens: maxTokens)
        let valid = try cfg.data.valid.map { try TextDataset.load(path: $0, key: cfg.data.textKey, tokenizer: tokenizer, maxTokens: maxTokens) } ?? []
        Threads.set(cfg.train.threads ?? Threads.available)
        let baseline = currentResidentBytes()
        let plan = TrainingPlan.make(
            config: cfg, weights: weights, trainExampleTokens: train.reduce(0) { $0 + $1.tokens.count },
            validExampleTokens: valid.reduce(0) { $0 + $1.tokens.count }, baselineBytes: baseline,
            sgemmGFLOPS: TrainingPlan.measureSGEMM())
        if json { return try printJSON(plan) }
        let mib = { (b: Int) in String(format: "%7.1f MiB", Double(b) / 1_048_576) }
        print("""
            run            \(cfg.name): \(cfg.train.batchSize) × \(cfg.train.maxSeqLen) tokens × \(cfg.train.gradAccumulation) accumulation\(cfg.train.gradCheckpoint ? ", gradient checkpointing" : "")
            parameters     \(plan.totalParameters) total, \(plan.trainableParameters) trainable (\(String(format: "%.3f", plan.trainablePercent)) %)
            memory (peak, predicted)
              weights      \(mib(plan.weightBytes))  quantized, memory-mapped
              adapters     \(mib(plan.adapterAndOptimizerBytes))  A, B, gradients, AdamW moments
              activations  \(mib(plan.workspace.savedActivations))  saved for backward
              scratch      \(mib(plan.workspace.scratch + plan.workspace.lossChunk))  gradients of one block, attention, loss chunk, dequant tile
              data         \(mib(plan.dataBytes))  tokenized examples
              runtime      \(mib(plan.baselineBytes))  process, tokenizer, metadata (measured)
              total        \(mib(plan.predictedPeakBytes))
            speed          \(String(format: "%.1f", plan.flopsPerStep / 1e9)) GFLOP per step at \(String(format: "%.0f", plan.sgemmGFLOPS)) GFLOP/s SGEMM → ≥ \(String(format: "%.1f", plan.predictedSecondsPerStep)) s per step (at full batch length)
            """)
    }
}
