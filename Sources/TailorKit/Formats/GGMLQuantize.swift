import Foundation

/// Float32 rows into GGML block types, bit-identical to gguf-py's `quants.quantize` (SPEC.md §5), which
/// mirrors llama.cpp's reference quantizers (`ggml-quants.c` `quantize_row_*_ref`). All arithmetic is
/// Float32, in gguf-py's order, so every byte matches (Tests: QuantizeTests against Fixtures/quants).
///
///   F16   IEEE half, round to nearest even
///   BF16  upper 16 bits, round to nearest even, NaN kept quiet
///   Q8_0  blocks of 32: d = max|x| / 127 (f16), q = roundf(x / d) (half away from zero)          8.5 bits/weight
///   Q4_0  blocks of 32: m = the x of largest |x|, d = m / −8 (f16), q = min(15, trunc(x / d + 8.5)),
///         elements 0..15 in the low nibbles, 16..31 in the high nibbles                             4.5 bits/weight
///   Q4_1  blocks of 32: d = (max − min) / 15, m = min (both f16), q = min(15, trunc((x − min) / d + 0.5))  5 bits/weight
public enum GGMLQuantizer {
    /// The types `quantize` writes.
    public static let writableTypes: [GGMLType] = [.f32, .f16, .bf16, .q8_0, .q4_0, .q4_1]

    /// Quantizes `count` values (a whole number of blocks of `type`) into `dst` (`type.rowBytes(count)` bytes).
    public static func quantize(_ x: UnsafePointer<Float>, count: Int, type: GGMLType, into dst: UnsafeMutableRawPointer) {
        precondition(writableTypes.contains(type), "GGMLQuantizer: cannot write \(type.name)")
        precondition(count % type.blockElements == 0, "GGMLQuantizer: \(count) values are not whole \(type.name) blocks")
        switch type {
        case .f32:
            dst.copyMemory(from: x, byteCount: 4 * count)
        case .f16:
            for i in 0..<count { dst.storeBytes(of: Float16(x[i]).bitPattern.littleEndian, toByteOffset: 2 * i, as: UInt16.self) }
        case .bf16:
            for i in 0..<count { dst.storeBytes(of: bf16(x[i]).littleEndian, toByteOffset: 2 * i, as: UInt16.self) }
        case .q8_0:
            for b in 0..<count / 32 { q8_0(x + 32 * b, into: dst + 34 * b) }
        case .q4_0:
            for b in 0..<count / 32 { q4_0(x + 32 * b, into: dst + 18 * b) }
        case .q4_1:
            for b in 0..<count / 32 { q4_1(x + 32 * b, into: dst + 20 * b) }
        default:
            break
        }
    }

    /// ggml_compute_fp32_to_bf16: NaN made quiet, otherwise round to nearest even.
    @inline(__always) static func bf16(_ v: Float) -> UInt16 {
        let n = v.bitPattern
        if n & 0x7fff_ffff > 0x7f80_0000 { return UInt16((n & 0xffff_0000 | 64 << 16) >> 16) }
        return UInt16(truncatingIfNeeded: (UInt64(n) + UInt64(0x7fff + ((n >> 16) & 1))) >> 16)
    }

    @inline(__always) static func half(_ v: Float, _ p: UnsafeMutableRawPointer) {
        p.storeBytes(of: Float16(v).bitPattern.littleEndian, as: UInt16.self)
    }

    /// roundf: half away from zero (gguf-py's np_roundf).
    @inline(__always) static func roundAway(_ v: Float) -> Float {
        let a = abs(v)
        let f = a.rounded(.down)
        let r = f + (2 * (a - f)).rounded(.down)
        return v < 0 ? -r : r
    }

    /// A truncated quant clipped to 0...15 (NaN to 0), as gguf-py's `.astype(np.uint8).clip(0, 15)`.
    @inline(__always) static func nibble(_ t: Float) -> UInt8 { t >= 15 ? 15 : (t > 0 ? UInt8(t) : 0) }

    static func q8_0(_ x: UnsafePointer<Float>, into p: UnsafeMutableRawPointer) {
        var amax: Float = 0
        for i in 0..<32 { amax = max(amax, abs(x[i])) }
        let d = amax / 127
        let id: Float = d == 0 ? 0 : 1 / d
        half(d, p)
        for i in 0..<32 {
            let r = roundAway(x[i] * id)  // within ±127 for finite x; NaN and ±inf blocks never reach here (merge checks)
            p.storeBytes(of: r.isFinite ? Int8(max(-127, min(127, r))) : 0, toByteOffset: 2 + i, as: Int8.self)
        }
    }

    static func q4_0(_ x: UnsafePointer<Float>, into p: UnsafeMutableRawPointer) {
        var amax: Float = 0, m: Float = 0
        for i in 0..<32 where abs(x[i]) > amax {  // the first of equal magnitudes, as argmax
            amax = abs(x[i])
            m = x[i]
        }
        let d = m / -8
        let id: Float = d == 0 ? 0 : 1 / d
        half(d, p)
        func q(_ v: Float) -> UInt8 { nibble((v * id + 8.5).rounded(.towardZero)) }
        for i in 0..<16 { p.storeBytes(of: q(x[i]) | q(x[16 + i]) << 4, toByteOffset: 2 + i, as: UInt8.self) }
    }

    static func q4_1(_ x: UnsafePointer<Float>, into p: UnsafeMutableRawPointer) {
        var lo = x[0], hi = x[0]
        for i in 1..<32 {
            lo = min(lo, x[i])
            hi = max(hi, x[i])
        }
        let d = (hi - lo) / 15
        let id: Float = d == 0 ? 0 : 1 / d
        half(d, p)
        half(lo, p + 2)
        func q(_ v: Float) -> UInt8 { nibble(((v - lo) * id + 0.5).rounded(.towardZero)) }
        for i in 0..<16 { p.storeBytes(of: q(x[i]) | q(x[16 + i]) << 4, toByteOffset: 4 + i, as: UInt8.self) }
    }
}
