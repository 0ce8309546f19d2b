import Foundation

/// A line diff of two texts (for `tailor runs compare`'s config diff), shaped for YAML: each change is
/// shown under the keys that enclose it, so `lr` reads under `train:`.
public enum LineDiff {
    public enum Line: Equatable, Sendable {
        case same(String)
        case removed(String)
        case added(String)

        public var text: String {
            switch self {
            case .same(let s), .removed(let s), .added(let s): s
            }
        }

        public var isChange: Bool {
            if case .same = self { return false }
            return true
        }

        /// The line with a `diff -u` prefix (" ", "-", "+").
        public var rendered: String {
            switch self {
            case .same(let s): "  " + s
            case .removed(let s): "- " + s
            case .added(let s): "+ " + s
            }
        }
    }

    /// Every line of `a` and `b` in order, marked same, removed or added (a shortest edit script, from
    /// the standard library's `difference(from:)`); a changed line shows as its removal then its addition.
    public static func lines(from a: [String], to b: [String]) -> [Line] {
        var removed = Set<Int>()
        var inserted = Set<Int>()
        for change in b.difference(from: a) {
            switch change {
            case .remove(let offset, _, _): removed.insert(offset)
            case .insert(let offset, _, _): inserted.insert(offset)
            }
        }
        // What is neither removed from a nor inserted into b is the common subsequence, in order.
        var out: [Line] = []
        var i = 0
        var j = 0
        while i < a.count || j < b.count {
            if i < a.count && removed.contains(i) {
                out.append(.removed(a[i]))
                i += 1
            } else if j < b.count && inserted.contains(j) {
                out.append(.added(b[j]))
                j += 1
            } else if i < a.count && j < b.count {
                out.append(.same(a[i]))
                i += 1
                j += 1
            } else {
                break  // unreachable for a consistent difference
            }
        }
        return out
    }

    /// The changes of `lines` with `context` unchanged lines around each, and the enclosing YAML keys
    /// (the nearest less-indented line above, recursively). `nil` marks skipped lines. Empty when the
    /// texts are equal.
    public static func hunks(_ lines: [Line], context: Int = 1) -> [Line?] {
        var shown = Set<Int>()
        for (k, line) in lines.enumerated() where line.isChange {
            for i in max(0, k - context)...min(lines.count - 1, k + context) { shown.insert(i) }
            var indent = indentation(line.text)
            var i = k - 1
            while i >= 0 && indent > 0 {
                let candidate = lines[i]
                if !candidate.isChange && !candidate.text.trimmingCharacters(in: .whitespaces).isEmpty
                    && indentation(candidate.text) < indent
                {
                    shown.insert(i)
                    indent = indentation(candidate.text)
                }
                i -= 1
            }
        }
        var out: [Line?] = []
        var last: Int?
        for i in shown.sorted() {
            if let last, i > last + 1 { out.append(nil) }
            out.append(lines[i])
            last = i
        }
        if let last, last < lines.count - 1, !out.isEmpty { out.append(nil) }
        if let first = shown.min(), first > 0 { out.insert(nil, at: 0) }
        return out
    }

    private static func indentation(_ s: String) -> Int {
        s.prefix(while: { $0 == " " }).count
    }
}
