/// Builds the syntax tree from `JinjaLexer` tokens with Jinja 2's grammar and operator precedence
/// (jinja2/parser.py), loosest first:
///
///     a if c else b  ·  or  ·  and  ·  not  ·  == != < <= > >= in, not in  ·  + -  ·  ~  ·  * / // %
///     ·  **  ·  unary - +  ·  primary with .attr [item] (call), then | filter and `is` test
///
/// so `not x|length == 1` is `not ((x|length) == 1)` and `-1|abs` is `abs(-1)`. Statements: `if/elif/else`,
/// `for` (with `else`, an `if` filter, tuple targets), `set` (name, `ns.attr`, tuple, block form), `macro`,
/// `filter`, `with`, `break`/`continue` (the loopcontrols extension Hugging Face enables), `print`, and
/// transformers' `generation` block (rendered as its body). Anything else is a syntax error naming the tag.
struct JinjaParser {
    private let tokens: [JinjaToken]
    private let templateName: String
    private var index = 0
    private var loopDepth = 0

    init(tokens: [JinjaToken], templateName: String) {
        self.tokens = tokens
        self.templateName = templateName
    }

    static func parse(source: String, templateName: String) throws -> [JinjaNode] {
        var lexer = JinjaLexer(source: source, templateName: templateName)
        var parser = JinjaParser(tokens: try lexer.tokenize(), templateName: templateName)
        return try parser.parseTemplate()
    }

    mutating func parseTemplate() throws -> [JinjaNode] {
        try parseBody(until: [], opener: nil).nodes
    }

    // MARK: - Token stream

    private var current: JinjaToken { tokens[index] }
    private var location: SourceLocation { current.location }

    private mutating func advance() {
        if index < tokens.count - 1 { index += 1 }
    }

    private func peek(_ offset: Int = 1) -> JinjaToken {
        tokens[min(index + offset, tokens.count - 1)]
    }

    private func isOp(_ op: String) -> Bool {
        if case .op(op) = current.kind { true } else { false }
    }

    private func isName(_ name: String) -> Bool {
        if case .name(name) = current.kind { true } else { false }
    }

    private mutating func skipOp(_ op: String) -> Bool {
        guard isOp(op) else { return false }
        advance()
        return true
    }

    private mutating func skipName(_ name: String) -> Bool {
        guard isName(name) else { return false }
        advance()
        return true
    }

    private mutating func expectOp(_ op: String) throws {
        guard skipOp(op) else { throw error("expected '\(op)', found \(describe(current))") }
    }

    private mutating func expectName() throws -> String {
        guard case .name(let n) = current.kind else { throw error("expected a name, found \(describe(current))") }
        advance()
        return n
    }

    private mutating func expectBlockEnd() throws {
        guard case .blockEnd = current.kind else {
            throw error("expected the end of the statement '%}', found \(describe(current))")
        }
        advance()
    }

    private func error(_ message: String, at location: SourceLocation? = nil) -> ChatTemplateError {
        let l = location ?? self.location
        return .syntax(template: templateName, line: l.line, column: l.column, message: message)
    }

    private func describe(_ token: JinjaToken) -> String {
        switch token.kind {
        case .text: "template text"
        case .blockBegin: "'{%'"
        case .blockEnd: "'%}'"
        case .variableBegin: "'{{'"
        case .variableEnd: "'}}'"
        case .name(let n): "'\(n)'"
        case .string(let s): "string '\(s.prefix(20))'"
        case .integer(let i): "integer \(i)"
        case .float(let d): "number \(d)"
        case .op(let o): "'\(o)'"
        case .eof: "the end of the template"
        }
    }

    // MARK: - Statements

