/// Everything a `Tokenizer` needs, as a GGUF file stores it under `tokenizer.ggml.*` (llama.cpp's key names).
public struct TokenizerVocabulary: Sendable {
    /// `tokenizer.ggml.model`: "gpt2" (byte-level BPE) or "llama" (SentencePiece-style BPE).
    public var model: String
    /// `tokenizer.ggml.pre`: the byte-level pre-tokenizer ("smollm", "llama-bpe", "qwen2", "gpt-2", "default").
    public var pre: String?
    /// `tokenizer.ggml.tokens`; the index is the token id.
    public var tokens: [String]
    /// `tokenizer.ggml.token_type`: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte.
    /// Empty means all normal.
    public var tokenTypes: [Int32]
    /// `tokenizer.ggml.scores`: SentencePiece merge priority (higher merges first). Empty means all 0.
    public var scores: [Float]
    /// `tokenizer.ggml.merges`: "left right", best first. Required for "gpt2", unused for "llama".
    public var merges: [String]
    public var bosId: Int32?
    public var eosId: Int32?
    /// `tokenizer.ggml.eot_token_id`: end of turn, when it differs from end of sequence.
    public var eotId: Int32?
    public var unkId: Int32?
    public var padId: Int32?
    /// `tokenizer.ggml.add_bos_token` / `add_eos_token`: what `encode(addSpecialTokens: true)` adds.
    public var addBos: Bool
    public var addEos: Bool
    /// `tokenizer.ggml.add_space_prefix`: SentencePiece's dummy prefix (a space before the text).
    public var addSpacePrefix: Bool

    /// `addBos` and `addSpacePrefix` default to llama.cpp's choice when the file has no key: on for
    /// "llama" (SentencePiece), off for byte-level BPE.
    public init(
        model: String,
        pre: String? = nil,
        tokens: [String],
        tokenTypes: [Int32] = [],
        scores: [Float] = [],
        merges: [String] = [],
        bosId: Int32? = nil,
        eosId: Int32? = nil,
        eotId: Int32? = nil,
        unkId: Int32? = nil,
        padId: Int32? = nil,
        addBos: Bool? = nil,
        addEos: Bool = false,
        addSpacePrefix: Bool? = nil
    ) {
        self.model = model
        self.pre = pre
        self.tokens = tokens
        self.tokenTypes = tokenTypes
        self.scores = scores
        self.merges = merges
        self.bosId = bosId
        self.eosId = eosId
        self.eotId = eotId
        self.unkId = unkId
        self.padId = padId
        self.addBos = addBos ?? (model == "llama")
        self.addEos = addEos
        self.addSpacePrefix = addSpacePrefix ?? (model == "llama")
    }
}
