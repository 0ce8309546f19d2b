import ArgumentParser
import Foundation
import TailorKit
import TailorRuns

struct ResumeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract: "Continue a paused, interrupted or failed run from its newest intact checkpoint.",
        discussion: """
            RUN is a run id or name (its latest run), as `tailor status` lists them. The run continues with the \
            config it was recorded with (overrides included, paths as resolved then), from wherever it is \
            started, exactly as `tailor train CONFIG --resume` would: the same losses, bit for bit, as an \
            uninterrupted run. It fails when the run has finished, was cancelled, is still running, or a newer \
            run of the same name has taken over its output directory.

            Example: tailor resume smollm2-demo
            """)

    @Argument(help: ArgumentHelp("The run: an id, or a name (its latest run).", valueName: "run"))
    var reference: String

    @Option(help: "Threads for this session (default: the run's train.threads, else all cores); does not change the numbers' config.")
    var threads: Int?

    @Flag(help: "Print the final summary as JSON on stdout (with the run's id and database).")
    var json = false

    @Flag(help: "Queue the run for the daemon (`tailor daemon`) instead of training in the foreground.")
    var queue = false

    @OptionGroup var database: DatabaseOptions

    func validate() throws {
        try validateThreadCount(threads)
    }

    func run() throws {
        let store = try database.openForWriting()
        let r = try store.resolveRun(reference)
        let which = "run \(r.id) (\(r.name))"
        if let newer = try store.latestRun(named: r.name), newer.id != r.id {
            throw InputError(
                message: "\(which) was followed by run \(newer.id) of the same name, which owns \(r.outputDirectory) now; "
                    + "resume that one: tailor resume \(newer.id)")
        }
        switch r.status {
        case .succeeded: throw InputError(message: "\(which) has finished; nothing to resume (its adapter is in \(r.outputDirectory))")
        case .cancelled: throw InputError(message: "\(which) was cancelled; start it again with tailor train")
        case .queued: throw InputError(message: "\(which) has not started yet; nothing to resume")
        case .running where r.workerIsAlive() != false:
            let worker = [r.workerPID.map { "pid \($0)" }, r.workerHost.map { "on \($0)" }].compactMap { $0 }.joined(separator: " ")
            throw InputError(message: "\(which) is running (\(worker)); watch it with tailor status \(r.id) --follow")
        default: break
        }
        if queue {
            try store.transition(run: r.id, to: .queued, message: "queued to resume by the user")
            print("run \(r.id) (\(r.name)) queued to resume from step \(r.currentStep) in \(store.path)")
            return
        }
        let source = r.configPath.map { "\($0) (as recorded for run \(r.id))" } ?? which
        var config = try ConfigLoader.load(yaml: r.resolvedYAML, path: r.configPath)
        if let threads { config.train.threads = threads }
        let inputs = try RunInputs(config: config, source: source)
        try TrainCommand.execute(inputs, configPath: r.configPath ?? which, store: store, resume: true, json: json)
    }
}