    /// Nodes up to a `{% name %}` tag with `name` in `ends`; returns that name with the stream after it.
    private mutating func parseBody(until ends: Set<String>, opener: (tag: String, location: SourceLocation)?)
        throws -> (nodes: [JinjaNode], end: String)
    {
        var nodes: [JinjaNode] = []
        while true {
            let token = current
            switch token.kind {
            case .text(let s):
                nodes.append(.text(s))
                advance()
            case .variableBegin:
                advance()
                let expr = try parseTuple()
                guard case .variableEnd = current.kind else {
                    throw error("expected the end of the print statement '}}', found \(describe(current))")
                }
                advance()
                nodes.append(.output(expr, token.location))
            case .blockBegin:
                advance()
                guard case .name(let tag) = current.kind else { throw error("expected a tag name after '{%'") }
                if ends.contains(tag) {
                    advance()
                    return (nodes, tag)
                }
                if let opener, JinjaParser.closingTags.contains(tag) {
                    let expected = ends.sorted().map { "{% \($0) %}" }.joined(separator: " or ")
                    throw error(
                        "unexpected {% \(tag) %}: the {% \(opener.tag) %} at \(opener.location) is still open "
                            + "(expected \(expected))")
                }
                nodes.append(contentsOf: try parseStatement(tag))
            case .eof:
                if let opener {
                    let expected = ends.sorted().map { "{% \($0) %}" }.joined(separator: " or ")
                    throw error(
                        "unexpected end of template: the {% \(opener.tag) %} at \(opener.location) is not closed "
                            + "(expected \(expected))", at: opener.location)
                }
                return (nodes, "")
            default:
                throw error("unexpected \(describe(token))")
            }
        }
    }

    private mutating func parseStatement(_ tag: String) throws -> [JinjaNode] {
        let start = location
        switch tag {
        case "if": return [try parseIf()]
        case "for": return [try parseFor()]
        case "set": return [try parseSet()]
        case "macro": return [try parseMacro()]
        case "filter":
            advance()
            let filters = try parseFilterChain(startInline: true)
            try expectBlockEnd()
            let body = try parseBody(until: ["endfilter"], opener: ("filter", start)).nodes
            try expectBlockEnd()
            return [.filterBlock(filters, body)]
        case "with":
            advance()
            var assignments: [(target: JinjaAssignTarget, value: JinjaExpr)] = []
            while !isBlockEnd {
                if !assignments.isEmpty { try expectOp(",") }
                let target = try parseAssignTarget(withNamespace: false, extraEnd: [])
                try expectOp("=")
                assignments.append((target, try parseExpression()))
            }
            try expectBlockEnd()
            let body = try parseBody(until: ["endwith"], opener: ("with", start)).nodes
            try expectBlockEnd()
            return [.scope(assignments, body, start)]
        case "break", "continue":
            guard loopDepth > 0 else { throw error("{% \(tag) %} outside a {% for %} loop") }
            advance()
            try expectBlockEnd()
            return [tag == "break" ? .breakLoop : .continueLoop]
        case "print":
            advance()
            let expr = try parseTuple()
            try expectBlockEnd()
            return [.output(expr, start)]
        case "generation":
            // transformers' AssistantTracker extension: marks assistant text; renders its body unchanged.
            advance()
            try expectBlockEnd()
            let body = try parseBody(until: ["endgeneration"], opener: ("generation", start)).nodes
            try expectBlockEnd()
            return body
        case "include", "import", "from", "extends", "block", "call", "autoescape", "do", "trans", "debug":
            throw error("{% \(tag) %} is not supported by Tailor's chat template interpreter")
        case _ where JinjaParser.closingTags.contains(tag):
            throw error("unexpected {% \(tag) %} with no open block it could close")
        default:
            throw error("unknown tag '\(tag)'")
        }
    }

    /// Tags that only continue or close a block.
    private static let closingTags: Set<String> = [
        "elif", "else", "endif", "endfor", "endset", "endmacro", "endfilter", "endwith", "endgeneration", "endraw",
    ]

    private var isBlockEnd: Bool {
        if case .blockEnd = current.kind { true } else { false }
    }

