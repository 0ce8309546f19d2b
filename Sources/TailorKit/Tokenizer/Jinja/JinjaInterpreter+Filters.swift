import Foundation

/// Jinja's built-in filters and tests (jinja2/filters.py, jinja2/tests.py) as the chat-template environment
/// has them, with transformers' own `tojson`: `json.dumps(x, ensure_ascii=False, indent=None,
/// separators=None, sort_keys=False)`, so non-ASCII text stays as is and `<`, `>`, `&`, `'` are not
/// HTML-escaped as Jinja's default `tojson` would.
extension JinjaInterpreter {
    func apply(_ filter: JinjaFilter, to value: Value, _ args: Arguments) throws -> Value {
        let name = filter.rawValue
        switch filter {
        case .trim:
            let a = try args.bind(name, [("chars", Value.none)])
            return .string(
                PythonString.strip(PythonFormat.str(value), try optionalText(a[0]), leading: true, trailing: true))
        case .length:
            _ = try args.bind(name, [])
            return .int(try length(value))
        case .upper:
            _ = try args.bind(name, [])
            return .string(PythonString.upper(PythonFormat.str(value)))
        case .lower:
            _ = try args.bind(name, [])
            return .string(PythonString.lower(PythonFormat.str(value)))
        case .capitalize:
            _ = try args.bind(name, [])
            return .string(PythonString.capitalize(PythonFormat.str(value)))
        case .title:
            _ = try args.bind(name, [])
            return .string(PythonString.jinjaTitle(PythonFormat.str(value)))
        case .string:
            _ = try args.bind(name, [])
            return .string(PythonFormat.str(value))
        case .safe:
            _ = try args.bind(name, [])
            return .string(PythonFormat.str(value))
        case .escape:
            _ = try args.bind(name, [])
            var out = ""
            for c in PythonFormat.str(value) {
                switch c {
                case "&": out += "&amp;"
                case "<": out += "&lt;"
                case ">": out += "&gt;"
                case "\"": out += "&#34;"
                case "'": out += "&#39;"
                default: out.append(c)
                }
            }
            return .string(out)
        case .default:
            let a = try args.bind(name, [("default_value", .string("")), ("boolean", .bool(false))])
            if value.isUndefined || (a[1].isTruthy && !value.isTruthy) { return a[0] }
            return value
        case .first, .last:
            _ = try args.bind(name, [])
            if case .undefined = value { return .undefined(hint: "No \(name) item, sequence was empty.") }
            let items = try iterate(value)
            let item = filter == .first ? items.first : items.last
            return item ?? .undefined(hint: "No \(name) item, sequence was empty.")
        case .join:
            let a = try args.bind(name, [("d", .string("")), ("attribute", Value.none)])
            var items = try iterate(value)
            if case .none = a[1] {} else { items = try items.map { try lookupPath($0, a[1]) } }
            return .string(items.map(PythonFormat.str).joined(separator: PythonFormat.str(a[0])))
        case .list:
            _ = try args.bind(name, [])
            return .list(try iterate(value))
        case .items:
            _ = try args.bind(name, [])
            switch value {
            case .undefined: return .list([])
            case .dict(let d): return .list(d.pairs.map { .list([.string($0.key), $0.value]) })
            default: throw JinjaFailure.render("Can only get item pairs from a mapping.")
            }
        case .replace:
            let a = try args.bind(name, [("old", nil), ("new", nil), ("count", Value.none)])
            var count = -1
            if case .none = a[2] {} else { count = try integer(a[2]) }
            return .string(
                PythonString.replace(
                    PythonFormat.str(value), PythonFormat.str(a[0]), PythonFormat.str(a[1]), count: count))
        case .tojson:
            let a = try args.bind(
                name,
                [
                    ("ensure_ascii", .bool(false)), ("indent", Value.none), ("separators", Value.none),
                    ("sort_keys", .bool(false)),
                ])
            var options = PythonFormat.JSONOptions()
            options.ensureASCII = a[0].isTruthy
            switch a[1] {
            case .none: break
            case .string(let s): options.indent = s
            default: options.indent = String(repeating: " ", count: max(0, try integer(a[1])))
            }
            if options.indent != nil { options.itemSeparator = "," }
            switch a[2] {
            case .none: break
            case .list(let pair) where pair.count == 2:
                options.itemSeparator = try text(pair[0])
                options.keySeparator = try text(pair[1])
            default: throw JinjaFailure.render("tojson separators must be an (item, key) pair of strings")
            }
            options.sortKeys = a[3].isTruthy
            return .string(try PythonFormat.json(value, options))
        case .indent:
            let a = try args.bind(name, [("width", .int(4)), ("first", .bool(false)), ("blank", .bool(false))])
            let indentation: String
            if case .string(let s) = a[0] {
                indentation = s
            } else {
                indentation = String(repeating: " ", count: max(0, try integer(a[0])))
            }
            // Jinja appends a newline first so that splitlines keeps a trailing empty line.
            let lines = PythonString.splitLines(PythonFormat.str(value) + "\n")
            var result: String
            if a[2].isTruthy {
                result = lines.joined(separator: "\n" + indentation)
            } else {
                result = lines.first ?? ""
                let rest = lines.dropFirst()
                if !rest.isEmpty {
                    result += "\n" + rest.map { $0.isEmpty ? $0 : indentation + $0 }.joined(separator: "\n")
                }
            }
            if a[1].isTruthy { result = indentation + result }
            return .string(result)
        case .center:
            let a = try args.bind(name, [("width", .int(80))])
            return .string(PythonString.center(PythonFormat.str(value), width: try integer(a[0])))
        case .wordcount:
            _ = try args.bind(name, [])
            var count = 0
            var inWord = false
            for c in PythonFormat.str(value).unicodeScalars {
                let wordChar = c == "_" || c.properties.isAlphabetic || c.properties.numericType != nil
                if wordChar && !inWord { count += 1 }
                inWord = wordChar
            }
            return .int(count)
        case .int:
            let a = try args.bind(name, [("default", .int(0)), ("base", .int(10))])
            return toInt(value, default: a[0], base: try integer(a[1]))
        case .float:
            let a = try args.bind(name, [("default", .double(0))])
            return toFloat(value) ?? a[0]
        case .abs:
            _ = try args.bind(name, [])
            switch value {
            case .int(let i):
                guard i != .min else { throw JinjaFailure.render("integer overflow") }
                return .int(Swift.abs(i))
            case .bool(let b): return .int(b ? 1 : 0)
            case .double(let d): return .double(Swift.abs(d))
            case .undefined(let hint): throw JinjaFailure.undefined(hint)
            default: throw JinjaFailure.render("bad operand type for abs(): '\(value.typeName)'")
            }
        case .round:
            let a = try args.bind(name, [("precision", .int(0)), ("method", .string("common"))])
            let precision = try integer(a[0])
            let method = try text(a[1])
            guard ["common", "ceil", "floor"].contains(method) else {
                throw JinjaFailure.render("method must be common, ceil or floor")
            }
            if case .int = value, method == "common" { return value }
            guard let x = toFloat(value), case .double(let d) = x else {
                throw JinjaFailure.render("round needs a number, got \(value.typeName)")
            }
            let scale = Foundation.pow(10, Double(precision))
            let rule: FloatingPointRoundingRule = method == "ceil" ? .up : method == "floor" ? .down : .toNearestOrEven
            return .double(precision == 0 ? d.rounded(rule) : (d * scale).rounded(rule) / scale)
        case .reverse:
            _ = try args.bind(name, [])
            if case .string(let s) = value {
                return .string(String(String.UnicodeScalarView(s.unicodeScalars.reversed())))
            }
            return .list(try iterate(value).reversed())
        case .sort:
            let a = try args.bind(
                name, [("reverse", .bool(false)), ("case_sensitive", .bool(false)), ("attribute", Value.none)])
            return .list(
                try sorted(try iterate(value), reverse: a[0].isTruthy, caseSensitive: a[1].isTruthy, attribute: a[2]))
        case .dictsort:
            let a = try args.bind(
                name, [("case_sensitive", .bool(false)), ("by", .string("key")), ("reverse", .bool(false))])
            guard case .dict(let d) = value else { throw JinjaFailure.render("dictsort needs a mapping") }
            let by = try text(a[1])
            guard by == "key" || by == "value" else {
                throw JinjaFailure.render("You can only sort by either \"key\" or \"value\"")
            }
            let pairs: [Value] = d.pairs.map { .list([.string($0.key), $0.value]) }
            return .list(
                try sorted(
                    pairs, reverse: a[2].isTruthy, caseSensitive: a[0].isTruthy, attribute: .int(by == "key" ? 0 : 1)))
        case .unique:
            let a = try args.bind(name, [("case_sensitive", .bool(false)), ("attribute", Value.none)])
            var seen: [Value] = []
            var out: [Value] = []
            for item in try iterate(value) {
                let key = try sortKey(item, caseSensitive: a[0].isTruthy, attribute: a[1])
                if !seen.contains(where: { PythonOperators.equals($0, key) }) {
                    seen.append(key)
                    out.append(item)
                }
            }
            return .list(out)
        case .min, .max:
            let a = try args.bind(name, [("case_sensitive", .bool(false)), ("attribute", Value.none)])
            let items = try iterate(value)
            guard var best = items.first else { return .undefined(hint: "No aggregated item, sequence was empty.") }
            var bestKey = try sortKey(best, caseSensitive: a[0].isTruthy, attribute: a[1])
            for item in items.dropFirst() {
                let key = try sortKey(item, caseSensitive: a[0].isTruthy, attribute: a[1])
                if filter == .min ? try PythonOperators.less(key, bestKey) : try PythonOperators.less(bestKey, key) {
                    best = item
                    bestKey = key
                }
            }
            return best
        case .sum:
            let a = try args.bind(name, [("attribute", Value.none), ("start", .int(0))])
            var total = a[1]
            for item in try iterate(value) {
                let v: Value
                if case .none = a[0] { v = item } else { v = try lookupPath(item, a[0]) }
                total = try PythonOperators.binary(.add, total, v)
            }
            return total
        case .attr:
            let a = try args.bind(name, [("name", nil)])
            let attributeName = PythonFormat.str(a[0])
            if case .dict = value, !JinjaInterpreter.dictMethods.contains(attributeName) {
                return .undefined(hint: "'dict object' has no attribute \(PythonFormat.stringRepr(attributeName))")
            }
            return try attribute(of: value, attributeName)
        case .map:
            let items = try iterate(value)
            if args.positional.isEmpty {
                let a = try args.bind(name, [("attribute", nil), ("default", Value.none)])
                let hasDefault = args.keyword.contains { $0.name == "default" }
                return .list(
                    try items.map { item in
                        let v = try lookupPath(item, a[0])
                        return v.isUndefined && hasDefault ? a[1] : v
                    })
            }
            let filterName = try text(args.positional[0])
            guard let inner = JinjaFilter(name: filterName) else {
                throw JinjaFailure.render("No filter named '\(filterName)'.")
            }
            let rest = Arguments(positional: Array(args.positional.dropFirst()), keyword: args.keyword)
            return .list(try items.map { try apply(inner, to: $0, rest) })
        case .select, .reject:
            let keep = filter == .select
            let (test, rest) = try testArguments(args.positional)
            let testArgs = Arguments(positional: rest, keyword: args.keyword)
            return .list(
                try iterate(value).filter { item in
                    let passed = try test.map { try apply($0, to: item, testArgs) } ?? item.isTruthy
                    return passed == keep
                })
        case .selectattr, .rejectattr:
            let keep = filter == .selectattr
            guard let path = args.positional.first else { throw JinjaFailure.render("\(name) needs an attribute name") }
            let (test, rest) = try testArguments(Array(args.positional.dropFirst()))
            let testArgs = Arguments(positional: rest, keyword: args.keyword)
            return .list(
                try iterate(value).filter { item in
                    let v = try lookupPath(item, path)
                    let passed = try test.map { try apply($0, to: v, testArgs) } ?? v.isTruthy
                    return passed == keep
                })
        }
    }

