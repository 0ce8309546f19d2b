import Foundation
import GRDB
import TailorKit

/// Records a training run in the `RunStore` from the trainer's `TrainingEvent`s, without ever making a
/// step wait for the database.
///
/// `handle(_:)` only appends to an in-memory buffer. The buffer goes to the database on a background
/// queue, in one transaction, when `policy.maxBufferedSteps` steps have accumulated or
/// `policy.maxInterval` seconds have passed since the last write, and at once for the rarer events
/// (start, validation loss, warnings, the end). A write that fails (a locked or full disk, say) is
/// reported through `onError` and retried with the next batch; `close()` makes the last attempt and
/// throws if something is still unwritten.
///
/// ```swift
/// let recorder = RunRecorder(store: store, run: run.id, onError: { log("warning: \($0.localizedDescription)") })
/// let summary: TrainingSummary
/// do {
///     summary = try trainer.run { recorder.handle($0) }
/// } catch {
///     try recorder.fail(error)
///     throw error
/// }
/// try recorder.close()
/// ```
public final class RunRecorder: @unchecked Sendable {
    /// When buffered metrics are written.
    public struct Policy: Sendable, Equatable {
        /// Write after this many buffered steps.
        public var maxBufferedSteps: Int
        /// Write when a step arrives this many seconds after the last write.
        public var maxInterval: TimeInterval

        public init(maxBufferedSteps: Int = 50, maxInterval: TimeInterval = 2) {
            self.maxBufferedSteps = maxBufferedSteps
            self.maxInterval = maxInterval
        }
    }

    /// One buffered change, applied in order inside a batch's transaction.
    enum Write {
        case start(totalSteps: Int?, detail: String?, at: Date)
        case step(RunMetric)
        case validLoss(step: Int, loss: Double)
        case event(RunEvent.Kind, String, step: Int?, at: Date)
        case transition(RunStatus, message: String?, error: String?, at: Date)
        case checkpoint(step: Int, path: String, validLoss: Double?, adapterSHA256: String, at: Date)
        case removeCheckpoint(step: Int)
    }

    public let store: RunStore
    public let runID: Int64
    public let policy: Policy
    let pid: Int32
    let host: String
    let clock: @Sendable () -> Date
    let onError: @Sendable (RunStoreError) -> Void

    // Guarded by `lock`: what the trainer has reported and not yet handed to `queue`.
    private let lock = NSLock()
    private var buffer: [Write] = []
    private var bufferedSteps = 0
    private var lastHandOff: Date
    private var lastStep: Int?
    private var closed = false
    private var queuedBatches = 0

    // Touched only on `queue`: batches handed off and not yet committed, and the last failure.
    private let queue = DispatchQueue(label: "tailor.run-recorder")
    private var unwritten: [Write] = []
    private var lastError: RunStoreError?

    /// - Parameters:
    ///   - pid, host: the worker, recorded when the trainer starts (default: this process).
    ///   - clock: the time source for timestamps and the write interval (tests inject one).
    ///   - onError: called on a background queue when a write fails (it will be retried).
    public init(
        store: RunStore, run: Int64, policy: Policy = Policy(), pid: Int32 = getpid(),
        host: String = ProcessInfo.processInfo.hostName, clock: @escaping @Sendable () -> Date = { Date() },
        onError: @escaping @Sendable (RunStoreError) -> Void = { _ in }
    ) {
        self.store = store
        self.runID = run
        self.policy = policy
        self.pid = pid
        self.host = host
        self.clock = clock
        self.onError = onError
        lastHandOff = clock()
    }

    /// Takes one trainer event. Never blocks on the database.
    public func handle(_ event: TrainingEvent) {
        let now = clock()
        switch event {
        case .started(let totalSteps, let train, let valid, let parameters, _):
            let detail =
                "\(totalSteps) steps on \(train) examples (\(valid) validation), \(parameters) trainable parameters"
            append(.start(totalSteps: totalSteps, detail: detail, at: now), handOff: true)
        case .step(let metrics):
            append(.step(RunMetric(metrics)), step: metrics.step, handOff: false)
        case .evaluated(let step, let validLoss):
            append(.validLoss(step: step, loss: validLoss), handOff: true)
        case .warning(let message):
            append(.event(.warning, message, step: currentStep, at: now), handOff: true)
        case .checkpointed(let c):
            // Handed off at once: the row is committed right after the directory's rename (§4).
            append(
                .checkpoint(step: c.step, path: c.directory.path, validLoss: c.validLoss, adapterSHA256: c.adapterSHA256, at: now),
                handOff: true)
        case .checkpointRemoved(let step):
            append(.removeCheckpoint(step: step), handOff: false)
        case .resumed(let c):
            append(.event(.state, "resumed from \(c.directory.path)", step: c.step, at: now), handOff: true)
        case .finished(let summary):
            if summary.stopped == .interrupted {
                append(
                    .transition(.paused, message: "paused at step \(summary.steps) after a checkpoint", error: nil, at: now),
                    handOff: true)
                return
            }
            var message = String(
                format: "%d steps in %.0f s, final loss %.4f; adapter in %@", summary.steps, summary.seconds,
                summary.finalLoss, summary.adapterDirectory)
            if summary.stopped == .earlyStopping { message = "early stopping: " + message }
            append(.transition(.succeeded, message: message, error: nil, at: now), handOff: true)
        }
    }

