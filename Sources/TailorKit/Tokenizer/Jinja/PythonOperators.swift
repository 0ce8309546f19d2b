import Foundation

/// Python's operators on template values: arithmetic with int/float promotion (bool counts as int),
/// `+` on strings and lists, `*` repetition, true division `/`, flooring `//` and `%`, `==` across int and
/// float, ordering only between comparable types, and `in`. Errors use Python's wording. Integers are
/// 64-bit here (Python's are unbounded), so an overflow is an error rather than a wrong number.
enum PythonOperators {
    private enum Number {
        case int(Int)
        case double(Double)
        var double: Double {
            switch self {
            case .int(let i): Double(i)
            case .double(let d): d
            }
        }
    }

    private static func number(_ v: Value) -> Number? {
        switch v {
        case .int(let i): .int(i)
        case .bool(let b): .int(b ? 1 : 0)
        case .double(let d): .double(d)
        default: nil
        }
    }

    private static func unsupported(_ op: String, _ a: Value, _ b: Value) -> JinjaFailure {
        .render("unsupported operand type(s) for \(op): '\(a.typeName)' and '\(b.typeName)'")
    }

    private static func overflow() -> JinjaFailure {
        .render("integer overflow (Python integers are unbounded; the template's are 64-bit)")
    }

    static func binary(_ op: JinjaBinaryOperator, _ a: Value, _ b: Value) throws -> Value {
        if case .undefined(let hint) = a { throw JinjaFailure.undefined(hint) }
        if case .undefined(let hint) = b { throw JinjaFailure.undefined(hint) }
        switch op {
        case .add: return try add(a, b)
        case .subtract:
            return try arithmetic("-", a, b, { $0.subtractingReportingOverflow($1) }, { $0 - $1 })
        case .multiply: return try multiply(a, b)
        case .divide:
            guard let x = number(a), let y = number(b) else { throw unsupported("/", a, b) }
            guard y.double != 0 else { throw JinjaFailure.render("division by zero") }
            return .double(x.double / y.double)
        case .floorDivide:
            guard let x = number(a), let y = number(b) else { throw unsupported("//", a, b) }
            if case .int(let i) = x, case .int(let j) = y {
                guard j != 0 else { throw JinjaFailure.render("integer division or modulo by zero") }
                guard !(i == .min && j == -1) else { throw overflow() }
                let q = i / j
                return .int(i % j != 0 && (i < 0) != (j < 0) ? q - 1 : q)
            }
            guard y.double != 0 else { throw JinjaFailure.render("float floor division by zero") }
            return .double(floatDivMod(x.double, y.double).quotient)
        case .modulo:
            guard let x = number(a), let y = number(b) else { throw unsupported("%", a, b) }
            if case .int(let i) = x, case .int(let j) = y {
                guard j != 0 else { throw JinjaFailure.render("integer division or modulo by zero") }
                guard !(i == .min && j == -1) else { return .int(0) }
                let r = i % j
                return .int(r != 0 && (r < 0) != (j < 0) ? r + j : r)
            }
            guard y.double != 0 else { throw JinjaFailure.render("float modulo") }
            return .double(floatDivMod(x.double, y.double).remainder)
        case .power:
            guard let x = number(a), let y = number(b) else { throw unsupported("** or pow()", a, b) }
            if case .int(let base) = x, case .int(let exponent) = y, exponent >= 0 {
                var result = 1
                var factor = base
                var e = exponent
                while e > 0 {
                    if e & 1 == 1 {
                        let (r, o) = result.multipliedReportingOverflow(by: factor)
                        guard !o else { throw overflow() }
                        result = r
                    }
                    e >>= 1
                    if e > 0 {
                        let (f, o) = factor.multipliedReportingOverflow(by: factor)
                        guard !o else { throw overflow() }
                        factor = f
                    }
                }
                return .int(result)
            }
            if x.double == 0 && y.double < 0 {
                throw JinjaFailure.render("0.0 cannot be raised to a negative power")
            }
            return .double(Foundation.pow(x.double, y.double))
        }
    }

    private static func arithmetic(
        _ symbol: String, _ a: Value, _ b: Value, _ intOp: (Int, Int) -> (partialValue: Int, overflow: Bool),
        _ doubleOp: (Double, Double) -> Double
    ) throws -> Value {
        guard let x = number(a), let y = number(b) else { throw unsupported(symbol, a, b) }
        if case .int(let i) = x, case .int(let j) = y {
            let (r, o) = intOp(i, j)
            guard !o else { throw overflow() }
            return .int(r)
        }
        return .double(doubleOp(x.double, y.double))
    }

    private static func add(_ a: Value, _ b: Value) throws -> Value {
        switch (a, b) {
        case (.string(let x), .string(let y)): return .string(x + y)
        case (.string, _): throw JinjaFailure.render("can only concatenate str (not \"\(b.typeName)\") to str")
        case (.list(let x), .list(let y)): return .list(x + y)
        case (.list, _): throw JinjaFailure.render("can only concatenate list (not \"\(b.typeName)\") to list")
        default: return try arithmetic("+", a, b, { $0.addingReportingOverflow($1) }, { $0 + $1 })
        }
    }

