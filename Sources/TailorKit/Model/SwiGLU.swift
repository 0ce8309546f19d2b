import Foundation

/// SwiGLU gate of the Llama MLP (SPEC.md §1): a = silu(g) ∘ u, silu(z) = z σ(z).
public enum SwiGLU {
    /// a = silu(g) ∘ u, elementwise over n values.
    public static func forward(gate g: UnsafePointer<Float>, up u: UnsafePointer<Float>, into a: UnsafeMutablePointer<Float>, count n: Int) {
        let parts = n >= 1 << 14 ? Threads.count : 1
        parallelFor(parts) { p in
            for i in splitRange(n, parts: parts, index: p) {
                let z = g[i]
                a[i] = z / (1 + expf(-z)) * u[i]
            }
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
            for i in splitRange(n, parts: parts, index: p) {
                let z = g[i]
                let s = 1 / (1 + expf(-z))
                dg[i] = da[i] * u[i] * s * (1 + z * (1 - s))
                du[i] = da[i] * z * s
            }
        }
    }
}
