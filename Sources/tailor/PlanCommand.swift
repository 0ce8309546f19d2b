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
        let inputs = try RunInputs(configPath: config, overrides: try RunInputs.overrides(overrides))
        let (cfg, weights) = (inputs.config, inputs.weights)
        let data = try inputs.residentDataTokens()
        Threads.set(cfg.train.threads ?? Threads.available)
        let baseline = currentResidentBytes()
        let plan = TrainingPlan.make(
            config: cfg, weights: weights, trainExampleTokens: data.train,
            validExampleTokens: data.valid, baselineBytes: baseline,
            sgemmGFLOPS: TrainingPlan.measureSGEMM())
        if json { return try printJSON(plan) }
        let mib = { (b: Int) in String(format: "%7.1f MiB", Double(b) / 1_048_576) }
        let t = cfg.train
        let rowsPerPass = min(t.batchSize, TrainingWorkspace.capacity(tokens: t.microBatchTokens, seqLen: t.maxSeqLen) / t.maxSeqLen)
        let passes = (t.batchSize + rowsPerPass - 1) / rowsPerPass
        print("""
            run            \(cfg.name): \(t.batchSize) × \(t.maxSeqLen) tokens × \(t.gradAccumulation) accumulation; \(rowsPerPass) row\(rowsPerPass == 1 ? "" : "s") per pass (\(passes) per micro-batch)\(t.gradCheckpoint ? ", gradient checkpointing" : "")
            parameters     \(plan.totalParameters) total, \(plan.trainableParameters) trainable (\(String(format: "%.3f", plan.trainablePercent)) %)
            memory (peak, predicted)
              weights      \(mib(plan.weightBytes))  quantized, memory-mapped
              adapters     \(mib(plan.adapterAndOptimizerBytes))  A, B, gradients, AdamW moments
              activations  \(mib(plan.workspace.savedActivations))  saved for backward
              scratch      \(mib(plan.workspace.scratch + plan.workspace.lossChunk))  gradients of one block, attention, loss chunk, dequant tile
              data         \(mib(plan.dataBytes))  tokenized examples (shuffle buffer, validation set)
              runtime      \(mib(plan.baselineBytes))  process, tokenizer, metadata (measured)
              total        \(mib(plan.predictedPeakBytes))
            speed          \(String(format: "%.1f", plan.flopsPerStep / 1e9)) GFLOP per step at \(String(format: "%.0f", plan.sgemmGFLOPS)) GFLOP/s SGEMM → ≥ \(String(format: "%.1f", plan.predictedSecondsPerStep)) s per step (at full batch length)
            """)
    }
}
