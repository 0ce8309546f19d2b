import Foundation
import XCTest

@testable import TailorKit

/// The interpreter's contract beyond the golden renders: error positions, whitespace control, scoping,
/// namespaces, filters, raise_exception, the message and config loaders.
final class ChatTemplateTests: XCTestCase {
    private func render(
        _ source: String, _ messages: [ChatMessage] = [], extra: [String: JSONValue] = [:], name: String = "t.jinja"
    ) throws -> String {
        try ChatTemplate(source: source, name: name, bosToken: "<s>", eosToken: "</s>")
            .render(messages, addGenerationPrompt: false, extra: extra)
    }

    private func assertSyntaxError(
        _ source: String, line: Int, column: Int, contains text: String, file: StaticString = #filePath,
        lineNo: UInt = #line
    ) {
        XCTAssertThrowsError(
            try ChatTemplate(source: source, name: "t.jinja", bosToken: "", eosToken: ""), file: file, line: lineNo
        ) {
            guard case .syntax(let template, let l, let c, let message)? = $0 as? ChatTemplateError else {
                return XCTFail("expected a syntax error, got \($0)", file: file, line: lineNo)
            }
            XCTAssertEqual(template, "t.jinja", file: file, line: lineNo)
            XCTAssertEqual(l, line, "line; \(message)", file: file, line: lineNo)
            XCTAssertEqual(c, column, "column; \(message)", file: file, line: lineNo)
            XCTAssertTrue(message.contains(text), "\"\(message)\" should contain \"\(text)\"", file: file, line: lineNo)
            XCTAssertTrue(
                $0.localizedDescription.hasPrefix("t.jinja:\(line):\(column): "), $0.localizedDescription, file: file,
                line: lineNo)
        }
    }

    // MARK: - Errors name the template, line and column

    func testUnsupportedConstructsAreSyntaxErrorsAtTheirPosition() {
        assertSyntaxError(
            "line one\n  {% include 'x.jinja' %}", line: 2, column: 6, contains: "{% include %} is not supported")
        assertSyntaxError("{% call m() %}x{% endcall %}", line: 1, column: 4, contains: "{% call %} is not supported")
        assertSyntaxError("{{ x }}\n{{ x | frobnicate }}", line: 2, column: 8, contains: "no filter named 'frobnicate'")
        assertSyntaxError("{{ xs|batch(2) }}", line: 1, column: 7, contains: "'batch' is not supported")
        assertSyntaxError("{% if x is shiny %}{% endif %}", line: 1, column: 9, contains: "no test named 'shiny'")
        assertSyntaxError("{{ f(*args) }}", line: 1, column: 6, contains: "*args")
        assertSyntaxError("{% for x in xs recursive %}{% endfor %}", line: 1, column: 16, contains: "recursive")
        assertSyntaxError("{% frobnicate %}", line: 1, column: 4, contains: "unknown tag 'frobnicate'")
    }

    func testMalformedTemplatesPointAtTheProblem() {
        assertSyntaxError(
            "a\n{% for m in messages %}\n{{ m }}", line: 2, column: 4, contains: "{% for %} at 2:4 is not closed")
        assertSyntaxError(
            "{% if x %}a{% endfor %}", line: 1, column: 15,
            contains:
                "unexpected {% endfor %}: the {% if %} at 1:4 is still open (expected {% elif %} or {% else %} or {% endif %})"
        )
        assertSyntaxError("ok\n{% endif %}", line: 2, column: 4, contains: "unexpected {% endif %}")
        assertSyntaxError("{{ 'abc }}", line: 1, column: 4, contains: "unterminated string")
        assertSyntaxError("{{ (1 }}", line: 1, column: 7, contains: "unexpected '}', expected ')'")
        assertSyntaxError("{{ 1 ] }}", line: 1, column: 6, contains: "unexpected ']'")
        assertSyntaxError("{% break %}", line: 1, column: 4, contains: "outside a {% for %} loop")
        assertSyntaxError("{# never closed", line: 1, column: 1, contains: "missing end of comment")
        assertSyntaxError("{{ a ? b }}", line: 1, column: 6, contains: "unexpected character '?'")
        assertSyntaxError("{% set 1 = 2 %}", line: 1, column: 8, contains: "expected a name")
        assertSyntaxError("{{ }}", line: 1, column: 4, contains: "expected an expression")
    }

