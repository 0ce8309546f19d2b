/// A 1-based line and column (in Unicode scalars) in a template's source.
struct SourceLocation: Sendable, Equatable, CustomStringConvertible {
    var line: Int
    var column: Int
    var description: String { "\(line):\(column)" }
}

/// A lexical token of a Jinja template.
struct JinjaToken: Sendable {
    enum Kind: Sendable, Equatable {
        /// Template text outside tags, already whitespace-controlled.
        case text(String)
        case blockBegin, blockEnd, variableBegin, variableEnd
        case name(String)
        case string(String)
        case integer(Int)
        case float(Double)
        /// An operator or punctuation: `+`, `//`, `==`, `(`, `|`, `.` ...
        case op(String)
        case eof
    }
    var kind: Kind
    var location: SourceLocation
}

/// Splits a template into tokens the way Jinja 2's lexer does with the environment Hugging Face uses for
/// chat templates (transformers `_compile_jinja_template`: `trim_blocks=True, lstrip_blocks=True`,
/// `keep_trailing_newline=False`):
///
/// - `\r\n` and `\r` become `\n`, and one trailing newline of the template is dropped.
/// - `trim_blocks`: the first newline after a block tag `%}` or a comment `#}` is removed.
/// - `lstrip_blocks`: spaces and tabs from the start of a line up to a block or comment tag are removed
///   (not before `{{`); `{%+` keeps them.
/// - `{%-`, `{{-`, `{#-` strip all whitespace before the tag, `-%}`, `-}}`, `-#}` all whitespace after it;
///   `+%}` keeps the newline `trim_blocks` would remove.
/// - `{% raw %}...{% endraw %}` is text; comments produce nothing.
///
/// Inside tags, brackets are balanced so `}}` in `{{ {'a': {'b': 1}} }}` closes nothing early. String
/// literals are unescaped as Python's `unicode-escape` codec does (Jinja's lexer uses it).
struct JinjaLexer {
    private let s: [Unicode.Scalar]
    private let templateName: String
    private let lineStarts: [Int]
    private var pos = 0
    private var tokens: [JinjaToken] = []

    init(source: String, templateName: String) {
        s = JinjaLexer.normalizedScalars(source)
        self.templateName = templateName
        var starts = [0]
        for (i, c) in s.enumerated() where c == "\n" { starts.append(i + 1) }
        lineStarts = starts
    }

