import Foundation

/// Causal grouped-query attention over a batch of sequences, for training (SPEC.md §1).
///
/// Shapes: q, dq, o, dO [B·T, H·D]; k, v, dk, dv [B·T, KV·D]; lse [B, H, T]; S, dP scratch [T, T].
/// Query head h reads key/value head h / (H / KV). Position t of a row sees positions
/// `segmentStart[t] ... t` of the same row (plain causal when every start is 0; packing resets it).
/// Forward keeps only the log-sum-exp of each score row; backward recomputes the probabilities from it
/// (one extra q kᵀ product per head instead of storing B·H·T² probabilities).
public struct CausalAttention {
    public let heads: Int
    public let kvHeads: Int
    public let headDim: Int

    public init(heads: Int, kvHeads: Int, headDim: Int) {
        self.heads = heads
        self.kvHeads = kvHeads
        self.headDim = headDim
    }

    var qDim: Int { heads * headDim }
    var kvDim: Int { kvHeads * headDim }
    var scale: Float { 1 / Float(headDim).squareRoot() }

    /// Rows per block of the causal score products: row block [t0, t1) only needs columns [0, t1), so the
    /// upper triangle (about half the work at T = 256) is never computed.
    static let block = 64

    /// S = q_h k_g^T · scale, masked to the visible window, into s [T, T]: entries outside
    /// `segmentStart[t] ... t` are -inf (the upper triangle is never computed, only set).
    @inline(__always)
    func scores(q: UnsafePointer<Float>, k: UnsafePointer<Float>, row b: Int, head h: Int, T: Int, segmentStart: UnsafePointer<Int32>, into s: UnsafeMutablePointer<Float>) {
        let g = h / (heads / kvHeads), D = headDim
        var t0 = 0
        while t0 < T {
            let t1 = min(T, t0 + Self.block)
            sgemm(m: t1 - t0, n: t1, k: D, q + (b * T + t0) * qDim + h * D, lda: qDim, k + b * T * kvDim + g * D, ldb: kvDim, transB: true, s + t0 * T, ldc: T, alpha: scale)
            t0 = t1
        }
        let seg = segmentStart + b * T
        for t in 0..<T {
            let row = s + t * T
            for j in 0..<Int(seg[t]) { row[j] = -.infinity }
            for j in (t + 1)..<max(T, t + 1) { row[j] = -.infinity }
        }
    }

    // S = q kᵀ / √D (masked), P = softmax(S), o = P v;  lse = log Σ_j exp(S_j)
    public func forward(
        q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, rows B: Int, seqLen T: Int,
        segmentStart: UnsafePointer<Int32>, out o: UnsafeMutablePointer<Float>, lse: UnsafeMutablePointer<Float>,
        scratch s: UnsafeMutablePointer<Float>
    ) {
        let D = headDim
        for b in 0..<B {
            for h in 0..<heads {
                scores(q: q, k: k, row: b, head: h, T: T, segmentStart: segmentStart, into: s)
                let l = lse + (b * heads + h) * T
                let parts = T >= 32 ? Threads.count : 1
                parallelFor(parts) { p in
                    for t in splitRange(T, parts: parts, index: p) {
                        let row = s + t * T
                        var mx = -Float.infinity
                        for j in 0...t { mx = max(mx, row[j]) }
                        var sum: Float = 0
                        for j in 0...t { let e = expf(row[j] - mx); row[j] = e; sum += e }
                        let inv = 1 / sum
                        for j in 0...t { row[j] *= inv }
                        for j in (t + 1)..<max(T, t + 1) { row[j] = 0 }
                        l[t] = mx + logf(sum)
                    }
                }
                let g = h / (heads / kvHeads)
                var t0 = 0
                while t0 < T {
                    // o[t0..<t1] = P[t0..<t1, 0..<t1] V[0..<t1]
                    let t1 = min(T, t0 + Self.block)
                    sgemm(m: t1 - t0, n: D, k: t1, s + t0 * T, lda: T, v + b * T * kvDim + g * D, ldb: kvDim, o + (b * T + t0) * qDim + h * D, ldc: qDim)
                    t0 = t1
                }
            }
        }
    }