    private mutating func parseIf() throws -> JinjaNode {
        let start = location
        advance()
        var branches: [(condition: JinjaExpr, body: [JinjaNode])] = []
        var condition = try parseTuple(withCondexpr: false)
        while true {
            try expectBlockEnd()
            let (body, end) = try parseBody(until: ["elif", "else", "endif"], opener: ("if", start))
            branches.append((condition, body))
            switch end {
            case "elif":
                condition = try parseTuple(withCondexpr: false)
            case "else":
                try expectBlockEnd()
                let otherwise = try parseBody(until: ["endif"], opener: ("if", start)).nodes
                try expectBlockEnd()
                return .conditional(branches, otherwise: otherwise)
            default:
                try expectBlockEnd()
                return .conditional(branches, otherwise: [])
            }
        }
    }

    private mutating func parseFor() throws -> JinjaNode {
        let start = location
        advance()
        let target = try parseAssignTarget(withNamespace: false, extraEnd: ["in"])
        guard case .name("in") = current.kind else { throw error("expected 'in' in the for loop") }
        advance()
        let iterable = try parseTuple(withCondexpr: false, extraEnd: ["recursive"])
        let condition = skipName("if") ? try parseExpression() : nil
        if isName("recursive") { throw error("recursive for loops are not supported") }
        try expectBlockEnd()
        loopDepth += 1
        let (body, end) = try parseBody(until: ["endfor", "else"], opener: ("for", start))
        loopDepth -= 1
        var otherwise: [JinjaNode] = []
        try expectBlockEnd()
        if end == "else" {
            otherwise = try parseBody(until: ["endfor"], opener: ("for", start)).nodes
            try expectBlockEnd()
        }
        return .forLoop(
            JinjaForLoop(
                target: target, iterable: iterable, condition: condition, body: body, otherwise: otherwise,
                location: start))
    }

    private mutating func parseSet() throws -> JinjaNode {
        let start = location
        advance()
        let target = try parseAssignTarget(withNamespace: true, extraEnd: [])
        if skipOp("=") {
            let value = try parseTuple()
            try expectBlockEnd()
            return .assign(target, value, start)
        }
        let filters = try parseFilterChain(startInline: false)
        try expectBlockEnd()
        let body = try parseBody(until: ["endset"], opener: ("set", start)).nodes
        try expectBlockEnd()
        return .assignBlock(target, filters, body, start)
    }

    private mutating func parseMacro() throws -> JinjaNode {
        let start = location
        advance()
        let name = try expectName()
        try expectOp("(")
        var parameters: [(name: String, defaultValue: JinjaExpr?)] = []
        while !isOp(")") {
            if !parameters.isEmpty { try expectOp(",") }
            let p = try expectName()
            if skipOp("=") {
                parameters.append((p, try parseExpression()))
            } else if parameters.contains(where: { $0.defaultValue != nil }) {
                throw error("non-default argument follows default argument")
            } else {
                parameters.append((p, nil))
            }
        }
        try expectOp(")")
        try expectBlockEnd()
        let savedDepth = loopDepth
        loopDepth = 0
        let body = try parseBody(until: ["endmacro"], opener: ("macro", start)).nodes
        loopDepth = savedDepth
        try expectBlockEnd()
        return .macro(JinjaMacroDefinition(name: name, parameters: parameters, body: body, location: start))
    }

