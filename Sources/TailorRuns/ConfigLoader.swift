import Foundation
import TailorKit
import Yams

/// Reads a run config from YAML into a validated `TrainingConfig` (ARCHITECTURE.md §6).
///
/// The YAML is composed into a Yams node tree (so every key and value keeps its line), `--set` overrides
/// are spliced into that tree, and the tree is mapped by hand, key by key: errors name the file, the
/// dotted key path, the line, the value found and what was expected, and an unknown key names the nearest
/// valid one. `TrainingConfig.validate` then checks ranges and combinations; its errors get the line of
/// the key they are about.
///
/// Paths: relative `model`, `data.train`, `data.valid`, `data.chat_template` (when it is a path),
/// `lora.init_from` and `output` are resolved against the working directory at load, like every other command-line path, and
/// the config holds them absolute. A run may be resumed later from another directory (the daemon), so it
/// must not depend on where it is read again; the config file's own directory is not used, matching
/// mlx-lm and `tailor`'s other path arguments. `output` defaults to `adapters/<name>`.
public enum ConfigLoader {
    /// Loads the config file at `path`. The run name defaults to the file's stem.
    public static func load(
        path: String, overrides: [String: String] = [:],
        workingDirectory: String = FileManager.default.currentDirectoryPath
    ) throws -> TrainingConfig {
        let yaml: String
        do {
            yaml = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigError.cannotRead(file: path, reason: (error as NSError).localizedDescription)
        }
        return try load(yaml: yaml, path: path, overrides: overrides, workingDirectory: workingDirectory)
    }

    /// Loads a config from YAML text; `path` (if any) names it in errors and gives the default run name.
    public static func load(
        yaml: String, path: String? = nil, overrides: [String: String] = [:],
        workingDirectory: String = FileManager.default.currentDirectoryPath
    ) throws -> TrainingConfig {
        let root = try applying(overrides, to: try compose(yaml, file: path), file: path)
        var config = try map(root, file: path)
        do {
            try config.validate(file: path)
        } catch let error as ConfigError {
            let node = error.key.flatMap { lookup($0, in: root) }
            if case let .wrongType(_, "name", _, found, expected) = error, node == nil {
                // The name came from the file name; say so, or the user looks for a `name:` key.
                throw ConfigError.wrongType(
                    file: path, key: "name", origin: .unknown, found: "\(found) (the config file's stem)",
                    expected: "\(expected); rename the file or set name:")
            }
            throw error.located(file: path, origin: node.map(ConfigSection.origin(of:)) ?? .unknown)
        }
        config.model = resolve(config.model, in: workingDirectory)
        config.output = resolve(config.outputDirectory, in: workingDirectory)
        config.data.train = resolve(config.data.train, in: workingDirectory)
        config.data.valid = config.data.valid.map { resolve($0, in: workingDirectory) }
        config.lora.initFrom = config.lora.initFrom.map { resolve($0, in: workingDirectory) }
        if let template = config.data.chatTemplate, isTemplatePath(template) {
            config.data.chatTemplate = resolve(template, in: workingDirectory)
        }
        return config
    }

    /// The document's root mapping, with YAML errors turned into `ConfigError`s.
    private static func compose(_ yaml: String, file: String?) throws -> Node {
        let node: Node?
        do {
            node = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw syntaxError(error, file: file)
        }
        guard let node, !ConfigSection.isNull(node) else {
            throw ConfigError.notAMapping(file: file, found: "an empty document")
        }
        guard case .mapping = node else {
            throw ConfigError.notAMapping(file: file, found: ConfigSection.describe(node))
        }
        return node
    }

