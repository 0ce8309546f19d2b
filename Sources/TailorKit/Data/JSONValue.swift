import Foundation

/// A JSON value as read from a data line. Objects keep their keys in file order (chat templates that
/// `tojson` a tool call print them in that order, as Python's `json.dumps` does).
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// The JSON type's name, for error messages ("expected a string, found an array").
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .int, .double: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    public var stringValue: String? {
        if case let .string(s) = self { return s }
        return nil
    }
}

/// A JSON object with its keys in file order. A repeated key keeps its last value (as Python's `json`).
public struct JSONObject: Sendable, Equatable {
    public private(set) var keys: [String] = []
    private var values: [String: JSONValue] = [:]

    public init() {}

    public init(_ pairs: [(String, JSONValue)]) {
        for (k, v) in pairs { self[k] = v }
    }

    public subscript(key: String) -> JSONValue? {
        get { values[key] }
        set {
            if let newValue {
                if values.updateValue(newValue, forKey: key) == nil { keys.append(key) }
            } else if values.removeValue(forKey: key) != nil {
                keys.removeAll { $0 == key }
            }
        }
    }

    public var count: Int { keys.count }

    /// Key–value pairs in file order.
    public var pairs: [(key: String, value: JSONValue)] { keys.compactMap { k in values[k].map { (k, $0) } } }
}

/// Where and why a line is not JSON: `column` counts characters from 1, as editors do.
public struct JSONSyntaxError: Error, Equatable, Sendable {
    public var column: Int
    public var message: String
}

/// A strict JSON parser (RFC 8259) for one JSONL line, with errors that say what was expected and at which
/// column. It validates UTF-8 (an invalid byte is an error at its column, never a silent U+FFFD) and
/// bounds nesting depth.
public struct JSONParser {
    public static let maxDepth = 128

    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws(JSONSyntaxError) -> JSONValue {
        var p = JSONParser(bytes: bytes)
        p.skipSpace()
        let v = try p.value(depth: 0)
        p.skipSpace()
        if p.i < bytes.count { throw p.error("unexpected \(p.describeHere()) after the end of the JSON value") }
        return v
    }

    public static func parse(_ bytes: [UInt8]) throws(JSONSyntaxError) -> JSONValue {
        let result = bytes.withUnsafeBufferPointer { buf in
            Result<JSONValue, JSONSyntaxError>(catching: { () throws(JSONSyntaxError) -> JSONValue in try parse(buf) })
        }
        return try result.get()
    }

    public static func parse(_ text: String) throws(JSONSyntaxError) -> JSONValue { try parse(Array(text.utf8)) }

    let bytes: UnsafeBufferPointer<UInt8>
    var i = 0
    var scratch: [UInt8] = []

    init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    /// The character column of byte offset `at` (1-based).
    func column(_ at: Int) -> Int {
        var c = 1
        var k = 0
        while k < min(at, bytes.count) {
            if bytes[k] & 0xC0 != 0x80 { c += 1 }
            k += 1
        }
        return max(1, c - (at < bytes.count && bytes[at] & 0xC0 == 0x80 ? 1 : 0))
    }

    func error(_ message: String, at: Int? = nil) -> JSONSyntaxError {
        JSONSyntaxError(column: column(at ?? i), message: message)
    }

    func describeHere() -> String {
        guard i < bytes.count else { return "end of line" }
        let b = bytes[i]
        if b >= 0x20 && b < 0x7F { return "'\(Character(Unicode.Scalar(b)))'" }
        return String(format: "byte 0x%02X", b)
    }

    mutating func skipSpace() {
        while i < bytes.count {
            switch bytes[i] {
            case 0x20, 0x09, 0x0A, 0x0D: i += 1
            default: return
            }
        }
    }

