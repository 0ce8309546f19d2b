import Foundation

/// A saved optimizer state that does not fit the optimizer it is restored into.
public enum OptimizerStateError: Error, LocalizedError, Equatable {
    case negativeStep(found: Int)
    case tensorCount(moment: String, found: Int, expected: Int)
    case elementCount(moment: String, tensor: Int, found: Int, expected: Int)

    public var errorDescription: String? {
        switch self {
        case let .negativeStep(found):
            "optimizer state: step \(found), expected >= 0"
        case let .tensorCount(moment, found, expected):
            "optimizer state: \(found) \(moment)-moment tensors, expected \(expected) (one per trained tensor; was the checkpoint made with other LoRA targets or layers?)"
        case let .elementCount(moment, tensor, found, expected):
            "optimizer state: \(moment)-moment tensor \(tensor) has \(found) values, expected \(expected) (was the checkpoint made with another LoRA rank?)"
        }
    }
}
