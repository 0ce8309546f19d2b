import Foundation

/// Renders a parsed template the way Jinja 2 does in transformers' chat-template environment
/// (`ImmutableSandboxedEnvironment`, default `Undefined`, no autoescape): Python values and operators,
/// Jinja scoping (a `for` iteration and a macro call each get their own scope; `if` does not), and the
/// globals transformers adds (`raise_exception`, `strftime_now`, `namespace`, `dict`) besides `range`.
///
/// One interpreter renders one conversation; it is cheap to make. Failures are `JinjaFailure`s carrying the
/// location of the innermost expression or statement involved.
final class JinjaInterpreter {
    /// The instant `strftime_now` formats, and the zone its fields are read in.
    let now: Date
    let timeZone: TimeZone

    init(now: Date, timeZone: TimeZone) {
        self.now = now
        self.timeZone = timeZone
    }

    enum Flow {
        case normal, breakLoop, continueLoop
    }

    /// Globals every template sees, below the render context.
    static let globalFunctions: Set<String> = ["raise_exception", "strftime_now", "namespace", "dict", "range"]

    func render(_ nodes: [JinjaNode], context: [String: Value]) throws -> String {
        let root = Scope(parent: nil)
        for (k, v) in context { root.set(k, v) }
        var out = ""
        _ = try execute(nodes, root, &out)
        return out
    }

    /// Runs `body` and stamps a location on a failure that has none yet.
    @inline(__always)
    func at<T>(_ location: SourceLocation, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch var failure as JinjaFailure {
            if failure.location == nil { failure.location = location }
            throw failure
        }
    }

    // MARK: - Statements

    func execute(_ nodes: [JinjaNode], _ scope: Scope, _ out: inout String) throws -> Flow {
        for node in nodes {
            switch node {
            case .text(let s):
                out += s
            case .output(let expr, let location):
                let value = try at(location) { try eval(expr, scope) }
                if case .string(let s) = value { out += s } else { out += PythonFormat.str(value) }
            case .conditional(let branches, let otherwise):
                var body = otherwise
                for branch in branches {
                    if try eval(branch.condition, scope).isTruthy {
                        body = branch.body
                        break
                    }
                }
                let flow = try execute(body, scope, &out)
                if flow != .normal { return flow }
            case .forLoop(let loop):
                try at(loop.location) { try executeFor(loop, scope, &out) }
            case .assign(let target, let expr, let location):
                try at(location) { try assign(target, try eval(expr, scope), in: scope) }
            case .assignBlock(let target, let filters, let body, let location):
                try at(location) {
                    var text = ""
                    _ = try execute(body, Scope(parent: scope), &text)
                    try assign(target, try applyFilters(filters, to: .string(text), scope), in: scope)
                }
            case .macro(let definition):
                scope.set(definition.name, .callable(.macro(definition, scope)))
            case .filterBlock(let filters, let body):
                var text = ""
                _ = try execute(body, Scope(parent: scope), &text)
                out += PythonFormat.str(try applyFilters(filters, to: .string(text), scope))
            case .scope(let assignments, let body, let location):
                let inner = Scope(parent: scope)
                try at(location) {
                    for (target, expr) in assignments { try assign(target, try eval(expr, scope), in: inner) }
                }
                let flow = try execute(body, inner, &out)
                if flow != .normal { return flow }
            case .breakLoop:
                return .breakLoop
            case .continueLoop:
                return .continueLoop
            }
        }
        return .normal
    }

    private func executeFor(_ loop: JinjaForLoop, _ scope: Scope, _ out: inout String) throws {
        var items = try iterate(try eval(loop.iterable, scope))
        if let condition = loop.condition {
            items = try items.filter { item in
                let probe = Scope(parent: scope)
                try assign(loop.target, item, in: probe)
                return try eval(condition, probe).isTruthy
            }
        }
        guard !items.isEmpty else {
            _ = try execute(loop.otherwise, scope, &out)
            return
        }
        let context = LoopContext(items: items)
        for (i, item) in items.enumerated() {
            context.index0 = i
            let iteration = Scope(parent: scope)
            try assign(loop.target, item, in: iteration)
            iteration.set("loop", .loop(context))
            if try execute(loop.body, iteration, &out) == .breakLoop { break }
        }
    }

