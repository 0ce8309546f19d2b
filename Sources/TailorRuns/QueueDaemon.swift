import Foundation

/// Runs the queue of a run database (ARCHITECTURE.md §4): the oldest queued run first, one at a time, each
/// in a worker process of its own (`tailor worker RUN`), so a run that crashes or is killed for memory never
/// takes the daemon down.
///
/// A run whose worker is gone without recording why (killed, crashed, the machine rebooted) is marked
/// `interrupted` and queued again; its worker resumes it from its newest intact checkpoint, bit-identically.
/// A run that keeps dying without making progress is left interrupted after `maxRestarts` attempts.
/// `requestStop()` (SIGTERM or SIGINT to the daemon) passes SIGTERM to the running worker, which finishes
/// its step, checkpoints and pauses; the daemon queues that run again, so the next daemon continues it.
/// A run paused by the user (`tailor pause`) stays paused.
public final class QueueDaemon: @unchecked Sendable {
    public struct Options: Sendable {
        /// Return when the queue is empty instead of waiting for more runs.
        public var once: Bool
        /// Seconds between looks at an empty queue.
        public var poll: TimeInterval
        /// Times a run is queued again after its worker died without progress.
        public var maxRestarts: Int

        public init(once: Bool = false, poll: TimeInterval = 2, maxRestarts: Int = 3) {
            self.once = once
            self.poll = poll
            self.maxRestarts = maxRestarts
        }
    }

    /// The command that runs one queued run (an executable and its arguments).
    public typealias WorkerCommand = (Run) -> (executable: URL, arguments: [String])

    public let store: RunStore
    public let options: Options
    /// Where each run's worker output goes (`run-<id>.log`, appended).
    public let logDirectory: URL
    let worker: WorkerCommand
    let log: (String) -> Void
    let host = ProcessInfo.processInfo.hostName

    private let lock = NSLock()
    private var stopping = false
    private var child: Process?
    /// Per run: restarts without progress, and the step the last one reached.
    private var restarts: [Int64: (count: Int, step: Int)] = [:]

    public init(
        store: RunStore, options: Options = Options(), logDirectory: URL, worker: @escaping WorkerCommand,
        log: @escaping (String) -> Void
    ) {
        self.store = store
        self.options = options
        self.logDirectory = logDirectory
        self.worker = worker
        self.log = log
    }

    /// Asks the daemon to stop: the running worker (if any) gets SIGTERM and pauses after a checkpoint.
    /// Safe from a signal-handling queue.
    public func requestStop() {
        lock.lock()
        stopping = true
        let running = child
        lock.unlock()
        if let running, running.isRunning { kill(running.processIdentifier, SIGTERM) }
    }

