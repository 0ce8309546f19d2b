import Foundation

/// Methods of Python objects that templates call (`message.content.strip()`, `tool.items()`), and the
/// global functions. The sandbox transformers uses (`ImmutableSandboxedEnvironment`) forbids methods that
/// change a list or dict, so those are errors here too.
extension JinjaInterpreter {
    static let dictMethods: Set<String> = [
        "items", "keys", "values", "get", "copy", "pop", "popitem", "setdefault", "update", "clear", "fromkeys",
    ]
    static let listMethods: Set<String> = [
        "index", "count", "copy", "append", "extend", "insert", "pop", "remove", "reverse", "sort", "clear",
    ]
    static let stringMethods: Set<String> = [
        "strip", "lstrip", "rstrip", "split", "rsplit", "splitlines", "startswith", "endswith", "upper", "lower",
        "title", "capitalize", "casefold", "swapcase", "replace", "find", "rfind", "index", "rindex", "count",
        "join", "isdigit", "isdecimal", "isnumeric", "isalpha", "isalnum", "isspace", "islower", "isupper",
        "removeprefix", "removesuffix", "center", "ljust", "rjust", "zfill", "partition", "rpartition", "format",
        "encode",
    ]

    func callMethod(_ receiver: Value, _ name: String, _ args: Arguments) throws -> Value {
        switch receiver {
        case .string(let s): return try stringMethod(s, name, args)
        case .dict(let d): return try dictMethod(d, name, args)
        case .list(let items): return try listMethod(items, name, args)
        case .loop(let loop) where name == "cycle":
            guard !args.positional.isEmpty else { throw JinjaFailure.render("no items for cycling given") }
            return args.positional[loop.index0 % args.positional.count]
        default:
            throw JinjaFailure.render("'\(receiver.typeName)' object has no method '\(name)'")
        }
    }

    private func string(_ v: Value, _ what: String) throws -> String {
        switch v {
        case .string(let s): return s
        case .undefined(let hint): throw JinjaFailure.undefined(hint)
        default: throw JinjaFailure.render("\(what) must be str, not \(v.typeName)")
        }
    }

    private func optionalString(_ v: Value, _ what: String) throws -> String? {
        if case .none = v { return nil }
        return try string(v, what)
    }

    private func integer(_ v: Value, _ what: String) throws -> Int {
        switch v {
        case .int(let i): return i
        case .bool(let b): return b ? 1 : 0
        case .undefined(let hint): throw JinjaFailure.undefined(hint)
        default: throw JinjaFailure.render("\(what) must be an integer, not \(v.typeName)")
        }
    }

