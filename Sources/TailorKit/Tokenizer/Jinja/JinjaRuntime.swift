/// Runtime values of the interpreter: Python's types as Jinja templates see them.
enum Value {
    /// Jinja's default `Undefined`: falsy, renders as "", iterates as empty, has length 0; arithmetic,
    /// attribute access, calls and `tojson` on it raise with `hint` ("'foo' is undefined",
    /// "'dict object' has no attribute 'content'").
    case undefined(hint: String)
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    /// Python lists and tuples.
    case list([Value])
    case dict(ValueDict)
    case namespace(Namespace)
    case loop(LoopContext)
    case callable(Callable)

    static func undefinedName(_ name: String) -> Value { .undefined(hint: "'\(name)' is undefined") }

    /// Python's type name, as Jinja's messages use it ("'dict object' has no attribute ...").
    var typeName: String {
        switch self {
        case .undefined: "Undefined"
        case .none: "NoneType"
        case .bool: "bool"
        case .int: "int"
        case .double: "float"
        case .string: "str"
        case .list: "list"
        case .dict: "dict"
        case .namespace: "Namespace"
        case .loop: "LoopContext"
        case .callable: "function"
        }
    }

    var isUndefined: Bool {
        if case .undefined = self { true } else { false }
    }

    /// Python truthiness.
    var isTruthy: Bool {
        switch self {
        case .undefined, .none: false
        case .bool(let b): b
        case .int(let i): i != 0
        case .double(let d): d != 0
        case .string(let s): !s.isEmpty
        case .list(let l): !l.isEmpty
        case .dict(let d): !d.isEmpty
        case .namespace, .loop, .callable: true
        }
    }

    init(_ constant: JinjaConstant) {
        switch constant {
        case .none: self = .none
        case .bool(let b): self = .bool(b)
        case .int(let i): self = .int(i)
        case .double(let d): self = .double(d)
        case .string(let s): self = .string(s)
        }
    }

    init(_ json: JSONValue) {
        switch json {
        case .null: self = .none
        case .bool(let b): self = .bool(b)
        case .int(let i): self = .int(i)
        case .double(let d): self = .double(d)
        case .string(let s): self = .string(s)
        case .array(let a): self = .list(a.map(Value.init))
        case .object(let o):
            var d = ValueDict()
            for (k, v) in o.pairs { d[k] = Value(v) }
            self = .dict(d)
        }
    }
}

/// A Python dict with string keys, in insertion order.
struct ValueDict {
    private(set) var keys: [String] = []
    private var storage: [String: Value] = [:]

    var count: Int { keys.count }
    var isEmpty: Bool { keys.isEmpty }

    subscript(key: String) -> Value? {
        get { storage[key] }
        set {
            if let newValue {
                if storage.updateValue(newValue, forKey: key) == nil { keys.append(key) }
            } else if storage.removeValue(forKey: key) != nil {
                keys.removeAll { $0 == key }
            }
        }
    }

    var pairs: [(key: String, value: Value)] {
        keys.compactMap { k in storage[k].map { (k, $0) } }
    }
}

/// `namespace(...)`: the one mutable object templates have; `{% set ns.x = ... %}` inside a loop changes it
/// for the code after the loop.
final class Namespace {
    var attributes = ValueDict()
}

/// The `loop` variable of a `for` body.
final class LoopContext {
    let items: [Value]
    var index0 = 0
    init(items: [Value]) { self.items = items }

    var length: Int { items.count }

    /// `loop.<name>`, undefined for names a loop does not have.
    func attribute(_ name: String) -> Value {
        switch name {
        case "index": .int(index0 + 1)
        case "index0": .int(index0)
        case "revindex": .int(length - index0)
        case "revindex0": .int(length - index0 - 1)
        case "first": .bool(index0 == 0)
        case "last": .bool(index0 == length - 1)
        case "length": .int(length)
        case "depth": .int(1)
        case "depth0": .int(0)
        case "previtem": index0 > 0 ? items[index0 - 1] : .undefined(hint: "there is no previous item")
        case "nextitem": index0 + 1 < length ? items[index0 + 1] : .undefined(hint: "there is no next item")
        case "cycle": .callable(.method(.loop(self), "cycle"))
        default: .undefined(hint: "'LoopContext object' has no attribute '\(name)'")
        }
    }
}

/// Something a template can call.
enum Callable {
    /// A global function: `raise_exception`, `range`, `namespace`, `strftime_now`, `dict`.
    case global(String)
    /// A `{% macro %}` with the scope it was defined in.
    case macro(JinjaMacroDefinition, Scope)
    /// A method bound to its receiver: `'a b'.split`, `messages[0].get`, `loop.cycle`.
    indirect case method(Value, String)
}

/// Variables visible at one point of a render. `for` bodies and macro calls get a child scope, so a
/// `{% set %}` inside them does not leak out (Jinja's scoping; use a namespace to carry values out).
final class Scope {
    private var variables: [String: Value] = [:]
    let parent: Scope?

    init(parent: Scope?) { self.parent = parent }

    func lookup(_ name: String) -> Value? {
        var scope: Scope? = self
        while let s = scope {
            if let v = s.variables[name] { return v }
            scope = s.parent
        }
        return nil
    }

    func set(_ name: String, _ value: Value) { variables[name] = value }
}

/// A failure while rendering, before it is tied to the template's name. The interpreter fills in the
/// location of the innermost expression or statement that has one.
struct JinjaFailure: Error {
    enum Kind {
        /// `raise_exception(message)`.
        case raised
        /// Anything else: undefined values used, type errors, bad arguments.
        case render
    }
    var kind: Kind
    var message: String
    var location: SourceLocation?

    static func render(_ message: String) -> JinjaFailure { JinjaFailure(kind: .render, message: message) }

    /// Jinja's UndefinedError for using an undefined value where Python needs a real one.
    static func undefined(_ hint: String) -> JinjaFailure { .render(hint) }
}
