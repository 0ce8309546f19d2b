/// Text to token ids and back for a GGUF vocabulary (SPEC.md §7): byte-level BPE ("gpt2": GPT-2, Llama 3,
/// Qwen2, SmolLM) or SentencePiece-style BPE ("llama": Llama 2, TinyLlama, Mistral).
///
/// Encoding: special tokens are cut out of the raw text first (`SpecialTokenMatcher`), then each stretch
/// of text is tokenized on its own. Byte-level: pre-tokenize (`PreTokenizer`), BPE each word by merge rank
/// (`ByteLevelBPE`), cached per word. SentencePiece: spaces become `▁`, the first stretch and every stretch
/// after a special token get a `▁` prefix when `addSpacePrefix` (llama.cpp `tokenize`, SPM branch), then
/// pieces merge by score (`SentencePieceBPE`).
///
/// Thread-safe: all state is immutable except the word cache, which locks.
public final class Tokenizer: Sendable {
    private enum Model: Sendable {
        case byteLevel(ByteLevelBPE, PreTokenizer)
        case sentencePiece(SentencePieceBPE)
    }

    private let model: Model
    private let tokens: [String]
    private let types: [VocabTokenType]
    private let tokenToId: [ExactText: Int32]
    /// What each token decodes to; see `tokenBytes(_:)`.
    private let decodedBytes: [[UInt8]]
    private let specials: SpecialTokenMatcher
    private let cache = BPEWordCache()

    public let bosId: Int32?
    public let eosId: Int32?
    public let eotId: Int32?
    public let unkId: Int32?
    public let padId: Int32?
    public let addBos: Bool
    public let addEos: Bool
    /// SentencePiece only: a space before the text, dropped again by `decode`.
    public let addSpacePrefix: Bool
    /// Ids that end generation: eos, eot, and control tokens with the end-of-turn names of llama.cpp's
    /// end-of-generation list (`<|im_end|>`, `<|eot_id|>`, `<|end|>`, `<end_of_turn>`, `</s>`,
    /// `<|endoftext|>`, `<|eom_id|>`, `<EOT>`).
    public let endOfGenerationIds: Set<Int32>

    private static let endOfGenerationNames: Set<String> = [
        "<|im_end|>", "<|eot_id|>", "<|end|>", "<end_of_turn>", "</s>", "<|endoftext|>", "<|eom_id|>", "<EOT>",
    ]

    public init(_ vocab: TokenizerVocabulary) throws {
        let count = vocab.tokens.count
        guard count > 0 else { throw TokenizerError.emptyVocabulary }
        guard vocab.tokenTypes.isEmpty || vocab.tokenTypes.count == count else {
            throw TokenizerError.lengthMismatch(key: "token_type", found: vocab.tokenTypes.count, expected: count)
        }
        guard vocab.scores.isEmpty || vocab.scores.count == count else {
            throw TokenizerError.lengthMismatch(key: "scores", found: vocab.scores.count, expected: count)
        }
        let ids: [(String, Int32?)] = [
            ("bos_token_id", vocab.bosId), ("eos_token_id", vocab.eosId), ("eot_token_id", vocab.eotId),
            ("unknown_token_id", vocab.unkId), ("padding_token_id", vocab.padId),
        ]
        for case let (key, id?) in ids where id < 0 || Int(id) >= count {
            throw TokenizerError.tokenIdOutOfRange(key: key, id: id, vocabularySize: count)
        }

        let types =
            vocab.tokenTypes.isEmpty
            ? [VocabTokenType](repeating: .normal, count: count) : vocab.tokenTypes.map(VocabTokenType.init(gguf:))
        var tokenToId = [ExactText: Int32](minimumCapacity: count)
        for (index, token) in vocab.tokens.enumerated() { tokenToId[ExactText(token)] = Int32(index) }

        switch vocab.model {
        case "gpt2":
            let pre = try PreTokenizer(pre: vocab.pre)
            let bpe = try ByteLevelBPE(
                tokenToId: tokenToId, merges: vocab.merges, ignoreMerges: pre.ignoreMerges, unkId: vocab.unkId)
            model = .byteLevel(bpe, pre)
            decodedBytes = zip(vocab.tokens, types).map { token, type in
                switch type {
                case .control, .userDefined, .unknown: Array(token.utf8)
                default: ByteLevelAlphabet.bytes(spelledBy: token)
                }
            }
        case "llama":
            model = .sentencePiece(
                SentencePieceBPE(tokens: vocab.tokens, types: types, scores: vocab.scores, unkId: vocab.unkId))
            decodedBytes = zip(vocab.tokens, types).map { token, type in
                switch type {
                case .byte: Tokenizer.byteValue(ofByteToken: token).map { [$0] } ?? Array(token.utf8)
                case .control, .userDefined, .unknown: Array(token.utf8)
                default: Tokenizer.unescapingSpaces(Array(token.utf8))
                }
            }
        default:
            throw TokenizerError.unsupportedModel(vocab.model)
        }

        self.tokens = vocab.tokens
        self.types = types
        self.tokenToId = tokenToId
        self.specials = SpecialTokenMatcher(tokens: vocab.tokens, types: types)
        self.bosId = vocab.bosId
        self.eosId = vocab.eosId
        self.eotId = vocab.eotId
        self.unkId = vocab.unkId
        self.padId = vocab.padId
        self.addBos = vocab.addBos
        self.addEos = vocab.addEos
        self.addSpacePrefix = vocab.model == "llama" && vocab.addSpacePrefix
        var endIds = Set([vocab.eosId, vocab.eotId].compactMap { $0 })
        for name in Tokenizer.endOfGenerationNames {
            if let id = tokenToId[ExactText(name)], types[Int(id)] == .control { endIds.insert(id) }
        }
        self.endOfGenerationIds = endIds
    }

