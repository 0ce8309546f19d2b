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
            PEFT's layout to adapters/<name>/ unless `output` says otherwise. The run is recorded in the run
            database (config, sha256 of the model and data, metrics, events); watch it from another terminal
            with `tailor status RUN --follow`. Ctrl-C or SIGTERM records the run as interrupted and exits 3.
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

    @Flag(help: "Print the final summary as JSON on stdout (with the run's id and database).")
    var json = false

    @OptionGroup var database: DatabaseOptions

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
        let store = try database.openForWriting()
        let inputs = try RunInputs(configPath: config, overrides: try resolvedOverrides())
        let (cfg, weights, tokenizer, train, valid) = (inputs.config, inputs.weights, inputs.tokenizer, inputs.train, inputs.valid)
        let recorder = try RunRecorder.recording(cfg, configPath: config, in: store)
        let trap = SignalTrap { signal in
            log("\n\(SignalTrap.name(signal)): stopping; run \(recorder.runID) recorded as interrupted")
            do { try recorder.interrupt(SignalTrap.name(signal)) } catch { log(error.localizedDescription) }
            // _exit: the trainer's threads are still computing; exit()'s destructors would free OpenBLAS's
            // buffers under them. Everything recorded is committed by now.
            _exit(3)
        }
        defer { trap.cancel() }
        let truncated = train.filter(\.truncated).count
        if truncated > 0 {
            let warning = "\(truncated) of \(train.count) training examples truncated to train.max_seq_len = \(cfg.train.maxSeqLen) tokens"
            log("warning: \(warning)")
            recorder.record(.warning, warning)
        }
        let summary: TrainingSummary
        do {
            let trainer = try Trainer(config: cfg, weights: weights, tokenizer: tokenizer, train: train, valid: valid)
            let progress = ProgressReporter()
            summary = try trainer.run {
                progress.handle($0)
                recorder.handle($0)
            }
        } catch {
            do { try recorder.fail(error) } catch let dbError { log(dbError.localizedDescription) }
            throw error
        }
        do {
            try recorder.close()
        } catch {
            // The adapter is on disk; the run's record is not complete.
            log("\(error.localizedDescription)\nthe adapter is in \(summary.adapterDirectory), but run \(recorder.runID) is not fully recorded")
            throw ExitCode.failure
        }
        if json { try printJSON(TrainResult(summary: summary, runId: recorder.runID, database: store.path)) }
    }
}

/// `tailor train --json`: the trainer's summary plus where the run is recorded.
struct TrainResult: Encodable {
    let summary: TrainingSummary
    let runId: Int64
    let database: String

    enum CodingKeys: String, CodingKey { case runId, database }

    func encode(to encoder: Encoder) throws {
        try summary.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(runId, forKey: .runId)
        try container.encode(database, forKey: .database)
    }
}

extension RunRecorder {
    /// Hashes the run's inputs, creates its row (queued) and a recorder for it; database write failures
    /// during training become warnings on stderr (the recorder retries them).
    static func recording(_ config: TrainingConfig, configPath: String, in store: RunStore) throws -> RunRecorder {
        let yaml = try readText(file: configPath)
        let run = try store.createRun(try NewRun.training(config, configPath: configPath, configYAML: yaml))
        log("run \(run.id) (\(run.name)) recorded in \(store.path)")
        return RunRecorder(
            store: store, run: run.id, onError: { log("warning: \($0.localizedDescription) (will retry)") })
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
