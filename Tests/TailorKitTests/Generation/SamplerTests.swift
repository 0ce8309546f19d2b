import XCTest

@testable import TailorKit

final class SamplerTests: XCTestCase {
    func logits(_ v: [Float], _ body: (UnsafeBufferPointer<Float>) -> Void) { v.withUnsafeBufferPointer(body) }

    func testGreedyAtTemperatureZero() {
        var s = Sampler(temperature: 0)
        logits([0.1, 3, -1, 2.9]) { XCTAssertEqual(s.sample($0), 1) }
    }

    func testTopKOneIsGreedy() {
        var s = Sampler(temperature: 1.5, topK: 1, seed: 9)
        for _ in 0..<50 { logits([0.1, 3, -1, 2.9]) { XCTAssertEqual(s.sample($0), 1) } }
    }

    /// Frequencies follow softmax(logits / T) restricted to the nucleus (chi-square-free bound: 4 sigma).
    func testSamplingFollowsTheDistributionAndTopP() {
        let l: [Float] = [2, 1, 0, -10]
        var s = Sampler(temperature: 1, topK: 0, topP: 1, seed: 1)
        var counts = [0, 0, 0, 0]
        let n = 20000
        for _ in 0..<n { logits(l) { counts[Int(s.sample($0))] += 1 } }
        let z = l.map { expf($0) }.reduce(0, +)
        for i in 0..<3 {
            let p = Double(expf(l[i]) / z)
            XCTAssertEqual(Double(counts[i]) / Double(n), p, accuracy: 4 * (p * (1 - p) / Double(n)).squareRoot() + 1e-3)
        }
        // top-p 0.6: only the first token (p ≈ 0.665) stays.
        var t = Sampler(temperature: 1, topK: 0, topP: 0.6, seed: 2)
        for _ in 0..<200 { logits(l) { XCTAssertEqual(t.sample($0), 0) } }
    }

    func testSameSeedSameSequence() {
        var a = Sampler(temperature: 0.8, topK: 3, seed: 42), b = Sampler(temperature: 0.8, topK: 3, seed: 42)
        for _ in 0..<100 { logits([1, 0.5, 0.2, 0.1]) { XCTAssertEqual(a.sample($0), b.sample($0)) } }
    }
}
