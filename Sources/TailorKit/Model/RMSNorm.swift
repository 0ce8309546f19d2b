import Foundation

/// RMSNorm (SPEC.md §1; transformers `LlamaRMSNorm`): `y = x / sqrt(mean(x^2) + eps) * w`, in Float32.
/// x, y: [T, d]; w: [d]. Rows are independent.
public enum RMSNorm {
    /// y = rmsnorm(x) * w for T rows; returns nothing, writes y (may alias x).
    @inline(__always)
    public static func forward(
        _ x: UnsafePointer<Float>, weight w: UnsafePointer<Float>, rows T: Int, dim d: Int, eps: Float,
        into y: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>? = nil
    ) {
        let work = { (t: Int) in
            let xr = x + t * d, yr = y + t * d
            var ss: Float = 0
            for i in 0..<d { ss += xr[i] * xr[i] }
            let r = 1 / (ss / Float(d) + eps).squareRoot()
            rstd?[t] = r
            for i in 0..<d { yr[i] = (xr[i] * r) * w[i] }
        }
        if T >= 8 {
            let parts = min(Threads.count, T)
            parallelFor(parts) { p in for t in splitRange(T, parts: parts, index: p) { work(t) } }
        } else {
            for t in 0..<T { work(t) }
        }
    }
}

extension RMSNorm {
    // y = x̂ ∘ w, x̂ = x r, r = (mean(x²) + eps)^(-1/2)     x, y, g, dx: [T, d]; w: [d]; r: [T]
    //   dx = r (g ∘ w) − (r³ / d) x Σ_j (g_j w_j x_j)         (no dw: norm weights are frozen)
    /// dx (+)= dL/dx given g = dL/dy, the input x and the saved r.
    public static func backward(
        _ g: UnsafePointer<Float>, x: UnsafePointer<Float>, weight w: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
        rows T: Int, dim d: Int, into dx: UnsafeMutablePointer<Float>, accumulate: Bool
    ) {
        let work = { (t: Int) in
            let gr = g + t * d, xr = x + t * d, dr = dx + t * d
            let r = rstd[t]
            var dot: Float = 0
            for i in 0..<d { dot += gr[i] * w[i] * xr[i] }
            let c = r * r * r * dot / Float(d)
            if accumulate {
                for i in 0..<d { dr[i] += r * gr[i] * w[i] - c * xr[i] }
            } else {
                for i in 0..<d { dr[i] = r * gr[i] * w[i] - c * xr[i] }
            }
        }
        let parts = T >= 8 ? min(Threads.count, T) : 1
        parallelFor(parts) { p in for t in splitRange(T, parts: parts, index: p) { work(t) } }
    }
}
