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
