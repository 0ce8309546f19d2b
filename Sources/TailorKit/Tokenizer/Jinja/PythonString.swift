/// Python `str` methods that chat templates call, over Unicode scalars (Python strings are sequences of
/// code points, not grapheme clusters, so lengths and indices match Python's).
enum PythonString {
    static func strip(_ s: String, _ chars: String?, leading: Bool, trailing: Bool) -> String {
        let scalars = Array(s.unicodeScalars)
        let set = chars.map { Set($0.unicodeScalars) }
        func strippable(_ c: Unicode.Scalar) -> Bool { set.map { $0.contains(c) } ?? isPythonWhitespace(c) }
        var lo = 0
        var hi = scalars.count
        if leading { while lo < hi, strippable(scalars[lo]) { lo += 1 } }
        if trailing { while hi > lo, strippable(scalars[hi - 1]) { hi -= 1 } }
        return String(String.UnicodeScalarView(scalars[lo..<hi]))
    }

    /// `s.split(sep, maxsplit)`; without `sep`, runs of whitespace separate and empty parts are dropped.
    static func split(_ s: String, _ separator: String?, maxSplit: Int) throws -> [String] {
        let scalars = Array(s.unicodeScalars)
        var parts: [String] = []
        var splits = 0
        guard let separator else {
            var i = 0
            while i < scalars.count {
                while i < scalars.count, isPythonWhitespace(scalars[i]) { i += 1 }
                guard i < scalars.count else { break }
                if maxSplit >= 0 && splits >= maxSplit {
                    var end = scalars.count
                    while end > i, isPythonWhitespace(scalars[end - 1]) { end -= 1 }
                    parts.append(String(String.UnicodeScalarView(scalars[i..<end])))
                    break
                }
                let start = i
                while i < scalars.count, !isPythonWhitespace(scalars[i]) { i += 1 }
                parts.append(String(String.UnicodeScalarView(scalars[start..<i])))
                splits += 1
            }
            return parts
        }
        let sep = Array(separator.unicodeScalars)
        guard !sep.isEmpty else { throw JinjaFailure.render("empty separator") }
        var start = 0
        var i = 0
        while i + sep.count <= scalars.count, maxSplit < 0 || splits < maxSplit {
            if scalars[i..<(i + sep.count)].elementsEqual(sep) {
                parts.append(String(String.UnicodeScalarView(scalars[start..<i])))
                i += sep.count
                start = i
                splits += 1
            } else {
                i += 1
            }
        }
        parts.append(String(String.UnicodeScalarView(scalars[start...])))
        return parts
    }

    /// `s.rsplit(sep, maxsplit)`.
    static func rsplit(_ s: String, _ separator: String?, maxSplit: Int) throws -> [String] {
        if maxSplit < 0 { return try split(s, separator, maxSplit: -1) }
        let reversed = String(String.UnicodeScalarView(s.unicodeScalars.reversed()))
        let reversedSeparator = separator.map { String(String.UnicodeScalarView($0.unicodeScalars.reversed())) }
        return try split(reversed, reversedSeparator, maxSplit: maxSplit).reversed().map {
            String(String.UnicodeScalarView($0.unicodeScalars.reversed()))
        }
    }

    /// `s.splitlines(keepends)`: the line boundaries of Python's `str.splitlines`.
    static func splitLines(_ s: String, keepEnds: Bool = false) -> [String] {
        let scalars = Array(s.unicodeScalars)
        var lines: [String] = []
        var start = 0
        var i = 0
        while i < scalars.count {
            let c = scalars[i].value
            let isBreak =
                (0x0A...0x0D).contains(c) || (0x1C...0x1E).contains(c) || c == 0x85 || c == 0x2028 || c == 0x2029
            if isBreak {
                var end = i + 1
                if c == 0x0D, end < scalars.count, scalars[end] == "\n" { end += 1 }
                lines.append(String(String.UnicodeScalarView(scalars[start..<(keepEnds ? end : i)])))
                start = end
                i = end
            } else {
                i += 1
            }
        }
        if start < scalars.count { lines.append(String(String.UnicodeScalarView(scalars[start...]))) }
        return lines
    }

