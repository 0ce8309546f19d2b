import ArgumentParser
import Foundation
import TailorKit
import TailorRuns

struct SubmitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit",
        abstract: "Queue a fine-tune for the daemon (`tailor daemon`) instead of training in the foreground.",
        discussion: """
            The config is checked as `tailor train` checks it (keys, ranges, the model, its tokenizer and chat \
            template, the data files), its inputs are hashed, and the run is recorded as queued with the \
            resolved config: the daemon trains exactly that, from any directory. Runs start in the order they \
            were submitted. Watch them with `tailor status`; stop one with `tailor pause RUN` or \
            `tailor cancel RUN`.

            Example: tailor submit configs/smollm2-demo.yaml --set train.steps=200
            """)

    @Argument(help: "The run config (YAML).")
    var config: String

    @OptionGroup var overrides: TrainOverrides

    @Flag(help: "Print the queued run as JSON on stdout.")
    var json = false

    @OptionGroup var database: DatabaseOptions

    struct Output: Encodable {
        var runId: Int64
        var name: String
        var status: String
        var database: String
        var position: Int
    }

    func run() throws {
        let store = try database.openForWriting()
        let inputs = try RunInputs(configPath: config, overrides: try overrides.resolved())
        let cfg = inputs.config
        if let active = try store.activeRun(named: cfg.name) {
            throw InputError(
                message: "\(config): run \(active.id) (\(cfg.name)) is already \(active.status.rawValue) and writes to "
                    + "\(active.outputDirectory); give this run another name (name: or --set name=...)")
        }
        let checkpoints = CheckpointStore(outputDirectory: cfg.outputDirectory)
        if let newest = checkpoints.candidates().first, let s = checkpoints.state(at: newest.url), s.step < s.totalSteps {
            throw InputError(
                message: "\(config): \(checkpoints.root.path) holds checkpoints of an unfinished run (step \(newest.step)); "
                    + "continue it with tailor resume, or remove that directory (or set another output) to start over")
        }
        let yaml = try readText(file: config)
        let run = try store.createRun(try NewRun.training(cfg, configPath: config, configYAML: yaml))
        let position = try store.runs(in: .queued).firstIndex { $0.id == run.id }.map { $0 + 1 } ?? 1
        if json {
            try printJSON(Output(runId: run.id, name: run.name, status: run.status.rawValue, database: store.path, position: position))
        } else {
            print("run \(run.id) (\(run.name)) queued, position \(position), in \(store.path)")
            log("a running `tailor daemon` trains it; watch it with: tailor status \(run.id) --follow")
        }
    }
}
