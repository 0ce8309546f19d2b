import TailorKit
import Yams

extension ConfigLoader {
    /// Splices `--set` overrides (`train.lr` → `1e-4`) into the composed tree before it is mapped, so they
    /// go through exactly the checks file values do.
    ///
    /// Each value is read as a one-line YAML document (`[q_proj, v_proj]` is a list, `null` is null, an
    /// unparsable value is a plain string). Override nodes carry no mark; errors about them say
    /// "(from --set)" instead of a line. Keys are applied in sorted order, so `train=...` lands before
    /// `train.lr=...` and the result does not depend on dictionary order.
    static func applying(_ overrides: [String: String], to root: Node, file: String?) throws -> Node {
        var root = root
        for (key, text) in overrides.sorted(by: { $0.key < $1.key }) {
            let keys = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            guard !keys.contains(where: { $0.trimmingCharacters(in: .whitespaces).isEmpty }) else {
                throw ConfigError.badOverride(
                    assignment: "\(key)=\(text)", reason: "expected a dotted key such as train.lr=1e-4")
            }
            let value = ((try? Yams.compose(yaml: text)) ?? nil).map(unmarked) ?? Node("null")
            root = try setting(value, at: keys[...], in: root, path: "", file: file)
        }
        return root
    }

    private static func setting(
        _ value: Node, at keys: ArraySlice<String>, in node: Node, path: String, file: String?
    ) throws -> Node {
        var pairs: [(Node, Node)]
        switch node {
        case let .mapping(mapping): pairs = mapping.map { ($0.key, $0.value) }
        case _ where ConfigSection.isNull(node): pairs = []  // `eval:` left empty in the file
        default:
            throw ConfigError.wrongType(
                file: file, key: path, origin: ConfigSection.origin(of: node), found: ConfigSection.describe(node),
                expected: "a mapping (--set \(path).\(keys.joined(separator: ".")) sets a key inside it)")
        }
        guard let key = keys.first else { return value }
        let existing = pairs.lastIndex { $0.0.scalar?.string == key }
        let child =
            keys.count == 1
            ? value
            : try setting(
                value, at: keys.dropFirst(), in: existing.map { pairs[$0].1 } ?? Node([(Node, Node)]()),
                path: ConfigSection.join(path, key), file: file)
        if let existing {
            pairs[existing].1 = child
        } else {
            pairs.append((Node(key), child))
        }
        let mark = node.mapping?.mark
        return .mapping(Node.Mapping(pairs, .implicit, .block, mark))
    }

    /// `node` with every mark removed, so errors report it as coming from `--set`.
    private static func unmarked(_ node: Node) -> Node {
        switch node {
        case let .scalar(scalar): .scalar(.init(scalar.string, scalar.tag, scalar.style))
        case let .sequence(sequence): .sequence(.init(sequence.map(unmarked), sequence.tag, sequence.style))
        case let .mapping(mapping):
            .mapping(.init(mapping.map { (unmarked($0.key), unmarked($0.value)) }, mapping.tag, mapping.style))
        case .alias: node
        }
    }
}
