import CKernels
import XCTest

@testable import TailorKit

/// Dequantization against gguf-py (Fixtures/quants.safetensors, scripts/golden/quants.py): exact, for every
/// ISA path. Dot kernels: all ISA paths against a Float64 dot of the dequantized row.
final class QuantKernelTests: XCTestCase {
    static let types: [(String, GGMLType)] = [
        ("F16", .f16), ("BF16", .bf16), ("Q4_0", .q4_0), ("Q4_1", .q4_1), ("Q8_0", .q8_0),
        ("Q4_K", .q4_K), ("Q5_K", .q5_K), ("Q6_K", .q6_K),
    ]
    static let isas: [tk_isa] = [TK_ISA_SCALAR, TK_ISA_AVX2, TK_ISA_AVX512]

    func testDequantizationMatchesGGUFPyExactly() throws {
        let st = try SafetensorsFile(url: fixtureURL("quants.safetensors"))
        for (name, type) in Self.types {
            let raw = try st.bytes("\(name).raw")
            let expected = try st.floats("\(name).values")
            let rows = 4, cols = expected.count / rows
            XCTAssertEqual(raw.count, rows * type.rowBytes(cols), "\(name) raw size")
            for isa in Self.isas where tk_isa_supported(isa.rawValue) != 0 {
                var out = [Float](repeating: .nan, count: expected.count)
                raw.withUnsafeBytes { src in
                    out.withUnsafeMutableBufferPointer { dst in
                        tk_dequantize_rows(Int32(type.rawValue), src.baseAddress, type.rowBytes(cols), 0, Int64(rows), Int64(cols), dst.baseAddress, isa.rawValue)
                    }
                }
                let mismatches = zip(out, expected).enumerated().filter { $0.element.0.bitPattern != $0.element.1.bitPattern }
                XCTAssertTrue(mismatches.isEmpty, "\(name) isa \(isa.rawValue): \(mismatches.count) values differ, first at \(mismatches.first.map { "[\($0.offset)] \($0.element.0) vs \($0.element.1)" } ?? "")")
            }
        }
    }

    func testMatvecPathsAgreeWithFloat64Reference() throws {
        let st = try SafetensorsFile(url: fixtureURL("quants.safetensors"))
        var rng = TestRNG(seed: 7)
        for (name, type) in Self.types {
            let raw = try st.bytes("\(name).raw")
            let w = try st.floats("\(name).values")
            let rows = 4, cols = w.count / rows
            let x = (0..<cols).map { _ in rng.normal() }
            let reference: [Float] = (0..<rows).map { r in
                Float((0..<cols).reduce(0.0) { $0 + Double(w[r * cols + $1]) * Double(x[$1]) })
            }
            let magnitude: [Float] = (0..<rows).map { r in
                Float((0..<cols).reduce(0.0) { $0 + abs(Double(w[r * cols + $1]) * Double(x[$1])) })
            }
            for isa in Self.isas where tk_isa_supported(isa.rawValue) != 0 {
                var y = [Float](repeating: .nan, count: rows)
                raw.withUnsafeBytes { src in
                    y.withUnsafeMutableBufferPointer { yp in
                        tk_matvec(Int32(type.rawValue), src.baseAddress, type.rowBytes(cols), 0, Int64(rows), Int64(cols), x, yp.baseAddress, isa.rawValue)
                    }
                }
                // Float32 accumulation over 512 terms: error ≤ ~n·ε·Σ|terms|; 1e-5 relative to Σ|terms| is generous.
                for r in 0..<rows {
                    XCTAssertEqual(y[r], reference[r], accuracy: 1e-5 * magnitude[r] + 1e-6, "\(name) isa \(isa.rawValue) row \(r)")
                }
            }
        }
    }

    func testBlockSizesMatchGGMLTypeTable() {
        for (_, type) in Self.types {
            let be = type == .f16 || type == .bf16 ? 1 : type.blockElements
            XCTAssertEqual(Int(tk_block_elements(Int32(type.rawValue))), be, "\(type.name)")
            XCTAssertEqual(Int(tk_block_bytes(Int32(type.rawValue))), type.blockBytes, "\(type.name)")
        }
    }

    func testHalfConversionIsExactForAllBitPatterns() {
        for bits in 0...UInt16.max {
            let ours = tk_fp16_to_fp32(bits)
            let swift = Float(Float16(bitPattern: bits))
            if swift.isNaN { XCTAssertTrue(ours.isNaN) } else { XCTAssertEqual(ours.bitPattern, swift.bitPattern, "half 0x\(String(bits, radix: 16))") }
        }
    }
}
