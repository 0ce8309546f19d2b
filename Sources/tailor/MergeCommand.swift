import ArgumentParser
import Foundation
import TailorKit

struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Fold a LoRA adapter into its base model: a new GGUF that runs without the adapter.",
        discussion: """
            Each adapted projection becomes dequant(W0) + s·B·A, computed from the base GGUF's own 4-bit blocks \
            (the weights the adapter trained against), and is written as --quant; every other tensor is copied \
            byte for byte. f16 (the default), bf16 and f32 keep what the adapter learned up to rounding; q8_0 \
            halves the size of the merged tensors for a small loss; q4_0 and q4_1 requantize, which can undo \
            much of a small adapter (the verification says how much). The result loads in llama.cpp, \
            llama-cpp-python, Ollama and `tailor generate`.

            Afterwards the merged model and the base with the adapter applied unmerged both score a probe text; \
            their logits must agree (max and RMS difference against the adapter's own effect are printed). \
            With f16, bf16 or f32 a disagreement beyond rounding fails the command (exit 1) and leaves no file.

            Example: tailor merge --model models/SmolLM2-135M-Instruct.Q4_1.gguf --adapter adapters/smollm2-demo \
            --out smollm2-demo.gguf
            """)

    @Option(name: [.customShort("m"), .customLong("model"), .customLong("base")], help: "The base model the adapter was trained on (GGUF).")
    var model: String

    @Option(help: "The adapter directory in PEFT's layout (adapters/<run>, or one saved by PEFT).")
    var adapter: String

    @Option(help: ArgumentHelp("The merged GGUF to write (replaced atomically).", valueName: "file"))
    var out: String

    @Option(help: "Type of the merged tensors: f16 (default), bf16, f32, q8_0, q4_0 or q4_1.")
    var quant = "f16"

    @Flag(help: "Skip the logits check of the merged model against the unmerged adapter.")
    var noVerify = false

    @Option(help: "Threads (default: all cores).")
    var threads: Int?

    @Flag(help: "Print one JSON object (what was merged, the file, the check) on stdout.")
    var json = false

    static let types: [String: GGMLType] = ["f32": .f32, "f16": .f16, "bf16": .bf16, "q8_0": .q8_0, "q4_0": .q4_0, "q4_1": .q4_1]

    func validate() throws {
        try validateThreadCount(threads)
        if Self.types[quant.lowercased()] == nil {
            throw ValidationError("--quant \(quant): expected one of \(Self.types.keys.sorted().joined(separator: ", "))")
        }
        if !out.hasSuffix(".gguf") { throw ValidationError("--out \(out): the merged model is a GGUF file; name it *.gguf") }
    }

    struct Output: Encodable {
        var model: String
        var adapter: String
        var out: String
        var merge: AdapterMerge.Report
        var check: MergeCheck?
    }

    func run() throws {
        Threads.set(threads ?? Threads.available)
        guard FileManager.default.fileExists(atPath: model) else { throw InputError(message: "\(model): no such file") }
        let type = Self.types[quant.lowercased()] ?? .f16
        let weights = try LlamaWeights(path: model)
        let loaded = try PEFTAdapter.load(directory: URL(fileURLWithPath: adapter), config: weights.config)
        let outURL = URL(fileURLWithPath: out)
        if outURL.standardizedFileURL.path == URL(fileURLWithPath: model).standardizedFileURL.path {
            throw InputError(message: "--out \(out) is the base model itself; write the merged model elsewhere")
        }
        // Written beside the target under a temporary name, checked, then renamed into place: a merge
        // that fails its check never replaces a good file.
        let staged = noVerify ? outURL : outURL.deletingLastPathComponent().appendingPathComponent(".\(outURL.lastPathComponent).unverified-\(getpid())")
        defer { if staged != outURL { unlink(staged.path) } }
        let t0 = DispatchTime.now()
        let report = try AdapterMerge.write(
            base: weights, adapter: loaded, adapterPath: adapter, type: type, to: staged,
            metadata: [
                "tailor.merge.adapter": .string(URL(fileURLWithPath: adapter).standardizedFileURL.path),
                "tailor.merge.type": .string(type.name),
                "tailor.merge.base": .string(URL(fileURLWithPath: model).lastPathComponent),
            ])
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0.uptimeNanoseconds) / 1e9
        if !json {
            log(String(format: "merged %d tensors (%@), copied %d; %@, %.1f MiB in %.1f s; largest change to a weight %.3g",
                       report.mergedTensors, report.type, report.copiedTensors, out, Double(report.bytes) / 1_048_576, seconds,
                       report.largestDelta))
        }
        var check: MergeCheck?
        if !noVerify {
            let c = try MergeCheck.run(base: weights, adapter: loaded, merged: staged.path, type: type)
            check = c
            if !json { log(c.summary) }
            if !c.passed {
                guard [.q8_0, .q4_0, .q4_1].contains(type) else {
                    log("error: the merged model disagrees with the unmerged adapter beyond \(type.name) rounding; \(out) was not written")
                    throw ExitCode.failure
                }
                log(String(format: "warning: requantizing to %@ moved the logits by %.0f%% of what the adapter itself changes; "
                           + "the merged model may have lost much of the fine-tune (f16 or q8_0 keep it)", type.name, 100 * c.rmsDiff / max(c.rmsEffect, 1e-30)))
            }
        }
        if staged != outURL {
            guard rename(staged.path, outURL.path) == 0 else { throw FileWriteError(path: out, reason: String(cString: strerror(errno))) }
        }
        if json { try printJSON(Output(model: model, adapter: adapter, out: out, merge: report, check: check)) }
    }
}