    mutating func value(depth: Int) throws(JSONSyntaxError) -> JSONValue {
        guard depth < Self.maxDepth else { throw error("nesting deeper than \(Self.maxDepth) levels") }
        guard i < bytes.count else { throw error("expected a value, found the end of the line") }
        switch bytes[i] {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): return try literal(Self.trueBytes, "true", .bool(true))
        case UInt8(ascii: "f"): return try literal(Self.falseBytes, "false", .bool(false))
        case UInt8(ascii: "n"): return try literal(Self.nullBytes, "null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw error("expected a value (object, array, string, number, true, false or null), found \(describeHere())")
        }
    }

    static let trueBytes = Array("true".utf8), falseBytes = Array("false".utf8), nullBytes = Array("null".utf8)

    mutating func literal(_ wordBytes: [UInt8], _ word: String, _ v: JSONValue) throws(JSONSyntaxError) -> JSONValue {
        let start = i
        let n = wordBytes.count
        var ok = i + n <= bytes.count
        if ok {
            for k in 0..<n where bytes[i + k] != wordBytes[k] {
                ok = false
                break
            }
        }
        guard ok else { throw error("expected a value, found \(describeHere()) (did you mean \(word)?)", at: start) }
        i += n
        return v
    }

    mutating func object(depth: Int) throws(JSONSyntaxError) -> JSONValue {
        i += 1
        var obj = JSONObject()
        skipSpace()
        if i < bytes.count && bytes[i] == UInt8(ascii: "}") {
            i += 1
            return .object(obj)
        }
        while true {
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else {
                throw error("expected a key in double quotes, found \(describeHere())")
            }
            let key = try string()
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else {
                throw error("expected ':' after the key \"\(key)\", found \(describeHere())")
            }
            i += 1
            skipSpace()
            obj[key] = try value(depth: depth + 1)
            skipSpace()
            guard i < bytes.count else { throw error("expected ',' or '}', found the end of the line (the object is not closed)") }
            if bytes[i] == UInt8(ascii: ",") {
                i += 1
                continue
            }
            if bytes[i] == UInt8(ascii: "}") {
                i += 1
                return .object(obj)
            }
            throw error("expected ',' or '}' after the value of \"\(key)\", found \(describeHere())")
        }
    }

    mutating func array(depth: Int) throws(JSONSyntaxError) -> JSONValue {
        i += 1
        var items: [JSONValue] = []
        skipSpace()
        if i < bytes.count && bytes[i] == UInt8(ascii: "]") {
            i += 1
            return .array(items)
        }
        while true {
            skipSpace()
            items.append(try value(depth: depth + 1))
            skipSpace()
            guard i < bytes.count else { throw error("expected ',' or ']', found the end of the line (the array is not closed)") }
            if bytes[i] == UInt8(ascii: ",") {
                i += 1
                continue
            }
            if bytes[i] == UInt8(ascii: "]") {
                i += 1
                return .array(items)
            }
            throw error("expected ',' or ']' in an array, found \(describeHere())")
        }
    }

