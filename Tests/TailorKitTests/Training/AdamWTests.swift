import XCTest

@testable import TailorKit

/// AdamW against `torch.optim.AdamW` (scripts/golden/optim.py → Fixtures/optim.safetensors):
/// 3 tensors (6, 5 and 24 elements), 20 steps of seeded gradients, lr from a cosine schedule with
/// warm-up (step 0 has lr 0), weight decay 0.1 and 0.
///
/// Tolerances, in Float32 ulps: the update uses the same Float64 scalars and the same Float32 op
/// order as `_single_tensor_adam` (FMA where ATen's lerp/addcmul kernels use it), so the moments
/// `exp_avg`/`exp_avg_sq` must match bit for bit (0 ulps). The parameters also pass through
/// `sqrt(v)`, and ATen's Float32 CPU sqrt is not correctly rounded (up to 0.75 ulp; about 1 value
/// in 6 is one ulp from IEEE sqrt), so `denom` can differ by one ulp; the parameter change then
/// differs by about an ulp of the update, which moves p by at most one ulp and carries forward.
/// Measured: max 1 ulp (decay run), 0 (no decay). Allowed: 2 ulps.
final class AdamWTests: XCTestCase {
    static let parameterULPs = 2

    struct Golden {
        let st: SafetensorsFile
        let counts: [Int]
        let lrs: [Double]
        let initial: [[Float]]
        let grads: [[Float]]  // [steps * count]

        init() throws {
            let file = try SafetensorsFile(url: fixtureURL("optim.safetensors"))
            st = file
            initial = try (0..<3).map { try file.floats("adamw.init.\($0)") }
            counts = initial.map(\.count)
            grads = try (0..<3).map { try file.floats("adamw.grads.\($0)") }
            lrs = try file.doubles("adamw.lr")
        }

        func params(_ run: String, tensor i: Int, step t: Int) throws -> [Float] {
            Array(try st.floats("adamw.\(run).params.\(i)")[t * counts[i]..<(t + 1) * counts[i]])
        }
    }

    /// Runs steps `range` of the golden gradients through `adam`, checking parameters after each step.
    func replay(
        _ adam: inout AdamW, params: [Matrix], golden g: Golden, run name: String, steps range: Range<Int>
    ) throws -> [Int] {
        let grads = g.counts.map { Matrix(rows: 1, cols: $0) }
        var worst = [Int](repeating: 0, count: g.counts.count)
        for t in range {
            for i in 0..<g.counts.count {
                _ = grads[i].storage.buffer.update(fromContentsOf: g.grads[i][t * g.counts[i]..<(t + 1) * g.counts[i]])
            }
            adam.update(params, gradients: grads, lr: g.lrs[t])
            XCTAssertEqual(adam.step, t + 1)
            for i in 0..<g.counts.count {
                let expected = try g.params(name, tensor: i, step: t)
                let d = maxULPDistance(params[i].toArray(), expected)
                worst[i] = max(worst[i], d)
                XCTAssertLessThanOrEqual(d, Self.parameterULPs, "\(name) tensor \(i) step \(t + 1): \(d) ulps")
            }
        }
        return worst
    }

    func testMatchesTorchAdamWWithAndWithoutWeightDecay() throws {
        let g = try Golden()
        XCTAssertEqual(g.counts, [6, 5, 24])
        XCTAssertEqual(g.lrs.count, 20)
        XCTAssertEqual(g.lrs[0], 0)
        for (run, wd) in [("decay", 0.1), ("nodecay", 0.0)] {
            let params = g.initial.map { Matrix(rows: 1, cols: $0.count, values: $0) }
            var adam = AdamW(parameterCounts: g.counts, weightDecay: wd)
            let worst = try replay(&adam, params: params, golden: g, run: run, steps: 0..<20)
            // Final moments (exp_avg, exp_avg_sq) also agree.
            for i in 0..<3 {
                let m = Array(adam.firstMoments[i].buffer), v = Array(adam.secondMoments[i].buffer)
                let dm = maxULPDistance(m, try g.st.floats("adamw.\(run).exp_avg.\(i)"))
                let dv = maxULPDistance(v, try g.st.floats("adamw.\(run).exp_avg_sq.\(i)"))
                XCTAssertEqual(dm, 0, "\(run) exp_avg \(i)")
                XCTAssertEqual(dv, 0, "\(run) exp_avg_sq \(i)")
            }
            print("AdamW \(run): max ulps per tensor \(worst)")
        }
    }