    func testRenderErrorsCarryTheExpressionPosition() {
        XCTAssertThrowsError(try render("line 1\n  {{ foo.bar }}")) {
            XCTAssertEqual(
                $0 as? ChatTemplateError,
                .render(template: "t.jinja", line: 2, column: 9, message: "'foo' is undefined"))
            XCTAssertEqual($0.localizedDescription, "t.jinja:2:9: rendering failed: 'foo' is undefined")
        }
        XCTAssertThrowsError(
            try render(
                "{% for m in messages %}{{ m.role + m.content }}{% endfor %}",
                [ChatMessage(role: "assistant", content: nil)])
        ) {
            XCTAssertEqual(
                $0 as? ChatTemplateError,
                .render(template: "t.jinja", line: 1, column: 34, message: "'dict object' has no attribute 'content'"))
        }
        XCTAssertThrowsError(try render("{% for x in 3 %}{% endfor %}")) {
            XCTAssertEqual(
                $0 as? ChatTemplateError,
                .render(template: "t.jinja", line: 1, column: 4, message: "'int' object is not iterable"))
        }
    }

    func testRaiseExceptionSurfacesTheTemplatesMessage() {
        let source = """
            {%- for m in messages %}
                {%- if m.role == 'system' %}
                    {{- raise_exception('System role not supported, got: ' ~ m.content) }}
                {%- endif %}
            {%- endfor %}
            """
        XCTAssertThrowsError(try render(source, [ChatMessage(role: "system", content: "Be brief.")], name: "gemma")) {
            XCTAssertEqual(
                $0 as? ChatTemplateError,
                .raised(template: "gemma", line: 3, column: 13, message: "System role not supported, got: Be brief."))
            XCTAssertEqual(
                $0.localizedDescription,
                "gemma:3:13: the chat template raised an exception: System role not supported, got: Be brief.")
        }
        XCTAssertEqual(try render(source, [ChatMessage(role: "user", content: "Hi")]), "")
    }

    // MARK: - Whitespace control (trim_blocks, lstrip_blocks, -, +)

    func testWhitespaceControl() throws {
        // trim_blocks eats the newline after a block tag; lstrip_blocks the indentation before it.
        XCTAssertEqual(try render("{% if true %}\nA\n{% endif %}\nB"), "A\nB")
        XCTAssertEqual(try render("  {% if true %}\n  x\n  {% endif %}\ny"), "  x\ny")
        // Not after or before {{ }}.
        XCTAssertEqual(try render("  {{ 'v' }}\nw"), "  v\nw")
        // '-' strips every whitespace character on that side, newlines included.
        XCTAssertEqual(try render("a  \n  {{- 'b' -}}  \n  c"), "abc")
        XCTAssertEqual(try render("{%- if true -%}\n\n  x  \n{%- endif %}"), "x")
        // '+' keeps what trim_blocks / lstrip_blocks would remove.
        XCTAssertEqual(try render("  {%+ if true +%}\nx{% endif %}"), "  \nx")
        // Comments vanish with the same rules; raw blocks print verbatim.
        XCTAssertEqual(try render("a\n  {# note #}\nb"), "a\nb")
        XCTAssertEqual(try render("{% raw %}{{ not rendered }}{% endraw %}"), "{{ not rendered }}")
        // One trailing newline is dropped (keep_trailing_newline=False); CRLF becomes LF.
        XCTAssertEqual(try render("x\n\n"), "x\n")
        XCTAssertEqual(try render("a\r\nb"), "a\nb")
    }

    // MARK: - Loops, scoping, namespace, macros

    func testLoopVariables() throws {
        let messages = ["a", "b", "c"].map { ChatMessage(role: "user", content: $0) }
        XCTAssertEqual(
            try render(
                "{% for m in messages %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}"
                    + "{{ 'F' if loop.first }}{{ 'L' if loop.last }}{{ loop.length }}{{ m.content }};{% endfor %}",
                messages),
            "1032F3a;21213b;3210L3c;")
        XCTAssertEqual(
            try render(
                "{% for m in messages if m.content != 'b' %}{{ loop.index }}/{{ loop.length }}{% endfor %}", messages),
            "1/22/2")
        XCTAssertEqual(try render("{% for x in [] %}x{% else %}empty{% endfor %}"), "empty")
        XCTAssertEqual(
            try render("{% for x in range(9) %}{% if x > 2 %}{% break %}{% endif %}{{ x }}{% endfor %}"), "012")
    }

