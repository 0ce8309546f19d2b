/// The syntax tree of a parsed template. It holds no runtime values, so a compiled template is `Sendable`
/// and is rendered many times (once per training example) without re-parsing.

/// A literal in the template text.
enum JinjaConstant: Sendable {
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
}

/// Arguments of a call, filter or test: `f(a, b, key=c)`.
struct JinjaArguments: Sendable {
    var positional: [JinjaExpr] = []
    var keyword: [(name: String, value: JinjaExpr)] = []
}

enum JinjaBinaryOperator: String, Sendable {
    case add = "+"
    case subtract = "-"
    case multiply = "*"
    case divide = "/"
    case floorDivide = "//"
    case modulo = "%"
    case power = "**"
}

enum JinjaCompareOperator: String, Sendable {
    case equal = "=="
    case notEqual = "!="
    case less = "<"
    case lessOrEqual = "<="
    case greater = ">"
    case greaterOrEqual = ">="
    case contains = "in"
    case notContains = "not in"
}

/// A filter application as written after `|`: `name(args)`.
struct JinjaFilterCall: Sendable {
    var filter: JinjaFilter
    var arguments: JinjaArguments
    var location: SourceLocation
}

indirect enum JinjaExpr: Sendable {
    case constant(JinjaConstant)
    case name(String, SourceLocation)
    case list([JinjaExpr])
    /// `(a, b)` or a bare `a, b`; evaluates to a list (tuples and lists render alike here).
    case tuple([JinjaExpr])
    case dict([(key: JinjaExpr, value: JinjaExpr)], SourceLocation)
    /// `a.b`: Jinja's getattr, which prefers an attribute (a method) over an item.
    case attribute(JinjaExpr, String, SourceLocation)
    /// `a[b]`: Jinja's getitem, which prefers an item over an attribute.
    case item(JinjaExpr, JinjaExpr, SourceLocation)
    case slice(JinjaExpr, start: JinjaExpr?, stop: JinjaExpr?, step: JinjaExpr?, SourceLocation)
    case call(JinjaExpr, JinjaArguments, SourceLocation)
    case filter(JinjaExpr, JinjaFilterCall)
    case test(JinjaExpr, JinjaTest, JinjaArguments, negated: Bool, SourceLocation)
    case not(JinjaExpr)
    case negate(JinjaExpr, SourceLocation)
    case unaryPlus(JinjaExpr, SourceLocation)
    case binary(JinjaBinaryOperator, JinjaExpr, JinjaExpr, SourceLocation)
    case and(JinjaExpr, JinjaExpr)
    case or(JinjaExpr, JinjaExpr)
    /// `a < b < c` chains as in Python.
    case compare(JinjaExpr, [(op: JinjaCompareOperator, operand: JinjaExpr)], SourceLocation)
    /// `a ~ b ~ c`: the string forms joined.
    case concat([JinjaExpr], SourceLocation)
    /// `a if test else b`; without `else` the value is undefined.
    case conditional(test: JinjaExpr, then: JinjaExpr, otherwise: JinjaExpr?)
}

/// What `{% set %}` and `{% for %}` assign to.
enum JinjaAssignTarget: Sendable {
    case name(String)
    /// `ns.attr`, only on a `namespace()`.
    case namespaceAttribute(namespace: String, attribute: String)
    /// `a, b` unpacks a sequence of that length.
    case unpack([String])
}

struct JinjaForLoop: Sendable {
    var target: JinjaAssignTarget
    var iterable: JinjaExpr
    /// `for x in xs if cond`: items failing `cond` are skipped and not counted in `loop.length`.
    var condition: JinjaExpr?
    var body: [JinjaNode]
    var otherwise: [JinjaNode]
    var location: SourceLocation
}

struct JinjaMacroDefinition: Sendable {
    var name: String
    var parameters: [(name: String, defaultValue: JinjaExpr?)]
    var body: [JinjaNode]
    var location: SourceLocation
}

indirect enum JinjaNode: Sendable {
    case text(String)
    case output(JinjaExpr, SourceLocation)
    case conditional([(condition: JinjaExpr, body: [JinjaNode])], otherwise: [JinjaNode])
    case forLoop(JinjaForLoop)
    case assign(JinjaAssignTarget, JinjaExpr, SourceLocation)
    /// `{% set x | filters %}body{% endset %}`
    case assignBlock(JinjaAssignTarget, [JinjaFilterCall], [JinjaNode], SourceLocation)
    case macro(JinjaMacroDefinition)
    /// `{% filter f %}body{% endfilter %}`
    case filterBlock([JinjaFilterCall], [JinjaNode])
    /// `{% with a = 1 %}body{% endwith %}`: assignments visible only inside.
    case scope([(target: JinjaAssignTarget, value: JinjaExpr)], [JinjaNode], SourceLocation)
    case breakLoop
    case continueLoop
}
