import Foundation
import TailorKit
import XCTest

@testable import TailorRuns

final class ConfigLoaderTests: XCTestCase {
    private let cwd = "/work/runs"

    /// The smallest valid config; tests append sections to it.
    private let minimal = """
        model: models/tiny.gguf
        data:
          train: data/train.jsonl

        """

    private func load(_ yaml: String, overrides: [String: String] = [:]) throws -> TrainingConfig {
        try ConfigLoader.load(yaml: yaml, path: "run.yaml", overrides: overrides, workingDirectory: cwd)
    }

    /// The error message of loading `yaml`; fails the test if it loads.
    private func message(
        _ yaml: String, overrides: [String: String] = [:], file: StaticString = #filePath, line: UInt = #line
    ) -> String {
        do {
            let config = try load(yaml, overrides: overrides)
            XCTFail("expected an error, loaded \(config)", file: file, line: line)
            return ""
        } catch let error as ConfigError {
            return error.errorDescription ?? ""
        } catch {
            XCTFail("expected a ConfigError, got \(error)", file: file, line: line)
            return ""
        }
    }

    /// 1-based number of the first line of `yaml` containing `text`.
    private func line(of text: String, in yaml: String) -> Int {
        (yaml.components(separatedBy: "\n").firstIndex { $0.contains(text) } ?? -1) + 1
    }

    /// Asserts the message has every fragment.
    private func assertMessage(
        _ message: String, contains fragments: [String], file: StaticString = #filePath, line: UInt = #line
    ) {
        for fragment in fragments where !message.contains(fragment) {
            XCTFail("'\(fragment)' not in: \(message)", file: file, line: line)
        }
    }

    // MARK: - parsing

    func testFullConfigParsesToExpectedStruct() throws {
        let yaml = """
            name: tiny-chat
            model: models/tiny.gguf
            output: out/tiny
            data:
              train: data/train.jsonl
              valid: /data/valid.jsonl
              format: chat
              text_key: body
              prompt_key: question
              completion_key: answer
              messages_key: turns
              mask_prompt: false
              train_on: last
              chat_template: templates/chat.jinja
              shuffle_buffer: 0
              packing: true
              on_bad_line: skip
            lora:
              rank: 16
              alpha: 32
              dropout: 0.05
              targets: [q_proj, k_proj, v_proj, o_proj]
              layers: [0, 2, 5]
              use_rslora: true
            train:
              steps: 1000
              batch_size: 8
              grad_accumulation: 4
              max_seq_len: 2048
              lr: 1e-4
              schedule: linear
              warmup: 50
              weight_decay: 0.01
              max_grad_norm: null
              adam_beta1: 0.8
              adam_beta2: 0.95
              adam_eps: 1.0e-6
              seed: 42
              threads: 2
              micro_batch_tokens: 4096
              grad_checkpoint: yes
              max_bad_steps: 3
            checkpoint:
              every: 200
              keep: 2
              keep_best: false
            eval:
              every: 50
              batches: 10
              patience: 4
            """
        let expected = TrainingConfig(
            name: "tiny-chat", model: "/work/runs/models/tiny.gguf", output: "/work/runs/out/tiny",
            data: DataConfig(
                train: "/work/runs/data/train.jsonl", valid: "/data/valid.jsonl", format: .chat, textKey: "body",
                promptKey: "question", completionKey: "answer", messagesKey: "turns", maskPrompt: false,
                trainOn: .last, chatTemplate: "/work/runs/templates/chat.jinja", shuffleBuffer: 0, packing: true,
                onBadLine: .skip),
            lora: LoRAConfig(
                rank: 16, alpha: 32, dropout: 0.05, targets: [.qProj, .kProj, .vProj, .oProj],
                layers: .list([0, 2, 5]),
                useRSLoRA: true),
            train: TrainConfig(
                epochs: nil, steps: 1000, batchSize: 8, gradAccumulation: 4, maxSeqLen: 2048, lr: 1e-4,
                schedule: .linear, warmup: 50, weightDecay: 0.01, maxGradNorm: nil, adamBeta1: 0.8, adamBeta2: 0.95,
                adamEps: 1e-6, seed: 42, threads: 2, microBatchTokens: 4096, gradCheckpoint: true, maxBadSteps: 3),
            checkpoint: CheckpointConfig(every: 200, keep: 2, keepBest: false),
            eval: EvalConfig(every: 50, batches: 10, patience: 4))
        XCTAssertEqual(try load(yaml), expected)
    }

