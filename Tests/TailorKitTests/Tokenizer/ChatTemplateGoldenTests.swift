import Foundation
import XCTest

@testable import TailorKit

/// Every template x conversation x add_generation_prompt of Fixtures/chat_templates.json, rendered by
/// transformers' `render_jinja_template` (scripts/golden/chat_templates.py), must come out byte-identical,
/// and a render transformers refuses must fail here with the same message.
final class ChatTemplateGoldenTests: XCTestCase {
    /// A fixture that does not have the expected shape fails the test (never skips it).
    private struct FixtureError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    private struct Fixture {
        var root: JSONObject
        var fixedNow: Date
    }

    private func loadFixture() throws -> Fixture {
        let value = try JSONParser.parse([UInt8](try Data(contentsOf: fixtureURL("chat_templates.json"))))
        guard case .object(let root) = value, case .string(let now)? = root["fixed_now"] else {
            throw FixtureError(message: "chat_templates.json: expected an object with a fixed_now string")
        }
        // "2025-03-07T09:30:05": Python's naive local time; read here in UTC.
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate, .withFullTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        let date = try XCTUnwrap(formatter.date(from: now + "Z"), "fixed_now \(now)")
        return Fixture(root: root, fixedNow: date)
    }

    private func template(_ name: String, _ fixture: Fixture) throws -> ChatTemplate {
        guard case .object(let templates)? = fixture.root["templates"], case .object(let t)? = templates[name],
            case .string(let file)? = t["file"], case .string(let bos)? = t["bos_token"],
            case .string(let eos)? = t["eos_token"]
        else { throw FixtureError(message: "chat_templates.json: template \(name) is missing or lacks file/bos_token/eos_token") }
        let source = try String(contentsOf: fixtureURL(file), encoding: .utf8)
        var template = try ChatTemplate(source: source, name: name, bosToken: bos, eosToken: eos)
        let now = fixture.fixedNow
        template.now = { now }
        template.timeZone = try XCTUnwrap(TimeZone(identifier: "UTC"))
        return template
    }

    func testRendersMatchTransformersByteForByte() throws {
        let fixture = try loadFixture()
        guard case .array(let cases)? = fixture.root["cases"],
            case .object(let conversations)? = fixture.root["conversations"]
        else {
            return XCTFail("fixture has no cases")
        }
        XCTAssertGreaterThanOrEqual(cases.count, 100)
        var templates: [String: ChatTemplate] = [:]
        var outputs = 0
        var errors = 0
        for case .object(let c) in cases {
            guard case let .string(name)? = c["template"], case let .string(conversationName)? = c["conversation"],
                case let .bool(agp)? = c["add_generation_prompt"],
                case let .object(conversation)? = conversations[conversationName],
                let messagesJSON = conversation["messages"]
            else { return XCTFail("malformed case \(c)") }
            let label = "\(name) × \(conversationName) × add_generation_prompt=\(agp)"
            if templates[name] == nil { templates[name] = try template(name, fixture) }
            let template = try XCTUnwrap(templates[name])
            let messages = try ChatMessage.conversation(json: messagesJSON)
            var tools: [JSONValue]? = nil
            if case let .array(t)? = conversation["tools"] { tools = t }
            var extra: [String: JSONValue] = [:]
            if case let .object(e)? = conversation["extra"] { for (k, v) in e.pairs { extra[k] = v } }

            if case let .string(expected)? = c["output"] {
                outputs += 1
                XCTAssertNoThrow(
                    try {
                        let rendered = try template.render(
                            messages, addGenerationPrompt: agp, tools: tools, extra: extra)
                        if rendered != expected {
                            XCTFail("\(label): rendered text differs\n--- expected\n\(expected)\n--- got\n\(rendered)")
                        }
                    }(), label)
            } else if case let .object(error)? = c["error"], case let .string(type)? = error["type"],
                case let .string(message)? = error["message"]
            {
                errors += 1
                XCTAssertThrowsError(
                    try template.render(messages, addGenerationPrompt: agp, tools: tools, extra: extra), label
                ) { e in
                    switch (type, e as? ChatTemplateError) {
                    case let ("TemplateError", .raised(t, line, _, m)?):
                        XCTAssertEqual(m, message, label)
                        XCTAssertEqual(t, name, label)
                        XCTAssertGreaterThan(line, 0, label)
                    case let ("UndefinedError", .render(_, line, _, m)?):
                        XCTAssertEqual(m, message, label)
                        XCTAssertGreaterThan(line, 0, label)
                    default:
                        XCTFail("\(label): expected \(type) \"\(message)\", got \(e)")
                    }
                }
            } else {
                XCTFail("\(label): case has neither output nor error")
            }
        }
        XCTAssertGreaterThan(outputs, 0)
        XCTAssertGreaterThan(errors, 0)
    }