    /// A test name and its arguments from `select(test, args...)`.
    private func testArguments(_ positional: [Value]) throws -> (JinjaTest?, [Value]) {
        guard let first = positional.first else { return (nil, []) }
        let testName = try text(first)
        guard let test = JinjaTest(name: testName) else { throw JinjaFailure.render("No test named '\(testName)'.") }
        return (test, Array(positional.dropFirst()))
    }

    // MARK: - Tests

    func apply(_ test: JinjaTest, to value: Value, _ args: Arguments) throws -> Bool {
        func argument() throws -> Value { try args.bind(test.rawValue, [("other", nil)])[0] }
        switch test {
        case .defined: return !value.isUndefined
        case .undefined: return value.isUndefined
        case .none: if case .none = value { return true } else { return false }
        case .boolean: if case .bool = value { return true } else { return false }
        case .true: if case .bool(true) = value { return true } else { return false }
        case .false: if case .bool(false) = value { return true } else { return false }
        case .integer: if case .int = value { return true } else { return false }
        case .float: if case .double = value { return true } else { return false }
        case .string: if case .string = value { return true } else { return false }
        case .mapping: if case .dict = value { return true } else { return false }
        case .number:
            switch value {
            case .int, .double, .bool: return true
            default: return false
            }
        case .iterable, .sequence:
            switch value {
            case .list, .dict, .string, .undefined: return true
            case .loop: return test == .iterable
            default: return false
            }
        case .callable:
            switch value {
            case .callable, .loop: return true
            default: return false
            }
        case .escaped: return false
        case .lower: return PythonString.isLower(PythonFormat.str(value))
        case .upper: return PythonString.isUpper(PythonFormat.str(value))
        case .even, .odd:
            let r = try PythonOperators.binary(.modulo, value, .int(2))
            return PythonOperators.equals(r, .int(test == .even ? 0 : 1))
        case .divisibleby:
            return PythonOperators.equals(try PythonOperators.binary(.modulo, value, try argument()), .int(0))
        case .equalto: return PythonOperators.equals(value, try argument())
        case .notEqual: return !PythonOperators.equals(value, try argument())
        case .lessthan: return try PythonOperators.compare(.less, value, try argument())
        case .lessOrEqual: return try PythonOperators.compare(.lessOrEqual, value, try argument())
        case .greaterthan: return try PythonOperators.compare(.greater, value, try argument())
        case .greaterOrEqual: return try PythonOperators.compare(.greaterOrEqual, value, try argument())
        case .in: return try PythonOperators.contains(try argument(), value)
        case .sameas:
            switch (value, try argument()) {
            case (.none, .none): return true
            case (.bool(let a), .bool(let b)): return a == b
            case (.int(let a), .int(let b)): return a == b && (-5...256).contains(a)  // CPython's cached small ints
            case (.namespace(let a), .namespace(let b)): return a === b
            default: return false
            }
        case .filter: return JinjaFilter(name: PythonFormat.str(value)) != nil
        case .test: return JinjaTest(name: PythonFormat.str(value)) != nil
        }
    }