    func testScopingAndNamespace() throws {
        // A set inside a loop does not leak; a namespace attribute does.
        XCTAssertEqual(try render("{% set x = 1 %}{% for i in [5, 6] %}{% set x = i %}{% endfor %}{{ x }}"), "1")
        XCTAssertEqual(
            try render(
                "{% set ns = namespace(x=1) %}{% for i in [5, 6] %}{% set ns.x = ns.x + i %}{% endfor %}{{ ns.x }}"),
            "12")
        XCTAssertEqual(try render("{% if true %}{% set y = 2 %}{% endif %}{{ y }}"), "2")
        XCTAssertThrowsError(try render("{% set n = 1 %}{% set n.x = 2 %}")) {
            XCTAssertTrue($0.localizedDescription.contains("not a namespace()"), $0.localizedDescription)
        }
        XCTAssertEqual(
            try render(
                "{% macro tag(name, close=false) %}<{{ '/' if close }}{{ name }}>{% endmacro %}{{ tag('a') }}{{ tag('a', close=true) }}"
            ),
            "<a></a>")
    }

    // MARK: - Values, filters, undefined

    func testUndefinedBehavesLikeJinjasDefault() throws {
        XCTAssertEqual(
            try render("[{{ nothing }}]{{ nothing is defined }}{{ nothing|length }}{{ nothing|default('d') }}"),
            "[]False0d")
        XCTAssertEqual(try render("{% if not nothing %}falsy{% endif %}{% for x in nothing %}x{% endfor %}"), "falsy")
        XCTAssertEqual(
            try render("{{ messages[0].missing is defined }}", [ChatMessage(role: "user", content: "Hi")]), "False")
    }

