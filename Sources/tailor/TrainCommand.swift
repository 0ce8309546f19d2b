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
            with `tailor status RUN --follow`. Checkpoints (adapter, optimizer, data position) go to
            <output>/checkpoints every checkpoint.every steps and at the end; Ctrl-C or SIGTERM finishes the
            step, writes one and pauses the run (exit 3); `--resume` continues bit-identically.
            Example: tailor train configs/smollm2-demo.yaml --steps 20 --set lora.rank=16
            """)

    @Argument(help: "The run config (YAML).")
    var config: String

    @OptionGroup var overrides: TrainOverrides

    @Flag(help: "Continue from the newest intact checkpoint in <output>/checkpoints (same config required).")
    var resume = false

    @Flag(help: "Print the final summary as JSON on stdout (with the run's id and database).")
    var json = false

    @OptionGroup var database: DatabaseOptions

    func run() throws {
        let store = try database.openForWriting()
        let inputs = try RunInputs(configPath: config, overrides: try overrides.resolved())
        try Self.execute(inputs, configPath: config, store: store, resume: resume, json: json)
    }

    /// Trains `inputs` (from the config at `configPath`, or a stored run's config), recording the run in
    /// `store`; with `resume`, from the newest intact checkpoint, continuing the latest run of that name.
    /// Shared by `tailor train` and `tailor resume`.
    ///
    /// `existing` is a queued run to train under (`tailor worker`, for the daemon) instead of a new one.
    static func execute(
        _ inputs: RunInputs, configPath config: String, store: RunStore, resume: Bool, json: Bool, existing: Run? = nil
    ) throws {
        var inputs = inputs
        let cfg = inputs.config
        let progress = ProgressReporter(runName: cfg.name)
        let checkpoints = CheckpointStore(outputDirectory: cfg.outputDirectory)
        var resumeFrom: CheckpointInfo?
        var skippedCheckpoints: [String] = []
        if !resume, let newest = checkpoints.candidates().first {
            // A finished run's checkpoints make way for the new run (its adapter is overwritten too, as
            // every trainer does); an unfinished run's are never deleted by a plain `train`.
            if let s = checkpoints.state(at: newest.url), s.step >= s.totalSteps {
                log("starting over in \(cfg.outputDirectory): removing the checkpoints of the finished run there")
                try checkpoints.removeAll()
            } else {
                throw InputError(
                    message: "\(config): \(checkpoints.root.path) holds checkpoints of an unfinished run (step \(newest.step)); "
                        + "continue it with --resume, or remove that directory (or set another output) to start over")
            }
        }
        if resume {
            resumeFrom = checkpoints.latest { skippedCheckpoints.append($0.localizedDescription) }
            for s in skippedCheckpoints { log("warning: \(s); trying an earlier one") }
            guard resumeFrom != nil else {
                throw InputError(message: "\(config): no intact checkpoint to resume in \(checkpoints.root.path)")
            }
        }
        let recorder = try RunRecorder.recording(cfg, configPath: config, in: store, resuming: resume, existing: existing)
        for s in skippedCheckpoints { recorder.record(.warning, s) }
        // The first Ctrl-C or SIGTERM lets the current step finish, writes a checkpoint and pauses the run;
        // a second one stops at once (recorded as interrupted; resume from the last checkpoint).
        let stop = StopFlag()
        let trap = SignalTrap { signal in
            if stop.request() {
                log("\n\(SignalTrap.name(signal)): finishing this step, then checkpointing (again to stop at once)")
                return
            }
            log("\n\(SignalTrap.name(signal)): stopping now; run \(recorder.runID) recorded as interrupted")
            do { try recorder.interrupt(SignalTrap.name(signal)) } catch { log(error.localizedDescription) }
            // _exit: the trainer's threads are still computing; exit()'s destructors would free OpenBLAS's
            // buffers under them. Everything recorded is committed by now.
            _exit(3)
        }
        defer { trap.cancel() }
        var issues = 0
        inputs.pipeline.onIssue = { issue in
            // Every skipped line is an event in the run's history (with file:line); truncation warnings and
            // stderr get the first few in full, then one line per hundred, so a bad file cannot flood them.
            issues += 1
            let what = issue.kind == .endCut ? "truncated" : "skipped"
            if issue.kind != .endCut { recorder.record(.skippedLine, "\(what) \(issue)") }
            if issues <= 5 {
                log("warning: \(what) \(issue)")
                if issue.kind == .endCut { recorder.record(.warning, "\(what) \(issue)") }
            } else if issues % 100 == 0 {
                let message = "\(issues) data lines skipped or truncated so far (tailor data check lists them)"
                log("warning: " + message)
                recorder.record(.warning, message)
            }
        }
        let summary: TrainingSummary
        do {
            let trainer = try inputs.makeTrainer()
            summary = try trainer.run(resume: resumeFrom, shouldStop: { stop.requested }) {
                progress.handle($0)
                recorder.handle($0)
            }
        } catch let error as CheckpointError {
            // A checkpoint that cannot be written (disk full, permissions) pauses the run: the previous
            // checkpoint is intact and --resume continues from it once the cause is fixed.
            guard case .writeFailed = error else {
                do { try recorder.fail(error) } catch let dbError { log(dbError.localizedDescription) }
                throw error
            }
            let message = error.localizedDescription + "; the run is paused: fix this and continue with tailor resume \(cfg.name)"
            do { try recorder.pause(message) } catch let dbError { log(dbError.localizedDescription) }
            log(message)
            throw ExitCode.failure
        } catch {
            do { try recorder.fail(error) } catch let dbError { log(dbError.localizedDescription) }
            throw error
        }
        do {
            try recorder.close()
        } catch {
            // The adapter and checkpoints are on disk; the run's record is not complete.
            log("\(error.localizedDescription)\nthe adapter is in \(summary.adapterDirectory), but run \(recorder.runID) is not fully recorded")
            throw ExitCode.failure
        }
        if json { try printJSON(TrainResult(summary: summary, runId: recorder.runID, database: store.path)) }
        if summary.stopped == .interrupted { throw ExitCode(3) }
    }
}

/// The config overrides `train` and `submit` take.
struct TrainOverrides: ParsableArguments {
    @Option(name: .customLong("set"), help: "Override a config value, dotted: --set train.lr=1e-4 (repeatable).")
    var assignments: [String] = []

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

    /// Every override as `key path → value`.
    func resolved() throws -> [String: String] {
        var o = try RunInputs.overrides(assignments)
        if let steps { o["train.steps"] = String(steps); o["train.epochs"] = "null" }
        if let lr { o["train.lr"] = lr }
        if let batchSize { o["train.batch_size"] = String(batchSize) }
        if let threads { o["train.threads"] = String(threads) }
        if let output { o["output"] = output }
        return o
    }
}

/// Set from a signal handler, read by the step loop.
final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    /// Records a request; true the first time.
    func request() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        count += 1
        return count == 1
    }
    var requested: Bool {
        lock.lock()
        defer { lock.unlock() }
        return count > 0
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
    /// With `resuming`, the latest run of the same name continues when it can be resumed (paused,
    /// interrupted, failed, or running with its worker gone); otherwise a new run is created.
    /// With `existing` (a queued run), that run is recorded.
    static func recording(
        _ config: TrainingConfig, configPath: String, in store: RunStore, resuming: Bool = false, existing: Run? = nil
    ) throws -> RunRecorder {
        if let existing {
            log("run \(existing.id) (\(existing.name)) starts from the queue in \(store.path)")
            return RunRecorder(
                store: store, run: existing.id, onError: { log("warning: \($0.localizedDescription) (will retry)") })
        }
        if resuming, let previous = try store.latestRun(named: config.name),
            [.paused, .interrupted, .failed].contains(previous.status) || (previous.status == .running && previous.workerIsAlive() == false)
        {
            if previous.status == .running { try store.markInterrupted(run: previous.id, reason: "worker gone") }
            log("run \(previous.id) (\(previous.name)) resumes in \(store.path)")
            return RunRecorder(
                store: store, run: previous.id, onError: { log("warning: \($0.localizedDescription) (will retry)") })
        }
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
    let runName: String
    var started = DispatchTime.now()
    var firstStep: Int?
    var lastValid: Double?

    init(runName: String) { self.runName = runName }

    func mib(_ b: Int) -> String { String(format: "%.0f MiB", Double(b) / 1_048_576) }

    func handle(_ e: TrainingEvent) {
        switch e {
        case let .started(total, tr, va, params, wsBytes):
            started = DispatchTime.now()
            log("training \(total) steps on \(tr) examples (\(va) validation); \(params) trainable parameters; workspace \(mib(wsBytes))")
        case let .step(m):
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
            if firstStep == nil { firstStep = m.step }
            let done = m.step - (firstStep ?? 1) + 1
            let eta = elapsed / Double(max(done, 1)) * Double(m.totalSteps - m.step)
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
        case let .checkpointed(c):
            if tty { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
            log("step \(c.step): checkpoint \(c.directory.path)")
        case let .resumed(c):
            log("resuming from \(c.directory.path) (step \(c.step))")
        case .checkpointRemoved:
            break
        case let .finished(s):
            if s.stopped == .interrupted {
                log("paused at step \(s.steps) after a checkpoint; continue with: tailor resume \(runName) (or tailor train CONFIG --resume)")
                return
            }
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
