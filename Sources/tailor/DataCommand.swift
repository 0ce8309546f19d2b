import ArgumentParser
import Foundation
import TailorKit
import TailorRuns

struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Check and render a run's training data exactly as training will see it.",
        subcommands: [DataCheckCommand.self, DataRenderCommand.self])
}

struct DataCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Report on a run's data: format, counts, token lengths, truncation, supervision, duplicates, bad lines.",
        discussion: """
            Every file is read to the end; bad lines are listed (the run itself stops at the first one unless
            data.on_bad_line is skip). --show N prints N rendered examples with the supervised text marked:
            highlighted on a terminal, between ⟦ and ⟧ otherwise.
            Example: tailor data check configs/smollm2-demo.yaml --show 2
            """)

    @Argument(help: "The run config (YAML).")
    var config: String

    @Option(name: .customLong("set"), help: "Override a config value, dotted: --set data.train_on=last (repeatable).")
    var overrides: [String] = []

    @Option(help: "Print this many rendered training examples with the supervised spans marked.")
    var show = 0

    @Flag(help: "Print the report as JSON.")
    var json = false

    func run() throws {
        let inputs = try RunInputs(configPath: config, overrides: try RunInputs.overrides(overrides))
        var reports: [DataFileReport] = []
        var lenient = inputs.pipeline
        var cfg = inputs.config
        cfg.data.onBadLine = .skip
        lenient = DataPipeline(config: cfg, tokenizer: inputs.tokenizer, template: inputs.template)
        reports.append(try DataReporter.report(try lenient.trainSource(), split: "train"))
        if let v = try lenient.validSource() { reports.append(try DataReporter.report(v, split: "valid")) }
        if json { return try printJSON(reports) }
        for r in reports { print(describe(r, policy: inputs.config.data.onBadLine)) }
        if show > 0 {
            let s = try lenient.trainSource()
            s.keepText = true
            var n = 0
            let tty = isatty(1) != 0
            while n < show, let e = try s.next() {
                n += 1
                print("── example \(n) (\(s.path):\(e.cursor.line), \(e.example.tokens.count) tokens, \(e.example.supervisedCount) supervised) ──")
                if let r = e.rendered { print(marked(r, tokenized: e.example, tty: tty, tokenizer: inputs.tokenizer)) }
            }
        }
    }

    func describe(_ r: DataFileReport, policy: BadLinePolicy) -> String {
        var out = "\(r.split): \(r.path)\n"
        let detected = r.formatDetectedFromLine.map { " (detected from line \($0))" } ?? ""
        out += "  format        \(r.format)\(detected)\n"
        out += "  lines         \(r.lines): \(r.examples) examples, \(r.badLines) bad, \(r.noSupervisedTokens) with nothing to train\n"
        out += "  tokens        \(r.tokens) (min \(r.lengthMin), median \(r.lengthMedian), p95 \(r.lengthP95), max \(r.lengthMax) per example)\n"
        out += String(format: "  supervised    %d tokens (%.1f %%)\n", r.supervisedTokens, r.supervisedPercent)
        out += "  truncated     \(r.truncated) examples longer than train.max_seq_len\n"
        out += "  no stop       \(r.endNotSupervised) examples whose EOS/end-of-turn token is not supervised\n"
        out += "  duplicates    \(r.duplicates) exact\n"
        if !r.histogram.isEmpty {
            out += "  lengths\n"
            let peak = max(1, r.histogram.max() ?? 1)
            for (i, c) in r.histogram.enumerated() where c > 0 {
                let lo = i * r.histogramBucket, hi = lo + r.histogramBucket - 1
                let bar = String(repeating: "█", count: max(1, c * 40 / peak))
                out += String(format: "    %5d-%-5d %6d ", lo, hi, c) + bar + "\n"
            }
        }
        if !r.firstIssues.isEmpty {
            out += "  first problems\(policy == .error && r.badLines > 0 ? " (the run stops at the first bad line; data.on_bad_line: skip skips them)" : "")\n"
            for i in r.firstIssues { out += "    \(i)\n" }
        }
        return out
    }

    /// The rendered text with the supervised tokens marked (what the loss sees, token by token).
    func marked(_ r: RenderedExample, tokenized e: TokenizedExample, tty: Bool, tokenizer: Tokenizer) -> String {
        let (open, close) = tty ? ("\u{1B}[1;32m", "\u{1B}[0m") : ("⟦", "⟧")
        var out = ""
        var inside = false
        var bytes: [UInt8] = []
        func flush() {
            out += String(decoding: bytes, as: UTF8.self)
            bytes.removeAll()
        }
        for (t, s) in zip(e.tokens, e.supervised) {
            if s != inside {
                flush()
                out += s ? open : close
                inside = s
            }
            bytes.append(contentsOf: tokenizer.tokenBytes(t))
        }
        flush()
        if inside { out += close }
        return out
    }
}

