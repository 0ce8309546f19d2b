import Foundation

/// Errors in a training run configuration (ARCHITECTURE.md §6, STYLE.md "Errors").
///
/// Every case names the file when one is known, the dotted key path (`train.lr`), where the value came
/// from (a line of the file or a `--set` override), the value found and what was expected, so a user can
/// fix the config without reading code. `TrainingConfig.validate` knows key paths but no lines; the YAML
/// loader fills `file` and `origin` in with `located(file:origin:)`.
public enum ConfigError: Error, LocalizedError, Equatable {
    /// Where a value came from.
    public enum Origin: Sendable, Equatable {
        /// A line of the config file, counted from 1.
        case line(Int)
        /// A `--set KEY=VALUE` command-line override.
        case override
        /// Not known (a config built in code, or a key that is absent from the file).
        case unknown
    }

    case cannotRead(file: String, reason: String)
    case syntax(file: String?, line: Int?, reason: String)
    /// The document is empty or its root is not a mapping; `found` describes what it is.
    case notAMapping(file: String?, found: String)
    case unknownKey(file: String?, key: String, origin: Origin, suggestion: String?, validKeys: [String])
    case duplicateKey(file: String?, key: String, origin: Origin)
    case missingKey(file: String?, key: String, expected: String)
    case wrongType(file: String?, key: String, origin: Origin, found: String, expected: String)
    case outOfRange(file: String?, key: String, origin: Origin, found: String, expected: String)
    case unknownValue(file: String?, key: String, origin: Origin, found: String, allowed: [String], suggestion: String?)
    /// `key` may not be combined with `other` (steps and epochs, warmup and warmup_ratio, ...).
    case conflict(file: String?, key: String, origin: Origin, other: String, reason: String)
    /// A `--set` argument that is not `dotted.key=value`.
    case badOverride(assignment: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case let .cannotRead(file, reason):
            "\(file): cannot read the config: \(reason)"
        case let .syntax(file, line, reason):
            "\(Self.place(file, line.map(Origin.line) ?? .unknown))YAML syntax error: \(reason)"
        case let .notAMapping(file, found):
            "\(Self.place(file, .unknown))the config must be a YAML mapping of keys (name, model, data, lora, "
                + "train, checkpoint, eval), found \(found)"
        case let .unknownKey(file, key, origin, suggestion, validKeys):
            "\(Self.place(file, origin))unknown key '\(key)'; "
                + (suggestion.map { "did you mean '\($0)'?" }
                    ?? "valid keys here: \(validKeys.joined(separator: ", "))")
        case let .duplicateKey(file, key, origin):
            "\(Self.place(file, origin))key '\(key)' is set more than once in the same mapping"
        case let .missingKey(file, key, expected):
            "\(Self.place(file, .unknown))\(key): missing, expected \(expected)"
        case let .wrongType(file, key, origin, found, expected):
            "\(Self.place(file, origin))\(key): found \(found), expected \(expected)"
        case let .outOfRange(file, key, origin, found, expected):
            "\(Self.place(file, origin))\(key): \(found) is out of range, expected \(expected)"
        case let .unknownValue(file, key, origin, found, allowed, suggestion):
            "\(Self.place(file, origin))\(key): found '\(found)', expected one of \(allowed.joined(separator: ", "))"
                + (suggestion.map { "; did you mean '\($0)'?" } ?? "")
        case let .conflict(file, key, origin, other, reason):
            "\(Self.place(file, origin))\(key) cannot be combined with \(other): \(reason)"
        case let .badOverride(assignment, reason):
            "--set '\(assignment)': \(reason)"
        }
    }

    /// The dotted key path the error is about, if any.
    public var key: String? {
        switch self {
        case .cannotRead, .syntax, .notAMapping, .badOverride: nil
        case let .unknownKey(_, key, _, _, _), let .duplicateKey(_, key, _), let .missingKey(_, key, _),
            let .wrongType(_, key, _, _, _), let .outOfRange(_, key, _, _, _),
            let .unknownValue(_, key, _, _, _, _), let .conflict(_, key, _, _, _):
            key
        }
    }

    /// The same error with the file and, where the error has one, the origin filled in.
    public func located(file: String?, origin: Origin) -> ConfigError {
        switch self {
        case .cannotRead, .badOverride: self
        case let .syntax(_, line, reason): .syntax(file: file, line: line, reason: reason)
        case let .notAMapping(_, found): .notAMapping(file: file, found: found)
        case let .unknownKey(_, key, _, suggestion, validKeys):
            .unknownKey(file: file, key: key, origin: origin, suggestion: suggestion, validKeys: validKeys)
        case let .duplicateKey(_, key, _): .duplicateKey(file: file, key: key, origin: origin)
        case let .missingKey(_, key, expected): .missingKey(file: file, key: key, expected: expected)
        case let .wrongType(_, key, _, found, expected):
            .wrongType(file: file, key: key, origin: origin, found: found, expected: expected)
        case let .outOfRange(_, key, _, found, expected):
            .outOfRange(file: file, key: key, origin: origin, found: found, expected: expected)
        case let .unknownValue(_, key, _, found, allowed, suggestion):
            .unknownValue(file: file, key: key, origin: origin, found: found, allowed: allowed, suggestion: suggestion)
        case let .conflict(_, key, _, other, reason):
            .conflict(file: file, key: key, origin: origin, other: other, reason: reason)
        }
    }

    /// `run.yaml:12: `, `run.yaml (from --set): `, `line 12: ` or nothing.
    private static func place(_ file: String?, _ origin: Origin) -> String {
        switch (file, origin) {
        case let (file?, .line(line)): "\(file):\(line): "
        case let (file?, .override): "\(file) (from --set): "
        case let (file?, .unknown): "\(file): "
        case let (nil, .line(line)): "line \(line): "
        case (nil, .override): "(from --set): "
        case (nil, .unknown): ""
        }
    }
}
