import Foundation

extension ChatTemplate {
    /// The template in a GGUF file's metadata: `tokenizer.chat_template`, or with `templateName` the named
    /// variant llama.cpp's converter stores as `tokenizer.chat_template.<name>` (tool_use, rag...). The
    /// bos and eos tokens are the vocabulary entries `tokenizer.ggml.bos_token_id` / `eos_token_id` name
    /// ("" when a model has none).
    public init(gguf file: GGUFFile, templateName: String? = nil) throws {
        let key = templateName.map { "tokenizer.chat_template.\($0)" } ?? "tokenizer.chat_template"
        guard let source = file.optionalString(key) else {
            if let templateName {
                let names: [String] = (try? file.array("tokenizer.chat_templates").strings) ?? []
                throw ChatTemplateError.invalidConfig(
                    path: file.path,
                    message: "no chat template named \"\(templateName)\" (\(key)); named templates: "
                        + (names.isEmpty ? "none" : names.joined(separator: ", ")))
            }
            throw ChatTemplateError.missing(path: file.path)
        }
        func token(_ idKey: String) throws -> String {
            guard let id = file.optionalInt(idKey) else { return "" }
            guard let tokens = try file.array("tokenizer.ggml.tokens").strings, tokens.indices.contains(id) else {
                throw GGUFError.wrongKeyType(
                    path: file.path, key: idKey, expected: "the id of a token in tokenizer.ggml.tokens", found: "\(id)")
            }
            return tokens[id]
        }
        try self.init(
            source: source, name: "\(file.path):\(key)", bosToken: try token("tokenizer.ggml.bos_token_id"),
            eosToken: try token("tokenizer.ggml.eos_token_id"))
    }

    /// The template of a Hugging Face tokenizer_config.json: `chat_template` as a string, or a list of
    /// `{"name", "template"}` from which `templateName` (default "default") is taken. When the config has
    /// none, a `chat_template.jinja` next to it is used (transformers writes the template there since
    /// v4.43). `bos_token` / `eos_token` may be strings or AddedToken objects (`{"content": ...}`).
    public init(tokenizerConfig url: URL, templateName: String? = nil) throws {
        let path = url.path
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw ChatTemplateError.invalidConfig(path: path, message: "cannot read: \(error.localizedDescription)")
        }
        let json: JSONValue
        do {
            json = try JSONParser.parse([UInt8](data))
        } catch {
            throw ChatTemplateError.invalidConfig(
                path: path, message: "not valid JSON (at character \(error.column)): \(error.message)")
        }
        guard case .object(let config) = json else {
            throw ChatTemplateError.invalidConfig(path: path, message: "is not a JSON object")
        }
        func specialToken(_ key: String) throws -> String {
            switch config[key] {
            case nil, .null?: return ""
            case .string(let s)?: return s
            case .object(let o)?:
                if case .string(let s)? = o["content"] { return s }
                throw ChatTemplateError.invalidConfig(
                    path: path, message: "\(key) is an object without a string \"content\"")
            case let other?:
                throw ChatTemplateError.invalidConfig(
                    path: path, message: "\(key) is \(other.typeName), expected a string")
            }
        }
        let wanted = templateName ?? "default"
        let source: String
        let name: String
        switch config["chat_template"] {
        case .string(let s)?:
            guard templateName == nil || templateName == "default" else {
                throw ChatTemplateError.invalidConfig(
                    path: path, message: "has a single chat_template, not one named \"\(wanted)\"")
            }
            source = s
            name = "\(path):chat_template"
        case .array(let entries)?:
            var found: String? = nil
            var names: [String] = []
            for (i, entry) in entries.enumerated() {
                guard case .object(let o) = entry, case .string(let n)? = o["name"],
                    case .string(let t)? = o["template"]
                else {
                    throw ChatTemplateError.invalidConfig(
                        path: path,
                        message: "chat_template[\(i)] is not an object with string \"name\" and \"template\"")
                }
                names.append(n)
                if n == wanted { found = t }
            }
            guard let found else {
                throw ChatTemplateError.invalidConfig(
                    path: path,
                    message: "no chat template named \"\(wanted)\"; it has: \(names.joined(separator: ", "))")
            }
            source = found
            name = "\(path):chat_template[\(wanted)]"
        case nil, .null?:
            let sibling = url.deletingLastPathComponent().appendingPathComponent("chat_template.jinja")
            guard let text = try? String(contentsOf: sibling, encoding: .utf8) else {
                throw ChatTemplateError.invalidConfig(
                    path: path, message: "has no chat_template, and there is no chat_template.jinja next to it")
            }
            source = text
            name = sibling.path
        case let other?:
            throw ChatTemplateError.invalidConfig(
                path: path,
                message: "chat_template is \(other.typeName), expected a string or a list of named templates")
        }
        try self.init(
            source: source, name: name, bosToken: try specialToken("bos_token"), eosToken: try specialToken("eos_token")
        )
    }
}
