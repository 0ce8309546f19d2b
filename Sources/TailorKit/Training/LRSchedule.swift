import Foundation


/// Learning rate per optimizer step, equal to the transformers schedules (transformers 5.24
/// `optimization.py`, `_get_*_schedule_with_warmup_lr_lambda`) wrapped in torch `LambdaLR`, which
/// sets `lr = base_lr * lambda(step)`. With W warm-up and N total steps, for step s:
///
///     s < W:      lambda = s / max(1, W)                        (all kinds; so step 0 trains at lr 0 when W > 0)
///     constant:   lambda = 1
///     linear:     lambda = max(0, (N - s) / max(1, N - W))
///     cosine:     lambda = max(0, 0.5 * (1 + cos(pi * (s - W) / max(1, N - W))))
///
/// `step` is the 0-based index of the optimizer update the rate is used for: the HF Trainer calls
/// `scheduler.step()` after `optimizer.step()`, so update 0 uses lambda(0), update 1 lambda(1), ...
/// Evaluated in Float64 with the same operations as the Python code, so values agree bit for bit.
/// Like transformers, nothing is clamped past `totalSteps`: linear stays at 0, cosine rises again.
public struct LRSchedule: Sendable, Equatable {
    public let kind: LRScheduleKind
    public let baseLR: Double
    public let warmupSteps: Int
    public let totalSteps: Int

    public init(kind: LRScheduleKind, baseLR: Double, warmupSteps: Int, totalSteps: Int) {
        precondition(warmupSteps >= 0 && totalSteps >= 0, "LRSchedule warmup \(warmupSteps), total \(totalSteps) must be >= 0")
        self.kind = kind
        self.baseLR = baseLR
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
    }

    /// The multiplier `lambda(step)` applied to `baseLR`.
    public func factor(at step: Int) -> Double {
        if step < warmupSteps { return Double(step) / Double(max(1, warmupSteps)) }
        switch kind {
        case .constant:
            return 1
        case .linear:
            return max(0, Double(totalSteps - step) / Double(max(1, totalSteps - warmupSteps)))
        case .cosine:
            let progress = Double(step - warmupSteps) / Double(max(1, totalSteps - warmupSteps))
            // Python: math.pi * float(num_cycles) * 2.0 * progress, num_cycles = 0.5.
            return max(0, 0.5 * (1 + cos(Double.pi * 0.5 * 2 * progress)))
        }
    }

    /// The learning rate for 0-based optimizer update `step` (`base_lr * lambda(step)` as LambdaLR).
    public func lr(at step: Int) -> Double { baseLR * factor(at: step) }
}