/// The merged model against the base with the adapter applied unmerged, on a fixed probe text: the
/// disagreement must be small next to what the adapter itself changes.
struct MergeCheck: Encodable {
    var tokens: Int
    /// max and RMS |merged − unmerged| over every logit of every probe position.
    var maxDiff: Float
    var rmsDiff: Float
    /// RMS |unmerged − base|: the adapter's own effect on the same logits.
    var rmsEffect: Float
    /// Positions where merged and unmerged pick the same top token.
    var argmaxAgree: Int
    var passed: Bool

    static let probe = "The support team answers questions about plans, billing and exports. A customer writes: how do I move my invoices to another account?"

    var summary: String {
        String(format: "check on %d probe tokens: merged vs unmerged max |logit diff| %.3g, RMS %.3g; the adapter moves logits by RMS %.3g (%.0fx the diff); top token agrees at %d/%d positions",
               tokens, maxDiff, rmsDiff, rmsEffect, rmsEffect / max(rmsDiff, 1e-30), argmaxAgree, tokens)
    }

    /// RMS logit change that rounding every merged weight to `type` alone may cause (weights of a few
    /// hundredths rounded to 11 bits (f16) or 8 bits (bf16) move logits of ~10-30 by about 1e-3 to 1e-2;
    /// measured 2e-3 to 5e-3 for f16 on SmolLM2-135M).
    static func roundingRMS(_ type: GGMLType) -> Float {
        switch type {
        case .f32: 1e-3
        case .f16: 1e-2
        case .bf16: 8e-2
        default: 0
        }
    }

    static func run(base: LlamaWeights, adapter: LoRAAdapter, merged path: String, type: GGMLType) throws -> MergeCheck {
        let tokenizer = try Tokenizer(gguf: base.file)
        let ids = tokenizer.encode(probe, addSpecialTokens: true)
        let V = base.config.vocabSize
        func logits(_ w: LlamaWeights, _ a: LoRAAdapter?) throws -> [Float] {
            let m = LlamaInference(weights: w, contextLength: ids.count + 1, maxBatch: ids.count)
            if let a { m.apply(adapter: a.weights) }
            return try m.forwardAllRows(ids)
        }
        let plain = try logits(base, nil)
        let unmerged = try logits(base, adapter)
        let merged = try logits(try LlamaWeights(path: path), nil)
        var maxDiff: Float = 0, sumDiff = 0.0, sumEffect = 0.0, agree = 0
        for t in 0..<ids.count {
            var bestM = 0, bestU = 0
            for j in 0..<V {
                let i = t * V + j
                let d = abs(merged[i] - unmerged[i])
                maxDiff = max(maxDiff, d.isNaN ? .infinity : d)
                sumDiff += Double(d * d)
                let e = unmerged[i] - plain[i]
                sumEffect += Double(e * e)
                if merged[i] > merged[t * V + bestM] { bestM = j }
                if unmerged[i] > unmerged[t * V + bestU] { bestU = j }
            }
            if bestM == bestU { agree += 1 }
        }
        let n = Double(ids.count * V)
        let rmsDiff = Float((sumDiff / n).squareRoot()), rmsEffect = Float((sumEffect / n).squareRoot())
        // A wrong row order, a wrong scale or a missing tensor moves the logits by a share of what the
        // adapter does; rounding the merged weights moves them by a fixed small amount whatever the
        // adapter. Pass: under 10 % of the adapter's effect, or within the type's rounding.
        let passed = rmsDiff <= 0.1 * rmsEffect || rmsDiff <= roundingRMS(type)
        return MergeCheck(tokens: ids.count, maxDiff: maxDiff, rmsDiff: rmsDiff, rmsEffect: rmsEffect, argmaxAgree: agree, passed: passed)
    }
}