    func testFiltersAndMethods() throws {
        let tool: JSONValue = .object(
            JSONObject([
                ("name", .string("get_weather")),
                ("arguments", .object(JSONObject([("city", .string("Zürich")), ("days", .int(2))]))),
            ]))
        XCTAssertEqual(
            try render("{{ t|tojson }}", extra: ["t": tool]),
            #"{"name": "get_weather", "arguments": {"city": "Zürich", "days": 2}}"#)
        XCTAssertEqual(
            try render("{{ t.arguments|tojson(indent=2) }}", extra: ["t": tool]),
            "{\n  \"city\": \"Zürich\",\n  \"days\": 2\n}")
        XCTAssertEqual(
            try render("{{ '  Hi  '|trim|upper }}|{{ 'a b'.split()|join(',') }}|{{ 'x'|replace('x', 'y') }}"),
            "HI|a,b|y")
        XCTAssertEqual(try render("{{ '<think>r</think>\\nans'.split('</think>')[-1].lstrip('\\n') }}"), "ans")
        XCTAssertEqual(
            try render("{{ t.arguments.items()|list|length }} {{ t.get('nope', 'd') }}", extra: ["t": tool]), "2 d")
        XCTAssertEqual(
            try render(
                "{{ messages[::-1]|map(attribute='content')|join }}",
                ["a", "b"].map { ChatMessage(role: "user", content: $0) }), "ba")
    }

    func testContextVariables() throws {
        XCTAssertEqual(
            try render(
                "{{ bos_token }}|{{ eos_token }}|{{ tools }}|{{ documents }}|{{ add_generation_prompt }}|{{ x }}",
                extra: ["x": .int(7)]),
            "<s>|</s>|None|None|False|7")
        XCTAssertEqual(
            try render(
                "{{ bos_token }}{{ documents|length }}",
                extra: [
                    "bos_token": .string("B"), "documents": .array([.object(JSONObject([("text", .string("d"))]))]),
                ]),
            "B1")
    }

    func testStrftimeNowReadsTheInjectedClock() throws {
        var template = try ChatTemplate(
            source: "{{ strftime_now('%d %b %Y, %A %H:%M') }}", name: "t", bosToken: "", eosToken: "")
        template.now = { Date(timeIntervalSince1970: 1_741_339_805) }  // 2025-03-07 09:30:05 UTC
        template.timeZone = try XCTUnwrap(TimeZone(identifier: "UTC"))
        XCTAssertEqual(try template.render([], addGenerationPrompt: false), "07 Mar 2025, Friday 09:30")
        template.timeZone = try XCTUnwrap(TimeZone(identifier: "Asia/Tokyo"))
        XCTAssertEqual(try template.render([], addGenerationPrompt: false), "07 Mar 2025, Friday 18:30")
    }

    // MARK: - Messages and loaders

    func testMessagesFromJSONKeepFieldOrderAndNameBadFields() throws {
        let json = try JSONParser.parse(
            #"[{"role": "user", "content": "Hi"}, {"role": "assistant", "content": null, "tool_calls": [{"id": "c1"}]}, {"role": 3}]"#
        )
        XCTAssertThrowsError(try ChatMessage.conversation(json: json)) {
            XCTAssertEqual(
                $0 as? ChatTemplateError,
                .invalidMessage(path: "messages[2].role", message: "must be a string, found a number"))
            XCTAssertEqual($0.localizedDescription, "messages[2].role must be a string, found a number")
        }
        guard case .array(let items) = json else { return XCTFail() }
        let messages = try ChatMessage.conversation(json: .array(Array(items.prefix(2))))
        XCTAssertEqual(messages[1].content, nil)
        XCTAssertEqual(
            try render("{{ messages[1]|tojson }} {{ messages[1].content is defined }}", messages),
            #"{"role": "assistant", "tool_calls": [{"id": "c1"}]} False"#)
    }

    func testMessagesFromFoundationObjects() throws {
        let data = Data(#"[{"role": "tool", "content": {"ok": true, "n": 1, "x": 1.5}, "name": "f"}]"#.utf8)
        let messages = try ChatMessage.conversation(jsonObject: try JSONSerialization.jsonObject(with: data))
        XCTAssertEqual(messages[0].role, "tool")
        XCTAssertNil(messages[0].content)
        XCTAssertEqual(try render("{{ messages[0].content|tojson }}", messages), #"{"n": 1, "ok": true, "x": 1.5}"#)
        let swiftValues: [String: Any] = ["role": "user", "content": "Hi", "flag": false, "count": 3]
        XCTAssertEqual(
            try ChatMessage(jsonObject: swiftValues).extra, JSONObject([("count", .int(3)), ("flag", .bool(false))]))
        XCTAssertThrowsError(try ChatMessage.conversation(jsonObject: [["content": "no role"]])) {
            XCTAssertEqual($0.localizedDescription, "messages[0] has no \"role\"")
        }
        XCTAssertThrowsError(try ChatMessage(jsonObject: ["role": "user", "when": Date()], path: "messages[4]")) {
            XCTAssertTrue($0.localizedDescription.hasPrefix("messages[4].when is a "), $0.localizedDescription)
        }
    }

    func testTokenizerConfigLoader() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-tmpl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("tokenizer_config.json")
        func write(_ json: String) throws { try Data(json.utf8).write(to: config) }
        let hi = [ChatMessage(role: "user", content: "Hi")]

        try write(
            #"{"bos_token": "<s>", "eos_token": {"content": "</s>", "lstrip": false}, "chat_template": "{{ bos_token }}{{ messages[0].content }}{{ eos_token }}"}"#
        )
        var t = try ChatTemplate(tokenizerConfig: config)
        XCTAssertEqual(try t.render(hi, addGenerationPrompt: false), "<s>Hi</s>")

        try write(
            #"{"chat_template": [{"name": "default", "template": "D{{ messages|length }}"}, {"name": "tool_use", "template": "T"}]}"#
        )
        t = try ChatTemplate(tokenizerConfig: config)
        XCTAssertEqual(try t.render(hi, addGenerationPrompt: false), "D1")
        XCTAssertEqual(
            try ChatTemplate(tokenizerConfig: config, templateName: "tool_use").render(hi, addGenerationPrompt: false),
            "T")
        XCTAssertThrowsError(try ChatTemplate(tokenizerConfig: config, templateName: "rag")) {
            XCTAssertTrue(
                $0.localizedDescription.contains("no chat template named \"rag\"; it has: default, tool_use"),
                $0.localizedDescription)
        }

        try write(#"{"bos_token": null}"#)
        XCTAssertThrowsError(try ChatTemplate(tokenizerConfig: config)) {
            XCTAssertTrue($0.localizedDescription.contains("no chat_template"), $0.localizedDescription)
        }
        try Data("[{{ messages[0].role }}]".utf8).write(to: dir.appendingPathComponent("chat_template.jinja"))
        XCTAssertEqual(try ChatTemplate(tokenizerConfig: config).render(hi, addGenerationPrompt: false), "[user]")

        try write(#"{"chat_template": "{% for %}"}"#)
        XCTAssertThrowsError(try ChatTemplate(tokenizerConfig: config)) {
            XCTAssertTrue($0.localizedDescription.hasPrefix("\(config.path):chat_template:1:"), $0.localizedDescription)
        }
    }
}
