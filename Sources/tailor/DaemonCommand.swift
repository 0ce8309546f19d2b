import ArgumentParser
import Foundation
import TailorKit
import TailorRuns

struct DaemonCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "daemon",
        abstract: "Train queued runs (`tailor submit`) one after another, each in a worker process of its own.",
        discussion: """
            Runs start in the order they were submitted. Each worker's output goes to logs/run-<id>.log next to \
            the database. A run whose worker dies (killed, out of memory, a reboot) is queued again and resumes \
            from its newest checkpoint, bit-identically; one that keeps dying at the same step is left \
            interrupted after three tries. SIGTERM or Ctrl-C stops the daemon: the running worker finishes its \
            step, checkpoints and pauses, and its run is queued again for the next daemon. One daemon per \
            database (a lock file next to it).

            Example: tailor daemon        (in its own terminal, a tmux window or a systemd service)
            """)

    @Flag(help: "Exit when the queue is empty instead of waiting for more runs.")
    var once = false

    @Option(help: "Seconds between looks at an empty queue (default 2).")
    var poll: Double = 2

    @OptionGroup var database: DatabaseOptions

    func validate() throws {
        if !(poll > 0 && poll <= 3600) { throw ValidationError("--poll must be in (0, 3600] seconds, got \(poll)") }
    }

    func run() throws {
        let store = try database.openForWriting()
        let lock: DaemonLock
        do {
            lock = try DaemonLock(database: store.path)
        } catch {
            throw InputError(message: error.localizedDescription)
        }
        let executable = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0])
        let daemon = QueueDaemon(
            store: store, options: .init(once: once, poll: poll),
            logDirectory: URL(fileURLWithPath: store.path).deletingLastPathComponent().appendingPathComponent("logs"),
            worker: { run in (executable, ["worker", String(run.id), "--db", store.path]) },
            log: { log($0) })
        let trap = SignalTrap { signal in
            log("daemon: \(SignalTrap.name(signal)): stopping after the running worker checkpoints")
            daemon.requestStop()
        }
        defer { trap.cancel() }
        try withExtendedLifetime(lock) { try daemon.run() }
    }
}