    // MARK: - Helpers

    private func text(_ v: Value) throws -> String {
        switch v {
        case .string(let s): return s
        case .undefined(let hint): throw JinjaFailure.undefined(hint)
        default: throw JinjaFailure.render("expected a string, got \(v.typeName)")
        }
    }

    private func optionalText(_ v: Value) throws -> String? {
        if case .none = v { return nil }
        return try text(v)
    }

    private func integer(_ v: Value) throws -> Int {
        switch v {
        case .int(let i): return i
        case .bool(let b): return b ? 1 : 0
        case .undefined(let hint): throw JinjaFailure.undefined(hint)
        default: throw JinjaFailure.render("expected an integer, got \(v.typeName)")
        }
    }

    private func length(_ value: Value) throws -> Int {
        switch value {
        case .string(let s): return s.unicodeScalars.count
        case .list(let l): return l.count
        case .dict(let d): return d.count
        case .undefined: return 0
        case .loop(let loop): return loop.length
        default: throw JinjaFailure.render("object of type '\(value.typeName)' has no len()")
        }
    }

    /// Jinja's attribute getter for `map(attribute=...)`, `selectattr`, `sort(attribute=...)`: a dotted
    /// path whose parts are item lookups, digits meaning list indices.
    private func lookupPath(_ item: Value, _ path: Value) throws -> Value {
        switch path {
        case .int:
            return try self.item(of: item, path)
        case .string(let p):
            var v = item
            for part in p.split(separator: ".", omittingEmptySubsequences: false) {
                let key: Value =
                    part.allSatisfy(\.isASCII) && Int(part) != nil ? .int(Int(part) ?? 0) : .string(String(part))
                v = try self.item(of: v, key)
            }
            return v
        default:
            throw JinjaFailure.render("attribute must be a string, got \(path.typeName)")
        }
    }

