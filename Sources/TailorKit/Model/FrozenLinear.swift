import CKernels
import Foundation

/// A frozen linear layer over quantized weights `W0 [out, in]` that stay in their GGUF blocks
/// (ARCHITECTURE.md §3). `y = x W0^T`.
///
/// This is the one interface every frozen GEMM goes through, so a faster kernel (BF16, int8 VNNI) can
/// replace the body without touching the layers:
/// - T = 1: fused dequantize-and-dot kernels from `CKernels`, rows split over the thread budget.
/// - T > 1: a tile of rows is dequantized into a reused Float32 scratch buffer, then `cblas_sgemm`.
public struct FrozenLinear: @unchecked Sendable {
    public let name: String
    public let type: GGMLType
    public let outFeatures: Int
    public let inFeatures: Int
    public let rowBytes: Int
    public let weights: UnsafeRawPointer

    public init(name: String, type: GGMLType, outFeatures: Int, inFeatures: Int, weights: UnsafeRawPointer) {
        precondition(type.isSupported, "FrozenLinear \(name): unsupported \(type.name)")
        self.name = name
        self.type = type
        self.outFeatures = outFeatures
        self.inFeatures = inFeatures
        self.rowBytes = type.rowBytes(inFeatures)
        self.weights = weights
    }

    /// Rows per dequantized tile so a tile holds at most `scratch.count` floats.
    @inline(__always) func tileRows(_ scratch: FloatBuffer) -> Int {
        max(1, min(outFeatures, scratch.count / inFeatures))
    }

    /// Dequantizes rows `[r0, r1)` into `dst` (`[r1 - r0, in]`), split over the thread budget.
    public func dequantize(rows r0: Int, _ r1: Int, into dst: UnsafeMutablePointer<Float>) {
        let parts = min(Threads.count, max(1, (r1 - r0) / 16))
        let w = weights, rb = rowBytes, t = Int32(type.rawValue), n = inFeatures
        parallelFor(parts) { p in
            let r = splitRange(r1 - r0, parts: parts, index: p)
            tk_dequantize_rows(t, w, rb, Int64(r0 + r.lowerBound), Int64(r0 + r.upperBound), Int64(n),
                               dst + r.lowerBound * n, Int32(TK_ISA_BEST.rawValue))
        }
    }

    /// y[T, out] = x[T, in] W0^T  (+ beta * y).  `ldy` is y's row stride (defaults to `out`).
    public func forward(
        _ x: UnsafePointer<Float>, rows T: Int, into y: UnsafeMutablePointer<Float>, ldy: Int? = nil,
        beta: Float = 0, scratch: FloatBuffer
    ) {
        let ldy = ldy ?? outFeatures
        if T == 1 && beta == 0 {
            matvec(x, into: y)
            return
        }
        let tile = tileRows(scratch)
        var r0 = 0
        while r0 < outFeatures {
            let r1 = min(outFeatures, r0 + tile)
            dequantize(rows: r0, r1, into: scratch.pointer)
            // y[:, r0..<r1] = x [T, in] · tile[r1-r0, in]^T
            sgemm(m: T, n: r1 - r0, k: inFeatures, x, lda: inFeatures, scratch.pointer, ldb: inFeatures,
                  transB: true, y + r0, ldc: ldy, beta: beta)
            r0 = r1
        }
    }

    /// dx[T, in] (+)= g[T, out] W0 — the input gradient; no gradient for W0 is ever formed.
    public func backwardInput(
        _ g: UnsafePointer<Float>, rows T: Int, into dx: UnsafeMutablePointer<Float>, accumulate: Bool,
        scratch: FloatBuffer
    ) {
        let tile = tileRows(scratch)
        var r0 = 0
        var first = !accumulate
        while r0 < outFeatures {
            let r1 = min(outFeatures, r0 + tile)
            dequantize(rows: r0, r1, into: scratch.pointer)
            // dx += g[:, r0..<r1] · tile[r1-r0, in]
            sgemm(m: T, n: inFeatures, k: r1 - r0, g + r0, lda: outFeatures, scratch.pointer,
                  ldb: inFeatures, dx, ldc: inFeatures, beta: first ? 0 : 1)
            first = false
            r0 = r1
        }
    }

    /// y[out] = W0 x for one token, with fused quantized dot products split over threads.
    public func matvec(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        let parts = min(Threads.count, max(1, outFeatures / 64))
        let w = weights, rb = rowBytes, t = Int32(type.rawValue), n = inFeatures, out = outFeatures
        parallelFor(parts) { p in
            let r = splitRange(out, parts: parts, index: p, align: 16)
            tk_matvec(t, w, rb, Int64(r.lowerBound), Int64(r.upperBound), Int64(n), x, y,
                      Int32(TK_ISA_BEST.rawValue))
        }
    }
}
