import XCTest

@testable import TailorKit

/// `train.micro_batch_tokens`: a batch of more tokens than the workspace holds runs as slices of whole rows
/// (`LlamaModel.step`). The loss and the adapter gradients must be the one-pass batch's, with dropout on
/// (masks are keyed by the token's index in the whole batch, not in the slice), with and without
/// gradient checkpointing, for slices that divide the batch evenly and that do not. Float32 GEMMs sum in
/// a different order for a 1-row than for a 5-row product, so gradients agree to 5e-5 of each tensor's
/// largest entry (measured: 1.1e-5), not bitwise; a wrong mask, a missing or doubled slice shows at 1e-2
/// and above.
final class MicroBatchTests: XCTestCase {
    func testSlicedPassesEqualOnePass() throws {
        var rng = TestRNG(seed: 11)
        let weights = try tinyModelWeights()
        let T = 8, R = 5
        let rows: [[Int32]] = (0..<R).map { _ in (0..<T).map { _ in Int32(rng.int(40)) } }
        let supervisedFrom = [0, 2, 5, 1, 3]
        let labels: [Int32] = (0..<R).flatMap { r in
            (0..<T).map { t in t + 1 < T && t >= supervisedFrom[r] ? rows[r][t + 1] : -1 }
        }
        let batch = TrainingBatch(rows: R, seqLen: T, tokens: rows.flatMap { $0 }, labels: labels)
        for checkpointing in [false, true] {
            let model = LlamaModel(
                weights: weights,
                lora: LoRASettings(rank: 2, alpha: 4, dropout: 0.3, targets: LoRATarget.allCases, layers: [0, 1]), seed: 4)
            for a in model.adapters { for i in 0..<a.lora.b.count { a.lora.b.data[i] = rng.normal() * 0.2 } }
            model.setDropoutSeed(99)
            let scale = 1 / Float(batch.supervisedTokens)
            func run(tokens: Int) -> (LossTotal, [[Float]]) {
                let ws = TrainingWorkspace(model: model, tokens: tokens, seqLen: T, checkpointing: checkpointing)
                model.zeroGradients()
                let loss = model.step(batch, workspace: ws, lossScale: scale, backward: true)
                return (loss, model.gradients.map { $0.toArray() })
            }
            let (lossOne, gradsOne) = run(tokens: R * T)
            // Slices of 1, 2 (+3 tokens of slack: still 2 rows) and 3 rows: 5 = 1·5 = 2+2+1 = 3+2.
            for tokens in [T, 2 * T + 3, 3 * T] {
                let (loss, grads) = run(tokens: tokens)
                let what = "\(tokens) tokens per pass, checkpointing \(checkpointing)"
                XCTAssertEqual(loss.tokens, lossOne.tokens, what)
                XCTAssertEqual(loss.meanLoss, lossOne.meanLoss, accuracy: 1e-6 * lossOne.meanLoss, what)
                for (g, g1) in zip(grads, gradsOne) {
                    let largest = g1.map(abs).max() ?? 1
                    XCTAssertGreaterThan(largest, 0, what)
                    assertClose(g, g1, atol: 5e-5 * largest, what)
                }
            }
        }
    }

    /// The dropout offset matters: without it a slice would draw the first row's masks for every row.
    /// Two identical rows get different masks, so their adapter contributions differ.
    func testDropoutMasksDifferAcrossRowsOfASlicedBatch() throws {
        var rng = TestRNG(seed: 3)
        let weights = try tinyModelWeights()
        let T = 8
        let row: [Int32] = (0..<T).map { _ in Int32(rng.int(40)) }
        let labels: [Int32] = (0..<T).map { t in t + 1 < T ? row[t + 1] : -1 }
        let model = LlamaModel(
            weights: weights, lora: LoRASettings(rank: 2, alpha: 4, dropout: 0.5, targets: [.qProj], layers: [0]), seed: 1)
        for a in model.adapters { for i in 0..<a.lora.b.count { a.lora.b.data[i] = rng.normal() } }
        model.setDropoutSeed(5)
        let ws = TrainingWorkspace(model: model, tokens: T, seqLen: T)
        let first = model.step(TrainingBatch(rows: 2, seqLen: T, tokens: row + row, labels: labels + labels), workspace: ws, lossScale: 1, backward: false)
        let alone = model.step(TrainingBatch(rows: 1, seqLen: T, tokens: row, labels: labels), workspace: ws, lossScale: 1, backward: false)
        // Row 0 of the pair is the row alone; row 1 has other masks, so the pair's NLL is not twice row 0's.
        XCTAssertNotEqual(first.nllSum, 2 * alone.nllSum, accuracy: 1e-4 * alone.nllSum)
    }

    /// `TrainingWorkspace.plan` (what `tailor plan` predicts) is what the workspace allocates.
    func testPlanEqualsTheWorkspaceItDescribes() throws {
        let weights = try tinyModelWeights()
        for (tokens, seqLen, rank, dropout, checkpointing) in [
            (64, 16, 2, false, false), (100, 16, 4, true, false), (8, 16, 1, false, true), (512, 32, 8, true, true),
        ] {
            let model = LlamaModel(
                weights: weights,
                lora: LoRASettings(rank: rank, alpha: 4, dropout: dropout ? 0.1 : 0, targets: LoRATarget.allCases, layers: [0, 1]))
            let ws = TrainingWorkspace(model: model, tokens: tokens, seqLen: seqLen, checkpointing: checkpointing)
            let plan = TrainingWorkspace.plan(
                config: weights.config, rank: rank, dropout: dropout, tokens: tokens, seqLen: seqLen, checkpointing: checkpointing)
            XCTAssertEqual(ws.tokens, max(1, tokens / seqLen) * seqLen)
            XCTAssertEqual(plan.total, ws.bytes, "\(tokens) tokens of rows \(seqLen), rank \(rank), dropout \(dropout), checkpointing \(checkpointing)")
        }
    }
}
