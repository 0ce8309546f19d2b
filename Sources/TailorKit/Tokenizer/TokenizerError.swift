import Foundation

/// Why a vocabulary could not become a `Tokenizer`. Each case names the GGUF key involved, so a user can
/// find the bad metadata without reading this code.
public enum TokenizerError: Error, LocalizedError {
    /// `tokenizer.ggml.model` is neither "gpt2" (byte-level BPE) nor "llama" (SentencePiece BPE).
    case unsupportedModel(String)
    /// `tokenizer.ggml.pre` names a pre-tokenizer this tokenizer does not implement.
    case unsupportedPreTokenizer(String, supported: [String])
    /// `tokenizer.ggml.tokens` is empty.
    case emptyVocabulary
    /// A per-token array (`token_type`, `scores`) has a different length from `tokens`.
    case lengthMismatch(key: String, found: Int, expected: Int)
    /// A special-token id key (`bos_token_id`, ...) points outside the vocabulary.
    case tokenIdOutOfRange(key: String, id: Int32, vocabularySize: Int)
    /// A byte-level vocabulary came without `tokenizer.ggml.merges`.
    case missingMerges
    /// A merge is not two pieces separated by one space.
    case malformedMerge(index: Int, merge: String)
    /// A merge names a piece (or makes one) that is not in `tokens`.
    case mergePieceNotInVocabulary(index: Int, merge: String, piece: String)

    public var errorDescription: String? {
        switch self {
        case let .unsupportedModel(name):
            "tokenizer.ggml.model is \"\(name)\", expected \"gpt2\" (byte-level BPE) or \"llama\" (SentencePiece BPE)"
        case let .unsupportedPreTokenizer(name, supported):
            "tokenizer.ggml.pre is \"\(name)\", supported: \(supported.joined(separator: ", "))"
        case .emptyVocabulary:
            "tokenizer.ggml.tokens is empty"
        case let .lengthMismatch(key, found, expected):
            "tokenizer.ggml.\(key) has \(found) entries, expected \(expected) (one per token)"
        case let .tokenIdOutOfRange(key, id, vocabularySize):
            "tokenizer.ggml.\(key) is \(id), outside the vocabulary of \(vocabularySize) tokens"
        case .missingMerges:
            "tokenizer.ggml.merges is missing or empty; a byte-level BPE vocabulary needs its merges"
        case let .malformedMerge(index, merge):
            "tokenizer.ggml.merges[\(index)] is \"\(merge)\", expected two pieces separated by one space"
        case let .mergePieceNotInVocabulary(index, merge, piece):
            "tokenizer.ggml.merges[\(index)] \"\(merge)\": piece \"\(piece)\" is not in tokenizer.ggml.tokens"
        }
    }
}