    /// UTF-8 with each `▁` (U+2581, E2 96 81) as a space.
    private static func unescapingSpaces(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if i + 2 < bytes.count && bytes[i] == 0xE2 && bytes[i + 1] == 0x96 && bytes[i + 2] == 0x81 {
                out.append(0x20)
                i += 3
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return out
    }

    /// `<0xNN>` → NN.
    private static func byteValue(ofByteToken token: String) -> UInt8? {
        let bytes = Array(token.utf8)
        guard bytes.count == 6, bytes[0...2].elementsEqual("<0x".utf8), bytes[5] == UInt8(ascii: ">") else {
            return nil
        }
        return UInt8(String(decoding: bytes[3...4], as: UTF8.self), radix: 16)
    }

    public var vocabularySize: Int { tokens.count }

    /// Token ids of `text`. `addSpecialTokens` adds BOS/EOS as `addBos`/`addEos` say; `parseSpecial` false
    /// reads control tokens such as `<|im_start|>` as plain text (user-defined tokens still match whole).
    public func encode(_ text: String, addSpecialTokens: Bool = true, parseSpecial: Bool = true) -> [Int32] {
        var unused: [Int]? = nil
        return encode(Array(text.utf8), addSpecialTokens: addSpecialTokens, parseSpecial: parseSpecial, starts: &unused)
    }

    /// Token ids of `text` and, per token, the UTF-8 byte offset in `text` where the token's text starts
    /// (−1 for BOS/EOS added by `addSpecialTokens`, which are not in the text). Used to carry character
    /// spans (the supervised parts of a rendered conversation) over to tokens, as `tokenizers`' offset
    /// mapping does.
    public func encodeWithOffsets(_ text: String, addSpecialTokens: Bool = true, parseSpecial: Bool = true) -> (ids: [Int32], starts: [Int]) {
        var starts: [Int]? = []
        let ids = encode(Array(text.utf8), addSpecialTokens: addSpecialTokens, parseSpecial: parseSpecial, starts: &starts)
        return (ids, starts ?? [])
    }

    private func encode(_ bytes: [UInt8], addSpecialTokens: Bool, parseSpecial: Bool, starts: inout [Int]?) -> [Int32] {
        var output: [Int32] = []
        output.reserveCapacity(bytes.count / 3 + 2)
        let tracking = starts != nil
        if addSpecialTokens, addBos, let bosId {
            output.append(bosId)
            starts?.append(-1)
        }
        let fragments = specials.fragments(of: bytes, parseSpecial: parseSpecial)
        switch model {
        case let .byteLevel(bpe, pre):
            var words: [Range<Int>] = []
            for fragment in fragments {
                switch fragment {
                case let .token(id, at):
                    output.append(id)
                    starts?.append(at)
                case let .text(range):
                    words.removeAll(keepingCapacity: true)
                    pre.split(bytes, range, into: &words)
                    for word in words {
                        let first = output.count
                        appendWord(bytes[word], bpe, &output)
                        if tracking { appendStarts(of: output[first...], from: word.lowerBound, prefixBytes: 0, to: &starts) }
                    }
                }
            }
        case let .sentencePiece(spm):
            var afterSpecial = true
            var escaped: [UInt8] = []
            for fragment in fragments {
                switch fragment {
                case let .token(id, at):
                    output.append(id)
                    starts?.append(at)
                    afterSpecial = true
                case let .text(range):
                    escaped.removeAll(keepingCapacity: true)
                    let prefixed = addSpacePrefix && afterSpecial
                    if prefixed { escaped.append(contentsOf: [0xE2, 0x96, 0x81]) }
                    for byte in bytes[range] {
                        if byte == 0x20 {
                            escaped.append(contentsOf: [0xE2, 0x96, 0x81])
                        } else {
                            escaped.append(byte)
                        }
                    }
                    let first = output.count
                    spm.encode(escaped, into: &output)
                    if tracking { appendStarts(of: output[first...], from: range.lowerBound, prefixBytes: prefixed ? 1 : 0, to: &starts) }
                    afterSpecial = false
                }
            }
        }
        if addSpecialTokens, addEos, let eosId {
            output.append(eosId)
            starts?.append(-1)
        }
        return output
    }

    /// Start offsets of `ids`, which encode the source bytes from `base` on, preceded by `prefixBytes`
    /// bytes that are not in the source (SentencePiece's added space).
    private func appendStarts(of ids: ArraySlice<Int32>, from base: Int, prefixBytes: Int, to starts: inout [Int]?) {
        var position = -prefixBytes
        for id in ids {
            starts?.append(base + max(0, position))
            position += decodedBytes[Int(id)].count
        }
    }

    private func appendWord(_ word: ArraySlice<UInt8>, _ bpe: ByteLevelBPE, _ output: inout [Int32]) {
        if word.count == 1, let byte = word.first, bpe.byteIds[Int(byte)] >= 0 {
            output.append(bpe.byteIds[Int(byte)])
            return
        }
        let key = ExactText(utf8: word)
        if let ids = cache.ids(for: key) {
            output.append(contentsOf: ids)
            return
        }
        let ids = bpe.encode(word: word)
        cache.store(ids, for: key)
        output.append(contentsOf: ids)
    }

    /// The text of `ids`. Bytes that do not form UTF-8 become U+FFFD the way the reference decoders do it:
    /// one per maximal ill-formed subpart for byte-level BPE (`tokenizers` ByteLevel), one per byte for
    /// SentencePiece (sentencepiece's byte fallback). With `addSpacePrefix` the first piece's leading space
    /// is dropped, undoing the prefix. `skipSpecial` drops control tokens. Ids outside the vocabulary
    /// decode as U+FFFD.
    public func decode(_ ids: [Int32], skipSpecial: Bool = false) -> String {
        var bytes: [UInt8] = []
        var atStart = true
        for id in ids { appendBytes(of: id, skipSpecial: skipSpecial, atStart: &atStart, to: &bytes) }
        return text(of: bytes)
    }

    /// Appends what `id` decodes to in the middle of a sequence, or at its start (`atStart`).
    func appendBytes(of id: Int32, skipSpecial: Bool, atStart: inout Bool, to bytes: inout [UInt8]) {
        guard id >= 0, Int(id) < tokens.count else {
            bytes.append(contentsOf: [0xEF, 0xBF, 0xBD])
            atStart = false
            return
        }
        let type = types[Int(id)]
        if skipSpecial && type == .control { return }
        let piece = decodedBytes[Int(id)]
        let stripSpace = atStart && addSpacePrefix && (type == .normal || type == .undefined) && piece.first == 0x20
        bytes.append(contentsOf: stripSpace ? piece.dropFirst() : piece[...])
        atStart = false
    }

    /// `bytes` as text, with this tokenizer's replacement rule.
    func text(of bytes: [UInt8]) -> String {
        switch model {
        case .byteLevel: UTF8Text.decodeReplacingMaximalSubparts(bytes)
        case .sentencePiece: UTF8Text.decodeReplacingEachInvalidByte(bytes)
        }
    }

    /// The token as the vocabulary spells it (`Ġhello`, `▁hello`, `<0x0A>`); empty outside the vocabulary.
    public func piece(_ id: Int32) -> String {
        id >= 0 && Int(id) < tokens.count ? tokens[Int(id)] : ""
    }

    /// The bytes the token decodes to: byte-level spelling undone, `▁` as space, `<0xNN>` as one byte,
    /// special tokens as their text. Empty outside the vocabulary.
    public func tokenBytes(_ id: Int32) -> [UInt8] {
        id >= 0 && Int(id) < tokens.count ? decodedBytes[Int(id)] : []
    }

    public func id(of piece: String) -> Int32? { tokenToId[ExactText(piece)] }

    public func isControl(_ id: Int32) -> Bool {
        id >= 0 && Int(id) < types.count && types[Int(id)] == .control
    }
}
