import ArgumentParser
import Foundation
import TailorKit
import TailorRuns

/// What the daemon runs for one queued run, in a process of its own (hidden: users run `tailor daemon`).
struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Train one queued run (started by `tailor daemon`).",
        shouldDisplay: false)

    @Argument(help: "The queued run's id.")
    var id: Int64

    @OptionGroup var database: DatabaseOptions

    func run() throws {
        let store = try database.openForWriting()
        guard let queued = try store.run(id: id) else { throw RunStoreError.noSuchRun(path: store.path, reference: String(id)) }
        guard queued.status == .queued else {
            throw InputError(message: "run \(id) (\(queued.name)) is \(queued.status.rawValue), not queued")
        }
        // Running from here on, under this pid: `tailor pause` and `cancel` reach this process while it loads.
        try store.start(run: id, pid: getpid(), host: ProcessInfo.processInfo.hostName, totalSteps: queued.totalSteps,
                        detail: "a daemon's worker; loading the model and data")
        let stop = StopFlag()
        let loadingTrap = SignalTrap { _ in _ = stop.request() }
        let source = queued.configPath.map { "\($0) (as recorded for run \(id))" } ?? "run \(id)"
        let inputs: RunInputs
        let resume: Bool
        do {
            let config = try ConfigLoader.load(yaml: queued.resolvedYAML, path: queued.configPath)
            inputs = try RunInputs(config: config, source: source)
            // A run that was interrupted continues from its newest intact checkpoint; a new one starts
            // (a finished run's checkpoints in the same output make way, as with `tailor train`).
            let checkpoints = CheckpointStore(outputDirectory: config.outputDirectory)
            resume = checkpoints.latest().flatMap { checkpoints.state(at: $0.directory) }.map { $0.step < $0.totalSteps } ?? false
        } catch {
            loadingTrap.cancel()
            try? store.transition(run: id, to: .failed, error: error.localizedDescription)
            throw error
        }
        loadingTrap.cancel()
        if stop.requested {
            try store.transition(run: id, to: .paused, message: "paused before training started")
            throw ExitCode(3)
        }
        guard let current = try store.run(id: id) else { return }
        do {
            try TrainCommand.execute(
                inputs, configPath: queued.configPath ?? source, store: store, resume: resume, json: false, existing: current)
        } catch {
            // Failures the trainer did not record (the run is still ours and running) are recorded here.
            if let r = try? store.run(id: id), r.status == .running, r.workerPID == getpid() {
                try? store.transition(run: id, to: .failed, error: error.localizedDescription)
            }
            throw error
        }
    }
}
