import Foundation

/// A chat template: the Jinja program a model ships (`tokenizer.chat_template` in GGUF metadata,
/// `chat_template` in tokenizer_config.json) that turns a conversation into the exact text the model was
/// trained on. It is parsed once and rendered per conversation, with the output `apply_chat_template` gives
/// in transformers (SPEC.md §7; checked byte for byte against it in `ChatTemplateGoldenTests`).
///
/// The interpreter covers the Jinja subset real chat templates use: `for` (loop variables, `else`, an `if`
/// filter, `break`/`continue`), `if`/`elif`/`else`, `set` (with `namespace()` attributes and block form),
/// `macro`, `filter`, `with`, `raw`, comments and whitespace control, under Hugging Face's environment
/// (`trim_blocks`, `lstrip_blocks`); Python's operators (with `%` string formatting), literals, slices,
/// string and dict methods, Jinja's filters and tests with transformers' `tojson`, and the globals
/// `raise_exception`, `strftime_now`, `namespace`, `dict` and `range`. Undefined names behave like Jinja's
/// default `Undefined`. A construct outside the subset (`include`, `import`, `call` blocks, a few filters
/// such as `batch` or `groupby`) is an error naming the template, line and column, raised when the template
/// is parsed. Tuples are lists here, so a printed tuple shows `[...]` where Python shows `(...)`.
///
/// ```swift
/// let template = try ChatTemplate.named("chatml", bosToken: "<s>", eosToken: "<|im_end|>")
/// let text = try template.render([ChatMessage(role: "user", content: "Hi")], addGenerationPrompt: true)
/// // "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
/// ```
public struct ChatTemplate: Sendable {
    /// Names the template in errors: a path, `model.gguf:tokenizer.chat_template`, or a built-in name.
    public let name: String
    /// The template text as given.
    public let source: String
    /// `bos_token` and `eos_token` in the template's context.
    public var bosToken: String
    public var eosToken: String
    /// The clock `strftime_now` reads (Llama 3.2 prints today's date with it). Set a fixed date for
    /// reproducible renders; `date_string` in `extra` overrides it in templates that accept one.
    public var now: @Sendable () -> Date = { Date() }
    /// The zone `strftime_now` reads the date in (Python's `datetime.now()` is local time).
    public var timeZone: TimeZone = .current

    let nodes: [JinjaNode]

    /// Parses `source`. Throws `ChatTemplateError.syntax` with `name`, line and column for a template that
    /// does not parse or uses a construct this interpreter does not implement.
    public init(source: String, name: String, bosToken: String, eosToken: String) throws {
        self.name = name
        self.source = source
        self.bosToken = bosToken
        self.eosToken = eosToken
        nodes = try JinjaParser.parse(source: source, templateName: name)
    }

    /// Renders a conversation as `tokenizer.apply_chat_template(messages, tools=tools,
    /// add_generation_prompt=..., **extra)` does. The context holds `messages`, `tools` (None when nil, as
    /// transformers passes it), `documents` (None), `add_generation_prompt`, `bos_token`, `eos_token` and
    /// `extra` (for example `date_string`, `builtin_tools`, `enable_thinking`, `documents`; it may override
    /// `bos_token` and `eos_token` too, as keyword arguments do in transformers).
    ///
    /// Throws `ChatTemplateError.raised` when the template calls `raise_exception` (Gemma 2 refuses a system
    /// message, Mistral a conversation that does not alternate), and `.render` when it fails the way Jinja
    /// would (an undefined value in `+`, a type error); both name the template, line and column.
    public func render(
        _ messages: [ChatMessage], addGenerationPrompt: Bool, tools: [JSONValue]? = nil,
        extra: [String: JSONValue] = [:]
    ) throws -> String {
        var context: [String: Value] = [
            "bos_token": .string(bosToken), "eos_token": .string(eosToken), "documents": Value.none,
        ]
        for (key, value) in extra { context[key] = Value(value) }
        context["messages"] = .list(messages.map { Value($0.jsonValue) })
        context["tools"] = tools.map { .list($0.map(Value.init)) } ?? Value.none
        context["add_generation_prompt"] = .bool(addGenerationPrompt)
        let interpreter = JinjaInterpreter(now: now(), timeZone: timeZone)
        do {
            return try interpreter.render(nodes, context: context)
        } catch let failure as JinjaFailure {
            let line = failure.location?.line ?? 0
            let column = failure.location?.column ?? 0
            switch failure.kind {
            case .raised:
                throw ChatTemplateError.raised(template: name, line: line, column: column, message: failure.message)
            case .render:
                throw ChatTemplateError.render(template: name, line: line, column: column, message: failure.message)
            }
        }
    }
}