    /// `name`, `ns.attr` (with `withNamespace`), or `a, b` / `(a, b)` for unpacking.
    private mutating func parseAssignTarget(withNamespace: Bool, extraEnd: Set<String>) throws -> JinjaAssignTarget {
        let start = location
        let parenthesized = skipOp("(")
        var names: [String] = []
        while true {
            let name = try expectName()
            if withNamespace, names.isEmpty, skipOp(".") {
                let attribute = try expectName()
                if parenthesized { try expectOp(")") }
                return .namespaceAttribute(namespace: name, attribute: attribute)
            }
            if ["true", "false", "True", "False", "none", "None"].contains(name) {
                throw error("cannot assign to '\(name)'", at: start)
            }
            names.append(name)
            guard skipOp(",") else { break }
            if parenthesized ? isOp(")") : (isBlockEnd || isOp("=") || extraEnd.contains(currentName ?? "")) {
                break
            }
        }
        if parenthesized { try expectOp(")") }
        return names.count == 1 && !parenthesized ? .name(names[0]) : .unpack(names)
    }

    private var currentName: String? {
        if case .name(let n) = current.kind { n } else { nil }
    }

    // MARK: - Expressions

    private mutating func parseExpression() throws -> JinjaExpr {
        try parseConditional()
    }

    /// Comma-separated expressions form a tuple: `{{ a, b }}`, `{% set x = 1, 2 %}`.
    private mutating func parseTuple(
        withCondexpr: Bool = true, extraEnd: Set<String> = [], explicitParentheses: Bool = false
    ) throws -> JinjaExpr {
        var items: [JinjaExpr] = []
        var isTuple = false
        while true {
            if !items.isEmpty { try expectOp(",") }
            if isTupleEnd(extraEnd) { break }
            items.append(withCondexpr ? try parseConditional() : try parseOr())
            if isOp(",") { isTuple = true } else { break }
        }
        if !isTuple {
            if let first = items.first { return first }
            if !explicitParentheses { throw error("expected an expression, found \(describe(current))") }
        }
        return .tuple(items)
    }

    private func isTupleEnd(_ extraEnd: Set<String>) -> Bool {
        switch current.kind {
        case .variableEnd, .blockEnd, .op(")"): true
        case .name(let n): extraEnd.contains(n)
        default: false
        }
    }

    private mutating func parseConditional() throws -> JinjaExpr {
        var expr = try parseOr()
        while skipName("if") {
            let test = try parseOr()
            let otherwise = skipName("else") ? try parseConditional() : nil
            expr = .conditional(test: test, then: expr, otherwise: otherwise)
        }
        return expr
    }

    private mutating func parseOr() throws -> JinjaExpr {
        var left = try parseAnd()
        while skipName("or") { left = .or(left, try parseAnd()) }
        return left
    }

    private mutating func parseAnd() throws -> JinjaExpr {
        var left = try parseNot()
        while skipName("and") { left = .and(left, try parseNot()) }
        return left
    }

    private mutating func parseNot() throws -> JinjaExpr {
        if skipName("not") { return .not(try parseNot()) }
        return try parseCompare()
    }

    private mutating func parseCompare() throws -> JinjaExpr {
        let start = location
        let first = try parseMath1()
        var operations: [(op: JinjaCompareOperator, operand: JinjaExpr)] = []
        while true {
            if case .op(let o) = current.kind, let op = JinjaCompareOperator(rawValue: o), op != .contains {
                advance()
                operations.append((op, try parseMath1()))
            } else if skipName("in") {
                operations.append((.contains, try parseMath1()))
            } else if isName("not"), case .name("in") = peek().kind {
                advance()
                advance()
                operations.append((.notContains, try parseMath1()))
            } else {
                break
            }
        }
        return operations.isEmpty ? first : .compare(first, operations, start)
    }

    private mutating func parseMath1() throws -> JinjaExpr {
        var left = try parseConcat()
        while true {
            let l = location
            if skipOp("+") {
                left = .binary(.add, left, try parseConcat(), l)
            } else if skipOp("-") {
                left = .binary(.subtract, left, try parseConcat(), l)
            } else {
                return left
            }
        }
    }

    private mutating func parseConcat() throws -> JinjaExpr {
        let start = location
        var items = [try parseMath2()]
        while skipOp("~") { items.append(try parseMath2()) }
        return items.count == 1 ? items[0] : .concat(items, start)
    }

