import Foundation

@testable import TailorKit

/// Distance in units in the last place between two finite Floats (0 when bit-identical; +0 and -0
/// are 0 apart): the number of representable Floats between them.
func ulpDistance(_ a: Float, _ b: Float) -> Int {
    func ordered(_ x: Float) -> Int {
        let bits = Int(Int32(bitPattern: x.bitPattern))
        return bits < 0 ? Int(Int32.min) - bits : bits
    }
    return abs(ordered(a) - ordered(b))
}

/// The largest ulp distance between corresponding elements (Int.max on a length mismatch or NaN).
func maxULPDistance(_ a: [Float], _ b: [Float]) -> Int {
    guard a.count == b.count else { return .max }
    var worst = 0
    for i in a.indices {
        if a[i].isNaN || b[i].isNaN { return .max }
        worst = max(worst, ulpDistance(a[i], b[i]))
    }
    return worst
}

extension SafetensorsFile {
    /// F64 values without rounding to Float (`floats` converts F64 to Float).
    func doubles(_ name: String) throws -> [Double] {
        let e = try entry(name)
        guard e.dtype == .f64 else { throw SafetensorsError.wrongDType(path: path, tensor: name, expected: "F64", found: e.dtype.rawValue) }
        let raw = try bytes(name)
        return raw.withUnsafeBytes { buf in
            (0..<raw.count / 8).map { Double(bitPattern: UInt64(littleEndian: buf.loadUnaligned(fromByteOffset: 8 * $0, as: UInt64.self))) }
        }
    }
}