    static func syntaxError(_ error: YamlError, file: String?) -> ConfigError {
        switch error {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _),
            let .composer(context, problem, mark, _):
            let reason = [context?.text, problem].compactMap { $0 }.joined(separator: " ")
            return .syntax(file: file, line: mark.line, reason: reason)
        case let .duplicatedKeysInMapping(duplicates, context):
            return .duplicateKey(
                file: file, key: duplicates.joined(separator: ", "), origin: .line(context.mark.line))
        default:
            return .syntax(file: file, line: nil, reason: "\(error)")
        }
    }

    // MARK: - mapping

    private static func map(_ root: Node, file: String?) throws -> TrainingConfig {
        let top = try ConfigSection(root, path: "", file: file)
        let stem = file.map { URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent }
        guard let name = try top.optional("name", default: stem, top.string) else {
            throw ConfigError.missingKey(file: file, key: "name", expected: "a run name (there is no file name to use)")
        }
        guard let model = try top.optional("model", default: nil, top.string) else {
            throw ConfigError.missingKey(
                file: file, key: "model", expected: "the path of a GGUF file or a safetensors directory")
        }
        return TrainingConfig(
            name: name, model: model, output: try top.optional("output", default: nil, top.string),
            data: try data(top.section("data")), lora: try lora(top.section("lora")),
            train: try train(top.section("train")), checkpoint: try checkpoint(top.section("checkpoint")),
            eval: try eval(top.section("eval")))
    }

    private static func data(_ s: ConfigSection) throws -> DataConfig {
        let d = DataConfig(train: "")
        guard let train = try s.optional("train", default: nil, s.string) else {
            throw ConfigError.missingKey(file: s.file, key: "data.train", expected: "the path of a JSONL training file")
        }
        return DataConfig(
            train: train,
            valid: try s.optional("valid", default: d.valid, s.string),
            validFraction: try s.optional("valid_fraction", default: d.validFraction, s.double),
            format: try s.value("format", default: d.format, s.choice),
            textKey: try s.value("text_key", default: d.textKey, s.string),
            promptKey: try s.value("prompt_key", default: d.promptKey, s.string),
            completionKey: try s.value("completion_key", default: d.completionKey, s.string),
            messagesKey: try s.value("messages_key", default: d.messagesKey, s.string),
            maskPrompt: try s.value("mask_prompt", default: d.maskPrompt, s.bool),
            trainOn: try s.value("train_on", default: d.trainOn, s.choice),
            chatTemplate: try s.optional("chat_template", default: d.chatTemplate, s.string),
            shuffleBuffer: try s.value("shuffle_buffer", default: d.shuffleBuffer, s.int),
            packing: try s.value("packing", default: d.packing, s.bool),
            onBadLine: try s.value("on_bad_line", default: d.onBadLine, s.choice))
    }

    private static func lora(_ s: ConfigSection) throws -> LoRAConfig {
        let d = LoRAConfig()
        return LoRAConfig(
            rank: try s.value("rank", default: d.rank, s.int),
            alpha: try s.value("alpha", default: d.alpha, s.double),
            dropout: try s.value("dropout", default: d.dropout, s.double),
            targets: try s.value("targets", default: d.targets) { try targets($0, $1, s) },
            layers: try s.value("layers", default: d.layers) { try layers($0, $1, s) },
            useRSLoRA: try s.value("use_rslora", default: d.useRSLoRA, s.bool),
            initFrom: try s.optional("init_from", default: d.initFrom, s.string))
    }

    /// `all-linear` or a list of linear names.
    private static func targets(_ node: Node, _ key: String, _ s: ConfigSection) throws -> [LoRATarget] {
        let expected = "'\(LoRATarget.allLinearName)' or a list such as [q_proj, v_proj]"
        switch node {
        case let .scalar(scalar) where scalar.string == LoRATarget.allLinearName:
            return LoRATarget.allCases
        case let .sequence(sequence):
            return try sequence.map { try s.choice($0, key) as LoRATarget }
        default:
            throw s.wrongType(node, key, expected: expected)
        }
    }

    /// `all`, N (the last N blocks), or a list of block indices.
    private static func layers(_ node: Node, _ key: String, _ s: ConfigSection) throws -> LayerSelection {
        switch node {
        case let .scalar(scalar) where scalar.string == "all":
            return .all
        case .scalar:
            guard let count = try? s.int(node, key) else {
                throw s.wrongType(
                    node, key, expected: "all, an integer N (the last N blocks) or a list of block indices")
            }
            return .last(count)
        case let .sequence(sequence):
            return .list(try sequence.map { try s.int($0, key) })
        default:
            throw s.wrongType(node, key, expected: "all, an integer N (the last N blocks) or a list of block indices")
        }
    }

    private static func train(_ s: ConfigSection) throws -> TrainConfig {
        let d = TrainConfig()
        let steps = try s.optional("steps", default: nil, s.int)
        // One epoch only when neither length is given; both given is left to validate() to report.
        let epochs = try s.optional("epochs", default: steps == nil ? d.epochs : nil, s.int)
        return TrainConfig(
            epochs: epochs, steps: steps,
            batchSize: try s.value("batch_size", default: d.batchSize, s.int),
            gradAccumulation: try s.value("grad_accumulation", default: d.gradAccumulation, s.int),
            maxSeqLen: try s.value("max_seq_len", default: d.maxSeqLen, s.int),
            lr: try s.value("lr", default: d.lr, s.double),
            schedule: try s.value("schedule", default: d.schedule, s.choice),
            warmup: try s.value("warmup", default: d.warmup, s.int),
            warmupRatio: try s.optional("warmup_ratio", default: d.warmupRatio, s.double),
            weightDecay: try s.value("weight_decay", default: d.weightDecay, s.double),
            maxGradNorm: try s.optional("max_grad_norm", default: d.maxGradNorm, s.double),
            adamBeta1: try s.value("adam_beta1", default: d.adamBeta1, s.double),
            adamBeta2: try s.value("adam_beta2", default: d.adamBeta2, s.double),
            adamEps: try s.value("adam_eps", default: d.adamEps, s.double),
            seed: try s.value("seed", default: d.seed, s.uint64),
            threads: try s.optional("threads", default: d.threads, s.int),
            microBatchTokens: try s.value("micro_batch_tokens", default: d.microBatchTokens, s.int),
            gradCheckpoint: try s.value("grad_checkpoint", default: d.gradCheckpoint, s.bool),
            maxBadSteps: try s.value("max_bad_steps", default: d.maxBadSteps, s.int))
    }

    private static func checkpoint(_ s: ConfigSection) throws -> CheckpointConfig {
        let d = CheckpointConfig()
        return CheckpointConfig(
            every: try s.optional("every", default: d.every, s.int),
            keep: try s.value("keep", default: d.keep, s.int),
            keepBest: try s.value("keep_best", default: d.keepBest, s.bool))
    }

    private static func eval(_ s: ConfigSection) throws -> EvalConfig {
        let d = EvalConfig()
        return EvalConfig(
            every: try s.value("every", default: d.every, s.int),
            batches: try s.optional("batches", default: d.batches, s.int),
            patience: try s.optional("patience", default: d.patience, s.int))
    }

    // MARK: - helpers

    /// The value node at a dotted key path, if the tree has one.
    static func lookup(_ keyPath: String, in root: Node) -> Node? {
        keyPath.split(separator: ".").reduce(Optional(root)) { node, key in node?.mapping?[String(key)] }
    }

    /// `path` made absolute against `directory` (after `~` expansion), with `.`/`..` removed.
    static func resolve(_ path: String, in directory: String) -> String {
        let expanded = NSString(string: path).expandingTildeInPath
        let base = URL(fileURLWithPath: directory, isDirectory: true)
        return URL(fileURLWithPath: expanded, relativeTo: base).standardizedFileURL.path
    }

    /// A `chat_template` is a file path when it has a `/` or a template file extension; otherwise it names
    /// a built-in template (`chatml`, `llama3`, ...).
    static func isTemplatePath(_ value: String) -> Bool {
        value.contains("/") || [".jinja", ".jinja2", ".j2", ".txt"].contains { value.hasSuffix($0) }
    }
}
