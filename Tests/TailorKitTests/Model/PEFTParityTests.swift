import XCTest

@testable import TailorKit

/// Loss and LoRA gradients against transformers + PEFT on the same GGUF (scripts/golden/peft_grads.py →
/// Fixtures/peft_grads_smollm2.safetensors): r = 8, alpha = 16, all seven linears on all 30 blocks, A and
/// B set from a seeded rule both sides compute (B non-zero), one batch of 2 × 48 real tokens with the
/// first 12 labels of each row masked.
///
/// Tolerance: the issue aims at 1e-4 relative. The reference itself is Float32: the script measured its
/// gradients against a Float64 run and found errors up to 6.2e-4 of a tensor's largest entry (layer 29
/// o_proj lora_B), so no Float32 implementation can be checked tighter than that. Measured here: most
/// tensors agree within 1e-4–5e-4 of their max, the worst at 6.4e-4 (the same tensor). We require every
/// element within 1e-3 × the tensor's max |value| (a wrong term, sign or permutation shows at 1e-1 and
/// above), and the loss within 1e-5 relative (measured 3e-6).
final class PEFTParityTests: XCTestCase {
    func testLossAndGradientsMatchPEFT() throws {
        let st = try SafetensorsFile(url: fixtureURL("peft_grads_smollm2.safetensors"))
        let weights = try smolLM2Weights()
        let c = weights.config
        let r = 8
        let model = LlamaModel(weights: weights, lora: LoRASettings(rank: r, alpha: 16, targets: LoRATarget.allCases, layers: Array(0..<c.layerCount)))
        for a in model.adapters {
            let m = UInt64(a.target.index), l = UInt64(a.layer)
            let A = deterministicValues(seed: 1000 * l + 10 * m, count: r * a.lora.inFeatures, scale: 1 / Double(a.lora.inFeatures).squareRoot())
            let Bhf = deterministicValues(seed: 1000 * l + 10 * m + 1, count: a.lora.outFeatures * r, scale: 0.05)
            for i in 0..<A.count { a.lora.a.data[i] = A[i] }
            let permuted = a.target == .qProj || a.target == .kProj
            for row in 0..<a.lora.outFeatures {
                let src = permuted ? PEFTAdapter.hfRow(ofGGUFRow: row, headDim: c.headDim) : row
                for j in 0..<r { a.lora.b[row, j] = Bhf[src * r + j] }
            }
        }
        let ids = try st.ints("input_ids").map(Int32.init)
        let hfLabels = try st.ints("labels")
        let T = 48
        var labels = [Int32](repeating: -1, count: ids.count)
        for row in 0..<2 {
            for t in 0..<(T - 1) where hfLabels[row * T + t + 1] >= 0 { labels[row * T + t] = Int32(hfLabels[row * T + t + 1]) }
        }
        let batch = TrainingBatch(rows: 2, seqLen: T, tokens: ids, labels: labels)
        // Both rows in one pass, and one row per pass (train.micro_batch_tokens below the batch: two slices).
        for ws in [TrainingWorkspace(model: model, rows: 2, seqLen: T), TrainingWorkspace(model: model, tokens: T, seqLen: T)] {
            try check(model, batch: batch, workspace: ws, reference: st)
        }
    }

    func check(_ model: LlamaModel, batch: TrainingBatch, workspace ws: TrainingWorkspace, reference st: SafetensorsFile) throws {
        let c = model.config, T = batch.seqLen
        // With B = 0 the adapted model is the base model: the training forward must give the base loss.
        let savedB = model.adapters.map { $0.lora.b.toArray() }
        for a in model.adapters { a.lora.b.fill(0) }
        let base = model.step(batch, workspace: ws, lossScale: 1, backward: false)
        let expectedBase = try st.floats("loss_base")[0]
        XCTAssertEqual(base.meanLoss, Double(expectedBase), accuracy: Double(expectedBase) * 1e-5, "loss with B = 0, \(ws.tokens) tokens per pass")
        for (a, b) in zip(model.adapters, savedB) { for i in 0..<b.count { a.lora.b.data[i] = b[i] } }
        model.zeroGradients()
        let total = model.step(batch, workspace: ws, lossScale: 1 / Float(batch.supervisedTokens), backward: true)
        let expectedLoss = try st.floats("loss")[0]
        XCTAssertEqual(total.tokens, 2 * (T - 12))
        XCTAssertEqual(total.meanLoss, Double(expectedLoss), accuracy: Double(expectedLoss) * 1e-5)
        var checked = 0
        for a in model.adapters where [0, 15, 29].contains(a.layer) {
            let prefix = "grad.\(a.layer).\(a.target.rawValue)"
            let refA = try st.floats(prefix + ".lora_A"), refB = try st.floats(prefix + ".lora_B")
            let ours = PEFTAdapter.exportB(a.lora.gradB, target: a.target, config: c)
            let maxA = refA.map(abs).max() ?? 0, maxB = refB.map(abs).max() ?? 0
            XCTAssertGreaterThan(maxA, 0)
            assertClose(a.lora.gradA.toArray(), refA, atol: 1e-3 * maxA, "\(prefix).lora_A, \(ws.tokens) tokens per pass")
            assertClose(ours, refB, atol: 1e-3 * maxB, "\(prefix).lora_B, \(ws.tokens) tokens per pass")
            checked += 1
        }
        XCTAssertEqual(checked, 21)
    }
}