    private func assign(_ target: JinjaAssignTarget, _ value: Value, in scope: Scope) throws {
        switch target {
        case .name(let name):
            scope.set(name, value)
        case .namespaceAttribute(let name, let attribute):
            guard case .namespace(let ns) = scope.lookup(name) ?? .undefinedName(name) else {
                throw JinjaFailure.render(
                    "cannot assign attribute '\(attribute)' on '\(name)', which is not a namespace()")
            }
            guard !attribute.hasPrefix("_") else {
                throw JinjaFailure.render("chat templates cannot store underscore-prefixed attributes on a namespace")
            }
            ns.attributes[attribute] = value
        case .unpack(let names):
            let items = try iterate(value)
            guard items.count == names.count else {
                throw JinjaFailure.render(
                    items.count < names.count
                        ? "not enough values to unpack (expected \(names.count), got \(items.count))"
                        : "too many values to unpack (expected \(names.count))")
            }
            for (name, item) in zip(names, items) { scope.set(name, item) }
        }
    }

    /// Python iteration: list items, dict keys, string characters; undefined iterates as empty.
    func iterate(_ value: Value) throws -> [Value] {
        switch value {
        case .list(let items): return items
        case .dict(let d): return d.keys.map { .string($0) }
        case .string(let s): return s.unicodeScalars.map { .string(String($0)) }
        case .undefined: return []
        default: throw JinjaFailure.render("'\(value.typeName)' object is not iterable")
        }
    }

    // MARK: - Expressions

    func eval(_ expr: JinjaExpr, _ scope: Scope) throws -> Value {
        switch expr {
        case .constant(let c):
            return Value(c)
        case .name(let name, _):
            if let v = scope.lookup(name) { return v }
            return JinjaInterpreter.globalFunctions.contains(name) ? .callable(.global(name)) : .undefinedName(name)
        case .list(let items), .tuple(let items):
            return .list(try items.map { try eval($0, scope) })
        case .dict(let pairs, let location):
            var d = ValueDict()
            for (keyExpr, valueExpr) in pairs {
                let key = try eval(keyExpr, scope)
                guard case .string(let k) = key else {
                    throw JinjaFailure(
                        kind: .render, message: "dict keys must be strings here, got \(key.typeName)",
                        location: location)
                }
                d[k] = try eval(valueExpr, scope)
            }
            return .dict(d)
        case .attribute(let base, let name, let location):
            let object = try eval(base, scope)
            return try at(location) { try attribute(of: object, name) }
        case .item(let base, let key, let location):
            let object = try eval(base, scope)
            let k = try eval(key, scope)
            return try at(location) { try item(of: object, k) }
        case .slice(let base, let start, let stop, let step, let location):
            let object = try eval(base, scope)
            let bounds = try [start, stop, step].map { try $0.map { try eval($0, scope) } }
            return try at(location) { try slice(object, bounds[0], bounds[1], bounds[2]) }
        case .call(let callee, let arguments, let location):
            let function = try eval(callee, scope)
            let args = try evalArguments(arguments, scope)
            return try at(location) { try call(function, args) }
        case .filter(let base, let filterCall):
            let value = try eval(base, scope)
            return try applyFilters([filterCall], to: value, scope)
        case .test(let base, let test, let arguments, let negated, let location):
            let value = try eval(base, scope)
            let args = try evalArguments(arguments, scope)
            let result = try at(location) { try apply(test, to: value, args) }
            return .bool(result != negated)
        case .not(let operand):
            return .bool(!(try eval(operand, scope).isTruthy))
        case .negate(let operand, let location):
            let v = try eval(operand, scope)
            return try at(location) { try PythonOperators.negate(v) }
        case .unaryPlus(let operand, let location):
            let v = try eval(operand, scope)
            return try at(location) { try PythonOperators.unaryPlus(v) }
        case .binary(let op, let lhs, let rhs, let location):
            let a = try eval(lhs, scope)
            if op == .modulo, case .string(let format) = a {
                // printf-style formatting: a tuple literal on the right gives the arguments, anything else
                // is the single argument (a dict feeds %(name)s).
                let arguments: [Value]
                if case .tuple(let items) = rhs {
                    arguments = try items.map { try eval($0, scope) }
                } else {
                    arguments = [try eval(rhs, scope)]
                }
                return try at(location) { .string(try PythonFormat.percent(format, arguments)) }
            }
            let b = try eval(rhs, scope)
            return try at(location) { try PythonOperators.binary(op, a, b) }
        case .and(let lhs, let rhs):
            let a = try eval(lhs, scope)
            return a.isTruthy ? try eval(rhs, scope) : a
        case .or(let lhs, let rhs):
            let a = try eval(lhs, scope)
            return a.isTruthy ? a : try eval(rhs, scope)
        case .compare(let first, let operations, let location):
            var left = try eval(first, scope)
            for (op, operand) in operations {
                let right = try eval(operand, scope)
                guard try at(location, { try PythonOperators.compare(op, left, right) }) else { return .bool(false) }
                left = right
            }
            return .bool(true)
        case .concat(let items, _):
            var s = ""
            for item in items { s += PythonFormat.str(try eval(item, scope)) }
            return .string(s)
        case .conditional(let test, let then, let otherwise):
            if try eval(test, scope).isTruthy { return try eval(then, scope) }
            if let otherwise { return try eval(otherwise, scope) }
            return .undefined(hint: "the inline if-expression evaluated to false and no else section was defined")
        }
    }