    private func sortKey(_ item: Value, caseSensitive: Bool, attribute: Value) throws -> Value {
        var key = item
        if case .none = attribute {} else { key = try lookupPath(item, attribute) }
        if !caseSensitive, case .string(let s) = key { key = .string(PythonString.lower(s)) }
        return key
    }

    /// A stable sort like Python's `sorted`, failing on keys Python cannot order.
    private func sorted(_ items: [Value], reverse: Bool, caseSensitive: Bool, attribute: Value) throws -> [Value] {
        let keys = try items.map { try sortKey($0, caseSensitive: caseSensitive, attribute: attribute) }
        var failure: Error? = nil
        let order = items.indices.sorted { i, j in
            guard failure == nil else { return false }
            do {
                let (a, b) = reverse ? (keys[j], keys[i]) : (keys[i], keys[j])
                if try PythonOperators.less(a, b) { return true }
                if try PythonOperators.less(b, a) { return false }
                return i < j
            } catch {
                failure = error
                return false
            }
        }
        if let failure { throw failure }
        return order.map { items[$0] }
    }

    /// Jinja's `int` filter: ints pass, floats truncate, strings parse in `base` (then as a float),
    /// anything else is `default`.
    private func toInt(_ value: Value, default fallback: Value, base: Int) -> Value {
        switch value {
        case .int: return value
        case .bool(let b): return .int(b ? 1 : 0)
        case .double(let d):
            guard d.isFinite, let i = Int(exactly: d.rounded(.towardZero)) else { return fallback }
            return .int(i)
        case .string(let s):
            let trimmed = PythonString.strip(s, nil, leading: true, trailing: true).replacingOccurrences(
                of: "_", with: "")
            if let i = Int(trimmed, radix: base) { return .int(i) }
            if base == 10, let d = Double(trimmed), d.isFinite, let i = Int(exactly: d.rounded(.towardZero)) {
                return .int(i)
            }
            return fallback
        default:
            return fallback
        }
    }

    private func toFloat(_ value: Value) -> Value? {
        switch value {
        case .double: return value
        case .int(let i): return .double(Double(i))
        case .bool(let b): return .double(b ? 1 : 0)
        case .string(let s):
            let t = PythonString.strip(s, nil, leading: true, trailing: true)
            switch t.lowercased() {
            case "inf", "+inf", "infinity", "+infinity": return .double(.infinity)
            case "-inf", "-infinity": return .double(-.infinity)
            case "nan", "+nan", "-nan": return .double(.nan)
            default: return Double(t.replacingOccurrences(of: "_", with: "")).map { .double($0) }
            }
        default:
            return nil
        }
    }
}
