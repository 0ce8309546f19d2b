import XCTest

@testable import TailorKit

/// llama-perplexity convention at ctx 256 on a 2,365-token English text, against transformers' logits
/// scored the same way (scripts/golden/perplexity.py → Fixtures/ppl_smollm2.json).
final class PerplexityTests: XCTestCase {
    struct Reference: Decodable {
        let ctx: Int
        let n_tokens: Int
        let n_chunks: Int
        let count: Int
        let chunk_ppl: [Double]
        let ppl: Double
        let ppl_err: Double
        let tokens: [Int32]
    }

    func reference() throws -> Reference {
        try JSONDecoder().decode(Reference.self, from: Data(contentsOf: fixtureURL("ppl_smollm2.json")))
    }

    func testTokenizationOfTheWholeFileMatches() throws {
        let ref = try reference()
        var text = try String(contentsOf: fixtureURL("ppl_text.txt"), encoding: .utf8)
        if text.hasSuffix("\n") { text.removeLast() }
        XCTAssertEqual(try smolLM2Tokenizer().encode(text, addSpecialTokens: true), ref.tokens)
    }

    /// The issue asks for 1 %; both sides are Float32 over identical dequantized weights, so the
    /// agreement is far tighter: 1e-4 relative on every running value.
    func testPerplexityMatchesReference() throws {
        let ref = try reference()
        let model = LlamaInference(weights: try smolLM2Weights(), contextLength: ref.ctx, maxBatch: ref.ctx)
        var running: [Double] = []
        let result = try Perplexity.evaluate(model: model, tokens: ref.tokens, ctx: ref.ctx, bos: nil) { _, p in running.append(p) }
        XCTAssertEqual(result.chunks, ref.n_chunks)
        XCTAssertEqual(result.scored, ref.count)
        XCTAssertEqual(result.ppl, ref.ppl, accuracy: ref.ppl * 1e-4)
        XCTAssertEqual(result.pplError, ref.ppl_err, accuracy: ref.ppl_err * 1e-3)
        XCTAssertEqual(running.count, ref.chunk_ppl.count)
        for (a, b) in zip(running, ref.chunk_ppl) { XCTAssertEqual(a, b, accuracy: b * 1e-4) }
    }

    func testTooShortInputIsAnError() throws {
        let model = LlamaInference(weights: try smolLM2Weights(), contextLength: 64, maxBatch: 64)
        XCTAssertThrowsError(try Perplexity.evaluate(model: model, tokens: [1, 2, 3], ctx: 64, bos: nil, path: "short.txt")) { e in
            XCTAssertEqual(e as? PerplexityError, .tooFewTokens(path: "short.txt", tokens: 3, ctx: 64))
        }
    }
}