    mutating func number() throws(JSONSyntaxError) -> JSONValue {
        let start = i
        var isInt = true
        if bytes[i] == UInt8(ascii: "-") { i += 1 }
        func digits(_ p: inout JSONParser) -> Int {
            let s = p.i
            while p.i < p.bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(p.bytes[p.i]) { p.i += 1 }
            return p.i - s
        }
        let intStart = i
        let n = digits(&self)
        guard n > 0 else { throw error("expected digits in a number", at: start) }
        if n > 1 && bytes[intStart] == UInt8(ascii: "0") { throw error("a number cannot start with 0", at: intStart) }
        if i < bytes.count && bytes[i] == UInt8(ascii: ".") {
            isInt = false
            i += 1
            guard digits(&self) > 0 else { throw error("expected digits after the decimal point") }
        }
        if i < bytes.count && (bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E")) {
            isInt = false
            i += 1
            if i < bytes.count && (bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-")) { i += 1 }
            guard digits(&self) > 0 else { throw error("expected digits in the exponent") }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
        if isInt, let v = Int(text) { return .int(v) }
        guard let d = Double(text) else { throw error("number out of range", at: start) }
        return .double(d)
    }

    /// A string starting at the opening quote; escapes decoded, UTF-8 validated.
    mutating func string() throws(JSONSyntaxError) -> String {
        let open = i
        i += 1
        scratch.removeAll(keepingCapacity: true)
        while true {
            guard i < bytes.count else { throw error("the string opened at column \(column(open)) is not closed") }
            let b = bytes[i]
            switch b {
            case UInt8(ascii: "\""):
                i += 1
                return String(decoding: scratch, as: UTF8.self)
            case UInt8(ascii: "\\"):
                i += 1
                guard i < bytes.count else { throw error("the string opened at column \(column(open)) is not closed") }
                let e = bytes[i]
                i += 1
                switch e {
                case UInt8(ascii: "\""): scratch.append(0x22)
                case UInt8(ascii: "\\"): scratch.append(0x5C)
                case UInt8(ascii: "/"): scratch.append(0x2F)
                case UInt8(ascii: "b"): scratch.append(0x08)
                case UInt8(ascii: "f"): scratch.append(0x0C)
                case UInt8(ascii: "n"): scratch.append(0x0A)
                case UInt8(ascii: "r"): scratch.append(0x0D)
                case UInt8(ascii: "t"): scratch.append(0x09)
                case UInt8(ascii: "u"): try unicodeEscape()
                default:
                    i -= 1
                    throw error("invalid escape '\\\(describeHere().trimmingCharacters(in: CharacterSet(charactersIn: "'")))' in a string", at: i - 1)
                }
            case 0..<0x20:
                throw error("control character \(String(format: "0x%02X", b)) in a string (write it as an escape, e.g. \\n)")
            case 0x20..<0x80:
                scratch.append(b)
                i += 1
            default:
                let n = Self.utf8SequenceLength(bytes, at: i)
                guard n > 0 else { throw error(String(format: "invalid UTF-8 (byte 0x%02X)", b)) }
                scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[i..<(i + n)]))
                i += n
            }
        }
    }

    mutating func hex4() throws(JSONSyntaxError) -> UInt32 {
        guard i + 4 <= bytes.count else { throw error("expected 4 hex digits after \\u") }
        var v: UInt32 = 0
        for k in 0..<4 {
            let c = bytes[i + k]
            let d: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
            default: throw error("expected 4 hex digits after \\u", at: i + k)
            }
            v = v << 4 | d
        }
        i += 4
        return v
    }

    /// `\uXXXX`, pairing surrogates; a lone surrogate becomes U+FFFD (as Python's json with
    /// `surrogatepass` off would refuse to encode it; we keep the line readable).
    mutating func unicodeEscape() throws(JSONSyntaxError) {
        var cp = try hex4()
        if (0xD800..<0xDC00).contains(cp), i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") {
            let save = i
            i += 2
            let lo = try hex4()
            if (0xDC00..<0xE000).contains(lo) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00)
            } else {
                i = save
                cp = 0xFFFD
            }
        } else if (0xD800..<0xE000).contains(cp) {
            cp = 0xFFFD
        }
        let scalar = Unicode.Scalar(cp) ?? "\u{FFFD}"
        scratch.append(contentsOf: Array(String(Character(scalar)).utf8))
    }

    /// Length of the well-formed UTF-8 sequence at `at` (2–4), or 0 if it is ill-formed (Unicode Table 3-7).
    static func utf8SequenceLength(_ b: UnsafeBufferPointer<UInt8>, at: Int) -> Int {
        let b0 = b[at]
        let n: Int
        var lo: UInt8 = 0x80, hi: UInt8 = 0xBF
        switch b0 {
        case 0xC2...0xDF: n = 2
        case 0xE0: n = 3; lo = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: n = 3
        case 0xED: n = 3; hi = 0x9F
        case 0xF0: n = 4; lo = 0x90
        case 0xF1...0xF3: n = 4
        case 0xF4: n = 4; hi = 0x8F
        default: return 0
        }
        guard at + n <= b.count else { return 0 }
        guard (lo...hi).contains(b[at + 1]) else { return 0 }
        for k in 2..<n where b[at + k] & 0xC0 != 0x80 { return 0 }
        return n
    }
}