    static func replace(_ s: String, _ old: String, _ new: String, count: Int) -> String {
        let scalars = Array(s.unicodeScalars)
        let o = Array(old.unicodeScalars)
        var out = String.UnicodeScalarView()
        var done = 0
        if o.isEmpty {
            // Python inserts `new` before every character and at the end.
            for c in scalars {
                if count < 0 || done < count {
                    out.append(contentsOf: new.unicodeScalars)
                    done += 1
                }
                out.append(c)
            }
            if count < 0 || done < count { out.append(contentsOf: new.unicodeScalars) }
            return String(out)
        }
        var i = 0
        while i < scalars.count {
            if count < 0 || done < count, i + o.count <= scalars.count, scalars[i..<(i + o.count)].elementsEqual(o) {
                out.append(contentsOf: new.unicodeScalars)
                i += o.count
                done += 1
            } else {
                out.append(scalars[i])
                i += 1
            }
        }
        return String(out)
    }

    /// Index of the first (or last) occurrence of `sub`, in scalars.
    static func find(_ s: String, _ sub: String, last: Bool = false) -> Int? {
        let scalars = Array(s.unicodeScalars)
        let t = Array(sub.unicodeScalars)
        guard t.count <= scalars.count else { return nil }
        let candidates = Array(0...(scalars.count - t.count))
        for i in last ? candidates.reversed() : candidates where scalars[i..<(i + t.count)].elementsEqual(t) {
            return i
        }
        return nil
    }

    static func count(_ s: String, _ sub: String) -> Int {
        let scalars = Array(s.unicodeScalars)
        let t = Array(sub.unicodeScalars)
        if t.isEmpty { return scalars.count + 1 }
        var n = 0
        var i = 0
        while i + t.count <= scalars.count {
            if scalars[i..<(i + t.count)].elementsEqual(t) {
                n += 1
                i += t.count
            } else {
                i += 1
            }
        }
        return n
    }

    private static func isCased(_ c: Unicode.Scalar) -> Bool {
        c.properties.isLowercase || c.properties.isUppercase || c.properties.generalCategory == .titlecaseLetter
    }

    /// `str.title()`: a cased character after an uncased one is titlecased, the rest lowercased.
    static func title(_ s: String) -> String {
        var out = ""
        var previousCased = false
        for c in s.unicodeScalars {
            out += previousCased ? c.properties.lowercaseMapping : c.properties.titlecaseMapping
            previousCased = isCased(c)
        }
        return out
    }

    /// `str.capitalize()`: the first character titlecased, the rest lowercased.
    static func capitalize(_ s: String) -> String {
        var out = ""
        for (i, c) in s.unicodeScalars.enumerated() {
            out += i == 0 ? c.properties.titlecaseMapping : c.properties.lowercaseMapping
        }
        return out
    }

    static func upper(_ s: String) -> String {
        s.unicodeScalars.map(\.properties.uppercaseMapping).joined()
    }

    static func lower(_ s: String) -> String {
        s.unicodeScalars.map(\.properties.lowercaseMapping).joined()
    }

    /// `str.islower()` / `str.isupper()`: at least one cased character and none of the other case.
    static func isLower(_ s: String) -> Bool {
        var cased = false
        for c in s.unicodeScalars {
            if c.properties.isUppercase || c.properties.generalCategory == .titlecaseLetter { return false }
            if c.properties.isLowercase { cased = true }
        }
        return cased
    }

    static func isUpper(_ s: String) -> Bool {
        var cased = false
        for c in s.unicodeScalars {
            if c.properties.isLowercase || c.properties.generalCategory == .titlecaseLetter { return false }
            if c.properties.isUppercase { cased = true }
        }
        return cased
    }

    /// Jinja's `title` filter (not `str.title`): words start after `-`, whitespace or an opening bracket.
    static func jinjaTitle(_ s: String) -> String {
        var out = ""
        var atWordStart = true
        for c in s.unicodeScalars {
            let separator = c == "-" || c == "(" || c == "{" || c == "[" || c == "<" || isPythonWhitespace(c)
            if separator {
                out.unicodeScalars.append(c)
                atWordStart = true
            } else {
                out += atWordStart ? c.properties.uppercaseMapping : c.properties.lowercaseMapping
                atWordStart = false
            }
        }
        return out
    }

    /// `str.center(width, fill)`. An odd padding splits as CPython's `pad(...)` does:
    /// `left = pad / 2 + (pad & width & 1)`.
    static func center(_ s: String, width: Int, fill: String = " ") -> String {
        let n = s.unicodeScalars.count
        guard width > n else { return s }
        let pad = width - n
        let left = pad / 2 + (pad & width & 1)
        return String(repeating: fill, count: left) + s + String(repeating: fill, count: pad - left)
    }
}
