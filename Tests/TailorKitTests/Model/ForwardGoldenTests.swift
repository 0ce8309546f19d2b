import XCTest

@testable import TailorKit

/// The frozen forward against transformers loading the same GGUF in float32
/// (scripts/golden/forward.py → Fixtures/forward_smollm2.safetensors).
///
/// Tolerance: both sides dequantize the same blocks exactly to Float32 and compute in Float32; they differ
/// only in summation order (OpenBLAS vs PyTorch's kernels). Measured max |diff| of the last logits is
/// 3e-5–8e-5 (logits of magnitude 1–20) after 30 layers; 2e-4 absolute leaves room for thread-count
/// and ISA differences while any real error (a wrong norm, RoPE pairing, mask) moves logits by > 1e-1.
final class ForwardGoldenTests: XCTestCase {
    func prompts() throws -> (SafetensorsFile, Int) {
        let st = try SafetensorsFile(url: fixtureURL("forward_smollm2.safetensors"))
        return (st, st.names.filter { $0.hasSuffix(".ids") }.count)
    }

    func testLastLogitsAndPerTokenNLLMatchTransformers() throws {
        let weights = try smolLM2Weights()
        let (st, n) = try prompts()
        XCTAssertEqual(n, 4)
        let model = LlamaInference(weights: weights, contextLength: 256, maxBatch: 64)
        for i in 0..<n {
            let ids = try st.ints("prompt\(i).ids").map(Int32.init)
            let expectedLast = try st.floats("prompt\(i).last_logits")
            let expectedNLL = try st.floats("prompt\(i).nll")
            model.reset()
            let all = Array(try model.forward(ids, logits: .all))
            let V = weights.config.vocabSize
            assertClose(Array(all[(ids.count - 1) * V..<ids.count * V]), expectedLast, atol: 2e-4, "prompt \(i) last logits")
            var nll: [Float] = []
            for t in 0..<ids.count - 1 {
                let row = all[t * V..<(t + 1) * V]
                let mx = row.max() ?? 0
                let lse = Double(mx) + log(row.reduce(0.0) { $0 + exp(Double($1 - mx)) })
                nll.append(Float(lse - Double(row[row.startIndex + Int(ids[t + 1])])))
            }
            assertClose(nll, expectedNLL, atol: 1e-4, "prompt \(i) nll")
        }
    }

    /// Token by token through the KV cache (the T = 1 fused kernels) gives the same logits as the batch.
    func testIncrementalDecodeMatchesBatch() throws {
        let weights = try smolLM2Weights()
        let (st, _) = try prompts()
        let ids = try st.ints("prompt2.ids").map(Int32.init)
        let model = LlamaInference(weights: weights, contextLength: 128, maxBatch: 64)
        var last: [Float] = []
        for id in ids { last = Array(try model.forward([id])) }
        assertClose(last, try st.floats("prompt2.last_logits"), atol: 2e-4, "incremental decode")
    }

    func testGreedyContinuationEqualsTransformers() throws {
        let weights = try smolLM2Weights()
        let (st, n) = try prompts()
        let model = LlamaInference(weights: weights, contextLength: 256, maxBatch: 64)
        for i in 0..<n {
            let ids = try st.ints("prompt\(i).ids").map(Int32.init)
            let expected = try st.ints("prompt\(i).greedy").map(Int32.init)
            model.reset()
            var logits = Array(try model.forward(ids))
            var out: [Int32] = []
            while out.count < expected.count {
                let next = Int32(logits.indices.max { logits[$0] < logits[$1] } ?? 0)
                out.append(next)
                logits = Array(try model.forward([next]))
            }
            XCTAssertEqual(out, expected, "prompt \(i) greedy continuation")
        }
    }

    func testContextOverflowAndBadTokensAreErrors() throws {
        let model = LlamaInference(weights: try smolLM2Weights(), contextLength: 8, maxBatch: 8)
        XCTAssertThrowsError(try model.forward([Int32](repeating: 1, count: 9))) { e in
            XCTAssertEqual(e as? InferenceError, .contextFull(capacity: 8, need: 9))
        }
        XCTAssertThrowsError(try model.forward([49152])) { e in
            XCTAssertEqual(e as? InferenceError, .tokenOutOfRange(id: 49152, vocab: 49152))
        }
    }
}
