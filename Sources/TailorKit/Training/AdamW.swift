import Foundation

/// AdamW (Loshchilov & Hutter 2019, arXiv 1711.05101) exactly as PyTorch's `torch.optim.AdamW`
/// runs it on CPU with default options (`_single_tensor_adam` in torch/optim/adam.py, torch 2.13;
/// SPEC.md §8). For every parameter element, at step t (1-based):
///
///     p *= 1 - lr*wd                          decoupled decay, before the moments (skipped when wd == 0)
///     m  = m + (1-b1) * (g - m)               torch `exp_avg.lerp_(g, 1-b1)`: one FMA
///     v  = v*b2 + ((1-b2)*g) * g              torch `exp_avg_sq.mul_(b2).addcmul_(g, g, value=1-b2)`: FMA
///     denom = sqrt(v) / sqrt(1 - b2^t) + eps
///     p  = p + (-(lr / (1 - b1^t)) * m) / denom   torch `p.addcdiv_(m, denom, value=-step_size)`
///
/// The scalars (`1 - lr*wd`, `lr / (1 - b1^t)`, `sqrt(1 - b2^t)`) are computed in Float64 like
/// Python floats and rounded to Float32 once, as ATen does when it converts a `Scalar` to the
/// tensor's type. ATen's CPU lerp and addcmul kernels contract to FMA (`vec::fmadd`), so this
/// code uses `addingProduct` for those two; the moments then match PyTorch bit for bit. The one
/// op we cannot match is ATen's Float32 `sqrt` on CPU, which is not correctly rounded (measured
/// with torch 2.13: up to 0.75 ulp error, about 1 value in 6 one ulp away from IEEE `sqrt`), so
/// `denom` and hence the parameters agree with PyTorch to about one Float32 ulp. (The HF Trainer's
/// default with torch >= 2.8, `adamw_torch_fused`, runs ATen's fused CPU kernel; on the optim.py
/// fixture it is also within one ulp of the single-tensor path, with identical moments.)
///
/// The step counter is shared by all parameters (PyTorch keeps one per parameter, but the trainer
/// updates every parameter on every step). Moments are allocated once, in `init`; `update`
/// allocates nothing. Copies of an `AdamW` share the moment buffers (`FloatBuffer` is a class).
public struct AdamW {
    /// Default hyper-parameters of `torch.optim.AdamW` (weight decay's default there is 0.01).
    public static let defaultBeta1 = 0.9
    public static let defaultBeta2 = 0.999
    public static let defaultEps = 1e-8

    public let beta1: Double
    public let beta2: Double
    public let eps: Double
    public let weightDecay: Double

    /// Element count of each parameter tensor, in the order `update` receives them.
    public let parameterCounts: [Int]

    /// Number of updates applied so far (t of the last update; 0 before the first).
    public internal(set) var step: Int = 0

    /// First moments `m` (`exp_avg`), one buffer per parameter, same layout as the parameter.
    /// Read them for a checkpoint; restore with `restore(_:)` (AdamW+State.swift).
    public let firstMoments: [FloatBuffer]

    /// Second moments `v` (`exp_avg_sq`), one buffer per parameter, same layout as the parameter.
    public let secondMoments: [FloatBuffer]

    public init(
        parameterCounts: [Int], beta1: Double = AdamW.defaultBeta1, beta2: Double = AdamW.defaultBeta2,
        eps: Double = AdamW.defaultEps, weightDecay: Double = 0
    ) {
        precondition(parameterCounts.allSatisfy { $0 >= 0 }, "AdamW parameter counts \(parameterCounts) must be >= 0")
        self.parameterCounts = parameterCounts
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weightDecay = weightDecay
        firstMoments = parameterCounts.map { FloatBuffer(count: $0) }
        secondMoments = parameterCounts.map { FloatBuffer(count: $0) }
    }

    /// One AdamW step on every parameter, in place, with learning rate `lr` (the schedule's value
    /// for this step, see `LRSchedule`). `gradients[i]` has the layout of `parameters[i]`.
    public mutating func update(_ parameters: [Matrix], gradients: [Matrix], lr: Double) {
        precondition(
            parameters.count == parameterCounts.count && gradients.count == parameterCounts.count,
            "AdamW built for \(parameterCounts.count) tensors, given \(parameters.count) parameters and \(gradients.count) gradients")
        step += 1
        let t = Double(step)
        // Python-float scalars, as in _single_tensor_adam.
        let biasCorrection1 = 1 - pow(beta1, t)
        let biasCorrection2 = 1 - pow(beta2, t)
        let decay = Float(1 - lr * weightDecay)
        let negStepSize = Float(-(lr / biasCorrection1))
        let biasCorrection2Sqrt = Float(pow(biasCorrection2, 0.5))  // Python `bias_correction2**0.5`
        let w1 = Float(1 - beta1)
        let b2 = Float(beta2)
        let w2 = Float(1 - beta2)
        let epsilon = Float(eps)
        let applyDecay = weightDecay != 0

        for i in 0..<parameterCounts.count {
            let n = parameterCounts[i]
            precondition(
                parameters[i].count == n && gradients[i].count == n,
                "AdamW tensor \(i): expected \(n) elements, parameter has \(parameters[i].count), gradient \(gradients[i].count)")
            let p = parameters[i].data, g = gradients[i].data
            let m = firstMoments[i].pointer, v = secondMoments[i].pointer
            for k in 0..<n {
                var pk = p[k]
                if applyDecay { pk = pk * decay }
                let gk = g[k]
                let mk = m[k].addingProduct(w1, gk - m[k])
                let vk = (v[k] * b2).addingProduct(w2 * gk, gk)
                let denom = vk.squareRoot() / biasCorrection2Sqrt + epsilon
                p[k] = pk + (negStepSize * mk) / denom
                m[k] = mk
                v[k] = vk
            }
        }
    }

    /// Same as `update(_:gradients:lr:)` with a Float32 learning rate (widened exactly to Float64).
    public mutating func update(_ parameters: [Matrix], gradients: [Matrix], lr: Float) {
        update(parameters, gradients: gradients, lr: Double(lr))
    }
}