    private mutating func parseMath2() throws -> JinjaExpr {
        var left = try parsePower()
        while true {
            let l = location
            guard case .op(let o) = current.kind, ["*", "/", "//", "%"].contains(o),
                let op = JinjaBinaryOperator(rawValue: o)
            else { return left }
            advance()
            left = .binary(op, left, try parsePower(), l)
        }
    }

    private mutating func parsePower() throws -> JinjaExpr {
        var left = try parseUnary()
        while true {
            let l = location
            guard skipOp("**") else { return left }
            left = .binary(.power, left, try parseUnary(), l)
        }
    }

    private mutating func parseUnary(withFilter: Bool = true) throws -> JinjaExpr {
        let start = location
        var node: JinjaExpr
        if skipOp("-") {
            node = .negate(try parseUnary(withFilter: false), start)
        } else if skipOp("+") {
            node = .unaryPlus(try parseUnary(withFilter: false), start)
        } else {
            node = try parsePrimary()
        }
        node = try parsePostfix(node, expressionStart: start)
        if withFilter { node = try parseFilterExpression(node) }
        return node
    }

    private mutating func parsePrimary() throws -> JinjaExpr {
        let token = current
        switch token.kind {
        case .name(let n):
            advance()
            switch n {
            case "true", "True": return .constant(.bool(true))
            case "false", "False": return .constant(.bool(false))
            case "none", "None": return .constant(.none)
            default: return .name(n, token.location)
            }
        case .string(let s):
            advance()
            var text = s
            while case .string(let more) = current.kind {
                text += more
                advance()
            }
            return .constant(.string(text))
        case .integer(let i):
            advance()
            return .constant(.int(i))
        case .float(let d):
            advance()
            return .constant(.double(d))
        case .op("("):
            advance()
            let expr = try parseTuple(explicitParentheses: true)
            try expectOp(")")
            return expr
        case .op("["):
            advance()
            var items: [JinjaExpr] = []
            while !isOp("]") {
                if !items.isEmpty { try expectOp(",") }
                if isOp("]") { break }
                items.append(try parseExpression())
            }
            try expectOp("]")
            return .list(items)
        case .op("{"):
            advance()
            var pairs: [(key: JinjaExpr, value: JinjaExpr)] = []
            while !isOp("}") {
                if !pairs.isEmpty { try expectOp(",") }
                if isOp("}") { break }
                let key = try parseExpression()
                try expectOp(":")
                pairs.append((key, try parseExpression()))
            }
            try expectOp("}")
            return .dict(pairs, token.location)
        default:
            throw error("unexpected \(describe(token))")
        }
    }

    /// Attribute, item and call suffixes. A call's location is where its expression starts
    /// (`raise_exception(...)` points at `raise_exception`).
    private mutating func parsePostfix(_ base: JinjaExpr, expressionStart: SourceLocation) throws -> JinjaExpr {
        var node = base
        while true {
            let start = location
            if skipOp(".") {
                switch current.kind {
                case .name(let n):
                    advance()
                    node = .attribute(node, n, start)
                case .integer(let i):
                    advance()
                    node = .item(node, .constant(.int(i)), start)
                default:
                    throw error("expected a name or number after '.'")
                }
            } else if skipOp("[") {
                var subscripts: [JinjaExpr] = []
                while !isOp("]") {
                    if !subscripts.isEmpty { try expectOp(",") }
                    subscripts.append(try parseSubscript(of: node, at: start))
                }
                try expectOp("]")
                switch subscripts.count {
                case 0: throw error("expected a subscript expression", at: start)
                case 1:
                    if case .slice = subscripts[0] {
                        node = subscripts[0]
                    } else {
                        node = .item(node, subscripts[0], start)
                    }
                default: node = .item(node, .tuple(subscripts), start)
                }
            } else if isOp("(") {
                node = .call(node, try parseCallArguments(), expressionStart)
            } else {
                return node
            }
        }
    }

