/// Python's text forms of values, which chat templates print: `str()` (what `{{ x }}` writes), `repr()`
/// (items inside a printed list or dict), float repr, and `json.dumps` (transformers' `tojson` filter).
enum PythonFormat {
    /// `str(value)`; undefined is "".
    static func str(_ value: Value) -> String {
        switch value {
        case .undefined: ""
        case .string(let s): s
        default: repr(value)
        }
    }

    /// `repr(value)`.
    static func repr(_ value: Value) -> String {
        var out = ""
        appendRepr(value, to: &out)
        return out
    }

    private static func appendRepr(_ value: Value, to out: inout String) {
        switch value {
        case .undefined: out += "Undefined"
        case .none: out += "None"
        case .bool(let b): out += b ? "True" : "False"
        case .int(let i): out += String(i)
        case .double(let d): out += floatRepr(d)
        case .string(let s): out += stringRepr(s)
        case .list(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += ", " }
                appendRepr(item, to: &out)
            }
            out += "]"
        case .dict(let d):
            appendDictRepr(d, to: &out)
        case .namespace(let ns):
            out += "<Namespace "
            appendDictRepr(ns.attributes, to: &out)
            out += ">"
        case .loop(let loop):
            out += "<LoopContext \(loop.index0 + 1)/\(loop.length)>"
        case .callable(let c):
            switch c {
            case .macro(let m, _): out += "<Macro '\(m.name)'>"
            case .method(let receiver, let name): out += "<built-in method \(name) of \(receiver.typeName) object>"
            case .global(let name): out += "<function \(name)>"
            }
        }
    }

    private static func appendDictRepr(_ d: ValueDict, to out: inout String) {
        out += "{"
        for (i, (k, v)) in d.pairs.enumerated() {
            if i > 0 { out += ", " }
            out += stringRepr(k)
            out += ": "
            appendRepr(v, to: &out)
        }
        out += "}"
    }

    /// Python's `float.__repr__`: the shortest digits that round-trip, in fixed notation when the decimal
    /// exponent is in [-4, 16), else `d.ddde+XX`; integral values keep ".0".
    static func floatRepr(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d < 0 ? "-inf" : "inf" }
        let sign = d.sign == .minus ? "-" : ""
        if d == 0 { return sign + "0.0" }
        // Swift's description is also shortest-round-trip; take its digits and exponent.
        var text = Substring(abs(d).description)
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exponent = Int(text[text.index(after: e)...]) ?? 0
            text = text[..<e]
        }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        let integer = parts[0]
        let fraction = parts.count > 1 ? parts[1] : ""
        var digits = Array(integer + fraction)
        var point = integer.count + exponent  // value = 0.digits * 10^point
        while let first = digits.first, first == "0" {
            digits.removeFirst()
            point -= 1
        }
        while let last = digits.last, last == "0" { digits.removeLast() }
        let n = digits.count
        if point > -4 && point <= 16 {
            if point <= 0 { return sign + "0." + String(repeating: "0", count: -point) + String(digits) }
            if point >= n { return sign + String(digits) + String(repeating: "0", count: point - n) + ".0" }
            return sign + String(digits[..<point]) + "." + String(digits[point...])
        }
        let e = point - 1
        let mantissa = n > 1 ? String(digits[0]) + "." + String(digits[1...]) : String(digits[0])
        let exponentDigits = String(abs(e))
        return sign + mantissa + (e < 0 ? "e-" : "e+") + (exponentDigits.count < 2 ? "0" : "") + exponentDigits
    }

    /// Python's `str.__repr__`: single quotes unless the text has a single quote and no double quote.
    static func stringRepr(_ s: String) -> String {
        let quote: Unicode.Scalar = s.unicodeScalars.contains("'") && !s.unicodeScalars.contains("\"") ? "\"" : "'"
        var out = String.UnicodeScalarView()
        out.append(quote)
        for c in s.unicodeScalars {
            switch c {
            case quote, "\\":
                out.append("\\")
                out.append(c)
            case "\n": out.append(contentsOf: "\\n".unicodeScalars)
            case "\r": out.append(contentsOf: "\\r".unicodeScalars)
            case "\t": out.append(contentsOf: "\\t".unicodeScalars)
            default:
                if c.value < 0x20 || c.value == 0x7F || (c.value >= 0x80 && !isPrintable(c)) {
                    let hex = String(c.value, radix: 16)
                    let (prefix, width) = c.value < 0x100 ? ("\\x", 2) : c.value < 0x10000 ? ("\\u", 4) : ("\\U", 8)
                    out.append(
                        contentsOf: (prefix + String(repeating: "0", count: width - hex.count) + hex).unicodeScalars)
                } else {
                    out.append(c)
                }
            }
        }
        out.append(quote)
        return String(out)
    }

    /// Python's `str.isprintable()` for one character: not a control, format, surrogate, private-use,
    /// unassigned or separator character (the space itself is printable).
    private static func isPrintable(_ c: Unicode.Scalar) -> Bool {
        switch c.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator:
            false
        case .spaceSeparator:
            c == " "
        default:
            true
        }
    }

    /// Options of `json.dumps` that `tojson` exposes.
    struct JSONOptions {
        /// nil: one line. Otherwise each member on its own line, indented by this string per level.
        var indent: String? = nil
        var itemSeparator = ", "
        var keySeparator = ": "
        var sortKeys = false
        var ensureASCII = false
    }

    /// `json.dumps(value, ...)`, with Python's spacing and float forms.
    static func json(_ value: Value, _ options: JSONOptions) throws -> String {
        var out = ""
        try appendJSON(value, options, level: 0, to: &out)
        return out
    }

    private static func appendJSON(_ value: Value, _ o: JSONOptions, level: Int, to out: inout String) throws {
        switch value {
        case .none: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d):
            if d.isNaN {
                out += "NaN"
            } else if d.isInfinite {
                out += d < 0 ? "-Infinity" : "Infinity"
            } else {
                out += floatRepr(d)
            }
        case .string(let s): appendJSONString(s, ensureASCII: o.ensureASCII, to: &out)
        case .list(let items):
            if items.isEmpty {
                out += "[]"
                return
            }
            out += "["
            let (open, separator, close) = layout(o, level: level)
            out += open
            for (i, item) in items.enumerated() {
                if i > 0 { out += separator }
                try appendJSON(item, o, level: level + 1, to: &out)
            }
            out += close
            out += "]"
        case .dict(let d):
            if d.isEmpty {
                out += "{}"
                return
            }
            out += "{"
            let (open, separator, close) = layout(o, level: level)
            out += open
            var pairs = d.pairs
            if o.sortKeys { pairs.sort { $0.key.unicodeScalars.lexicographicallyPrecedes($1.key.unicodeScalars) } }
            for (i, (k, v)) in pairs.enumerated() {
                if i > 0 { out += separator }
                appendJSONString(k, ensureASCII: o.ensureASCII, to: &out)
                out += o.keySeparator
                try appendJSON(v, o, level: level + 1, to: &out)
            }
            out += close
            out += "}"
        default:
            throw JinjaFailure.render("Object of type \(value.typeName) is not JSON serializable")
        }
    }

    /// What goes after the opening bracket, between members and before the closing bracket.
    private static func layout(_ o: JSONOptions, level: Int) -> (String, String, String) {
        guard let indent = o.indent else { return ("", o.itemSeparator, "") }
        let inner = "\n" + String(repeating: indent, count: level + 1)
        return (inner, o.itemSeparator + inner, "\n" + String(repeating: indent, count: level))
    }

    /// json's string encoder: `"` `\` and control characters escaped; with `ensureASCII` also every
    /// non-ASCII character as `\uXXXX` (UTF-16 surrogate pairs above U+FFFF).
    private static func appendJSONString(_ s: String, ensureASCII: Bool, to out: inout String) {
        var buffer = String.UnicodeScalarView()
        buffer.append("\"")
        func hex4(_ v: UInt32) {
            let h = String(v, radix: 16)
            buffer.append(contentsOf: ("\\u" + String(repeating: "0", count: 4 - h.count) + h).unicodeScalars)
        }
        for c in s.unicodeScalars {
            switch c {
            case "\"": buffer.append(contentsOf: "\\\"".unicodeScalars)
            case "\\": buffer.append(contentsOf: "\\\\".unicodeScalars)
            case "\n": buffer.append(contentsOf: "\\n".unicodeScalars)
            case "\r": buffer.append(contentsOf: "\\r".unicodeScalars)
            case "\t": buffer.append(contentsOf: "\\t".unicodeScalars)
            case "\u{08}": buffer.append(contentsOf: "\\b".unicodeScalars)
            case "\u{0C}": buffer.append(contentsOf: "\\f".unicodeScalars)
            default:
                if c.value < 0x20 {
                    hex4(c.value)
                } else if ensureASCII && c.value > 0x7E {
                    if c.value >= 0x10000 {
                        let v = c.value - 0x10000
                        hex4(0xD800 + (v >> 10))
                        hex4(0xDC00 + (v & 0x3FF))
                    } else {
                        hex4(c.value)
                    }
                } else {
                    buffer.append(c)
                }
            }
        }
        buffer.append("\"")
        out += String(buffer)
    }
}

