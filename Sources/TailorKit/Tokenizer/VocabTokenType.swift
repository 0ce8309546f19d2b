/// GGUF `tokenizer.ggml.token_type` values (llama.cpp `llama_token_type`, gguf-py `TokenType`).
enum VocabTokenType: Int32, Sendable {
    case undefined = 0
    case normal = 1
    case unknown = 2
    /// Control tokens (`<|im_start|>`, `<s>`): matched in text only when parsing special tokens,
    /// dropped by `decode(skipSpecial: true)`.
    case control = 3
    /// Added tokens that are always matched whole in text (`<think>`), and decode as their text.
    case userDefined = 4
    case unused = 5
    /// SentencePiece byte-fallback tokens `<0xNN>`.
    case byte = 6

    /// Unknown values read as normal, as llama.cpp does.
    init(gguf value: Int32) {
        self = VocabTokenType(rawValue: value) ?? .normal
    }

    /// Tokens cut out of the raw text before BPE (llama.cpp `cache_special_tokens`).
    var isSpecial: Bool { self == .control || self == .userDefined || self == .unknown }
}
