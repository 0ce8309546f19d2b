import XCTest

@testable import TailorKit

/// Gradient accumulation weights micro-batches by supervised tokens (SPEC.md §8, transformers#34191):
/// four micro-batches of one row, each scaled by 1 / (all supervised tokens of the step), give the
/// gradient of one batch of four rows. Rows have different numbers of supervised tokens on purpose
/// (a per-micro-batch mean would weight them wrongly). Float32 GEMMs sum in a different order for
/// one 4-row product than for four 1-row products, so equality is to 1e-5 relative, not bitwise.
final class AccumulationTests: XCTestCase {
    func testFourMicroBatchesOfOneEqualOneBatchOfFour() throws {
        var rng = TestRNG(seed: 5)
        let weights = try tinyModelWeights()
        let model = LlamaModel(weights: weights, lora: LoRASettings(rank: 2, alpha: 4, targets: LoRATarget.allCases, layers: [0, 1]), seed: 2)
        for a in model.adapters { for i in 0..<a.lora.b.count { a.lora.b.data[i] = rng.normal() * 0.2 } }
        let T = 8
        let rows: [[Int32]] = (0..<4).map { _ in (0..<T).map { _ in Int32(rng.int(40)) } }
        let supervisedFrom = [1, 3, 5, 6]  // different counts of supervised tokens per row
        func labels(_ r: Int) -> [Int32] { (0..<T).map { t in t + 1 < T && t >= supervisedFrom[r] ? rows[r][t + 1] : -1 } }
        let big = TrainingBatch(rows: 4, seqLen: T, tokens: rows.flatMap { $0 }, labels: (0..<4).flatMap(labels))
        let total = big.supervisedTokens
        let ws = TrainingWorkspace(model: model, rows: 4, seqLen: T)
        model.zeroGradients()
        let lossBig = model.step(big, workspace: ws, lossScale: 1 / Float(total), backward: true)
        let gradsBig = model.gradients.map { $0.toArray() }
        model.zeroGradients()
        var lossSmall = LossTotal()
        for r in 0..<4 {
            let b = TrainingBatch(rows: 1, seqLen: T, tokens: rows[r], labels: labels(r))
            lossSmall = lossSmall + model.step(b, workspace: ws, lossScale: 1 / Float(total), backward: true)
        }
        XCTAssertEqual(lossSmall.tokens, lossBig.tokens)
        XCTAssertEqual(lossSmall.meanLoss, lossBig.meanLoss, accuracy: 1e-6)
        for (g, gb) in zip(model.gradients, gradsBig) {
            let scale = gb.map(abs).max() ?? 1
            assertClose(g.toArray(), gb, atol: 1e-5 * scale, "accumulated gradient")
        }
    }
}
