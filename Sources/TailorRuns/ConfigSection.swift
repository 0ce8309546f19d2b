import Foundation
import TailorKit
import Yams

/// One mapping of a config being read (the root, `train`, ...): typed access to its keys with errors that
/// carry the file, the dotted key path and the line.
///
/// Creating a section rejects unknown keys at once, so a typo is reported even when the misspelled key's
/// default would have been fine. Scalars are read from their text rather than from Yams' resolved tag, so
/// `2e-4` is a number whichever YAML version the writer had in mind (YAML 1.1 resolvers such as PyYAML
/// read it as a string) and `"8"` reads as 8: quoting is not a type annotation people expect to matter.
/// Nodes without a mark were made from `--set` overrides (`ConfigLoader+Overrides.swift`).
struct ConfigSection {
    /// The dotted path of this mapping, "" for the root.
    let path: String
    let file: String?
    private let pairs: [(key: String, value: Node)]

    init(_ node: Node?, path: String, file: String?) throws {
        self.path = path
        self.file = file
        guard let node, !Self.isNull(node) else {
            pairs = []
            return
        }
        guard case let .mapping(mapping) = node else {
            throw ConfigError.wrongType(
                file: file, key: path, origin: Self.origin(of: node), found: Self.describe(node),
                expected: "a mapping of keys (\((ConfigSchema.sections[path] ?? []).joined(separator: ", ")))")
        }
        let valid = ConfigSchema.sections[path] ?? []
        var pairs: [(key: String, value: Node)] = []
        for (keyNode, value) in mapping {
            let key = keyNode.scalar?.string ?? Self.describe(keyNode)
            guard valid.contains(key) else {
                throw ConfigError.unknownKey(
                    file: file, key: Self.join(path, key), origin: Self.origin(of: keyNode),
                    suggestion: ConfigSchema.suggestion(for: key, in: path), validKeys: valid)
            }
            pairs.append((key, value))
        }
        self.pairs = pairs
    }

    /// The value node of `key`, if present.
    func node(_ key: String) -> Node? { pairs.last { $0.key == key }?.value }

    func section(_ key: String) throws -> ConfigSection {
        try ConfigSection(node(key), path: Self.join(path, key), file: file)
    }

    /// `key`'s value parsed by `parse`, or `fallback` when absent; `null` is a type error.
    func value<T>(_ key: String, default fallback: T, _ parse: (Node, String) throws -> T) throws -> T {
        guard let node = node(key) else { return fallback }
        guard !Self.isNull(node) else {
            throw ConfigError.wrongType(
                file: file, key: Self.join(path, key), origin: Self.origin(of: node), found: "null",
                expected: "a value (leave the key out for the default)")
        }
        return try parse(node, Self.join(path, key))
    }

    /// `key`'s value parsed by `parse`, `fallback` when absent, or nil when written as `null` or left empty.
    func optional<T>(_ key: String, default fallback: T?, _ parse: (Node, String) throws -> T) throws -> T? {
        guard let node = node(key) else { return fallback }
        return Self.isNull(node) ? nil : try parse(node, Self.join(path, key))
    }

    // MARK: scalar parsers, (node, key path) → value

    func int(_ node: Node, _ key: String) throws -> Int {
        let text = try integerText(node, key)
        guard let value = Int(text) else {
            throw ConfigError.outOfRange(
                file: file, key: key, origin: Self.origin(of: node), found: text, expected: "a 64-bit signed integer")
        }
        return value
    }

    func uint64(_ node: Node, _ key: String) throws -> UInt64 {
        let text = try integerText(node, key)
        guard let value = UInt64(text) else {
            throw ConfigError.outOfRange(
                file: file, key: key, origin: Self.origin(of: node), found: text,
                expected: "an integer in 0...\(UInt64.max)")
        }
        return value
    }

    /// A decimal number with optional exponent; Swift's `Double(_:)` alone would also take `nan`, `inf`, hex.
    private static let decimal = #"^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$"#

    /// Integers, decimals and scientific notation (`2e-4`, `1.0E-5`); not `.inf` or `.nan`.
    func double(_ node: Node, _ key: String) throws -> Double {
        let text = try scalarText(node, key, expected: "a number")
        let plain = text.replacingOccurrences(of: "_", with: "")
        guard plain.range(of: Self.decimal, options: .regularExpression) != nil, let value = Double(plain),
            value.isFinite
        else { throw wrongType(node, key, expected: "a number such as 0.1 or 2e-4") }
        return value
    }

    /// YAML 1.1 booleans: true/false, yes/no, on/off.
    func bool(_ node: Node, _ key: String) throws -> Bool {
        switch try scalarText(node, key, expected: "true or false").lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw wrongType(node, key, expected: "true or false")
        }
    }

    func string(_ node: Node, _ key: String) throws -> String {
        try scalarText(node, key, expected: "a string")
    }

    func choice<E: RawRepresentable & CaseIterable>(_ node: Node, _ key: String) throws -> E
    where E.RawValue == String {
        let names = E.allCases.map(\.rawValue)
        let text = try scalarText(node, key, expected: "one of \(names.joined(separator: ", "))")
        guard let value = E(rawValue: text) else {
            throw ConfigError.unknownValue(
                file: file, key: key, origin: Self.origin(of: node), found: text, allowed: names,
                suggestion: ConfigSchema.nearest(text, in: names))
        }
        return value
    }

    // MARK: helpers

    func wrongType(_ node: Node, _ key: String, expected: String) -> ConfigError {
        .wrongType(file: file, key: key, origin: Self.origin(of: node), found: Self.describe(node), expected: expected)
    }

    /// Decimal digits with an optional sign and YAML's `_` separators (removed); not `8.0` or `1e3`.
    private func integerText(_ node: Node, _ key: String) throws -> String {
        let text = try scalarText(node, key, expected: "an integer")
        guard text.range(of: #"^[-+]?[0-9][0-9_]*$"#, options: .regularExpression) != nil else {
            throw wrongType(node, key, expected: "an integer")
        }
        return text.replacingOccurrences(of: "_", with: "")
    }

    private func scalarText(_ node: Node, _ key: String, expected: String) throws -> String {
        guard case let .scalar(scalar) = node else { throw wrongType(node, key, expected: expected) }
        return scalar.string
    }

    static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// A line of the file, or `.override` for nodes built from `--set` (they have no mark).
    static func origin(of node: Node) -> ConfigError.Origin {
        node.mark.map { .line($0.line) } ?? .override
    }

    /// A plain `null`, `~` or empty scalar; a quoted "null" is a string.
    static func isNull(_ node: Node) -> Bool {
        guard case let .scalar(scalar) = node, scalar.style == .plain || scalar.style == .any else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    /// How a found value is shown in errors: `'fast'`, `null`, `a list`, `a mapping`.
    static func describe(_ node: Node) -> String {
        switch node {
        case .scalar: isNull(node) ? "null" : "'\(node.scalar?.string ?? "")'"
        case .sequence: "a list"
        case .mapping: "a mapping"
        case .alias: "an alias"
        }
    }
}
