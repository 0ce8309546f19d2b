import CKernels
import Foundation

/// SwiGLU gate of the Llama MLP (SPEC.md §1): a = silu(g) ∘ u, silu(z) = z σ(z).
public enum SwiGLU {
    /// a = silu(g) ∘ u, elementwise over n values.
    public static func forward(gate g: UnsafePointer<Float>, up u: UnsafePointer<Float>, into a: UnsafeMutablePointer<Float>, count n: Int) {
        let parts = n >= 1 << 14 ? Threads.count : 1
        parallelFor(parts) { p in
            let r = splitRange(n, parts: parts, index: p, align: 16)
            tk_silu_mul(g + r.lowerBound, u + r.lowerBound, a + r.lowerBound, Int64(r.count))
        }
    }

    // a = silu(g) ∘ u,  σ = 1 / (1 + e^-g)
    //   dg = da ∘ u ∘ σ (1 + g (1 − σ))
    //   du = da ∘ g σ
    /// Writes dg and du from da and the saved pre-activations g, u.
    public static func backward(
        _ da: UnsafePointer<Float>, gate g: UnsafePointer<Float>, up u: UnsafePointer<Float>,
        dGate dg: UnsafeMutablePointer<Float>, dUp du: UnsafeMutablePointer<Float>, count n: Int
    ) {
        let parts = n >= 1 << 14 ? Threads.count : 1
        parallelFor(parts) { p in
            let r = splitRange(n, parts: parts, index: p, align: 16)
            let o = r.lowerBound
            tk_swiglu_backward(da + o, g + o, u + o, dg + o, du + o, Int64(r.count))
        }
    }
}