    /// Saving the state after 10 steps and restoring it into a fresh optimizer continues exactly.
    func testRestoredStateContinuesIdentically() throws {
        let g = try Golden()
        let params = g.initial.map { Matrix(rows: 1, cols: $0.count, values: $0) }
        var first = AdamW(parameterCounts: g.counts, weightDecay: 0.1)
        _ = try replay(&first, params: params, golden: g, run: "decay", steps: 0..<10)
        let saved = first.state()
        XCTAssertEqual(saved.step, 10)

        let resumed = params.map { Matrix(rows: 1, cols: $0.count, values: $0.toArray()) }
        var second = AdamW(parameterCounts: g.counts, weightDecay: 0.1)
        try second.restore(saved)
        XCTAssertEqual(second.state(), saved)
        _ = try replay(&first, params: params, golden: g, run: "decay", steps: 10..<20)
        _ = try replay(&second, params: resumed, golden: g, run: "decay", steps: 10..<20)
        for i in 0..<3 { XCTAssertEqual(params[i].toArray(), resumed[i].toArray(), "tensor \(i)") }
    }

    func testRestoreRejectsAMismatchedStateAndChangesNothing() throws {
        var adam = AdamW(parameterCounts: [3, 2])
        let good = AdamW.State(step: 4, firstMoments: [[1, 2, 3], [4, 5]], secondMoments: [[1, 1, 1], [2, 2]])
        try adam.restore(good)
        var bad = good
        bad.secondMoments = [[1, 1, 1]]
        XCTAssertThrowsError(try adam.restore(bad)) {
            XCTAssertEqual($0 as? OptimizerStateError, .tensorCount(moment: "second", found: 1, expected: 2))
        }
        bad = good
        bad.firstMoments[1] = [4, 5, 6]
        XCTAssertThrowsError(try adam.restore(bad)) {
            XCTAssertEqual($0 as? OptimizerStateError, .elementCount(moment: "first", tensor: 1, found: 3, expected: 2))
        }
        bad = good
        bad.step = -1
        XCTAssertThrowsError(try adam.restore(bad)) {
            XCTAssertEqual($0 as? OptimizerStateError, .negativeStep(found: -1))
        }
        XCTAssertEqual(adam.state(), good)
    }

    /// Step 1 written out by hand (independent of the op-order argument): with m = v = 0,
    /// m1 = 0.1 g, v1 = 0.001 g^2, the bias-corrected ratio is g/|g| (up to eps), so
    /// p1 = p0 (1 - lr wd) - lr sign(g).
    func testFirstStepMovesEachParameterByLRTimesSign() {
        let p = Matrix(rows: 1, cols: 4, values: [1, -2, 0.5, 3])
        let g = Matrix(rows: 1, cols: 4, values: [0.3, -4, 1e-3, 0])
        var adam = AdamW(parameterCounts: [4], weightDecay: 0.01)
        adam.update([p], gradients: [g], lr: 0.1)
        let expected: [Float] = [1 * 0.999 - 0.1, -2 * 0.999 + 0.1, 0.5 * 0.999 - 0.1, 3 * 0.999]
        // |g| = 1e-3 gives g/(|g| + eps) = 1 - 1e-5, i.e. 1e-6 short of lr.
        assertClose(p.toArray(), expected, atol: 2e-6, "first step")
    }
}