    // P = exp(S − lse) (recomputed), dO = dL/do
    //   dv_g += Pᵀ dO                       [T, D]
    //   dP    = dO vᵀ                       [T, T]
    //   dS    = P ∘ (dP − rowsum(dO ∘ o))   (softmax backward)
    //   dq    = dS k / √D                   [T, D]
    //   dk_g += dSᵀ q / √D                  [T, D]      (GQA: heads of a group add into one k, v)
    /// Writes dq; writes dk and dv (zeroed here, then accumulated over the heads of each group).
    public func backward(
        dOut dO: UnsafePointer<Float>, q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
        out o: UnsafePointer<Float>, lse: UnsafePointer<Float>, rows B: Int, seqLen T: Int,
        segmentStart: UnsafePointer<Int32>, dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>,
        dv: UnsafeMutablePointer<Float>, scratchS s: UnsafeMutablePointer<Float>, scratchDP dp: UnsafeMutablePointer<Float>
    ) {
        let D = headDim, sc = scale
        dk.update(repeating: 0, count: B * T * kvDim)
        dv.update(repeating: 0, count: B * T * kvDim)
        for b in 0..<B {
            for h in 0..<heads {
                let g = h / (heads / kvHeads)
                scores(q: q, k: k, row: b, head: h, T: T, segmentStart: segmentStart, into: s)
                let l = lse + (b * heads + h) * T
                let dOh = dO + b * T * qDim + h * D, oh = o + b * T * qDim + h * D
                let vg = v + b * T * kvDim + g * D, kg = k + b * T * kvDim + g * D, qh = q + b * T * qDim + h * D
                // dP = dO vᵀ, lower block triangle only
                var t0 = 0
                while t0 < T {
                    let t1 = min(T, t0 + Self.block)
                    sgemm(m: t1 - t0, n: t1, k: D, dOh + t0 * qDim, lda: qDim, vg, ldb: kvDim, transB: true, dp + t0 * T, ldc: T)
                    t0 = t1
                }
                let parts = T >= 32 ? Threads.count : 1
                parallelFor(parts) { p in
                    for t in splitRange(T, parts: parts, index: p) {
                        let row = s + t * T, dprow = dp + t * T
                        var di: Float = 0
                        for i in 0..<D { di += dOh[t * qDim + i] * oh[t * qDim + i] }
                        for j in 0...t {
                            let pj = row[j] == -.infinity ? 0 : expf(row[j] - l[t])
                            row[j] = pj
                            dprow[j] = pj * (dprow[j] - di)
                        }
                        // Beyond the diagonal nothing was computed: P and dS are zero there.
                        for j in (t + 1)..<max(T, t + 1) {
                            row[j] = 0
                            dprow[j] = 0
                        }
                    }
                }
                // Per row block [t0, t1), columns [0, t1):
                //   dv_g[0..<t1] += P[t0..<t1]ᵀ dO[t0..<t1];  dq[t0..<t1] = dS[t0..<t1] k · sc;
                //   dk_g[0..<t1] += dS[t0..<t1]ᵀ q[t0..<t1] · sc
                t0 = 0
                while t0 < T {
                    let t1 = min(T, t0 + Self.block), n = t1 - t0
                    sgemm(m: t1, n: D, k: n, s + t0 * T, lda: T, transA: true, dOh + t0 * qDim, ldb: qDim, dv + b * T * kvDim + g * D, ldc: kvDim, beta: 1)
                    sgemm(m: n, n: D, k: t1, dp + t0 * T, lda: T, kg, ldb: kvDim, dq + (b * T + t0) * qDim + h * D, ldc: qDim, alpha: sc)
                    sgemm(m: t1, n: D, k: n, dp + t0 * T, lda: T, transA: true, qh + t0 * qDim, ldb: qDim, dk + b * T * kvDim + g * D, ldc: kvDim, alpha: sc, beta: 1)
                    t0 = t1
                }
            }
        }
    }
}
