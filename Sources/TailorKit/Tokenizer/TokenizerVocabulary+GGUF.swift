import Foundation

extension TokenizerVocabulary {
    /// Reads `tokenizer.ggml.*` metadata (SPEC.md §5; llama.cpp `llama_vocab::load`).
    public init(gguf: GGUFFile) throws {
        let model = try gguf.string("tokenizer.ggml.model")
        guard let tokens = try gguf.array("tokenizer.ggml.tokens").strings else {
            throw GGUFError.wrongKeyType(path: gguf.path, key: "tokenizer.ggml.tokens", expected: "an array of strings", found: gguf.metadata["tokenizer.ggml.tokens"]?.typeName ?? "nil")
        }
        func int32s(_ key: String) throws -> [Int32] {
            guard gguf.metadata[key] != nil else { return [] }
            guard let a = try gguf.array(key).int32s else {
                throw GGUFError.wrongKeyType(path: gguf.path, key: key, expected: "an array of integers", found: gguf.metadata[key]?.typeName ?? "nil")
            }
            return a
        }
        let types = try int32s("tokenizer.ggml.token_type")
        guard types.isEmpty || types.count == tokens.count else {
            throw GGUFError.wrongKeyType(path: gguf.path, key: "tokenizer.ggml.token_type", expected: "\(tokens.count) entries (one per token)", found: "\(types.count) entries")
        }
        var scores: [Float] = []
        if gguf.metadata["tokenizer.ggml.scores"] != nil {
            guard let s = try gguf.array("tokenizer.ggml.scores").floats, s.count == tokens.count else {
                throw GGUFError.wrongKeyType(path: gguf.path, key: "tokenizer.ggml.scores", expected: "\(tokens.count) floats", found: gguf.metadata["tokenizer.ggml.scores"]?.typeName ?? "nil")
            }
            scores = s
        }
        var merges: [String] = []
        if gguf.metadata["tokenizer.ggml.merges"] != nil {
            guard let m = try gguf.array("tokenizer.ggml.merges").strings else {
                throw GGUFError.wrongKeyType(path: gguf.path, key: "tokenizer.ggml.merges", expected: "an array of strings", found: gguf.metadata["tokenizer.ggml.merges"]?.typeName ?? "nil")
            }
            merges = m
        }
        func id(_ key: String) throws -> Int32? {
            guard let v = gguf.metadata[key] else { return nil }
            guard let i = v.int, i >= 0, i < tokens.count else {
                throw GGUFError.wrongKeyType(path: gguf.path, key: key, expected: "a token id below \(tokens.count)", found: "\(v)")
            }
            return Int32(i)
        }
        self.init(
            model: model,
            pre: gguf.optionalString("tokenizer.ggml.pre"),
            tokens: tokens,
            tokenTypes: types,
            scores: scores,
            merges: merges,
            bosId: try id("tokenizer.ggml.bos_token_id"),
            eosId: try id("tokenizer.ggml.eos_token_id"),
            eotId: try id("tokenizer.ggml.eot_token_id"),
            unkId: try id("tokenizer.ggml.unknown_token_id"),
            padId: try id("tokenizer.ggml.padding_token_id"),
            addBos: gguf.optionalBool("tokenizer.ggml.add_bos_token"),
            addEos: gguf.optionalBool("tokenizer.ggml.add_eos_token") ?? false,
            addSpacePrefix: gguf.optionalBool("tokenizer.ggml.add_space_prefix"))
    }
}

extension Tokenizer {
    /// The tokenizer stored in a GGUF file's metadata.
    public convenience init(gguf: GGUFFile) throws {
        try self.init(TokenizerVocabulary(gguf: gguf))
    }
}