    func evalArguments(_ arguments: JinjaArguments, _ scope: Scope) throws -> Arguments {
        Arguments(
            positional: try arguments.positional.map { try eval($0, scope) },
            keyword: try arguments.keyword.map { ($0.name, try eval($0.value, scope)) })
    }

    private func applyFilters(_ filters: [JinjaFilterCall], to value: Value, _ scope: Scope) throws -> Value {
        var v = value
        for f in filters {
            let args = try evalArguments(f.arguments, scope)
            v = try at(f.location) { try apply(f.filter, to: v, args) }
        }
        return v
    }

    // MARK: - Attribute and item access

    /// How Jinja names an object in "has no attribute" messages.
    private func typeDescription(_ v: Value) -> String {
        if case .none = v { return "None" }
        return "'\(v.typeName) object'"
    }

    /// Jinja's sandboxed `getattr(obj, name)`: a method of the object if it has one, else an item (dict
    /// key, namespace attribute), else undefined.
    func attribute(of object: Value, _ name: String) throws -> Value {
        switch object {
        case .undefined(let hint):
            throw JinjaFailure.undefined(hint)
        case .dict(let d):
            if JinjaInterpreter.dictMethods.contains(name) { return .callable(.method(object, name)) }
            if let v = d[name] { return v }
        case .string:
            if JinjaInterpreter.stringMethods.contains(name) { return .callable(.method(object, name)) }
        case .list:
            if JinjaInterpreter.listMethods.contains(name) { return .callable(.method(object, name)) }
        case .namespace(let ns):
            if let v = ns.attributes[name] { return v }
        case .loop(let loop):
            return loop.attribute(name)
        default:
            break
        }
        return .undefined(hint: "\(typeDescription(object)) has no attribute \(PythonFormat.stringRepr(name))")
    }

    /// Jinja's `getitem(obj, key)`: an item if there is one, else (for a string key) an attribute, else
    /// undefined.
    func item(of object: Value, _ key: Value) throws -> Value {
        switch (object, key) {
        case (.undefined(let hint), _):
            throw JinjaFailure.undefined(hint)
        case (.dict(let d), .string(let k)):
            if let v = d[k] { return v }
        case (.list(let items), .int(_)), (.list(let items), .bool(_)):
            if let i = pythonIndex(key, count: items.count) { return items[i] }
        case (.string(let s), .int(_)), (.string(let s), .bool(_)):
            let scalars = Array(s.unicodeScalars)
            if let i = pythonIndex(key, count: scalars.count) { return .string(String(scalars[i])) }
        default:
            break
        }
        if case .string(let name) = key {
            let viaAttribute = try attribute(of: object, name)
            if !viaAttribute.isUndefined { return viaAttribute }
            return .undefined(hint: "\(typeDescription(object)) has no attribute \(PythonFormat.stringRepr(name))")
        }
        return .undefined(hint: "\(typeDescription(object)) has no element \(PythonFormat.repr(key))")
    }

    private func pythonIndex(_ key: Value, count: Int) -> Int? {
        let raw: Int
        switch key {
        case .int(let i): raw = i
        case .bool(let b): raw = b ? 1 : 0
        default: return nil
        }
        let i = raw < 0 ? raw + count : raw
        return i >= 0 && i < count ? i : nil
    }