extension PythonFormat {
    /// Python's printf-style `format % arguments`: conversions `s r a d i u f F e E g G x X o c %`, flags
    /// `-+ 0#`, width and precision (digits or `*`), and `%(key)s` with a single dict argument.
    static func percent(_ format: String, _ arguments: [Value]) throws -> String {
        let f = Array(format.unicodeScalars)
        var out = ""
        var next = 0
        let mapping: ValueDict? = {
            if arguments.count == 1, case .dict(let d) = arguments[0] { return d }
            return nil
        }()
        var usedMapping = false
        func take() throws -> Value {
            guard next < arguments.count else { throw JinjaFailure.render("not enough arguments for format string") }
            defer { next += 1 }
            return arguments[next]
        }
        var i = 0
        while i < f.count {
            guard f[i] == "%" else {
                out.unicodeScalars.append(f[i])
                i += 1
                continue
            }
            i += 1
            guard i < f.count else { throw JinjaFailure.render("incomplete format") }
            var keyed: Value? = nil
            if f[i] == "(" {
                guard let mapping else { throw JinjaFailure.render("format requires a mapping") }
                var depth = 1
                var j = i + 1
                while j < f.count, depth > 0 {
                    if f[j] == "(" { depth += 1 } else if f[j] == ")" { depth -= 1 }
                    j += 1
                }
                guard depth == 0 else { throw JinjaFailure.render("incomplete format key") }
                let key = String(String.UnicodeScalarView(f[(i + 1)..<(j - 1)]))
                guard let v = mapping[key] else { throw JinjaFailure.render(stringRepr(key)) }
                keyed = v
                usedMapping = true
                i = j
            }
            var flags = Set<Unicode.Scalar>()
            while i < f.count, "-+ 0#".unicodeScalars.contains(f[i]) {
                flags.insert(f[i])
                i += 1
            }
            func number() throws -> Int? {
                if i < f.count, f[i] == "*" {
                    i += 1
                    guard case .int(let n) = try take() else { throw JinjaFailure.render("* wants int") }
                    return n
                }
                var digits = ""
                while i < f.count, ("0"..."9").contains(f[i]) {
                    digits.unicodeScalars.append(f[i])
                    i += 1
                }
                return digits.isEmpty ? nil : Int(digits)
            }
            var width = try number() ?? 0
            if width < 0 {
                flags.insert("-")
                width = -width
            }
            var precision: Int? = nil
            if i < f.count, f[i] == "." {
                i += 1
                precision = try number() ?? 0
            }
            while i < f.count, "hlL".unicodeScalars.contains(f[i]) { i += 1 }
            guard i < f.count else { throw JinjaFailure.render("incomplete format") }
            let conversion = f[i]
            i += 1
            if conversion == "%" {
                out += "%"
                continue
            }
            let value = try keyed ?? take()
            var body: String
            var numeric = false
            switch conversion {
            case "s": body = str(value)
            case "r", "a": body = repr(value)
            case "c":
                switch value {
                case .int(let code): body = Unicode.Scalar(UInt32(clamping: code)).map { String(Character($0)) } ?? ""
                case .string(let s) where s.unicodeScalars.count == 1: body = s
                default: throw JinjaFailure.render("%c requires an int or a unicode character, not \(value.typeName)")
                }
            case "d", "i", "u", "x", "X", "o":
                numeric = true
                let n: Int
                switch value {
                case .int(let v): n = v
                case .bool(let b): n = b ? 1 : 0
                case .double(let d) where conversion == "d" || conversion == "i" || conversion == "u":
                    guard d.isFinite, let v = Int(exactly: d.rounded(.towardZero)) else {
                        throw JinjaFailure.render("cannot convert float \(floatRepr(d)) to integer")
                    }
                    n = v
                default:
                    throw JinjaFailure.render("%\(conversion) format: a real number is required, not \(value.typeName)")
                }
                let radix = conversion == "o" ? 8 : (conversion == "x" || conversion == "X") ? 16 : 10
                var digits = String(n.magnitude, radix: radix, uppercase: conversion == "X")
                if let precision, digits.count < precision {
                    digits = String(repeating: "0", count: precision - digits.count) + digits
                }
                if flags.contains("#") && radix != 10 {
                    digits = (radix == 8 ? "0o" : conversion == "X" ? "0X" : "0x") + digits
                }
                body = (n < 0 ? "-" : flags.contains("+") ? "+" : flags.contains(" ") ? " " : "") + digits
            case "f", "F", "e", "E", "g", "G":
                numeric = true
                let d: Double
                switch value {
                case .int(let v): d = Double(v)
                case .bool(let b): d = b ? 1 : 0
                case .double(let v): d = v
                default: throw JinjaFailure.render("must be real number, not \(value.typeName)")
                }
                var spec = "%"
                if flags.contains("+") { spec += "+" } else if flags.contains(" ") { spec += " " }
                if flags.contains("#") { spec += "#" }
                spec += ".\(precision ?? 6)" + String(Character(conversion))
                body = String(format: spec, d)
            default:
                throw JinjaFailure.render("unsupported format character '\(Character(conversion))'")
            }
            if conversion == "s" || conversion == "r" || conversion == "a", let precision {
                body = String(String.UnicodeScalarView(body.unicodeScalars.prefix(precision)))
            }
            let pad = width - body.unicodeScalars.count
            if pad > 0 {
                if flags.contains("-") {
                    body += String(repeating: " ", count: pad)
                } else if numeric && flags.contains("0") {
                    let signEnd = body.first.map { "+- ".contains($0) } == true ? 1 : 0
                    body.insert(
                        contentsOf: String(repeating: "0", count: pad),
                        at: body.index(body.startIndex, offsetBy: signEnd))
                } else {
                    body = String(repeating: " ", count: pad) + body
                }
            }
            out += body
        }
        if !usedMapping && next < arguments.count && mapping == nil {
            throw JinjaFailure.render("not all arguments converted during string formatting")
        }
        return out
    }
}