    var isStopping: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopping
    }

    /// Runs queued runs until stopped (or, with `once`, until the queue is empty).
    public func run() throws {
        log("daemon: watching the queue of \(store.path) (pid \(getpid()))")
        while !isStopping {
            try recoverOrphans()
            guard let next = try store.nextQueued() else {
                if options.once {
                    log("daemon: the queue is empty")
                    return
                }
                let until = Date().addingTimeInterval(options.poll)
                while !isStopping && Date() < until { Thread.sleep(forTimeInterval: 0.1) }
                continue
            }
            try runWorker(for: next)
        }
        log("daemon: stopped")
    }

    /// Running runs whose worker is gone from this host: interrupted, and queued again.
    func recoverOrphans() throws {
        for r in try store.runs(in: .running) where r.workerIsAlive(host: host) == false {
            try store.markInterrupted(run: r.id, reason: "its worker (pid \(r.workerPID.map(String.init) ?? "?")) is gone")
            try requeueInterrupted(r.id)
        }
    }

    /// Queues an interrupted run again to resume from its last checkpoint, unless it has died
    /// `maxRestarts` times in a row at the same step.
    func requeueInterrupted(_ id: Int64) throws {
        guard let run = try store.run(id: id), run.status == .interrupted else { return }
        var (count, step) = restarts[id] ?? (0, run.currentStep)
        if run.currentStep > step { (count, step) = (0, run.currentStep) }
        count += 1
        restarts[id] = (count, step)
        guard count <= options.maxRestarts else {
            let message = "left interrupted: its worker died \(count) times at step \(step) without progress "
                + "(its log: \(logFile(id).path)); continue it with tailor resume \(id) once the cause is fixed"
            try store.recordEvent(.warning, message, step: step, run: id)
            log("daemon: run \(id) (\(run.name)) " + message)
            return
        }
        try store.transition(run: id, to: .queued, message: "queued again by the daemon: resumes from its last checkpoint")
        log("daemon: run \(id) (\(run.name)) was interrupted at step \(run.currentStep); queued again to resume")
    }

    func logFile(_ id: Int64) -> URL { logDirectory.appendingPathComponent("run-\(id).log") }

    func runWorker(for run: Run) throws {
        try FileManager.default.createDirectory(
            at: logDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let logURL = logFile(run.id)
        if !FileManager.default.fileExists(atPath: logURL.path) {
            FileManager.default.createFile(atPath: logURL.path, contents: nil, attributes: [.posixPermissions: 0o600])
        }
        let output = try FileHandle(forWritingTo: logURL)
        defer { try? output.close() }
        try output.seekToEnd()
        let (executable, arguments) = worker(run)
        let p = Process()
        p.executableURL = executable
        p.arguments = arguments
        p.standardOutput = output
        p.standardError = output
        p.standardInput = FileHandle.nullDevice
        try p.run()
        lock.lock()
        child = p
        let stopNow = stopping
        lock.unlock()
        if stopNow { kill(p.processIdentifier, SIGTERM) }
        log("daemon: run \(run.id) (\(run.name)) started in worker pid \(p.processIdentifier); log: \(logURL.path)")
        p.waitUntilExit()
        lock.lock()
        child = nil
        lock.unlock()
        let how = p.terminationReason == .uncaughtSignal ? "killed by signal \(p.terminationStatus)" : "exit \(p.terminationStatus)"
        guard let after = try store.run(id: run.id) else { return }
        switch after.status {
        case .running where after.workerIsAlive(host: host) != true:
            // Gone without recording why (SIGKILL, a crash): resume it from its last checkpoint.
            try store.markInterrupted(run: run.id, reason: "its worker \(how)")
            try requeueInterrupted(run.id)
        case .queued:
            try store.transition(
                run: run.id, to: .failed, error: "the worker (\(how)) stopped before the run started; see \(logURL.path)")
            log("daemon: run \(run.id) (\(run.name)) failed before it started (\(how)); see \(logURL.path)")
        case .paused where isStopping:
            try store.transition(run: run.id, to: .queued, message: "queued again: the daemon stopped; the next daemon resumes it")
            log("daemon: run \(run.id) (\(run.name)) paused at step \(after.currentStep) and queued again for the next daemon")
        default:
            log("daemon: run \(run.id) (\(run.name)) \(after.status.rawValue) at step \(after.currentStep) (\(how))")
        }
    }
}

/// One daemon per run database: an exclusive `flock` on `<database>.daemon.lock`, held for the process's
/// life (the kernel releases it when the process dies, however it dies). The file holds the holder's pid.
public final class DaemonLock {
    public let path: String
    let fd: Int32

    public enum Failure: Error, LocalizedError {
        case held(path: String, pid: String)
        case cannotOpen(path: String, reason: String)

        public var errorDescription: String? {
            switch self {
            case let .held(path, pid): "another daemon (pid \(pid)) is running on this database (\(path) is locked)"
            case let .cannotOpen(path, reason): "\(path): cannot open the daemon lock: \(reason)"
            }
        }
    }

    public init(database: String) throws {
        path = database + ".daemon.lock"
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Failure.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            close(fd)
            throw Failure.held(path: path, pid: holder.flatMap { $0.isEmpty ? nil : $0 } ?? "?")
        }
        ftruncate(fd, 0)
        let text = "\(getpid())\n"
        _ = text.withCString { write(fd, $0, strlen($0)) }
    }

    deinit { close(fd) }
}