    /// Newlines as Jinja normalizes them, without the one trailing newline it drops.
    static func normalizedScalars(_ source: String) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(source.unicodeScalars.count)
        var previousCR = false
        for c in source.unicodeScalars {
            if c == "\r" {
                out.append("\n")
                previousCR = true
                continue
            }
            if c == "\n" && previousCR {
                previousCR = false
                continue
            }
            previousCR = false
            out.append(c)
        }
        if out.last == "\n" { out.removeLast() }
        return out
    }

    mutating func tokenize() throws -> [JinjaToken] {
        while pos < s.count {
            guard let q = nextTagStart(from: pos) else {
                emit(.text(String(String.UnicodeScalarView(s[pos...]))), at: pos)
                pos = s.count
                break
            }
            let opener = s[q + 1]
            var sign: Unicode.Scalar? = nil
            if q + 2 < s.count, s[q + 2] == "-" || s[q + 2] == "+" { sign = s[q + 2] }
            if opener == "%", let rawEnd = matchRawBegin(at: q) {
                emitText(from: pos, to: q, sign: sign, isVariable: false)
                try lexRaw(from: rawEnd, beginAt: q)
                continue
            }
            emitText(from: pos, to: q, sign: sign, isVariable: opener == "{")
            pos = q + 2 + (sign == nil ? 0 : 1)
            switch opener {
            case "#":
                try lexComment(beginAt: q)
            case "%":
                emit(.blockBegin, at: q)
                try lexTag(isBlock: true, beginAt: q)
            default:
                emit(.variableBegin, at: q)
                try lexTag(isBlock: false, beginAt: q)
            }
        }
        tokens.append(JinjaToken(kind: .eof, location: location(s.count)))
        return tokens
    }

    // MARK: - Positions and errors

    func location(_ offset: Int) -> SourceLocation {
        var lo = 0
        var hi = lineStarts.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if lineStarts[mid] <= offset { lo = mid } else { hi = mid - 1 }
        }
        return SourceLocation(line: lo + 1, column: offset - lineStarts[lo] + 1)
    }

    private func syntaxError(_ message: String, at offset: Int) -> ChatTemplateError {
        let l = location(offset)
        return .syntax(template: templateName, line: l.line, column: l.column, message: message)
    }

    private mutating func emit(_ kind: JinjaToken.Kind, at offset: Int) {
        tokens.append(JinjaToken(kind: kind, location: location(offset)))
    }

    // MARK: - Text between tags

    private func nextTagStart(from start: Int) -> Int? {
        var i = start
        while i + 1 < s.count {
            if s[i] == "{", s[i + 1] == "{" || s[i + 1] == "%" || s[i + 1] == "#" { return i }
            i += 1
        }
        return nil
    }

    /// Emits `s[start..<end]` after the whitespace control the following tag asks for.
    private mutating func emitText(from start: Int, to end: Int, sign: Unicode.Scalar?, isVariable: Bool) {
        var stop = end
        if sign == "-" {
            while stop > start, isPythonWhitespace(s[stop - 1]) { stop -= 1 }
        } else if sign != "+" && !isVariable {
            // lstrip_blocks: drop the line's indentation before the tag, if the line holds nothing else.
            var lineStart = stop
            while lineStart > start, s[lineStart - 1] != "\n" { lineStart -= 1 }
            let atLineStart = lineStart > start || start == 0 || s[start - 1] == "\n"
            if atLineStart, lineStart < stop, s[lineStart..<stop].allSatisfy(isPythonWhitespace) {
                stop = lineStart
            }
        }
        if stop > start { emit(.text(String(String.UnicodeScalarView(s[start..<stop]))), at: start) }
    }

    private func matches(_ literal: String, at offset: Int) -> Bool {
        var i = offset
        for c in literal.unicodeScalars {
            guard i < s.count, s[i] == c else { return false }
            i += 1
        }
        return true
    }

    private func skipWhitespace(from offset: Int) -> Int {
        var i = offset
        while i < s.count, isPythonWhitespace(s[i]) { i += 1 }
        return i
    }

    // MARK: - Comments and raw blocks

    private mutating func lexComment(beginAt q: Int) throws {
        let bodyStart = pos
        var k = pos
        while k + 1 < s.count, !(s[k] == "#" && s[k + 1] == "}") { k += 1 }
        guard k + 1 < s.count else { throw syntaxError("missing end of comment tag '#}'", at: q) }
        let sign: Unicode.Scalar? = k > bodyStart && (s[k - 1] == "-" || s[k - 1] == "+") ? s[k - 1] : nil
        pos = k + 2
        if sign == "-" {
            pos = skipWhitespace(from: pos)
        } else if sign == nil, pos < s.count, s[pos] == "\n" {
            pos += 1
        }
    }

    /// `{%[-+]? raw (-%}\s*|%})` at `q`: the offset after it.
    private func matchRawBegin(at q: Int) -> Int? {
        var i = q + 2
        if i < s.count, s[i] == "-" || s[i] == "+" { i += 1 }
        i = skipWhitespace(from: i)
        guard matches("raw", at: i) else { return nil }
        i = skipWhitespace(from: i + 3)
        if matches("-%}", at: i) { return skipWhitespace(from: i + 3) }
        if matches("%}", at: i) { return i + 2 }
        return nil
    }

    private mutating func lexRaw(from start: Int, beginAt q: Int) throws {
        var k = start
        while let tag = nextTagStart(from: k) {
            k = tag + 1
            guard s[tag + 1] == "%" else { continue }
            var i = tag + 2
            var sign: Unicode.Scalar? = nil
            if i < s.count, s[i] == "-" || s[i] == "+" {
                sign = s[i]
                i += 1
            }
            i = skipWhitespace(from: i)
            guard matches("endraw", at: i) else { continue }
            i = skipWhitespace(from: i + 6)
            guard let end = tagEnd(at: i, isBlock: true) else { continue }
            emitText(from: start, to: tag, sign: sign, isVariable: false)
            pos = end
            return
        }
        throw syntaxError("missing {% endraw %} for this {% raw %}", at: q)
    }

    // MARK: - Inside {% %} and {{ }}

    /// A `%}` (or `}}`) at `offset` with its whitespace control: the offset after the tag and what it
    /// swallows. `-%}` / `-}}` take all whitespace after them, a block's plain `%}` one newline
    /// (trim_blocks), `+%}` nothing. Variables have no `+` form.
    private func tagEnd(at offset: Int, isBlock: Bool) -> Int? {
        let close = isBlock ? "%}" : "}}"
        if isBlock, matches("+" + close, at: offset) { return offset + 3 }
        if matches("-" + close, at: offset) { return skipWhitespace(from: offset + 3) }
        guard matches(close, at: offset) else { return nil }
        var end = offset + 2
        if isBlock, end < s.count, s[end] == "\n" { end += 1 }
        return end
    }

    private mutating func lexTag(isBlock: Bool, beginAt q: Int) throws {
        var brackets: [(close: Unicode.Scalar, at: Int)] = []
        while true {
            pos = skipWhitespace(from: pos)
            guard pos < s.count else {
                throw syntaxError("unexpected end of template inside this \(isBlock ? "{% %}" : "{{ }}") tag", at: q)
            }
            if brackets.isEmpty, let end = tagEnd(at: pos, isBlock: isBlock) {
                emit(isBlock ? .blockEnd : .variableEnd, at: pos)
                pos = end
                return
            }
            let c = s[pos]
            if isASCIIDigit(c) {
                try lexNumber()
            } else if c == "_" || c.properties.isXIDStart {
                let start = pos
                pos += 1
                while pos < s.count, s[pos] == "_" || s[pos].properties.isXIDContinue { pos += 1 }
                emit(.name(String(String.UnicodeScalarView(s[start..<pos]))), at: start)
            } else if c == "'" || c == "\"" {
                try lexString()
            } else {
                try lexOperator(&brackets)
            }
        }
    }

    private mutating func lexOperator(_ brackets: inout [(close: Unicode.Scalar, at: Int)]) throws {
        let start = pos
        for two in ["//", "**", "==", "!=", ">=", "<="] where matches(two, at: pos) {
            emit(.op(two), at: start)
            pos += 2
            return
        }
        let c = s[pos]
        guard "+-/*%~[](){}><=.:|,;".unicodeScalars.contains(c) else {
            throw syntaxError("unexpected character '\(Character(c))'", at: pos)
        }
        switch c {
        case "(": brackets.append((")", pos))
        case "[": brackets.append(("]", pos))
        case "{": brackets.append(("}", pos))
        case ")", "]", "}":
            guard let open = brackets.popLast() else { throw syntaxError("unexpected '\(Character(c))'", at: pos) }
            guard open.close == c else {
                throw syntaxError("unexpected '\(Character(c))', expected '\(Character(open.close))'", at: pos)
            }
        default: break
        }
        emit(.op(String(Character(c))), at: start)
        pos += 1
    }

    /// Jinja's integer `(\d+_)*\d+` and float, which needs a fraction or an exponent and may not follow a
    /// dot (`a.0.1` is two subscripts).
    private mutating func lexNumber() throws {
        let start = pos
        func digitRun() -> Bool {
            guard pos < s.count, isASCIIDigit(s[pos]) else { return false }
            while pos < s.count {
                if isASCIIDigit(s[pos]) {
                    pos += 1
                } else if s[pos] == "_", pos + 1 < s.count, isASCIIDigit(s[pos + 1]) {
                    pos += 1
                } else {
                    break
                }
            }
            return true
        }
        _ = digitRun()
        var isFloat = false
        if start == 0 || s[start - 1] != "." {
            let save = pos
            if pos < s.count, s[pos] == ".", pos + 1 < s.count, isASCIIDigit(s[pos + 1]) {
                pos += 1
                _ = digitRun()
                isFloat = true
            }
            if pos < s.count, s[pos] == "e" || s[pos] == "E" {
                let beforeExponent = pos
                pos += 1
                if pos < s.count, s[pos] == "+" || s[pos] == "-" { pos += 1 }
                if digitRun() { isFloat = true } else { pos = beforeExponent }
            }
            if !isFloat { pos = save }
        }
        let text = String(String.UnicodeScalarView(s[start..<pos].filter { $0 != "_" }))
        if isFloat {
            guard let d = Double(text) else { throw syntaxError("bad number \(text)", at: start) }
            emit(.float(d), at: start)
        } else {
            guard let i = Int(text) else { throw syntaxError("integer \(text) is too large", at: start) }
            emit(.integer(i), at: start)
        }
    }

    private mutating func lexString() throws {
        let start = pos
        let quote = s[pos]
        pos += 1
        while pos < s.count, s[pos] != quote {
            pos += s[pos] == "\\" ? 2 : 1
        }
        guard pos < s.count else { throw syntaxError("unterminated string literal", at: start) }
        let body = s[(start + 1)..<pos]
        pos += 1
        emit(.string(try unescape(body, at: start)), at: start)
    }

    /// Python's `unicode-escape` decoding of a string literal's body. Unknown escapes keep their backslash.
    private func unescape(_ body: ArraySlice<Unicode.Scalar>, at offset: Int) throws -> String {
        guard body.contains("\\") else { return String(String.UnicodeScalarView(body)) }
        var out = String.UnicodeScalarView()
        var i = body.startIndex
        func hex(_ count: Int) throws -> Unicode.Scalar {
            guard body.endIndex - (i + 1) >= count,
                let v = UInt32(String(String.UnicodeScalarView(body[(i + 1)...(i + count)])), radix: 16),
                let scalar = Unicode.Scalar(v)
            else { throw syntaxError("bad \\\(Character(body[i])) escape in a string literal", at: offset) }
            i += count
            return scalar
        }
        while i < body.endIndex {
            let c = body[i]
            guard c == "\\", i + 1 < body.endIndex else {
                out.append(c)
                i += 1
                continue
            }
            i += 1
            let e = body[i]
            switch e {
            case "\n": break
            case "\\", "'", "\"": out.append(e)
            case "a": out.append("\u{07}")
            case "b": out.append("\u{08}")
            case "f": out.append("\u{0C}")
            case "n": out.append("\n")
            case "r": out.append("\r")
            case "t": out.append("\t")
            case "v": out.append("\u{0B}")
            case "x": out.append(try hex(2))
            case "u": out.append(try hex(4))
            case "U": out.append(try hex(8))
            case "0"..."7":
                var v = UInt32(e.value - 48)
                var n = 1
                while n < 3, i + 1 < body.endIndex, ("0"..."7").contains(body[i + 1]) {
                    i += 1
                    v = v * 8 + (body[i].value - 48)
                    n += 1
                }
                guard let scalar = Unicode.Scalar(v) else {
                    throw syntaxError("bad octal escape in a string literal", at: offset)
                }
                out.append(scalar)
            case "N":
                throw syntaxError("\\N{...} escapes are not supported", at: offset)
            default:
                out.append("\\")
                out.append(e)
            }
            i += 1
        }
        return String(out)
    }
}

private func isASCIIDigit(_ c: Unicode.Scalar) -> Bool { c.value >= 48 && c.value <= 57 }

/// Python's `str.isspace()` (and `\s` in `re` on str): the characters with bidirectional type WS, B or S,
/// or general category Zs. This includes U+001C..U+001F, which Unicode's White_Space property does not.
func isPythonWhitespace(_ c: Unicode.Scalar) -> Bool {
    switch c.value {
    case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
        true
    default:
        false
    }
}