    func testDefaults() throws {
        let config = try ConfigLoader.load(yaml: minimal, path: "configs/my-run.yaml", workingDirectory: cwd)
        var expected = TrainingConfig(
            name: "my-run", model: "/work/runs/models/tiny.gguf", data: DataConfig(train: "/work/runs/data/train.jsonl")
        )
        expected.output = "/work/runs/adapters/my-run"
        XCTAssertEqual(config, expected)
        XCTAssertEqual(config.train.epochs, 1)
        XCTAssertNil(config.train.steps)
        XCTAssertEqual(config.train.lr, 2e-4)
        XCTAssertEqual(config.train.maxGradNorm, 1.0)
        XCTAssertEqual(config.lora.targets, [.qProj, .vProj])
        XCTAssertEqual(config.lora.layers, .all)
        XCTAssertEqual(config.data.shuffleBuffer, 10_000)
        XCTAssertEqual(config.eval.every, 100)
        XCTAssertEqual(config.train.microBatchTokens, 256)
    }

    func testScientificNotationIsAFloat() throws {
        for (text, value) in [("2e-4", 2e-4), ("3E-5", 3e-5), ("\"5e-4\"", 5e-4), ("1", 1.0), ("0.5e-3", 5e-4)] {
            let config = try load(minimal + "train:\n  lr: \(text)\n")
            XCTAssertEqual(config.train.lr, value, text)
        }
        XCTAssertEqual(try load(minimal + "lora:\n  alpha: 8\n").lora.alpha, 8)
    }

    func testAllLinearTargets() throws {
        let config = try load(minimal + "lora:\n  targets: all-linear\n")
        XCTAssertEqual(config.lora.targets, LoRATarget.allCases)
        XCTAssertEqual(config.lora.targets.count, 7)
    }

    func testLayerForms() throws {
        XCTAssertEqual(try load(minimal + "lora:\n  layers: all\n").lora.layers, .all)
        XCTAssertEqual(try load(minimal + "lora:\n  layers: 4\n").lora.layers, .last(4))
        XCTAssertEqual(try load(minimal + "lora:\n  layers: [3, 1]\n").lora.layers, .list([3, 1]))
        XCTAssertEqual(try load(minimal + "lora:\n  layers:\n    - 0\n    - 7\n").lora.layers, .list([0, 7]))
        XCTAssertEqual(LayerSelection.last(4).indices(layerCount: 6), [2, 3, 4, 5])
        XCTAssertEqual(LayerSelection.last(9).indices(layerCount: 3), [0, 1, 2])
        assertMessage(
            message(minimal + "lora:\n  layers: some\n"),
            contains: ["lora.layers", "'some'", "a list of block indices"])
        assertMessage(
            message(minimal + "lora:\n  layers: [1, 1]\n"), contains: ["lora.layers", "each block index listed once"])
        assertMessage(message(minimal + "lora:\n  layers: 0\n"), contains: ["lora.layers", "N >= 1"])
    }

    func testStepsReplaceTheDefaultEpoch() throws {
        let config = try load(minimal + "train:\n  steps: 300\n")
        XCTAssertEqual(config.train.steps, 300)
        XCTAssertNil(config.train.epochs)
    }

    func testPathsResolveAgainstWorkingDirectory() throws {
        let config = try load(
            """
            model: /models/abs.gguf
            output: ../shared/adapters/x
            data:
              train: ./data/../data/train.jsonl
              chat_template: chatml
            lora:
              init_from: adapters/earlier-run
            """)
        XCTAssertEqual(config.model, "/models/abs.gguf")
        XCTAssertEqual(config.output, "/work/shared/adapters/x")
        XCTAssertEqual(config.data.train, "/work/runs/data/train.jsonl")
        XCTAssertEqual(config.data.chatTemplate, "chatml")
        XCTAssertEqual(config.lora.initFrom, "/work/runs/adapters/earlier-run")
        XCTAssertNil(try load(minimal).lora.initFrom)
    }