    /// Adds an event that did not come from the trainer (a warning about the data, a skipped line).
    public func record(_ kind: RunEvent.Kind, _ message: String, step: Int? = nil) {
        append(.event(kind, message, step: step, at: clock()), handOff: true)
    }

    /// Records that the run failed with `error`, writes everything buffered and closes the recorder.
    public func fail(_ error: Error) throws {
        append(
            .transition(.failed, message: nil, error: error.localizedDescription, at: clock()), handOff: false)
        try close()
    }

    /// Records that the run paused with `reason` (a checkpoint could not be written: it can resume from the
    /// previous one once the cause is fixed), writes everything buffered and closes the recorder.
    public func pause(_ reason: String) throws {
        append(.event(.error, reason, step: currentStep, at: clock()), handOff: false)
        append(.transition(.paused, message: reason, error: reason, at: clock()), handOff: false)
        try close()
    }

    /// Records that the run stopped before its end (Ctrl-C, SIGTERM) and closes the recorder. Safe to call
    /// from a signal-handling queue while the trainer is still reporting.
    public func interrupt(_ reason: String) throws {
        append(.transition(.interrupted, message: reason, error: nil, at: clock()), handOff: false)
        try close()
    }

    /// Writes everything buffered and waits for it; later events are ignored. Throws the write error if
    /// something could not be written.
    public func close() throws {
        lock.lock()
        let alreadyClosed = closed
        closed = true
        lock.unlock()
        if !alreadyClosed { handOff() }
        try queue.sync {
            if !unwritten.isEmpty { writeUnwritten() }
            if !unwritten.isEmpty, let lastError { throw lastError }
        }
    }

    /// Waits until every batch handed off so far has been attempted (tests).
    func waitForWrites() {
        queue.sync {}
    }

    /// The last step reported, for events that happen between steps.
    private var currentStep: Int? {
        lock.lock()
        defer { lock.unlock() }
        return lastStep
    }

    private func append(_ write: Write, step: Int? = nil, handOff force: Bool) {
        lock.lock()
        guard !closed else {
            lock.unlock()
            return
        }
        buffer.append(write)
        if let step {
            bufferedSteps += 1
            lastStep = step
        }
        let due =
            force || bufferedSteps >= policy.maxBufferedSteps
            || clock().timeIntervalSince(lastHandOff) >= policy.maxInterval
        lock.unlock()
        if due { handOff() }
    }

    /// Moves the buffer to the background queue and writes it there.
    private func handOff() {
        lock.lock()
        let batch = buffer
        buffer = []
        bufferedSteps = 0
        lastHandOff = clock()
        lock.unlock()
        guard !batch.isEmpty else { return }
        lock.lock()
        queuedBatches += 1
        lock.unlock()
        queue.async {
            self.unwritten += batch
            self.lock.lock()
            self.queuedBatches -= 1
            let more = self.queuedBatches > 0
            self.lock.unlock()
            // While the database is slow or locked, batches pile up behind this one: let the last of
            // them write everything in one attempt instead of each waiting out the busy timeout.
            if !more { self.writeUnwritten() }
        }
    }

    /// On `queue`: one transaction for everything not yet written. On failure nothing of it is kept
    /// (the transaction rolls back), so the next attempt writes it all again.
    private func writeUnwritten() {
        let writes = unwritten
        let path = store.path
        let (id, pid, host, now) = (runID, pid, host, clock())
        var rejected: [RunStoreError] = []
        do {
            try store.write("record run \(id)") { db in
                var steps: [RunMetric] = []
                func flushSteps() throws {
                    try RunStore.insertSteps(db, steps, run: id)
                    steps = []
                }
                for write in writes {
                    if case .step(let metric) = write {
                        steps.append(metric)
                        continue
                    }
                    try flushSteps()
                    do {
                        switch write {
                        case .start(let totalSteps, let detail, let time):
                            try RunStore.start(
                                db, run: id, pid: pid, host: host, totalSteps: totalSteps, detail: detail, at: time,
                                path: path)
                        case .step: break
                        case .validLoss(let step, let loss):
                            try RunStore.insertValidLoss(db, loss, step: step, run: id)
                        case .event(let kind, let message, let step, let time):
                            try RunStore.insertEvent(db, run: id, kind: kind, message: message, step: step, at: time)
                        case .transition(let status, let message, let error, let time):
                            try RunStore.transition(
                                db, run: id, to: status, message: message, error: error, at: time, path: path)
                        case .checkpoint(let step, let checkpointPath, let validLoss, let sha, let time):
                            try RunStore.insertCheckpoint(
                                db, run: id, step: step, path: checkpointPath, validLoss: validLoss, adapterSHA256: sha, at: time)
                        case .removeCheckpoint(let step):
                            try db.execute(sql: "DELETE FROM checkpoint WHERE runId = ? AND step = ?", arguments: [id, step])
                        }
                    } catch let error as RunStoreError {
                        // A move the run's state does not allow (someone else changed it) cannot succeed
                        // on retry: report it and keep the rest of the batch.
                        guard case .invalidTransition = error else { throw error }
                        rejected.append(error)
                    }
                }
                try flushSteps()
                try RunStore.touch(db, run: id, at: now)
                FaultInjection.point("db.commit")  // tests: a crash inside the transaction
            }
            unwritten = []
            lastError = nil
        } catch {
            let wrapped = RunStoreError.wrapping(
                error, path: path, action: "record run \(id)", busyTimeout: store.busyTimeout)
            if wrapped != lastError { onError(wrapped) }
            lastError = wrapped
        }
        rejected.forEach(onError)
    }
}