struct DataRenderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Write one JSON line per example: the rendered text, its token ids and the loss mask.",
        discussion: """
            From a run config (its training file, or --split valid), or from a model and a file:
              tailor data render configs/smollm2-demo.yaml --limit 3
              tailor data render --model models/SmolLM2-135M-Instruct.Q4_1.gguf --file chats.jsonl
            Each line is {"line": N, "text": "...", "ids": [...], "mask": [0, 1, ...]}; mask is 1 where the token
            is supervised (predicted and scored).
            """)

    @Argument(help: "The run config (YAML); or use --model and --file.")
    var config: String?

    @Option(help: "A GGUF model (with --file, instead of a config).")
    var model: String?

    @Option(help: "A JSONL data file (with --model).")
    var file: String?

    @Option(help: "With --model: the data format (auto, text, completion, chat).")
    var format: String = "auto"

    @Option(help: "With --model: a chat template file instead of the model's.")
    var chatTemplate: String?

    @Option(help: "train or valid (with a config).")
    var split: String = "train"

    @Option(help: "Stop after this many examples.")
    var limit: Int?

    @Option(name: .customLong("set"), help: "Override a config value (with a config).")
    var overrides: [String] = []

    func run() throws {
        let source: ExampleSource
        let tokenizer: Tokenizer
        if let config {
            let inputs = try RunInputs(configPath: config, overrides: try RunInputs.overrides(overrides))
            tokenizer = inputs.tokenizer
            switch split {
            case "train": source = try inputs.pipeline.trainSource()
            case "valid":
                guard let v = try inputs.pipeline.validSource() else {
                    throw InputError(message: "\(config): no validation data (data.valid or data.valid_fraction)")
                }
                source = v
            default: throw ValidationError("--split must be train or valid, got '\(split)'")
            }
        } else {
            guard let model, let file else { throw ValidationError("give a run config, or --model and --file") }
            guard let f = DataFormat(rawValue: format) else {
                throw ValidationError("--format must be one of \(DataFormat.allCases.map(\.rawValue).joined(separator: ", ")), got '\(format)'")
            }
            let gguf = try GGUFFile(path: model)
            tokenizer = try Tokenizer(gguf: gguf)
            let template = try RunInputs.chatTemplate(named: chatTemplate, file: gguf, tokenizer: tokenizer)
            var cfg = TrainingConfig(name: "render", model: model, output: "", data: DataConfig(train: file, format: f))
            cfg.train.maxSeqLen = gguf.optionalInt("llama.context_length") ?? 8192
            source = try DataPipeline(config: cfg, tokenizer: tokenizer, template: template).trainSource()
        }
        source.keepText = true
        var n = 0
        let out = FileHandle.standardOutput
        while limit.map({ n < $0 }) ?? true, let e = try source.next() {
            n += 1
            var line = "{\"line\":\(e.cursor.line),\"text\":"
            line += jsonString(e.rendered?.text ?? "")
            line += ",\"ids\":[" + e.example.tokens.map(String.init).joined(separator: ",") + "]"
            line += ",\"mask\":[" + e.example.supervised.map { $0 ? "1" : "0" }.joined(separator: ",") + "]}\n"
            out.write(Data(line.utf8))
        }
    }

    func jsonString(_ s: String) -> String {
        var o = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": o += "\\\""
            case "\\": o += "\\\\"
            case "\n": o += "\\n"
            case "\r": o += "\\r"
            case "\t": o += "\\t"
            case _ where u.value < 0x20: o += String(format: "\\u%04x", u.value)
            default: o.unicodeScalars.append(u)
            }
        }
        return o + "\""
    }
}
