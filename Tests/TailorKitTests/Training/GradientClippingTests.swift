import XCTest

@testable import TailorKit

/// Global-norm clipping against `torch.nn.utils.clip_grad_norm_` (scripts/golden/optim.py →
/// Fixtures/optim.safetensors; 3 gradients of 128, 37 and 150 elements, norm ~0.913).
///
/// Tolerances: our norm is summed in Float64 and must equal numpy's Float64 sum to 1e-15 relative
/// (only the summation order differs). PyTorch sums in Float32, so against its norm we allow 1e-6
/// relative (~8 Float32 ulps; the difference seen is about one ulp). The clipped gradients are
/// g * coef with coef formed in Float32 exactly as PyTorch forms it, so they must agree within
/// 1 ulp (0 when both norms round to the same Float32).
final class GradientClippingTests: XCTestCase {
    func golden() throws -> (SafetensorsFile, [Matrix]) {
        let st = try SafetensorsFile(url: fixtureURL("optim.safetensors"))
        let grads = try (0..<3).map { i -> Matrix in
            let v = try st.floats("clip.grads.\(i)")
            return Matrix(rows: 1, cols: v.count, values: v)
        }
        return (st, grads)
    }

    func testClipCaseScalesLikeTorchAndReturnsThePreClipNorm() throws {
        let (st, grads) = try golden()
        let maxNorm = try st.doubles("clip.clip.max_norm")[0]
        let norm64 = try st.doubles("clip.norm64")[0]
        let torchNorm = try st.floats("clip.clip.norm")[0]
        let norm = GradientClipping.clip(grads, maxNorm: maxNorm)
        XCTAssertEqual(norm, norm64, accuracy: 1e-15 * norm64)
        XCTAssertEqual(Float(norm), torchNorm, accuracy: 1e-6 * torchNorm)
        var worst = 0
        for i in 0..<3 {
            let expected = try st.floats("clip.clip.grads.\(i)")
            worst = max(worst, maxULPDistance(grads[i].toArray(), expected))
        }
        XCTAssertLessThanOrEqual(worst, 1)
        // After clipping the norm is max_norm * norm / (norm + 1e-6), a hair under max_norm.
        XCTAssertEqual(GradientClipping.globalNorm(grads), maxNorm * norm / (norm + 1e-6), accuracy: 1e-7 * maxNorm)
        print("clip: norm \(norm) vs torch \(torchNorm) (\(ulpDistance(Float(norm), torchNorm)) ulp); grads max \(worst) ulp")
    }

    func testNoClipCaseLeavesGradientsUntouched() throws {
        let (st, grads) = try golden()
        let before = grads.map { $0.toArray() }
        let norm = GradientClipping.clip(grads, maxNorm: try st.doubles("clip.noclip.max_norm")[0])
        XCTAssertEqual(Float(norm), try st.floats("clip.noclip.norm")[0], accuracy: 1e-6)
        for i in 0..<3 {
            XCTAssertEqual(grads[i].toArray(), before[i])
            XCTAssertEqual(grads[i].toArray(), try st.floats("clip.noclip.grads.\(i)"))
        }
    }

    func testNonFiniteGradientsAreReportedAndLeftAlone() {
        let a = Matrix(rows: 1, cols: 3, values: [3, 0, 0])
        let b = Matrix(rows: 2, cols: 1, values: [0, 4])
        XCTAssertEqual(GradientClipping.globalNorm([a, b]), 5)
        XCTAssertFalse(GradientClipping.containsNonFinite([a, b]))
        b[1, 0] = .nan
        XCTAssertTrue(GradientClipping.containsNonFinite([a, b]))
        XCTAssertTrue(GradientClipping.clip([a, b], maxNorm: 1).isNaN)
        XCTAssertEqual(a.toArray(), [3, 0, 0])
        b[1, 0] = -.infinity
        XCTAssertTrue(GradientClipping.containsNonFinite([a, b]))
        XCTAssertEqual(GradientClipping.clip([a, b], maxNorm: 1), .infinity)
    }
}
