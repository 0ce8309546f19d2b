import Foundation

/// Global-norm gradient clipping, as `torch.nn.utils.clip_grad_norm_(params, max_norm)` with the
/// default L2 norm (torch 2.13 `nn/utils/clip_grad.py`), which the HF Trainer applies before each
/// optimizer step when `max_grad_norm > 0`:
///
///     total = sqrt(sum over all tensors and elements of g^2)
///     coef  = max_norm / (total + 1e-6)
///     g    *= min(coef, 1)               for every gradient, in place
///
/// The sum is accumulated in Float64 (PyTorch sums per-tensor norms in Float32 with pairwise
/// reduction; Float64 is at least as accurate, so the two agree to about one Float32 ulp).
/// `coef` is then formed in Float32 the way PyTorch does it on a Float32 0-dim tensor:
/// `max_norm / t` is `t.reciprocal() * max_norm` (torch `Tensor.__rtruediv__`).
/// Multiplying by exactly 1 changes nothing, so gradients are scaled only when `coef < 1`.
public enum GradientClipping {
    /// The L2 norm of all gradients viewed as one vector, accumulated in Float64.
    /// Non-finite when any gradient element is NaN or infinite.
    public static func globalNorm(_ gradients: [Matrix]) -> Double {
        var sum: Double = 0
        for g in gradients {
            let p = g.data
            for k in 0..<g.count {
                let x = Double(p[k])
                sum += x * x
            }
        }
        return sum.squareRoot()
    }

    /// Scales `gradients` in place so that their global L2 norm is at most `maxNorm`, and returns the
    /// norm before clipping (what the HF Trainer logs as `grad_norm`). When that norm is NaN or
    /// infinite the gradients are left as they are: check `containsNonFinite` or the returned value
    /// and skip the update (PyTorch would scale them by NaN or 0 instead).
    @discardableResult
    public static func clip(_ gradients: [Matrix], maxNorm: Double) -> Double {
        precondition(maxNorm > 0, "clip max norm \(maxNorm) must be > 0")
        let total = globalNorm(gradients)
        guard total.isFinite else { return total }
        let shifted = Float(total) + Float(1e-6)
        let coef = (1 / shifted) * Float(maxNorm)
        if coef < 1 {
            for g in gradients {
                let p = g.data
                for k in 0..<g.count { p[k] *= coef }
            }
        }
        return total
    }

    /// Whether any gradient element is NaN or ±infinity (an overflowed or diverged step).
    public static func containsNonFinite(_ gradients: [Matrix]) -> Bool {
        for g in gradients {
            let p = g.data
            for k in 0..<g.count where !p[k].isFinite { return true }
        }
        return false
    }
}
