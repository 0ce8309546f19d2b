import ArgumentParser
import Foundation
import TailorKit

extension AdapterFloatType: ExpressibleByArgument {}

struct ExportAdapterCommand: ParsableCommand {
    /// The tools an adapter can be exported for.
    enum Format: String, ExpressibleByArgument, CaseIterable {
        /// mlx-lm's `adapter_config.json` + `adapters.safetensors` (a directory).
        case mlx
        /// llama.cpp's LoRA GGUF (one file, used with the base GGUF).
        case gguf
    }

    static let configuration = CommandConfiguration(
        commandName: "export-adapter",
        abstract: "Convert a PEFT-layout LoRA adapter for mlx-lm or llama.cpp.",
        discussion: """
            The adapter is read strictly and checked against the base model (--model, or the GGUF file its
            adapter_config.json names as base_model_name_or_path). mlx writes a directory for
            `mlx_lm.generate --adapter-path`; gguf writes one file for `llama-cli -m BASE.gguf --lora FILE`
            or llama-cpp-python's `Llama(model_path=BASE.gguf, lora_path=FILE)`.
            Example: tailor export-adapter adapters/smollm2-demo --format gguf --out smollm2-demo-lora.gguf
            """)

    @Argument(help: "The adapter directory (PEFT layout: adapter_config.json + adapter_model.safetensors).")
    var adapter: String

    @Option(help: "Output format: mlx (a directory) or gguf (a file).")
    var format: Format

    @Option(help: "Where to write: a directory for mlx, a .gguf file for gguf.")
    var out: String

    @Option(name: .shortAndLong, help: "The base model GGUF (default: the adapter's base_model_name_or_path).")
    var model: String?

    @Option(help: "Element type of the exported weights: f32 (exact) or f16 (default f32).")
    var dtype: AdapterFloatType = .f32

    func run() throws {
        let dir = URL(fileURLWithPath: adapter)
        let file = try GGUFFile(path: try basePath(adapterDirectory: dir))
        let config = try ModelConfig(gguf: file)
        let loaded = try PEFTAdapter.load(directory: dir, config: config)
        let outURL = URL(fileURLWithPath: out)
        switch format {
        case .mlx:
            try MLXAdapter.write(loaded, config: config, to: outURL, type: dtype)
        case .gguf:
            try FileManager.default.createDirectory(
                at: outURL.deletingLastPathComponent(), withIntermediateDirectories: true)
            try GGUFLoRAAdapter.write(loaded, config: config, to: outURL, type: dtype)
        }
        let s = loaded.settings
        print(
            "wrote \(format.rawValue) adapter \(out): \(loaded.weights.count) projections in \(s.layers.count) blocks, "
                + "rank \(s.rank), scale \(loaded.scale), \(dtype.rawValue)")
    }

    /// `--model`, or the adapter's `base_model_name_or_path` when that is a GGUF file that exists.
    func basePath(adapterDirectory dir: URL) throws -> String {
        if let model {
            guard FileManager.default.fileExists(atPath: model) else {
                throw InputError(message: "\(model): no such file (--model takes the base model GGUF)")
            }
            return model
        }
        let cfg = dir.appendingPathComponent(PEFTAdapter.configFile)
        let json = FileManager.default.contents(atPath: cfg.path).flatMap {
            try? JSONSerialization.jsonObject(with: $0) as? [String: Any]
        }
        guard let base = json?["base_model_name_or_path"] as? String, base.hasSuffix(".gguf"),
            FileManager.default.fileExists(atPath: base)
        else {
            let named = (json?["base_model_name_or_path"] as? String).map { "'\($0)'" } ?? "nothing"
            throw InputError(
                message: "\(cfg.path): base_model_name_or_path names \(named), not a GGUF file here; "
                    + "pass the base model with --model BASE.gguf")
        }
        return base
    }
}
