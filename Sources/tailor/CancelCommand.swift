import ArgumentParser
import Foundation
import TailorKit
import TailorRuns

struct CancelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel",
        abstract: "Cancel a run for good: a queued one never starts, a running one stops after a checkpoint.",
        discussion: """
            A running run's worker finishes its step and checkpoints first (as with `tailor pause`), so nothing \
            on disk is lost; a cancelled run cannot be resumed. Its checkpoints and adapter stay where they are.

            Example: tailor cancel 7
            """)

    @Argument(help: ArgumentHelp("The run: an id, or a name (its latest run).", valueName: "run"))
    var reference: String

    @Option(help: "Seconds to wait for a running run to stop (default 600).")
    var timeout: Double = 600

    @OptionGroup var database: DatabaseOptions

    func run() throws {
        let store = try database.openForWriting()
        var r = try store.resolveRun(reference)
        if r.status == .running { r = try stopWorker(of: r, in: store, timeout: timeout) }
        guard r.status.successors.contains(.cancelled) else {
            throw InputError(message: "run \(r.id) (\(r.name)) has \(r.status.rawValue); there is nothing to cancel")
        }
        try store.transition(run: r.id, to: .cancelled, message: "cancelled by the user")
        print("run \(r.id) (\(r.name)) cancelled at step \(r.currentStep)")
    }
}
