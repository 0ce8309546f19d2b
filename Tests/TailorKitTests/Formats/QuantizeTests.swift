import XCTest

@testable import TailorKit

/// Quantization against gguf-py (Fixtures/quants.safetensors, scripts/golden/quants.py): `T.raw` is
/// `gguf.quants.quantize(source, T)` of the seeded [4, 512] source (outliers, an all-zero block); Tailor's
/// bytes must be the same, every one. Dequantizing them again gives gguf-py's values (QuantKernelTests).
final class QuantizeTests: XCTestCase {
    func testQuantizationMatchesGGUFPyByteForByte() throws {
        let st = try SafetensorsFile(url: fixtureURL("quants.safetensors"))
        let source = try st.floats("source")
        for (name, type) in [("F16", GGMLType.f16), ("BF16", .bf16), ("Q8_0", .q8_0), ("Q4_0", .q4_0), ("Q4_1", .q4_1)] {
            let expected = [UInt8](try st.bytes("\(name).raw"))
            var out = [UInt8](repeating: 0xAA, count: type.rowBytes(source.count))
            source.withUnsafeBufferPointer { x in
                out.withUnsafeMutableBytes { GGMLQuantizer.quantize(x.baseAddress!, count: x.count, type: type, into: $0.baseAddress!) }
            }
            let first = zip(out, expected).enumerated().first { $0.element.0 != $0.element.1 }
            XCTAssertEqual(out.count, expected.count, name)
            XCTAssertNil(first, "\(name): byte \(first?.offset ?? 0) is \(first?.element.0 ?? 0), gguf-py wrote \(first?.element.1 ?? 0)")
        }
    }

    /// Edge cases the fixture does not hold: ties in |x| (Q4_0 keeps the first), a constant block (Q4_1's d
    /// = 0), halves (Q8_0 rounds away from zero), NaN in BF16 (made quiet), overflow in F16.
    func testEdgeCases() {
        func q(_ x: [Float], _ type: GGMLType) -> [UInt8] {
            var out = [UInt8](repeating: 0, count: type.rowBytes(x.count))
            x.withUnsafeBufferPointer { p in out.withUnsafeMutableBytes { GGMLQuantizer.quantize(p.baseAddress!, count: x.count, type: type, into: $0.baseAddress!) } }
            return out
        }
        var tie = [Float](repeating: 0, count: 32)
        tie[3] = -2
        tie[9] = 2
        // m = -2 (the first of |x| = 2), d = 0.25: x = -2 → trunc(-2 / 0.25 + 8.5) = 0, x = 2 → 16 → 15, x = 0 → 8.
        let t = q(tie, .q4_0)
        XCTAssertEqual(Float(Float16(bitPattern: UInt16(t[0]) | UInt16(t[1]) << 8)), 0.25)
        XCTAssertEqual(t[2 + 3] & 0x0F, 0)
        XCTAssertEqual(t[2 + 9] & 0x0F, 15)
        XCTAssertEqual(t[2 + 0] & 0x0F, 8)
        let flat = q([Float](repeating: 1.5, count: 32), .q4_1)
        XCTAssertEqual(Array(flat[0..<2]), [0, 0], "d = 0")
        XCTAssertEqual(Float(Float16(bitPattern: UInt16(flat[2]) | UInt16(flat[3]) << 8)), 1.5, "m = min")
        XCTAssertTrue(flat[4...].allSatisfy { $0 == 0 })
        var halves = [Float](repeating: 0, count: 32)
        halves[0] = 127
        halves[1] = 2.5
        halves[2] = -2.5
        let h = q(halves, .q8_0)
        XCTAssertEqual(Int8(bitPattern: h[3]), 3)
        XCTAssertEqual(Int8(bitPattern: h[4]), -3)
        XCTAssertEqual(q([.nan], .bf16), [0xC0, 0x7F])
        XCTAssertEqual(q([1e6], .f16), [0x00, 0x7C], "overflow to +inf")
    }
}
