import ArgumentParser
import Foundation
import TailorKit
import TailorRuns

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Fine-tune LoRA adapters on a frozen 4-bit model from a YAML run config.",
        discussion: """
            Progress goes to stderr (a live bar on a terminal, log lines otherwise); the adapter is written in
            PEFT's layout to adapters/<name>/ unless `output` says otherwise.
            Example: tailor train configs/smollm2-demo.yaml --steps 20 --set lora.rank=16
            """)

    @Argument(help: "The run config (YAML).")
    var config: String

    @Option(name: .customLong("set"), help: "Override a config value, dotted: --set train.lr=1e-4 (repeatable).")
    var overrides: [String] = []

    @Option(help: "Override train.steps.")
    var steps: Int?

    @Option(help: "Override train.lr.")
    var lr: String?

    @Option(help: "Override train.batch_size.")
    var batchSize: Int?

    @Option(help: "Override train.threads (default: all cores).")
    var threads: Int?

    @Option(help: "Override output (the adapter directory).")
    var output: String?

    @Flag(help: "Print the final summary as JSON on stdout.")
    var json = false

    func resolvedOverrides() throws -> [String: String] {
        var o = try RunInputs.overrides(overrides)
        if let steps { o["train.steps"] = String(steps); o["train.epochs"] = "null" }
        if let lr { o["train.lr"] = lr }
        if let batchSize { o["train.batch_size"] = String(batchSize) }
        if let threads { o["train.threads"] = String(threads) }
        if let output { o["output"] = output }
        return o
    }

    func run() throws {
        var inputs = try RunInputs(configPath: config, overrides: try resolvedOverrides())
        let progress = ProgressReporter()
        inputs.pipeline.onIssue = { issue in progress.handle(.warning("skipped \(issue)")) }
        let trainer = try inputs.makeTrainer()
        let summary = try trainer.run { progress.handle($0) }
        if json { try printJSON(summary) }
    }
}

/// Renders training events on stderr: a redrawn bar on a terminal, plain lines otherwise.
final class ProgressReporter {
    let tty = isatty(2) != 0
    var started = DispatchTime.now()
    var lastValid: Double?

    func mib(_ b: Int) -> String { String(format: "%.0f MiB", Double(b) / 1_048_576) }

    func handle(_ e: TrainingEvent) {
        switch e {
        case let .started(total, tr, va, params, wsBytes):
            started = DispatchTime.now()
            log("training \(total) steps on \(tr) examples (\(va) validation); \(params) trainable parameters; workspace \(mib(wsBytes))")
        case let .step(m):
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
            let eta = elapsed / Double(m.step) * Double(m.totalSteps - m.step)
            let line = String(format: "step %d/%d  loss %.4f  lr %.2e  %.0f tok/s  ETA %@  peak %@%@",
                              m.step, m.totalSteps, m.loss, m.lr, m.tokensPerSecond, formatDuration(eta), mib(m.peakRSSBytes),
                              m.skipped ? "  (skipped)" : "")
            if tty {
                let width = 24, filled = width * m.step / max(m.totalSteps, 1)
                let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
                FileHandle.standardError.write(Data("\r\u{1B}[2K\(bar) \(line)".utf8))
                if m.step == m.totalSteps { FileHandle.standardError.write(Data("\n".utf8)) }
            } else {
                log(line)
            }
        case let .evaluated(step, loss):
            if tty { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
            log(String(format: "step %d: validation loss %.4f%@", step, loss, lastValid.map { String(format: " (%+.4f)", loss - $0) } ?? ""))
            lastValid = loss
        case let .warning(w):
            if tty { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
            log("warning: \(w)")
        case let .finished(s):
            log(String(format: "done: %d steps in %@, final loss %.4f, median %.0f tok/s, peak RSS %@; adapter in %@",
                       s.steps, formatDuration(s.seconds), s.finalLoss, s.medianTokensPerSecond, mib(s.peakRSSBytes), s.adapterDirectory))
        }
    }
}

func formatDuration(_ s: Double) -> String {
    guard s.isFinite else { return "?" }
    let t = Int(s.rounded())
    return t >= 3600 ? String(format: "%dh%02dm", t / 3600, t % 3600 / 60) : String(format: "%dm%02ds", t / 60, t % 60)
}