    private func stringMethod(_ s: String, _ name: String, _ args: Arguments) throws -> Value {
        func strings(_ list: [String]) -> Value { .list(list.map { .string($0) }) }
        func allScalars(_ test: (Unicode.Scalar) -> Bool) -> Value {
            .bool(!s.isEmpty && s.unicodeScalars.allSatisfy(test))
        }
        let method = "str.\(name)"
        switch name {
        case "strip", "lstrip", "rstrip":
            let a = try args.bind(method, [("chars", Value.none)])
            return .string(
                PythonString.strip(
                    s, try optionalString(a[0], "chars"), leading: name != "rstrip", trailing: name != "lstrip"))
        case "split", "rsplit":
            let a = try args.bind(method, [("sep", Value.none), ("maxsplit", .int(-1))])
            let sep = try optionalString(a[0], "sep")
            let max = try integer(a[1], "maxsplit")
            return strings(
                name == "split"
                    ? try PythonString.split(s, sep, maxSplit: max) : try PythonString.rsplit(s, sep, maxSplit: max))
        case "splitlines":
            let a = try args.bind(method, [("keepends", Value.bool(false))])
            return strings(PythonString.splitLines(s, keepEnds: a[0].isTruthy))
        case "startswith", "endswith":
            let a = try args.bind(method, [("prefix", nil), ("start", Value.none), ("end", Value.none)])
            let candidates: [String]
            if case .list(let items) = a[0] {
                candidates = try items.map { try string($0, "\(name) first arg") }
            } else {
                candidates = [try string(a[0], "\(name) first arg")]
            }
            var scalars = Array(s.unicodeScalars)
            let count = scalars.count
            func clamp(_ v: Value) throws -> Int? {
                if case .none = v { return nil }
                let i = try integer(v, "slice index")
                return i < 0 ? Swift.max(0, i + count) : Swift.min(i, count)
            }
            let lo = try clamp(a[1]) ?? 0
            let hi = try clamp(a[2]) ?? count
            scalars = lo <= hi ? Array(scalars[lo..<hi]) : []
            return .bool(
                candidates.contains { c in
                    let t = Array(c.unicodeScalars)
                    return name == "startswith"
                        ? scalars.starts(with: t) : scalars.reversed().starts(with: t.reversed())
                })
        case "upper": return .string(PythonString.upper(s))
        case "lower", "casefold": return .string(PythonString.lower(s))
        case "title": return .string(PythonString.title(s))
        case "capitalize": return .string(PythonString.capitalize(s))
        case "swapcase":
            return .string(
                s.unicodeScalars.map {
                    $0.properties.isUppercase
                        ? $0.properties.lowercaseMapping
                        : $0.properties.isLowercase ? $0.properties.uppercaseMapping : String($0)
                }.joined())
        case "replace":
            let a = try args.bind(method, [("old", nil), ("new", nil), ("count", .int(-1))])
            return .string(
                PythonString.replace(
                    s, try string(a[0], "replace() argument 1"), try string(a[1], "replace() argument 2"),
                    count: try integer(a[2], "count")))
        case "find", "rfind", "index", "rindex":
            let a = try args.bind(method, [("sub", nil)])
            let found = PythonString.find(s, try string(a[0], "\(name)() argument"), last: name.hasPrefix("r"))
            if let found { return .int(found) }
            if name.hasSuffix("index") { throw JinjaFailure.render("substring not found") }
            return .int(-1)
        case "count":
            let a = try args.bind(method, [("sub", nil)])
            return .int(PythonString.count(s, try string(a[0], "count() argument")))
        case "join":
            let a = try args.bind(method, [("iterable", nil)])
            let parts = try iterate(a[0]).enumerated().map { i, v in
                try string(v, "sequence item \(i): expected str instance,")
            }
            return .string(parts.joined(separator: s))
        case "isdigit":
            return allScalars { $0.properties.numericType == .decimal || $0.properties.numericType == .digit }
        case "isdecimal": return allScalars { $0.properties.numericType == .decimal }
        case "isnumeric": return allScalars { $0.properties.numericType != nil }
        case "isalpha": return allScalars(isLetter)
        case "isalnum": return allScalars { isLetter($0) || $0.properties.numericType != nil }
        case "isspace": return allScalars(isPythonWhitespace)
        case "islower": return .bool(PythonString.isLower(s))
        case "isupper": return .bool(PythonString.isUpper(s))
        case "removeprefix", "removesuffix":
            let a = try args.bind(method, [("affix", nil)])
            let affix = try string(a[0], "\(name)() argument")
            if name == "removeprefix", s.unicodeScalars.starts(with: affix.unicodeScalars) {
                return .string(String(String.UnicodeScalarView(s.unicodeScalars.dropFirst(affix.unicodeScalars.count))))
            }
            if name == "removesuffix", !affix.isEmpty,
                s.unicodeScalars.reversed().starts(with: affix.unicodeScalars.reversed())
            {
                return .string(String(String.UnicodeScalarView(s.unicodeScalars.dropLast(affix.unicodeScalars.count))))
            }
            return .string(s)
        case "center", "ljust", "rjust":
            let a = try args.bind(method, [("width", nil), ("fillchar", .string(" "))])
            let width = try integer(a[0], "width")
            let fill = try string(a[1], "fillchar")
            guard fill.unicodeScalars.count == 1 else {
                throw JinjaFailure.render("The fill character must be exactly one character long")
            }
            let pad = Swift.max(0, width - s.unicodeScalars.count)
            switch name {
            case "ljust": return .string(s + String(repeating: fill, count: pad))
            case "rjust": return .string(String(repeating: fill, count: pad) + s)
            default: return .string(PythonString.center(s, width: width, fill: fill))
            }
        case "zfill":
            let a = try args.bind(method, [("width", nil)])
            let width = try integer(a[0], "width")
            var scalars = Array(s.unicodeScalars)
            let pad = width - scalars.count
            guard pad > 0 else { return .string(s) }
            let signed = scalars.first == "+" || scalars.first == "-"
            scalars.insert(contentsOf: [Unicode.Scalar](repeating: "0", count: pad), at: signed ? 1 : 0)
            return .string(String(String.UnicodeScalarView(scalars)))
        case "partition", "rpartition":
            let a = try args.bind(method, [("sep", nil)])
            let sep = try string(a[0], "sep")
            guard !sep.isEmpty else { throw JinjaFailure.render("empty separator") }
            let scalars = Array(s.unicodeScalars)
            guard let i = PythonString.find(s, sep, last: name == "rpartition") else {
                return strings(name == "partition" ? [s, "", ""] : ["", "", s])
            }
            let n = sep.unicodeScalars.count
            return strings([
                String(String.UnicodeScalarView(scalars[..<i])), sep,
                String(String.UnicodeScalarView(scalars[(i + n)...])),
            ])
        default:
            throw JinjaFailure.render(
                "the string method '\(name)' is not supported by Tailor's chat template interpreter")
        }
    }