    private static func multiply(_ a: Value, _ b: Value) throws -> Value {
        func count(_ v: Value) -> Int? {
            if case .int(let n) = number(v) { n } else { nil }
        }
        switch (a, b) {
        case (.string(let s), let n) where count(n) != nil:
            return .string(String(repeating: s, count: max(0, count(n) ?? 0)))
        case (let n, .string(let s)) where count(n) != nil:
            return .string(String(repeating: s, count: max(0, count(n) ?? 0)))
        case (.list(let l), let n) where count(n) != nil:
            return .list(Array([[Value]](repeating: l, count: max(0, count(n) ?? 0)).joined()))
        case (let n, .list(let l)) where count(n) != nil:
            return .list(Array([[Value]](repeating: l, count: max(0, count(n) ?? 0)).joined()))
        default:
            return try arithmetic("*", a, b, { $0.multipliedReportingOverflow(by: $1) }, { $0 * $1 })
        }
    }

    /// CPython's float divmod: the remainder takes the divisor's sign, the quotient is floored.
    private static func floatDivMod(_ x: Double, _ y: Double) -> (quotient: Double, remainder: Double) {
        var mod = fmod(x, y)
        var div = (x - mod) / y
        if mod != 0 {
            if (y < 0) != (mod < 0) {
                mod += y
                div -= 1
            }
        } else {
            mod = copysign(0, y)
        }
        var floorDiv: Double
        if div != 0 {
            floorDiv = div.rounded(.down)
            if div - floorDiv > 0.5 { floorDiv += 1 }
        } else {
            floorDiv = copysign(0, x / y)
        }
        return (floorDiv, mod)
    }

    static func negate(_ v: Value) throws -> Value {
        switch v {
        case .undefined(let hint): throw JinjaFailure.undefined(hint)
        case .int(let i):
            guard i != .min else { throw overflow() }
            return .int(-i)
        case .bool(let b): return .int(b ? -1 : 0)
        case .double(let d): return .double(-d)
        default: throw JinjaFailure.render("bad operand type for unary -: '\(v.typeName)'")
        }
    }

    static func unaryPlus(_ v: Value) throws -> Value {
        switch v {
        case .undefined(let hint): throw JinjaFailure.undefined(hint)
        case .int, .double: return v
        case .bool(let b): return .int(b ? 1 : 0)
        default: throw JinjaFailure.render("bad operand type for unary +: '\(v.typeName)'")
        }
    }

    /// Python `==`: numbers across int/float/bool, lists and dicts by content, two undefined values equal
    /// (Jinja's `Undefined.__eq__` compares types), everything else by type and value.
    static func equals(_ a: Value, _ b: Value) -> Bool {
        if let x = number(a), let y = number(b) {
            if case .int(let i) = x, case .int(let j) = y { return i == j }
            return x.double == y.double
        }
        switch (a, b) {
        case (.undefined, .undefined), (.none, .none): return true
        case (.string(let x), .string(let y)): return x.unicodeScalars.elementsEqual(y.unicodeScalars)
        case (.list(let x), .list(let y)): return x.count == y.count && zip(x, y).allSatisfy { equals($0, $1) }
        case (.dict(let x), .dict(let y)):
            return x.count == y.count && x.pairs.allSatisfy { k, v in y[k].map { equals(v, $0) } ?? false }
        case (.namespace(let x), .namespace(let y)): return x === y
        case (.loop(let x), .loop(let y)): return x === y
        default: return false
        }
    }

    /// Python ordering (`<` and friends): numbers, strings by code point, lists lexicographically.
    static func less(_ a: Value, _ b: Value, _ symbol: String = "<") throws -> Bool {
        if case .undefined(let hint) = a { throw JinjaFailure.undefined(hint) }
        if case .undefined(let hint) = b { throw JinjaFailure.undefined(hint) }
        if let x = number(a), let y = number(b) {
            if case .int(let i) = x, case .int(let j) = y { return i < j }
            return x.double < y.double
        }
        switch (a, b) {
        case (.string(let x), .string(let y)):
            return x.unicodeScalars.lexicographicallyPrecedes(y.unicodeScalars) { $0.value < $1.value }
        case (.list(let x), .list(let y)):
            for (p, q) in zip(x, y) where !equals(p, q) { return try less(p, q, symbol) }
            return x.count < y.count
        default:
            throw JinjaFailure.render(
                "'\(symbol)' not supported between instances of '\(a.typeName)' and '\(b.typeName)'")
        }
    }

    static func compare(_ op: JinjaCompareOperator, _ a: Value, _ b: Value) throws -> Bool {
        switch op {
        case .equal: return equals(a, b)
        case .notEqual: return !equals(a, b)
        case .less: return try less(a, b, "<")
        case .lessOrEqual: return try less(a, b, "<=") || equals(a, b)
        case .greater: return try less(b, a, ">")
        case .greaterOrEqual: return try less(b, a, ">=") || equals(a, b)
        case .contains: return try contains(b, a)
        case .notContains: return try !contains(b, a)
        }
    }

    /// `element in container`.
    static func contains(_ container: Value, _ element: Value) throws -> Bool {
        switch container {
        case .string(let s):
            guard case .string(let sub) = element else {
                throw JinjaFailure.render("'in <string>' requires string as left operand, not \(element.typeName)")
            }
            return sub.isEmpty || s.unicodeScalars.firstRange(of: sub.unicodeScalars) != nil
        case .list(let items):
            return items.contains { equals($0, element) }
        case .dict(let d):
            if case .string(let k) = element { return d[k] != nil }
            return false
        case .namespace(let ns):
            if case .string(let k) = element { return ns.attributes[k] != nil }
            return false
        case .undefined:
            return false
        default:
            throw JinjaFailure.render("argument of type '\(container.typeName)' is not iterable")
        }
    }
}
