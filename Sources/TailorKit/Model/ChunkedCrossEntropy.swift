import CKernels
import Foundation

/// Summed negative log-likelihood over supervised tokens, and their count.
public struct LossTotal: Sendable, Equatable {
    public var nllSum: Double
    public var tokens: Int
    public init(nllSum: Double = 0, tokens: Int = 0) {
        self.nllSum = nllSum
        self.tokens = tokens
    }
    public var meanLoss: Double { tokens > 0 ? nllSum / Double(tokens) : .nan }
    public static func + (a: LossTotal, b: LossTotal) -> LossTotal { LossTotal(nllSum: a.nllSum + b.nllSum, tokens: a.tokens + b.tokens) }
}

/// The LM head and cross-entropy over supervised rows only, a chunk of rows at a time, so a
/// `[tokens, vocab]` logits buffer never exists (ARCHITECTURE.md §3).
///
/// For a chunk of rows X [n, d] with targets y:  z = X Wᵀ [n, V];  ℓ_i = logsumexp(z_i) − z_{i,y_i}
///   dz = scale · (softmax(z) − onehot(y))   [n, V]
///   dX = dz W                               [n, d]
/// `scale` is 1 / (supervised tokens in the whole optimizer step), so accumulated micro-batches equal one
/// large batch (SPEC.md §8).
public final class ChunkedCrossEntropy: @unchecked Sendable {
    public let head: FrozenLinear
    public let chunkRows: Int
    let logits: FloatBuffer   // [chunkRows, V]
    let xs, dxs: FloatBuffer  // [chunkRows, d]
    let tile: FloatBuffer
    var rowIndex: [Int]
    var rowNLL: [Float]

    public init(head: FrozenLinear, chunkRows: Int = 256, tile: FloatBuffer) {
        self.head = head
        self.chunkRows = chunkRows
        logits = FloatBuffer(count: chunkRows * head.outFeatures, zeroed: false)
        xs = FloatBuffer(count: chunkRows * head.inFeatures)
        dxs = FloatBuffer(count: chunkRows * head.inFeatures)
        self.tile = tile
        rowIndex = []
        rowNLL = [Float](repeating: 0, count: chunkRows)
    }

    public var bytes: Int { 4 * (logits.count + xs.count + dxs.count) }

    /// Sum of NLL over rows whose label ≥ 0 and their count. When `dHidden` is given it is overwritten with
    /// `scale · dL/dhidden` (zero on unsupervised rows).
    public func evaluate(
        hidden: UnsafePointer<Float>, labels: UnsafePointer<Int32>, rows N: Int, scale: Float,
        dHidden: UnsafeMutablePointer<Float>?
    ) -> LossTotal {
        let d = head.inFeatures, V = head.outFeatures
        rowIndex.removeAll(keepingCapacity: true)
        for i in 0..<N where labels[i] >= 0 { rowIndex.append(i) }
        dHidden?.update(repeating: 0, count: N * d)
        var total = 0.0
        var start = 0
        while start < rowIndex.count {
            let n = min(chunkRows, rowIndex.count - start)
            for r in 0..<n { (xs.pointer + r * d).update(from: hidden + rowIndex[start + r] * d, count: d) }
            head.forward(xs.pointer, rows: n, into: logits.pointer, scratch: tile)
            let lp = logits.pointer, idx = rowIndex, wantGrad = dHidden != nil
            rowNLL.withUnsafeMutableBufferPointer { nll in
                guard let nllp = nll.baseAddress else { return }
                let parts = min(Threads.count, n)
                parallelFor(parts) { p in
                    for r in splitRange(n, parts: parts, index: p) {
                        let z = lp + r * V
                        let target = Int(labels[idx[start + r]])
                        var mx = -Float.infinity
                        for j in 0..<V { mx = max(mx, z[j]) }
                        // Σ exp over the vocabulary in Float64: a Float32 running sum of 50k terms drifts
                        // by ~1e-4 relative, which shows directly in the loss.
                        let sum = tk_exp_sum(z, mx, Int64(V))
                        let lse = mx + Float(log(sum))
                        nllp[r] = lse - z[target]
                        if wantGrad {
                            tk_exp_scale(z, lse, scale, Int64(V))
                            z[target] -= scale
                        }
                    }
                }
                for r in 0..<n { total += Double(nllp[r]) }
            }
            if let dHidden {
                head.backwardInput(lp, rows: n, into: dxs.pointer, accumulate: false, scratch: tile)
                for r in 0..<n { (dHidden + rowIndex[start + r] * d).update(from: dxs.pointer + r * d, count: d) }
            }
            start += n
        }
        return LossTotal(nllSum: total, tokens: rowIndex.count)
    }
}
