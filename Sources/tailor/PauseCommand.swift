import ArgumentParser
import Foundation
import TailorKit
import TailorRuns

struct PauseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pause",
        abstract: "Pause a running run: it finishes its step, writes a checkpoint and stops.",
        discussion: """
            Sends SIGTERM to the run's worker (the daemon's, or a foreground `tailor train`) and waits until the \
            run has paused. Continue it with `tailor resume RUN` (in the foreground) or `tailor resume RUN \
            --queue` (for the daemon).

            Example: tailor pause smollm2-demo
            """)

    @Argument(help: ArgumentHelp("The run: an id, or a name (its latest run).", valueName: "run"))
    var reference: String

    @Option(help: "Seconds to wait for the run to stop (default 600).")
    var timeout: Double = 600

    @OptionGroup var database: DatabaseOptions

    func run() throws {
        let store = try database.openForWriting()
        let r = try store.resolveRun(reference)
        let after = try stopWorker(of: r, in: store, timeout: timeout)
        print("run \(r.id) (\(r.name)) \(after.status.rawValue) at step \(after.currentStep)")
    }
}

/// Sends SIGTERM to a running run's worker on this host and waits until the run is no longer running;
/// returns it as it then is. Errors name the run when it is not running here.
func stopWorker(of r: Run, in store: RunStore, timeout: Double) throws -> Run {
    let which = "run \(r.id) (\(r.name))"
    guard r.status == .running else { throw InputError(message: "\(which) is \(r.status.rawValue), not running") }
    switch r.workerIsAlive() {
    case nil:
        throw InputError(message: "\(which) runs on \(r.workerHost ?? "another host"); stop it there")
    case false?:
        throw InputError(message: "\(which) is recorded as running but its worker (pid \(r.workerPID.map(String.init) ?? "?")) is gone; a daemon or `tailor resume` picks it up")
    case true?:
        break
    }
    guard let pid = r.workerPID, kill(pid, SIGTERM) == 0 else {
        throw InputError(message: "\(which): cannot signal its worker: \(String(cString: strerror(errno)))")
    }
    log("\(which): asked its worker (pid \(pid)) to stop after this step's checkpoint")
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if let now = try store.run(id: r.id), now.status != .running || now.workerPID != pid { return now }
        Thread.sleep(forTimeInterval: 0.2)
    }
    throw InputError(message: "\(which) has not stopped within \(Int(timeout)) s; it stops after its current step")
}
