import Foundation

/// Perplexity the way llama.cpp's `llama-perplexity` computes it (tools/perplexity/perplexity.cpp):
/// the whole text tokenized once (BOS only if the vocabulary adds it), cut into `n = tokens / ctx`
/// chunks, each evaluated from an empty cache (first token replaced by BOS when the vocabulary adds BOS),
/// and only the predictions of the second half scored: logits at positions ctx/2 ..< ctx-1 against the
/// next token. PPL = exp(mean NLL); the error is llama.cpp's: sqrt(var(NLL) / (count - 1)) · PPL.
public struct PerplexityResult: Sendable, Codable {
    public var ctx: Int
    public var tokens: Int
    public var chunks: Int
    public var scored: Int
    /// Running perplexity after each chunk.
    public var chunkPPL: [Double]
    public var ppl: Double
    public var pplError: Double
    public var meanNLL: Double
    public var seconds: Double

    enum CodingKeys: String, CodingKey {
        case ctx, tokens, chunks, scored, ppl, seconds
        case chunkPPL = "chunk_ppl", pplError = "ppl_err", meanNLL = "mean_nll"
    }
}

public enum PerplexityError: Error, LocalizedError, Equatable {
    case tooFewTokens(path: String, tokens: Int, ctx: Int)

    public var errorDescription: String? {
        switch self {
        case let .tooFewTokens(path, tokens, ctx):
            "\(path): \(tokens) tokens, need at least 2 × ctx = \(2 * ctx) (lower --ctx or use a longer file)"
        }
    }
}

public enum Perplexity {
    /// Scores `tokens` in chunks of `ctx`; `bos` replaces each chunk's first token when given.
    public static func evaluate(
        model: LlamaInference, tokens: [Int32], ctx: Int, bos: Int32?, path: String = "<tokens>",
        onChunk: (Int, Double) -> Void = { _, _ in }
    ) throws -> PerplexityResult {
        let chunks = tokens.count / ctx
        guard chunks >= 1, ctx >= 4 else { throw PerplexityError.tooFewTokens(path: path, tokens: tokens.count, ctx: ctx) }
        let V = model.config.vocabSize
        let first = ctx / 2
        var nllSum = 0.0, nll2Sum = 0.0, count = 0
        var running: [Double] = []
        let start = DispatchTime.now()
        for c in 0..<chunks {
            var chunk = Array(tokens[c * ctx..<(c + 1) * ctx])
            if let bos { chunk[0] = bos }
            model.reset()
            // Logits for every position; only the scored half is read.
            let logits = try model.forwardAllRows(chunk)
            logits.withUnsafeBufferPointer { all in
                for t in first..<(ctx - 1) {
                    let row = UnsafeBufferPointer(rebasing: all[t * V..<(t + 1) * V])
                    let target = Int(chunk[t + 1])
                    var mx = -Float.infinity
                    for v in row where v > mx { mx = v }
                    var sum = 0.0
                    for v in row { sum += Double(expf(v - mx)) }
                    let nll = log(sum) - Double(row[target] - mx)
                    nllSum += nll
                    nll2Sum += nll * nll
                    count += 1
                }
            }
            let ppl = exp(nllSum / Double(count))
            running.append(ppl)
            onChunk(c, ppl)
        }
        let mean = nllSum / Double(count)
        let mean2 = nll2Sum / Double(count)
        let ppl = exp(mean)
        let err = count > 1 ? (max(0, mean2 - mean * mean) / Double(count - 1)).squareRoot() * ppl : 0
        return PerplexityResult(
            ctx: ctx, tokens: tokens.count, chunks: chunks, scored: count, chunkPPL: running, ppl: ppl,
            pplError: err, meanNLL: mean,
            seconds: Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9)
    }
}