    func testLoadFromFileUsesStemAndReportsMissingFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("qwen-sql.yaml").path
        try (minimal + "lora:\n  rnak: 4\n").write(toFile: file, atomically: true, encoding: .utf8)
        assertMessage(message(fileAt: file), contains: ["\(file):5:", "lora.rnak", "'rank'"])
        try minimal.write(toFile: file, atomically: true, encoding: .utf8)
        XCTAssertEqual(try ConfigLoader.load(path: file, workingDirectory: cwd).name, "qwen-sql")
        let spaced = dir.appendingPathComponent("my run.yaml").path
        try minimal.write(toFile: spaced, atomically: true, encoding: .utf8)
        assertMessage(
            message(fileAt: spaced), contains: ["name: found 'my run' (the config file's stem)", "set name:"])
        let missing = dir.appendingPathComponent("nope.yaml").path
        assertMessage(message(fileAt: missing), contains: [missing, "cannot read"])
    }

    private func message(fileAt path: String) -> String {
        do {
            _ = try ConfigLoader.load(path: path, workingDirectory: cwd)
            XCTFail("expected an error")
        } catch {
            return error.localizedDescription
        }
        return ""
    }

    // MARK: - unknown keys

    func testMisspelledKeySuggestsNearestKey() {
        let yaml = minimal + "lora:\n  rank: 8\n  rnak: 16\n"
        assertMessage(
            message(yaml), contains: ["run.yaml:\(line(of: "rnak", in: yaml)):", "'lora.rnak'", "did you mean 'rank'?"])
    }

    func testForeignKeySuggestsTailorKey() {
        let yaml = minimal + "train:\n  learning_rate: 1e-4\n"
        assertMessage(
            message(yaml),
            contains: [
                "run.yaml:\(line(of: "learning_rate", in: yaml)):", "'train.learning_rate'", "did you mean 'lr'?",
            ])
        let mlx = minimal + "resume_adapter_file: adapters/x\n"
        assertMessage(message(mlx), contains: ["'resume_adapter_file'", "did you mean 'lora.init_from'?"])
    }

    func testKeyInTheWrongSectionSuggestsFullPath() {
        assertMessage(message(minimal + "lr: 1e-4\n"), contains: ["unknown key 'lr'", "did you mean 'train.lr'?"])
        assertMessage(message(minimal + "train:\n  rank: 4\n"), contains: ["'train.rank'", "'lora.rank'"])
        assertMessage(message(minimal + "iters: 600\n"), contains: ["'iters'", "'train.steps'"])
    }

    func testUnrelatedKeyListsValidKeys() {
        let yaml = minimal + "checkpoint:\n  frequency_of_saves: 10\n"
        assertMessage(
            message(yaml),
            contains: [
                "run.yaml:\(line(of: "frequency", in: yaml)):", "'checkpoint.frequency_of_saves'",
                "valid keys here: every, keep, keep_best",
            ])
    }

    func testEditDistanceCountsTranspositionsOnce() {
        XCTAssertEqual(ConfigSchema.editDistance("rnak", "rank"), 1)
        XCTAssertEqual(ConfigSchema.editDistance("shedule", "schedule"), 1)
        XCTAssertEqual(ConfigSchema.editDistance("", "abc"), 3)
        XCTAssertEqual(ConfigSchema.editDistance("kitten", "sitting"), 3)
    }

    // MARK: - types

    func testWrongTypes() {
        let cases: [(yaml: String, key: String, found: String, expected: String)] = [
            ("train:\n  lr: fast\n", "train.lr", "'fast'", "a number"),
            ("lora:\n  rank: 8.5\n", "lora.rank", "'8.5'", "an integer"),
            ("lora:\n  targets: 7\n", "lora.targets", "'7'", "'all-linear' or a list"),
            ("data:\n  train: t.jsonl\n  mask_prompt: maybe\n", "data.mask_prompt", "'maybe'", "true or false"),
            ("train:\n  epochs: [1, 2]\n", "train.epochs", "a list", "an integer"),
            ("eval: 5\n", "eval", "'5'", "a mapping"),
            ("train:\n  batch_size:\n", "train.batch_size", "null", "a value"),
            ("train:\n  seed: -1\n", "train.seed", "-1", "an integer in 0..."),
        ]
        for (section, key, found, expected) in cases {
            let yaml = "model: m.gguf\n" + (section.hasPrefix("data:") ? "" : "data:\n  train: t.jsonl\n") + section
            let lastKey = String(key.split(separator: ".").last ?? "")
            assertMessage(
                message(yaml), contains: ["run.yaml:\(line(of: "\(lastKey):", in: yaml)):", key, found, expected])
        }
    }

    func testUnknownEnumValuesSuggestNearest() {
        let yaml = minimal + "train:\n  schedule: cosin\n"
        assertMessage(
            message(yaml),
            contains: [
                "run.yaml:\(line(of: "cosin", in: yaml)):", "train.schedule", "'cosin'",
                "constant, linear, cosine", "did you mean 'cosine'?",
            ])
        assertMessage(
            message(minimal + "lora:\n  targets: [q_proj, v_prj]\n"),
            contains: ["lora.targets", "'v_prj'", "did you mean 'v_proj'?"])
        assertMessage(message(minimal + "lora:\n  targets: [lm_head]\n"), contains: ["'lm_head'", "q_proj, k_proj"])
    }

    // MARK: - ranges and combinations

    func testRangeErrorsNameKeyAndLine() {
        let cases: [(section: String, key: String, found: String)] = [
            ("lora:\n  rank: 0\n", "lora.rank", "0"),
            ("lora:\n  rank: 2048\n", "lora.rank", "2048"),
            ("lora:\n  alpha: 0\n", "lora.alpha", "0.0"),
            ("lora:\n  dropout: 1\n", "lora.dropout", "1.0"),
            ("train:\n  batch_size: 0\n", "train.batch_size", "0"),
            ("train:\n  grad_accumulation: 2000\n", "train.grad_accumulation", "2000"),
            ("train:\n  max_seq_len: 4\n", "train.max_seq_len", "4"),
            ("train:\n  lr: 2\n", "train.lr", "2.0"),
            ("train:\n  lr: 0\n", "train.lr", "0.0"),
            ("train:\n  warmup: -1\n", "train.warmup", "-1"),
            ("train:\n  weight_decay: -0.1\n", "train.weight_decay", "-0.1"),
            ("train:\n  max_grad_norm: 0\n", "train.max_grad_norm", "0.0"),
            ("train:\n  adam_beta2: 1\n", "train.adam_beta2", "1.0"),
            ("train:\n  adam_eps: 0\n", "train.adam_eps", "0.0"),
            ("train:\n  threads: 0\n", "train.threads", "0"),
            ("train:\n  micro_batch_tokens: 0\n", "train.micro_batch_tokens", "0"),
            ("train:\n  max_bad_steps: 0\n", "train.max_bad_steps", "0"),
            ("train:\n  epochs: 0\n", "train.epochs", "0"),
            ("checkpoint:\n  keep: 0\n", "checkpoint.keep", "0"),
            ("checkpoint:\n  every: 0\n", "checkpoint.every", "0"),
            ("eval:\n  every: 0\n", "eval.every", "0"),
            ("eval:\n  batches: 0\n", "eval.batches", "0"),
            ("data:\n  train: t.jsonl\n  valid_fraction: 0.6\n", "data.valid_fraction", "0.6"),
            ("data:\n  train: t.jsonl\n  shuffle_buffer: -5\n", "data.shuffle_buffer", "-5"),
        ]
        for (section, key, found) in cases {
            let yaml = "model: m.gguf\n" + (section.hasPrefix("data:") ? "" : "data:\n  train: t.jsonl\n") + section
            let lastKey = String(key.split(separator: ".").last ?? "")
            assertMessage(
                message(yaml),
                contains: [
                    "run.yaml:\(line(of: "  \(lastKey):", in: yaml)):", "\(key): \(found) is out of range", "expected",
                ])
        }
    }

    func testCrossFieldConflicts() {
        let both = minimal + "train:\n  epochs: 2\n  steps: 100\n"
        assertMessage(
            message(both), contains: ["run.yaml:\(line(of: "steps", in: both)):", "train.steps", "train.epochs"])
        assertMessage(
            message(minimal + "train:\n  steps: 100\n  warmup: 100\n"),
            contains: ["train.warmup", "fewer warmup steps than train.steps (100)"])
        assertMessage(
            message(minimal + "train:\n  warmup: 10\n  warmup_ratio: 0.1\n"),
            contains: ["train.warmup_ratio", "train.warmup"])
        assertMessage(
            message("model: m\ndata:\n  train: t\n  valid: v\n  valid_fraction: 0.1\n"),
            contains: ["run.yaml:5:", "data.valid_fraction", "data.valid"])
        assertMessage(message(minimal + "eval:\n  patience: 3\n"), contains: ["eval.patience", "data.valid_fraction"])
        XCTAssertNoThrow(try load(minimal + "train:\n  steps: 100\n  warmup_ratio: 0.1\n"))
    }

    func testValidateWorksOnConfigsBuiltInCode() {
        var config = TrainingConfig(name: "code", model: "m.gguf", data: DataConfig(train: "t.jsonl"))
        XCTAssertNoThrow(try config.validate())
        config.train.steps = 10
        XCTAssertThrowsError(try config.validate(file: "x.yaml")) { error in
            XCTAssertEqual(
                error as? ConfigError,
                .conflict(
                    file: "x.yaml", key: "train.steps", origin: .unknown, other: "train.epochs",
                    reason: "set either the number of passes over the data (epochs) or of optimizer updates (steps)"))
        }
        config.train.epochs = nil
        config.name = "../escape"
        XCTAssertThrowsError(try config.validate()) { XCTAssertEqual(($0 as? ConfigError)?.key, "name") }
    }

    // MARK: - document errors

    func testDocumentErrors() {
        assertMessage(message(""), contains: ["run.yaml", "empty document"])
        assertMessage(message("# only a comment\n"), contains: ["empty document"])
        assertMessage(message("- a\n- b\n"), contains: ["must be a YAML mapping", "found a list"])
        assertMessage(message("model: [unclosed\n"), contains: ["run.yaml:", "YAML syntax error"])
        assertMessage(
            message("model: a\nmodel: b\ndata:\n  train: t\n"), contains: ["run.yaml:1:", "'model'", "more than once"])
        assertMessage(message("data:\n  train: t\n"), contains: ["run.yaml: model: missing"])
        assertMessage(message("model: m\ndata:\n  valid: v\n"), contains: ["data.train: missing"])
        assertMessage(message("model: m\n"), contains: ["data.train: missing"])
    }

    // MARK: - overrides

    func testOverridesWinOverFileValues() throws {
        let yaml = minimal + "train:\n  lr: 1e-3\nlora:\n  rank: 4\n"
        let config = try load(
            yaml,
            overrides: [
                "train.lr": "1e-4", "lora.rank": "16", "name": "renamed", "lora.targets": "[q_proj, k_proj]",
                "eval.every": "5", "train.threads": "null", "data.packing": "true",
            ])
        XCTAssertEqual(config.train.lr, 1e-4)
        XCTAssertEqual(config.lora.rank, 16)
        XCTAssertEqual(config.name, "renamed")
        XCTAssertEqual(config.output, "/work/runs/adapters/renamed")
        XCTAssertEqual(config.lora.targets, [.qProj, .kProj])
        XCTAssertEqual(config.eval.every, 5)
        XCTAssertNil(config.train.threads)
        XCTAssertTrue(config.data.packing)
    }

    func testOverridesAreValidated() {
        assertMessage(
            message(minimal, overrides: ["lora.rnak": "4"]),
            contains: ["run.yaml (from --set):", "'lora.rnak'", "did you mean 'rank'?"])
        assertMessage(
            message(minimal, overrides: ["train.learning_rate": "1e-4"]), contains: ["(from --set)", "'lr'"])
        assertMessage(
            message(minimal + "lora:\n  rank: 4\n", overrides: ["lora.rank": "0"]),
            contains: ["run.yaml (from --set):", "lora.rank: 0 is out of range"])
        assertMessage(
            message(minimal, overrides: ["train.lr": "fast"]),
            contains: ["(from --set)", "train.lr", "'fast'", "a number"])
        assertMessage(message(minimal, overrides: ["train..lr": "1"]), contains: ["--set 'train..lr=1'", "dotted key"])
        assertMessage(
            message(minimal, overrides: ["model.path": "x"]), contains: ["run.yaml:1:", "model", "a mapping"])
    }

    // MARK: - resolved YAML

    func testResolvedYAMLRoundTrips() throws {
        let full =
            minimal + """
                name: "2024"
                output: "null"
                lora:
                  targets: all-linear
                  layers: [1, 3]
                  init_from: /adapters/peft-run
                train:
                  steps: 20
                  warmup_ratio: 0.25
                  adam_eps: 1e-8
                  seed: 18446744073709551615
                  max_grad_norm: null
                checkpoint:
                  every: 5
                """
        for yaml in [minimal, full, minimal + "lora:\n  layers: 6\n"] {
            let config = try load(yaml)
            let resolved = ConfigLoader.resolvedYAML(config)
            XCTAssertEqual(try load(resolved), config, resolved)
            let json = try JSONEncoder().encode(config)
            XCTAssertEqual(try JSONDecoder().decode(TrainingConfig.self, from: json), config)
        }
        let resolved = ConfigLoader.resolvedYAML(try load(minimal))
        for key in [
            "name:", "output:", "valid: null", "chat_template: null", "targets: [q_proj, v_proj]", "layers: all",
            "steps: null", "epochs: 1", "lr: 0.0002", "max_grad_norm: 1.0", "keep_best: true", "patience: null",
        ] {
            XCTAssertTrue(resolved.contains(key), "\(key) not in\n\(resolved)")
        }
    }

    /// The schema's key lists are the `Codable` keys of `TrainingConfig`, so YAML and stored JSON agree.
    func testSchemaMatchesCodableKeys() throws {
        var config = try load(minimal)
        config.data.valid = "v"
        config.data.validFraction = 0.1
        config.data.chatTemplate = "chatml"
        config.train.steps = 5
        config.train.warmupRatio = 0.1
        config.train.threads = 1
        config.checkpoint.every = 1
        config.eval.batches = 1
        config.eval.patience = 1
        config.lora.initFrom = "a"
        let object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(config)) as? [String: Any] ?? [:]
        XCTAssertEqual(Set(object.keys), Set(ConfigSchema.sections[""] ?? []))
        for section in ["data", "lora", "train", "checkpoint", "eval"] {
            let keys = (object[section] as? [String: Any]).map { Set($0.keys) }
            XCTAssertEqual(keys, Set(ConfigSchema.sections[section] ?? []), section)
        }
        for (foreign, target) in ConfigSchema.foreignKeys {
            let parts = target.split(separator: ".").map(String.init)
            let section = parts.count == 2 ? parts[0] : ""
            XCTAssertTrue(ConfigSchema.sections[section]?.contains(parts.last ?? "") ?? false, "\(foreign) → \(target)")
        }
    }

    func testExampleConfigLoads() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let config = try ConfigLoader.load(
            path: root.appendingPathComponent("configs/example-full.yaml").path, workingDirectory: cwd)
        XCTAssertEqual(config.name, "example-full")
        XCTAssertEqual(config.lora.targets, LoRATarget.allCases)
    }
}
