import Foundation

/// One chat message.
public struct ChatMessage: Sendable, Equatable {
    public var role: String
    public var content: String?
    /// Other fields of the message (`tool_calls`, `name`, `tool_call_id`...), passed to the template.
    public var extra: JSONObject
    public init(role: String, content: String?, extra: JSONObject = JSONObject()) {
        self.role = role
        self.content = content
        self.extra = extra
    }
}

public enum ChatTemplateError: Error, LocalizedError, Equatable {
    case missing(path: String)
    case unsupported(path: String, excerpt: String)

    public var errorDescription: String? {
        switch self {
        case .missing(let path):
            "\(path): no tokenizer.chat_template in the metadata; pass a plain --prompt instead of --chat"
        case .unsupported(let path, let excerpt):
            "\(path): chat template not recognised by the built-in renderer (ChatML, Llama 3): \(excerpt)…"
        }
    }
}

/// A minimal chat renderer for the template families small models ship (ChatML as in SmolLM2 and Qwen,
/// Llama 3 headers). It recognises the family from the template text and reproduces its output, including
/// a default system prompt that the template inserts as a literal. The full Jinja subset interpreter
/// replaces this with the data-pipeline work.
public struct ChatTemplate: Sendable {
    public enum Family: String, Sendable { case chatML, llama3 }
    public let family: Family
    /// System message the template adds when the conversation has none.
    public let defaultSystem: String?
    public let bosText: String

    public init(template: String, bosToken: String = "", path: String = "<template>") throws {
        bosText = bosToken
        if template.contains("<|im_start|>") {
            family = .chatML
            // ChatML templates that insert a default system turn carry it as a literal.
            // The literal holds a real newline or a Jinja escape ("\\n").
            let marker = template.range(of: "<|im_start|>system\n") ?? template.range(of: "<|im_start|>system\\n")
            if let r = marker,
                let end = template.range(of: "<|im_end|>", range: r.upperBound..<template.endIndex),
                template[template.startIndex..<r.lowerBound].contains("!= 'system'")
                    || template[template.startIndex..<r.lowerBound].contains("!= \"system\"")
            {
                defaultSystem = String(template[r.upperBound..<end.lowerBound])
            } else {
                defaultSystem = nil
            }
        } else if template.contains("<|start_header_id|>") {
            family = .llama3
            defaultSystem = nil
        } else {
            throw ChatTemplateError.unsupported(path: path, excerpt: String(template.prefix(80)))
        }
    }

    /// The rendered conversation; `addGenerationPrompt` opens an assistant turn.
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool, tools: [JSONValue]? = nil) throws -> String {
        var out = ""
        switch family {
        case .chatML:
            if let defaultSystem, messages.first?.role != "system" {
                out += "<|im_start|>system\n\(defaultSystem)<|im_end|>\n"
            }
            for m in messages { out += "<|im_start|>\(m.role)\n\(m.content ?? "")<|im_end|>\n" }
            if addGenerationPrompt { out += "<|im_start|>assistant\n" }
        case .llama3:
            out += bosText
            for m in messages {
                out +=
                    "<|start_header_id|>\(m.role)<|end_header_id|>\n\n\((m.content ?? "").trimmingCharacters(in: .whitespacesAndNewlines))<|eot_id|>"
            }
            if addGenerationPrompt { out += "<|start_header_id|>assistant<|end_header_id|>\n\n" }
        }
        return out
    }
}
