import ArgumentParser
import Foundation
import TailorKit

struct PerplexityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "perplexity",
        abstract: "Perplexity of a text file, the way llama.cpp's llama-perplexity computes it.",
        discussion: """
            The whole file is tokenized (no BOS unless the vocabulary adds one) and cut into chunks of --ctx
            tokens; each chunk is evaluated from scratch and only the predictions of its second half are
            scored. Prints the running value per chunk and PPL = x +/- y.
            Example: tailor perplexity --model M.gguf --file valid.txt --ctx 256
            """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "UTF-8 text file to score.")
    var file: String

    @Option(help: "Tokens per chunk (default 512).")
    var ctx = 512

    @Flag(help: "Print JSON only.")
    var json = false

    func validate() throws {
        try modelOptions.validateThreads()
        if ctx < 4 { throw ValidationError("--ctx must be ≥ 4, got \(ctx)") }
    }

    func run() throws {
        modelOptions.applyThreads()
        let gguf = try modelOptions.loadFile()
        let weights = try LlamaWeights(file: gguf)
        guard ctx <= weights.config.contextLength else {
            throw InputError(message: "--ctx \(ctx) exceeds the model's context of \(weights.config.contextLength)")
        }
        let tokenizer = try Tokenizer(gguf: gguf)
        let vocab = try TokenizerVocabulary(gguf: gguf)
        var text = try readText(file: file)
        // llama-perplexity strips one trailing newline before tokenizing.
        if text.hasSuffix("\n") { text.removeLast() }
        let tokens = tokenizer.encode(text, addSpecialTokens: true)
        let model = LlamaInference(weights: weights, contextLength: ctx, maxBatch: min(ctx, 512))
        if !json { log("\(file): \(tokens.count) tokens, \(tokens.count / ctx) chunks of \(ctx)") }
        let result = try Perplexity.evaluate(
            model: model, tokens: tokens, ctx: ctx, bos: vocab.addBos ? vocab.bosId : nil, path: file
        ) { chunk, ppl in
            if !json { print(String(format: "[%d]%.4f", chunk + 1, ppl)) }
        }
        if json { return try printJSON(result) }
        print(String(format: "PPL = %.4f +/- %.5f", result.ppl, result.pplError))
        log(String(format: "%d predictions scored in %.1f s (%.0f tokens/s evaluated)", result.scored, result.seconds,
                   Double(result.chunks * ctx) / max(result.seconds, 1e-9)))
    }
}
