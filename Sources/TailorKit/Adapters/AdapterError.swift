import Foundation

/// One tensor whose shape does not fit the base model.
public struct ShapeMismatch: Sendable, Equatable {
    public var tensor: String
    public var expected: [Int]
    public var found: [Int]

    public init(tensor: String, expected: [Int], found: [Int]) {
        self.tensor = tensor
        self.expected = expected
        self.found = found
    }
}

/// Errors reading, checking or exporting an adapter; each names the file and what did not fit.
public enum AdapterError: Error, LocalizedError, Equatable {
    case cannotRead(path: String, reason: String)
    case badConfig(path: String, key: String, expected: String)
    case keys(path: String, missing: [String], unexpected: [String])
    case badShapes(path: String, mismatches: [ShapeMismatch])
    case badDType(path: String, tensor: String, found: String)
    /// An adapter given to start training from differs from the run config (`lora.init_from`).
    case settingsMismatch(path: String, differences: [String])
    case cannotWrite(path: String, reason: String)

    /// At most `limit` items, then "(+N more)".
    static func list(_ items: [String], limit: Int = 5) -> String {
        items.prefix(limit).joined(separator: ", ") + (items.count > limit ? " (+\(items.count - limit) more)" : "")
    }

    public var errorDescription: String? {
        switch self {
        case let .cannotRead(path, reason): "\(path): cannot read: \(reason)"
        case let .badConfig(path, key, expected): "\(path): '\(key)' must be \(expected)"
        case let .keys(path, missing, unexpected):
            "\(path): adapter keys do not fit the base model"
                + (missing.isEmpty ? "" : "; missing: \(Self.list(missing))")
                + (unexpected.isEmpty ? "" : "; unexpected: \(Self.list(unexpected))")
        case let .badShapes(path, mismatches):
            "\(path): tensor shapes do not fit the base model: "
                + Self.list(mismatches.map { "'\($0.tensor)' is \($0.found), expected \($0.expected)" })
        case let .badDType(path, tensor, found):
            "\(path): tensor '\(tensor)' is \(found), expected F32, F16 or BF16"
        case let .settingsMismatch(path, differences):
            "\(path): the adapter does not match the run's lora settings: \(differences.joined(separator: "; "))"
        case let .cannotWrite(path, reason): "\(path): cannot write: \(reason)"
        }
    }
}
