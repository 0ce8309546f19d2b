/// The filters this interpreter implements, resolved by name when the template is parsed (Jinja also
/// rejects an unknown filter at compile time). Aliases map to one case: `d` is `default`, `count` is
/// `length`, `e` is `escape`.
enum JinjaFilter: String, Sendable {
    case abs, attr, capitalize, center, `default`, dictsort, escape, first, float, indent, int, items, join
    case last, length, list, lower, map, max, min, reject, rejectattr, replace, reverse, round, safe, select
    case selectattr, sort, string, sum, title, tojson, trim, unique, upper, wordcount

    init?(name: String) {
        switch name {
        case "d": self = .default
        case "count": self = .length
        case "e": self = .escape
        default: self.init(rawValue: name)
        }
    }

    /// Jinja built-in filters this interpreter leaves out; naming one is a compile error that says so,
    /// rather than "no filter named ...".
    static let unsupported: Set<String> = [
        "batch", "filesizeformat", "forceescape", "format", "groupby", "pprint", "random", "slice",
        "striptags", "truncate", "urlencode", "urlize", "wordwrap", "xmlattr",
    ]
}

/// The tests (`x is name`) this interpreter implements, resolved when the template is parsed.
enum JinjaTest: String, Sendable {
    case boolean, callable, defined, divisibleby, equalto, escaped, even, `false`, filter, float, greaterthan
    case greaterOrEqual, `in`, integer, iterable, lessthan, lessOrEqual, lower, mapping, notEqual, none, number
    case odd, sameas, sequence, string, test, `true`, undefined, upper

    init?(name: String) {
        switch name {
        case "eq", "==": self = .equalto
        case "ne", "!=": self = .notEqual
        case "lt", "<": self = .lessthan
        case "le", "<=": self = .lessOrEqual
        case "gt", ">": self = .greaterthan
        case "ge", ">=": self = .greaterOrEqual
        case "greaterOrEqual", "lessOrEqual", "notEqual": return nil
        default: self.init(rawValue: name)
        }
    }
}