    private func isLetter(_ c: Unicode.Scalar) -> Bool {
        switch c.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: true
        default: false
        }
    }

    private func dictMethod(_ d: ValueDict, _ name: String, _ args: Arguments) throws -> Value {
        let method = "dict.\(name)"
        switch name {
        case "items":
            _ = try args.bind(method, [])
            return .list(d.pairs.map { .list([.string($0.key), $0.value]) })
        case "keys":
            _ = try args.bind(method, [])
            return .list(d.keys.map { .string($0) })
        case "values":
            _ = try args.bind(method, [])
            return .list(d.pairs.map(\.value))
        case "get":
            let a = try args.bind(method, [("key", nil), ("default", Value.none)])
            if case .string(let k) = a[0], let v = d[k] { return v }
            return a[1]
        case "copy":
            _ = try args.bind(method, [])
            return .dict(d)
        default:
            throw JinjaFailure.render("dict.\(name)() would change the dict; transformers' sandbox forbids that")
        }
    }

    private func listMethod(_ items: [Value], _ name: String, _ args: Arguments) throws -> Value {
        let method = "list.\(name)"
        switch name {
        case "index":
            let a = try args.bind(method, [("value", nil)])
            guard let i = items.firstIndex(where: { PythonOperators.equals($0, a[0]) }) else {
                throw JinjaFailure.render("\(PythonFormat.repr(a[0])) is not in list")
            }
            return .int(i)
        case "count":
            let a = try args.bind(method, [("value", nil)])
            return .int(items.filter { PythonOperators.equals($0, a[0]) }.count)
        case "copy":
            _ = try args.bind(method, [])
            return .list(items)
        default:
            throw JinjaFailure.render("list.\(name)() would change the list; transformers' sandbox forbids that")
        }
    }

    // MARK: - Globals

    func callGlobal(_ name: String, _ args: Arguments) throws -> Value {
        switch name {
        case "raise_exception":
            let a = try args.bind(name, [("message", nil)])
            throw JinjaFailure(kind: .raised, message: PythonFormat.str(a[0]))
        case "strftime_now":
            let a = try args.bind(name, [("format", nil)])
            return .string(Strftime.format(try string(a[0], "format"), date: now, timeZone: timeZone))
        case "range":
            guard args.keyword.isEmpty, (1...3).contains(args.positional.count) else {
                throw JinjaFailure.render("range() takes 1 to 3 positional arguments")
            }
            let n = try args.positional.map { try integer($0, "range() argument") }
            let (start, stop, step) = n.count == 1 ? (0, n[0], 1) : (n[0], n[1], n.count == 3 ? n[2] : 1)
            guard step != 0 else { throw JinjaFailure.render("range() arg 3 must not be zero") }
            let values = stride(from: start, to: stop, by: step)
            guard values.underestimatedCount <= 100_000 else {
                throw JinjaFailure.render("Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).")
            }
            return .list(values.map { .int($0) })
        case "namespace", "dict":
            var attributes = ValueDict()
            guard args.positional.count <= 1 else {
                throw JinjaFailure.render("\(name)() takes at most 1 positional argument")
            }
            if let first = args.positional.first {
                switch first {
                case .dict(let d):
                    for (k, v) in d.pairs { attributes[k] = v }
                case .list(let pairs):
                    for pair in pairs {
                        guard case .list(let kv) = pair, kv.count == 2, case .string(let k) = kv[0] else {
                            throw JinjaFailure.render("\(name)() needs a mapping or (key, value) pairs")
                        }
                        attributes[k] = kv[1]
                    }
                default:
                    throw JinjaFailure.render("\(name)() needs a mapping or (key, value) pairs")
                }
            }
            for (k, v) in args.keyword { attributes[k] = v }
            if name == "dict" { return .dict(attributes) }
            if let bad = attributes.keys.first(where: { $0.hasPrefix("_") }) {
                throw JinjaFailure.render(
                    "chat templates cannot store underscore-prefixed attributes on a namespace, but got '\(bad)'")
            }
            let ns = Namespace()
            ns.attributes = attributes
            return .namespace(ns)
        default:
            throw JinjaFailure.render("'\(name)' is not callable")
        }
    }
}