    /// Small templates, one Jinja feature each (whitespace control, loop variables, scoping, namespaces,
    /// macros, operators, filters, tests, methods, printing, tojson, errors), rendered by transformers' Jinja
    /// environment with the same context.
    func testSnippetsMatchJinja() throws {
        let fixture = try loadFixture()
        guard case .array(let snippets)? = fixture.root["snippets"],
            case .object(let context)? = fixture.root["snippet_context"],
            let messagesJSON = fixture.root["snippet_messages"]
        else { return XCTFail("fixture has no snippets") }
        let messages = try ChatMessage.conversation(json: messagesJSON)
        var extra: [String: JSONValue] = [:]
        for (k, v) in context.pairs { extra[k] = v }
        XCTAssertGreaterThan(snippets.count, 40)
        for case .object(let snippet) in snippets {
            guard case let .string(name)? = snippet["name"], case let .string(source)? = snippet["template"] else {
                return XCTFail("malformed snippet \(snippet)")
            }
            let template: ChatTemplate
            do {
                template = try ChatTemplate(source: source, name: name, bosToken: "<s>", eosToken: "</s>")
            } catch {
                XCTFail("\(name): \(error.localizedDescription)")
                continue
            }
            var fixed = template
            let now = fixture.fixedNow
            fixed.now = { now }
            fixed.timeZone = try XCTUnwrap(TimeZone(identifier: "UTC"))
            if case let .string(expected)? = snippet["output"] {
                do {
                    let rendered = try fixed.render(messages, addGenerationPrompt: false, extra: extra)
                    XCTAssertEqual(rendered, expected, name)
                } catch {
                    XCTFail("\(name): \(error.localizedDescription)")
                }
            } else if case let .object(error)? = snippet["error"], case let .string(message)? = error["message"] {
                XCTAssertThrowsError(try fixed.render(messages, addGenerationPrompt: false, extra: extra), name) { e in
                    switch e as? ChatTemplateError {
                    case let .raised(_, _, _, m)?, let .render(_, _, _, m)?:
                        XCTAssertEqual(m, message, name)
                    default:
                        XCTFail("\(name): expected \"\(message)\", got \(e)")
                    }
                }
            }
        }
    }

    /// The built-in templates are the fixture files byte for byte, so the golden renders cover them.
    func testBuiltinTemplatesAreTheFixtureFiles() throws {
        let files = [
            "chatml": "chatml", "smollm2": "smollm2", "llama3": "llama3.2", "llama3.1": "llama3.1",
            "llama3.2": "llama3.2",
            "qwen2.5": "qwen2.5", "mistral": "mistral", "gemma2": "gemma2", "phi3": "phi3",
        ]
        XCTAssertEqual(Set(ChatTemplate.builtinNames), Set(files.keys))
        for (name, file) in files {
            let expected = try Data(contentsOf: fixtureURL("chat_templates/\(file).jinja"))
            XCTAssertEqual(ChatTemplate.builtinSource(name).map { Data($0.utf8) }, expected, name)
            XCTAssertNoThrow(try ChatTemplate.named(name, bosToken: "<s>", eosToken: "</s>"), name)
        }
        XCTAssertThrowsError(try ChatTemplate.named("llama2", bosToken: "", eosToken: "")) { e in
            XCTAssertEqual(
                e as? ChatTemplateError, .unknownBuiltin(name: "llama2", available: ChatTemplate.builtinNames))
        }
    }

    /// SmolLM2's GGUF carries the smollm2 template; the loader reads it with the bos/eos token text.
    func testLoadsTheTemplateFromGGUF() throws {
        let file = try GGUFFile(path: try smolLM2Path())
        let template = try ChatTemplate(gguf: file)
        XCTAssertEqual(template.source, ChatTemplate.builtinSource("smollm2"))
        XCTAssertEqual(template.bosToken, "<|im_start|>")
        XCTAssertEqual(template.eosToken, "<|im_end|>")
        XCTAssertEqual(
            try template.render([ChatMessage(role: "user", content: "Hi")], addGenerationPrompt: true),
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
                + "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
        XCTAssertThrowsError(try ChatTemplate(gguf: file, templateName: "tool_use")) { e in
            XCTAssertTrue(e.localizedDescription.contains("tool_use"), e.localizedDescription)
        }
    }
}
