import Foundation

/// Why a chat template could not be loaded, compiled or rendered. Template errors carry the template's name
/// (a path, `file.gguf:tokenizer.chat_template`, or a built-in name) with the line and column of the
/// construct at fault, so a user can find it in the template text.
public enum ChatTemplateError: Error, LocalizedError, Equatable {
    /// The model file carries no chat template.
    case missing(path: String)
    /// The template does not parse, or uses a construct this interpreter does not implement.
    case syntax(template: String, line: Int, column: Int, message: String)
    /// Rendering failed: an undefined value used where Jinja raises, a type error, a bad argument.
    case render(template: String, line: Int, column: Int, message: String)
    /// The template called `raise_exception(message)`: the conversation is one it refuses.
    case raised(template: String, line: Int, column: Int, message: String)
    /// `ChatTemplate.named(_:)` got a name that is not built in.
    case unknownBuiltin(name: String, available: [String])
    /// A message (or a template variable) does not have the shape a conversation needs.
    case invalidMessage(path: String, message: String)
    /// A tokenizer_config.json whose chat template is missing or not in a known shape.
    case invalidConfig(path: String, message: String)

    public var errorDescription: String? {
        switch self {
        case .missing(let path):
            "\(path): no tokenizer.chat_template in the metadata; pass a plain --prompt instead of --chat"
        case .syntax(let template, let line, let column, let message):
            "\(template):\(line):\(column): \(message)"
        case .render(let template, let line, let column, let message):
            "\(template):\(line):\(column): rendering failed: \(message)"
        case .raised(let template, let line, let column, let message):
            "\(template):\(line):\(column): the chat template raised an exception: \(message)"
        case .unknownBuiltin(let name, let available):
            "no built-in chat template named \"\(name)\"; built in: \(available.joined(separator: ", "))"
        case .invalidMessage(let path, let message):
            "\(path) \(message)"
        case .invalidConfig(let path, let message):
            "\(path): \(message)"
        }
    }
}