    /// `obj[start:stop:step]` on a list or string, with Python's clamping of out-of-range bounds.
    private func slice(_ object: Value, _ start: Value?, _ stop: Value?, _ step: Value?) throws -> Value {
        func bound(_ v: Value?) throws -> Int? {
            switch v {
            case nil, .none?: return nil
            case .int(let i)?: return i
            case .bool(let b)?: return b ? 1 : 0
            case .undefined(let hint)?: throw JinjaFailure.undefined(hint)
            case let other?:
                throw JinjaFailure.render("slice indices must be integers or None, not \(other.typeName)")
            }
        }
        let stepValue = try bound(step) ?? 1
        guard stepValue != 0 else { throw JinjaFailure.render("slice step cannot be zero") }
        func indices(_ count: Int) throws -> [Int] {
            let (lower, upper) = stepValue > 0 ? (0, count) : (-1, count - 1)
            func clamp(_ i: Int) -> Int { i < 0 ? max(i + count, lower) : min(i, upper) }
            let from = try bound(start).map(clamp) ?? (stepValue > 0 ? lower : upper)
            let to = try bound(stop).map(clamp) ?? (stepValue > 0 ? upper : lower)
            return Array(stride(from: from, to: to, by: stepValue))
        }
        switch object {
        case .list(let items):
            return .list(try indices(items.count).map { items[$0] })
        case .string(let s):
            let scalars = Array(s.unicodeScalars)
            return .string(String(String.UnicodeScalarView(try indices(scalars.count).map { scalars[$0] })))
        case .undefined(let hint):
            throw JinjaFailure.undefined(hint)
        default:
            throw JinjaFailure.render("'\(object.typeName)' object is not subscriptable")
        }
    }

    // MARK: - Calls

    func call(_ function: Value, _ args: Arguments) throws -> Value {
        switch function {
        case .callable(.global(let name)):
            return try callGlobal(name, args)
        case .callable(.macro(let definition, let scope)):
            return try callMacro(definition, scope, args)
        case .callable(.method(let receiver, let name)):
            return try callMethod(receiver, name, args)
        case .undefined(let hint):
            throw JinjaFailure.undefined(hint)
        default:
            throw JinjaFailure.render("'\(function.typeName)' object is not callable")
        }
    }

    private func callMacro(_ macro: JinjaMacroDefinition, _ definitionScope: Scope, _ args: Arguments) throws -> Value {
        let scope = Scope(parent: definitionScope)
        guard args.positional.count <= macro.parameters.count else {
            throw JinjaFailure.render("macro '\(macro.name)' takes not more than \(macro.parameters.count) argument(s)")
        }
        var bound = [Value?](repeating: nil, count: macro.parameters.count)
        for (i, v) in args.positional.enumerated() { bound[i] = v }
        for (name, v) in args.keyword {
            guard let i = macro.parameters.firstIndex(where: { $0.name == name }) else {
                throw JinjaFailure.render("macro '\(macro.name)' takes no keyword argument '\(name)'")
            }
            bound[i] = v
        }
        for (i, parameter) in macro.parameters.enumerated() {
            if let v = bound[i] {
                scope.set(parameter.name, v)
            } else if let defaultValue = parameter.defaultValue {
                scope.set(parameter.name, try eval(defaultValue, scope))
            } else {
                scope.set(parameter.name, .undefined(hint: "parameter '\(parameter.name)' was not provided"))
            }
        }
        var out = ""
        _ = try execute(macro.body, scope, &out)
        return .string(out)
    }
}

/// Evaluated call arguments, with Python-style binding to a signature.
struct Arguments {
    var positional: [Value] = []
    var keyword: [(name: String, value: Value)] = []

    /// Binds to `parameters` (name, default; nil default = required) and returns one value per parameter.
    func bind(_ function: String, _ parameters: [(String, Value?)]) throws -> [Value] {
        guard positional.count <= parameters.count else {
            throw JinjaFailure.render(
                "\(function)() takes at most \(parameters.count) argument(s) (\(positional.count) given)")
        }
        var values = [Value?](repeating: nil, count: parameters.count)
        for (i, v) in positional.enumerated() { values[i] = v }
        for (name, v) in keyword {
            guard let i = parameters.firstIndex(where: { $0.0 == name }) else {
                throw JinjaFailure.render("\(function)() got an unexpected keyword argument '\(name)'")
            }
            guard values[i] == nil else {
                throw JinjaFailure.render("\(function)() got multiple values for argument '\(name)'")
            }
            values[i] = v
        }
        return try parameters.enumerated().map { i, p in
            if let v = values[i] ?? p.1 { return v }
            throw JinjaFailure.render("\(function)() missing required argument '\(p.0)'")
        }
    }
}
