import Foundation

/// Errors reading training data; each names the file and line (and column where known).
public enum DataError: Error, LocalizedError, Equatable {
    case cannotRead(path: String, reason: String)
    case badLine(path: String, line: Int, column: Int?, reason: String)
    case empty(path: String)
    case template(path: String, line: Int, reason: String)

    public var errorDescription: String? {
        switch self {
        case let .cannotRead(path, reason): "\(path): cannot read: \(reason)"
        case let .badLine(path, line, column, reason): "\(path):\(line)\(column.map { ":\($0)" } ?? ""): \(reason)"
        case let .empty(path): "\(path): no usable examples (expected one JSON object per line)"
        case let .template(path, line, reason): "\(path):\(line): chat template: \(reason)"
        }
    }
}

/// One training example as read from a line, before rendering and tokenization.
public enum Example: Sendable, Equatable {
    /// Plain text; every token is trained on.
    case text(String)
    /// A prompt and its completion; with `mask_prompt` only the completion is trained on.
    case completion(prompt: String, completion: String)
    /// A conversation rendered with the chat template; `tools` is passed to the template as is.
    case chat(messages: [ChatMessage], tools: [JSONValue]?)
}

/// The shapes a data line may have, resolved from `data.format` (or detected from a line's keys) and the
/// configured key names (`text_key`, `prompt_key`, `completion_key`, `messages_key`).
public struct ExampleSchema: Sendable, Equatable {
    public var format: DataFormat
    public var textKey = "text"
    public var promptKey = "prompt"
    public var completionKey = "completion"
    public var messagesKey = "messages"

    public static let roles: Set<String> = ["system", "user", "assistant", "tool"]

    public init(format: DataFormat, textKey: String = "text", promptKey: String = "prompt", completionKey: String = "completion", messagesKey: String = "messages") {
        self.format = format
        self.textKey = textKey
        self.promptKey = promptKey
        self.completionKey = completionKey
        self.messagesKey = messagesKey
    }

    public init(_ c: DataConfig) {
        self.init(format: c.format, textKey: c.textKey, promptKey: c.promptKey, completionKey: c.completionKey, messagesKey: c.messagesKey)
    }

    /// The format a line's keys say (`messages` → chat, prompt + completion → completion, text → text).
    public func detect(_ obj: JSONObject) -> DataFormat? {
        if obj[messagesKey] != nil { return .chat }
        if obj[promptKey] != nil && obj[completionKey] != nil { return .completion }
        if obj[textKey] != nil { return .text }
        return nil
    }

    /// What a line of `format` looks like, for error messages.
    public func expectedShape(_ format: DataFormat) -> String {
        switch format {
        case .auto:
            "{\"\(textKey)\": …}, {\"\(promptKey)\": …, \"\(completionKey)\": …} or {\"\(messagesKey)\": [{\"role\": …, \"content\": …}, …]}"
        case .text: "{\"\(textKey)\": \"…\"}"
        case .completion: "{\"\(promptKey)\": \"…\", \"\(completionKey)\": \"…\"}"
        case .chat: "{\"\(messagesKey)\": [{\"role\": \"user\", \"content\": \"…\"}, {\"role\": \"assistant\", \"content\": \"…\"}]}"
        }
    }

    /// The example on a parsed line. Errors are reasons without the file and line (the reader adds them).
    public func example(from value: JSONValue) throws(ExampleShapeError) -> Example {
        guard case let .object(obj) = value else {
            throw ExampleShapeError("expected a JSON object \(expectedShape(format)), found \(value.typeName)")
        }
        let f = format == .auto ? detect(obj) : format
        switch f {
        case nil, .auto?:
            throw ExampleShapeError("cannot tell the format from the keys \(obj.keys.map { "\"\($0)\"" }.joined(separator: ", ")); expected \(expectedShape(.auto)) (or set data.format and its keys)")
        case .text?:
            return .text(try string(obj, textKey, .text))
        case .completion?:
            return .completion(prompt: try string(obj, promptKey, .completion), completion: try string(obj, completionKey, .completion))
        case .chat?:
            return try chat(obj)
        }
    }

    func string(_ obj: JSONObject, _ key: String, _ f: DataFormat) throws(ExampleShapeError) -> String {
        guard let v = obj[key] else { throw ExampleShapeError("missing key \"\(key)\"; expected \(expectedShape(f))") }
        guard case let .string(s) = v else { throw ExampleShapeError("\"\(key)\" must be a string, found \(v.typeName)") }
        return s
    }

    func chat(_ obj: JSONObject) throws(ExampleShapeError) -> Example {
        guard let v = obj[messagesKey] else { throw ExampleShapeError("missing key \"\(messagesKey)\"; expected \(expectedShape(.chat))") }
        guard case let .array(items) = v else { throw ExampleShapeError("\"\(messagesKey)\" must be an array of messages, found \(v.typeName)") }
        guard !items.isEmpty else { throw ExampleShapeError("\"\(messagesKey)\" is empty; expected at least one message") }
        var messages: [ChatMessage] = []
        messages.reserveCapacity(items.count)
        for (n, item) in items.enumerated() {
            let at = "\(messagesKey)[\(n)]"
            guard case let .object(m) = item else { throw ExampleShapeError("\(at) must be an object {\"role\": …, \"content\": …}, found \(item.typeName)") }
            guard let r = m["role"] else { throw ExampleShapeError("\(at) has no \"role\"") }
            guard case let .string(role) = r else { throw ExampleShapeError("\(at).role must be a string, found \(r.typeName)") }
            guard Self.roles.contains(role) else {
                throw ExampleShapeError("\(at).role \"\(role)\" is not one of system, user, assistant, tool")
            }
            let content: String?
            switch m["content"] {
            case .string(let s)?: content = s
            case .null?, nil:
                // An assistant turn may carry only tool calls.
                guard role == "assistant", m["tool_calls"] != nil else {
                    throw ExampleShapeError("\(at) has no \"content\" string")
                }
                content = nil
            case let other?:
                throw ExampleShapeError("\(at).content must be a string, found \(other.typeName)")
            }
            var extra = m
            extra["role"] = nil
            extra["content"] = nil
            messages.append(ChatMessage(role: role, content: content, extra: extra))
        }
        var tools: [JSONValue]?
        if let t = obj["tools"] {
            guard case let .array(list) = t else { throw ExampleShapeError("\"tools\" must be an array, found \(t.typeName)") }
            tools = list
        }
        return .chat(messages: messages, tools: tools)
    }
}

/// Why a well-formed JSON line is not a valid example.
public struct ExampleShapeError: Error, Equatable, Sendable {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
}
