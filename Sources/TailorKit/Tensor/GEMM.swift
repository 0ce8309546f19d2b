import CBLAS
import CKernels

/// C = alpha * op(A) op(B) + beta * C on raw row-major pointers, through OpenBLAS `cblas_sgemm`.
/// op(A) is [m, k], op(B) is [k, n], C is [m, n]; `lda`, `ldb`, `ldc` are the row strides as stored.
///
/// OpenBLAS runs single-threaded; large products are split here over the thread pool along the longer of
/// m (rows of C) or n (columns of C), so one set of threads serves GEMMs and elementwise loops and no
/// OpenBLAS worker spins (sched_yield) against ours between calls. Each part is an independent
/// `cblas_sgemm` on a sub-block, so results do not depend on timing (bit-identical run to run).
@inline(__always)
public func sgemm(
    m: Int, n: Int, k: Int,
    _ a: UnsafePointer<Float>, lda: Int, transA: Bool = false,
    _ b: UnsafePointer<Float>, ldb: Int, transB: Bool = false,
    _ c: UnsafeMutablePointer<Float>, ldc: Int,
    alpha: Float = 1, beta: Float = 0
) {
    if m == 0 || n == 0 { return }
    let ta = transA ? CblasTrans : CblasNoTrans, tb = transB ? CblasTrans : CblasNoTrans
    let threads = Threads.count
    if threads == 1 || m * n * k < 1 << 17 || (m < 32 && n < 32) {
        cblas_sgemm(CblasRowMajor, ta, tb, Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
        return
    }
    if m >= n {
        parallelFor(threads) { p in
            let r = splitRange(m, parts: threads, index: p, align: 16)
            if r.isEmpty { return }
            // Rows r of op(A): rows of A, or columns of A when transposed.
            let ap = transA ? a + r.lowerBound : a + r.lowerBound * lda
            cblas_sgemm(CblasRowMajor, ta, tb, Int32(r.count), Int32(n), Int32(k), alpha, ap, Int32(lda), b, Int32(ldb), beta, c + r.lowerBound * ldc, Int32(ldc))
        }
    } else {
        parallelFor(threads) { p in
            let r = splitRange(n, parts: threads, index: p, align: 16)
            if r.isEmpty { return }
            // Columns r of op(B): columns of B, or rows of B when transposed.
            let bp = transB ? b + r.lowerBound * ldb : b + r.lowerBound
            cblas_sgemm(CblasRowMajor, ta, tb, Int32(m), Int32(r.count), Int32(k), alpha, a, Int32(lda), bp, Int32(ldb), beta, c + r.lowerBound, Int32(ldc))
        }
    }
}

/// Matrix form: C = alpha * op(A) op(B) + beta * C.
public func gemm(
    _ a: Matrix, _ b: Matrix, transA: Bool = false, transB: Bool = false,
    alpha: Float = 1, beta: Float = 0, into c: Matrix
) {
    let m = transA ? a.cols : a.rows
    let k = transA ? a.rows : a.cols
    let kb = transB ? b.cols : b.rows
    let n = transB ? b.rows : b.cols
    precondition(k == kb && c.rows == m && c.cols == n,
        "gemm shapes: A \(a.rows)x\(a.cols)\(transA ? "ᵀ" : ""), B \(b.rows)x\(b.cols)\(transB ? "ᵀ" : ""), C \(c.rows)x\(c.cols)")
    sgemm(m: m, n: n, k: k, a.data, lda: a.cols, transA: transA, b.data, ldb: b.cols, transB: transB,
          c.data, ldc: c.cols, alpha: alpha, beta: beta)
}

/// Thread budget shared by OpenBLAS and Tailor's own parallel loops (ARCHITECTURE.md §3).
public enum Threads {
    nonisolated(unsafe) private static var current = 0

    /// Cores available to this process.
    public static var available: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }

    /// Threads in use (defaults to all cores). OpenBLAS itself is kept single-threaded: `sgemm` splits
    /// products over Tailor's pool instead.
    public static var count: Int {
        if current == 0 { set(available) }
        return current
    }

    /// Sets the thread budget for GEMMs and parallel loops.
    public static func set(_ n: Int) {
        current = max(1, n)
        openblas_set_num_threads(1)
    }
}

import Foundation
import Dispatch

/// Runs `body(chunk)` for `chunks` chunks on the persistent pool (`CKernels` `tk_parallel_for`): the
/// caller plus `Threads.count - 1` spinning workers. Used for elementwise work and single-token matvecs,
/// where per-call OS wake-ups would cost as much as the work.
@inline(__always)
public func parallelFor(_ chunks: Int, _ body: (Int) -> Void) {
    if chunks <= 1 {
        if chunks == 1 { body(0) }
        return
    }
    withoutActuallyEscaping(body) { escapable in
        var closure = escapable
        withUnsafeMutablePointer(to: &closure) { ctx in
            tk_parallel_for(Int64(chunks), Int32(Threads.count), { raw, i in
                guard let raw else { return }
                raw.assumingMemoryBound(to: ((Int) -> Void).self).pointee(Int(i))
            }, ctx)
        }
    }
}

/// Splits `0..<n` into `parts` contiguous ranges, the i-th returned; sizes differ by at most one `align`.
@inline(__always)
public func splitRange(_ n: Int, parts: Int, index i: Int, align: Int = 1) -> Range<Int> {
    let units = (n + align - 1) / align
    let per = units / parts, extra = units % parts
    let lo = (i * per + min(i, extra)) * align
    let hi = min(n, ((i + 1) * per + min(i + 1, extra)) * align)
    return min(lo, n)..<hi
}
