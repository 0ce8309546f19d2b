import Foundation

extension AdamW {
    /// Everything a checkpoint needs to resume AdamW exactly: the step count t and both moments,
    /// one array per parameter in `parameterCounts` order (PyTorch's `optimizer.state_dict()` holds
    /// the same: `step`, `exp_avg`, `exp_avg_sq` per parameter).
    public struct State: Equatable, Sendable {
        public var step: Int
        public var firstMoments: [[Float]]
        public var secondMoments: [[Float]]

        public init(step: Int, firstMoments: [[Float]], secondMoments: [[Float]]) {
            self.step = step
            self.firstMoments = firstMoments
            self.secondMoments = secondMoments
        }
    }

    /// A copy of the step count and moments (allocates; call it when writing a checkpoint).
    public func state() -> State {
        State(
            step: step,
            firstMoments: firstMoments.map { Array($0.buffer) },
            secondMoments: secondMoments.map { Array($0.buffer) })
    }

    /// Overwrites the step count and moments with a checkpoint's. The checkpoint must have one
    /// tensor per parameter with the same element counts; nothing is changed when it does not.
    public mutating func restore(_ state: State) throws {
        guard state.step >= 0 else { throw OptimizerStateError.negativeStep(found: state.step) }
        for (name, moments) in [("first", state.firstMoments), ("second", state.secondMoments)] {
            guard moments.count == parameterCounts.count else {
                throw OptimizerStateError.tensorCount(moment: name, found: moments.count, expected: parameterCounts.count)
            }
            for (i, values) in moments.enumerated() where values.count != parameterCounts[i] {
                throw OptimizerStateError.elementCount(
                    moment: name, tensor: i, found: values.count, expected: parameterCounts[i])
            }
        }
        for i in 0..<parameterCounts.count {
            _ = firstMoments[i].buffer.update(fromContentsOf: state.firstMoments[i])
            _ = secondMoments[i].buffer.update(fromContentsOf: state.secondMoments[i])
        }
        step = state.step
    }
}
