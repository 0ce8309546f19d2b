import ArgumentParser
import Foundation
import TailorKit
import TailorRuns

/// Tailor's command-line interface (ARCHITECTURE.md §5). Results go to stdout, progress and logs to
/// stderr. Exit codes: 0 ok, 1 run failed, 2 bad input (usage, config, data, model files), 3 interrupted.
@main
struct Tailor: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tailor",
        abstract: "Fine-tune small language models with LoRA on a CPU.",
        discussion: """
            Examples:
              tailor train configs/smollm2-demo.yaml
              tailor status smollm2-demo --follow
              tailor submit configs/smollm2-demo.yaml && tailor daemon --once
              tailor resume smollm2-demo
              tailor info --model models/SmolLM2-135M-Instruct.Q4_1.gguf
              tailor generate --model models/SmolLM2-135M-Instruct.Q4_1.gguf --chat --prompt "What is LoRA?"
              tailor perplexity --model models/SmolLM2-135M-Instruct.Q4_1.gguf --file notes.txt --ctx 256
              tailor export-adapter adapters/smollm2-demo --format gguf --out smollm2-demo-lora.gguf
              tailor merge --model models/SmolLM2-135M-Instruct.Q4_1.gguf --adapter adapters/smollm2-demo --out smollm2-demo.gguf
            """,
        subcommands: [
            TrainCommand.self, SubmitCommand.self, DaemonCommand.self, StatusCommand.self, PauseCommand.self,
            ResumeCommand.self, CancelCommand.self, WorkerCommand.self, RunsCommand.self, PlanCommand.self, DataCommand.self, GenerateCommand.self,
            ExportAdapterCommand.self, MergeCommand.self, PerplexityCommand.self, InfoCommand.self, TokenizeCommand.self,
        ])

    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                exit(withError: error)
            }
            let message = fullMessage(for: error)
            if !message.isEmpty { FileHandle.standardError.write(Data((message + "\n").utf8)) }
            if code == .validationFailure || Self.isBadInput(error) {
                Foundation.exit(2)
            }
            Foundation.exit(code.rawValue == 0 ? 1 : (code.rawValue == 64 ? 2 : code.rawValue))
        }
    }

    /// Errors caused by what the user gave (files, flags), as opposed to a failed run.
    static func isBadInput(_ error: Error) -> Bool {
        error is GGUFError || error is TokenizerError || error is InputError || error is ChatTemplateError
            || error is SafetensorsError || error is PerplexityError || error is InferenceError || error is ConfigError
            || error is DataError || error is AdapterError || error is MergeError || error is RunStoreError || error is HashError
    }
}

/// A user-facing input problem found by the CLI itself.
struct InputError: Error, LocalizedError {
    let message: String
    var errorDescription: String? { message }
}

/// Writes to stderr (progress and logs).
func log(_ s: String) {
    FileHandle.standardError.write(Data((s + "\n").utf8))
}

/// Writes to stdout without a newline and flushes, for streaming.
func emit(_ s: String) {
    FileHandle.standardOutput.write(Data(s.utf8))
}

/// Pretty-printed, key-sorted JSON on stdout.
func printJSON<T: Encodable>(_ value: T) throws {
    let enc = JSONEncoder()
    enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    let data = try enc.encode(value)
    FileHandle.standardOutput.write(data)
    FileHandle.standardOutput.write(Data("\n".utf8))
}

/// Options every model-using command shares.
struct ModelOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "Path to a GGUF model file.")
    var model: String

    @Option(help: "Threads for GEMMs and parallel loops (default: all cores).")
    var threads: Int?

    func validateThreads() throws { try validateThreadCount(threads) }

    func applyThreads() { Threads.set(threads ?? Threads.available) }

    func loadFile() throws -> GGUFFile {
        guard FileManager.default.fileExists(atPath: model) else {
            throw InputError(message: "\(model): no such file (fetch the demo model with scripts/fetch-model.sh)")
        }
        return try GGUFFile(path: model)
    }
}

/// `--threads`, when given, is 1...1024.
func validateThreadCount(_ threads: Int?) throws {
    if let threads, threads < 1 || threads > 1024 {
        throw ValidationError("--threads must be between 1 and 1024, got \(threads)")
    }
}

/// Reads `--text`/`--file` style input, naming the file on failure.
func readText(file: String) throws -> String {
    guard let data = FileManager.default.contents(atPath: file) else {
        throw InputError(message: "\(file): cannot read the file")
    }
    guard let s = String(data: data, encoding: .utf8) else {
        throw InputError(message: "\(file): not valid UTF-8 text")
    }
    return s
}