    /// One subscript: an expression, or a slice `start:stop:step` with any part left out.
    private mutating func parseSubscript(of base: JinjaExpr, at start: SourceLocation) throws -> JinjaExpr {
        var first: JinjaExpr? = nil
        if !isOp(":") {
            let e = try parseExpression()
            if !isOp(":") { return e }
            first = e
        }
        advance()  // ':'
        var stop: JinjaExpr? = nil
        if !isOp(":") && !isOp("]") && !isOp(",") { stop = try parseExpression() }
        var step: JinjaExpr? = nil
        if skipOp(":"), !isOp("]") && !isOp(",") { step = try parseExpression() }
        return .slice(base, start: first, stop: stop, step: step, start)
    }

    private mutating func parseCallArguments() throws -> JinjaArguments {
        try expectOp("(")
        var arguments = JinjaArguments()
        while !isOp(")") {
            if !arguments.positional.isEmpty || !arguments.keyword.isEmpty {
                try expectOp(",")
                if isOp(")") { break }
            }
            if isOp("*") || isOp("**") { throw error("*args and **kwargs in calls are not supported") }
            if case .name(let n) = current.kind, case .op("=") = peek().kind {
                advance()
                advance()
                arguments.keyword.append((n, try parseExpression()))
            } else {
                guard arguments.keyword.isEmpty else { throw error("positional argument follows keyword argument") }
                arguments.positional.append(try parseExpression())
            }
        }
        try expectOp(")")
        return arguments
    }

    private mutating func parseFilterExpression(_ base: JinjaExpr) throws -> JinjaExpr {
        var node = base
        while true {
            if isOp("|") {
                for call in try parseFilterChain(startInline: false) { node = .filter(node, call) }
            } else if isName("is") {
                node = try parseTest(node)
            } else if isOp("(") {
                let start = location
                node = .call(node, try parseCallArguments(), start)
            } else {
                return node
            }
        }
    }

    /// `| a | b(x)`; with `startInline` the first filter has no leading `|` (`{% filter upper %}`).
    private mutating func parseFilterChain(startInline: Bool) throws -> [JinjaFilterCall] {
        var calls: [JinjaFilterCall] = []
        var inline = startInline
        while inline || skipOp("|") {
            inline = false
            let start = location
            var name = try expectName()
            while skipOp(".") { name += "." + (try expectName()) }
            guard let filter = JinjaFilter(name: name) else {
                if JinjaFilter.unsupported.contains(name) {
                    throw error(
                        "the filter '\(name)' is not supported by Tailor's chat template interpreter", at: start)
                }
                throw error("no filter named '\(name)'", at: start)
            }
            let arguments = isOp("(") ? try parseCallArguments() : JinjaArguments()
            calls.append(JinjaFilterCall(filter: filter, arguments: arguments, location: start))
        }
        return calls
    }

    private mutating func parseTest(_ base: JinjaExpr) throws -> JinjaExpr {
        let start = location
        advance()  // 'is'
        let negated = skipName("not")
        var name = try expectName()
        while skipOp(".") { name += "." + (try expectName()) }
        guard let test = JinjaTest(name: name) else { throw error("no test named '\(name)'", at: start) }
        var arguments = JinjaArguments()
        if isOp("(") {
            arguments = try parseCallArguments()
        } else {
            let takesArgument: Bool
            switch current.kind {
            case .name(let n): takesArgument = !["else", "or", "and"].contains(n)
            case .string, .integer, .float, .op("["), .op("{"): takesArgument = true
            default: takesArgument = false
            }
            if takesArgument {
                if isName("is") { throw error("tests cannot be chained with 'is'") }
                let argumentStart = location
                arguments.positional = [try parsePostfix(try parsePrimary(), expressionStart: argumentStart)]
            }
        }
        return .test(base, test, arguments, negated: negated, start)
    }
}
