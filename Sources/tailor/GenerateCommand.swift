import ArgumentParser
import Foundation
import TailorKit

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Continue a prompt with the model, streaming the text to stdout.",
        discussion: """
            Stops at the model's end-of-generation tokens unless --ignore-eos. --temp 0 (the default) is greedy.
            Example: tailor generate --model M.gguf --chat --prompt "Name three rivers." --max-tokens 64
            """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "A LoRA adapter directory in PEFT's layout (e.g. adapters/<run>), applied unmerged.")
    var adapter: String?

    @Option(help: "Prompt text.")
    var prompt: String?

    @Option(help: "File whose UTF-8 contents are the prompt.")
    var promptFile: String?

    @Option(help: "Maximum tokens to generate (default 128).")
    var maxTokens = 128

    @Option(help: "Sampling temperature; 0 is greedy (default 0).")
    var temp: Float = 0

    @Option(help: "Keep only the K most likely tokens; 0 disables (default 40, used when --temp > 0).")
    var topK = 40

    @Option(help: "Nucleus sampling mass in (0, 1]; 1 disables (default 0.95, used when --temp > 0).")
    var topP: Float = 0.95

    @Option(help: "Random seed for sampling (default 0).")
    var seed: UInt64 = 0

    @Option(help: "Context length in tokens: prompt + generation (default 2048, at most the model's).")
    var ctx = 2048

    @Flag(help: "Do not stop at end-of-generation tokens.")
    var ignoreEos = false

    @Flag(help: "Wrap the prompt as a user message with the model's chat template.")
    var chat = false

    @Option(help: "System message for --chat.")
    var system: String?

    @Flag(help: "Print one JSON object (ids, text, timings) instead of streaming text.")
    var json = false

    @Option(
        help: ArgumentHelp(
            "Also write the prompt's logits to this safetensors file: 'logits' F32 [prompt tokens, vocab] "
                + "(row t scores token t + 1) and 'ids' I32 [prompt tokens].",
            valueName: "file"))
    var logitsOut: String?

    func validate() throws {
        try modelOptions.validateThreads()
        if (prompt == nil) == (promptFile == nil) { throw ValidationError("give exactly one of --prompt or --prompt-file") }
        if maxTokens < 0 { throw ValidationError("--max-tokens must be ≥ 0, got \(maxTokens)") }
        if !(temp >= 0) { throw ValidationError("--temp must be ≥ 0, got \(temp)") }
        if topK < 0 { throw ValidationError("--top-k must be ≥ 0, got \(topK)") }
        if !(topP > 0 && topP <= 1) { throw ValidationError("--top-p must be in (0, 1], got \(topP)") }
        if ctx < 8 { throw ValidationError("--ctx must be ≥ 8, got \(ctx)") }
    }

    struct Output: Encodable {
        var prompt_ids: [Int32]
        var ids: [Int32]
        var text: String
        var stop: StopReason
        var timings: GenerationTimings
        var prompt_tokens_per_second: Double
        var generate_tokens_per_second: Double
    }

    func run() throws {
        modelOptions.applyThreads()
        let file = try modelOptions.loadFile()
        let weights = try LlamaWeights(file: file)
        let tokenizer = try Tokenizer(gguf: file)
        var text = try prompt ?? readText(file: promptFile ?? "")
        if chat {
            let template = try ChatTemplate(gguf: file)
            var messages: [ChatMessage] = []
            if let system { messages.append(ChatMessage(role: "system", content: system)) }
            messages.append(ChatMessage(role: "user", content: text))
            text = try template.render(messages, addGenerationPrompt: true)
        }
        let ids = tokenizer.encode(text, addSpecialTokens: !chat)
        let ctxLen = min(ctx, weights.config.contextLength)
        guard ids.count < ctxLen else {
            throw InputError(message: "the prompt is \(ids.count) tokens, the context holds \(ctxLen) (raise --ctx)")
        }
        let model = LlamaInference(weights: weights, contextLength: ctxLen, maxBatch: min(512, ctxLen))
        if let adapter {
            model.apply(adapter: try PEFTAdapter.read(directory: URL(fileURLWithPath: adapter), config: weights.config))
        }
        if let logitsOut {
            try writeLogits(of: ids, model: model, to: URL(fileURLWithPath: logitsOut))
        }
        let generator = Generator(model: model, tokenizer: tokenizer)
        var sampler = Sampler(temperature: temp, topK: topK, topP: topP, seed: seed)
        var decoder = StreamingDecoder(tokenizer: tokenizer)
        let result = try generator.generate(
            prompt: ids, maxTokens: min(maxTokens, ctxLen - ids.count), sampler: &sampler, ignoreEOS: ignoreEos
        ) { id in
            if !json { emit(decoder.append(id)) }
        }
        let t = result.timings
        if json {
            try printJSON(Output(
                prompt_ids: ids, ids: result.tokens, text: tokenizer.decode(result.tokens), stop: result.stop,
                timings: t, prompt_tokens_per_second: t.promptTokensPerSecond,
                generate_tokens_per_second: t.generateTokensPerSecond))
        } else {
            emit(decoder.flush() + "\n")
            log(String(format: "prompt %d tokens in %.0f ms (%.1f tok/s); generated %d tokens in %.0f ms (%.1f tok/s); stop: %@",
                       t.promptTokens, t.promptMs, t.promptTokensPerSecond, t.generatedTokens, t.generateMs,
                       t.generateTokensPerSecond, result.stop.rawValue))
        }
    }

    /// Every prompt position's logits, for comparing with other implementations (scripts/verify).
    func writeLogits(of ids: [Int32], model: LlamaInference, to url: URL) throws {
        model.reset()
        let logits = try model.forwardAllRows(ids)
        model.reset()
        var st = SafetensorsWriter()
        st.add("logits", shape: [ids.count, model.config.vocabSize], floats: logits)
        var idBytes = Data()
        for id in ids { withUnsafeBytes(of: id.littleEndian) { idBytes.append(contentsOf: $0) } }
        st.add("ids", dtype: .i32, shape: [ids.count], bytes: idBytes)
        if let adapter { st.metadata["adapter"] = adapter }
        try st.write(to: url)
    }
}
