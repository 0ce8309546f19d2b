import CKernels
import XCTest

@testable import TailorKit

/// The vectorized exp-based kernels against Float64 references over a wide input range (odd lengths, so
/// the scalar tails run too). Cephes' expf is within 2 ulp; 2e-6 relative leaves room for the products.
final class ElementwiseKernelTests: XCTestCase {
    func testSiLUMulAndSwiGLUBackwardMatchFloat64() {
        var rng = TestRNG(seed: 9)
        let n = 1003
        let g = (0..<n).map { _ in rng.normal() * 8 }, u = (0..<n).map { _ in rng.normal() }, da = (0..<n).map { _ in rng.normal() }
        var a = [Float](repeating: 0, count: n), dg = a, du = a
        tk_silu_mul(g, u, &a, Int64(n))
        tk_swiglu_backward(da, g, u, &dg, &du, Int64(n))
        for i in 0..<n {
            let z = Double(g[i]), s = 1 / (1 + exp(-z))
            let ra = z * s * Double(u[i])
            let rdg = Double(da[i]) * Double(u[i]) * s * (1 + z * (1 - s)), rdu = Double(da[i]) * z * s
            XCTAssertEqual(Double(a[i]), ra, accuracy: 2e-6 * abs(ra) + 1e-30, "silu·u at \(g[i])")
            // 1 + z(1 − σ) cancels near z ≈ −1.28: bound the error by the size of the terms, not the result.
            let magnitude = abs(Double(da[i]) * Double(u[i]) * s) * (1 + abs(z * (1 - s)))
            XCTAssertEqual(Double(dg[i]), rdg, accuracy: 2e-6 * magnitude + 1e-30, "dg at \(g[i])")
            XCTAssertEqual(Double(du[i]), rdu, accuracy: 2e-6 * abs(rdu) + 1e-30, "du at \(g[i])")
        }
    }

    func testExpSumAndExpScaleMatchFloat64() {
        var rng = TestRNG(seed: 4)
        let n = 4099
        var z = (0..<n).map { _ in rng.normal() * 10 }
        let mx = z.max() ?? 0
        let ref = z.reduce(0.0) { $0 + exp(Double($1 - mx)) }
        XCTAssertEqual(tk_exp_sum(z, mx, Int64(n)), ref, accuracy: ref * 1e-6)
        let expected = z.map { exp(Double($0 - mx)) * 0.5 }
        tk_exp_scale(&z, mx, 0.5, Int64(n))
        for i in 0..<n { XCTAssertEqual(Double(z[i]), expected[i], accuracy: expected[i] * 2e-6 + 1e-38) }
    }
}
