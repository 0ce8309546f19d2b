/// Cuts special tokens out of raw text before BPE, so `<|im_start|>` is one id (SPEC.md §7).
///
/// At the leftmost position where any special token starts, the longest one wins (the `tokenizers`
/// added-vocabulary rule). Control and unknown tokens are matched only when parsing special tokens;
/// user-defined tokens always are (llama.cpp `tokenizer_st_partition`; in `tokenizers` they are non-special
/// added tokens, which `split_special_tokens` leaves matched).
struct SpecialTokenMatcher: Sendable {
    struct Entry: Sendable {
        var bytes: [UInt8]
        var id: Int32
        var alwaysMatched: Bool
    }

    /// A piece of the text: raw bytes to tokenize, or a matched token.
    enum Fragment {
        case text(Range<Int>)
        /// A special token and the byte offset where its text starts.
        case token(Int32, at: Int)
    }

    /// Entries by first byte, longest first.
    private let byFirstByte: [[Entry]]

    init(tokens: [String], types: [VocabTokenType]) {
        var buckets = [[Entry]](repeating: [], count: 256)
        for (index, token) in tokens.enumerated() where types[index].isSpecial {
            let bytes = Array(token.utf8)
            guard let first = bytes.first else { continue }
            let entry = Entry(bytes: bytes, id: Int32(index), alwaysMatched: types[index] == .userDefined)
            buckets[Int(first)].append(entry)
        }
        byFirstByte = buckets.map { bucket in
            bucket.enumerated().sorted { a, b in
                a.element.bytes.count != b.element.bytes.count
                    ? a.element.bytes.count > b.element.bytes.count : a.offset < b.offset
            }.map(\.element)
        }
    }

    /// The text as fragments in order; empty text pieces are left out.
    func fragments(of bytes: [UInt8], parseSpecial: Bool) -> [Fragment] {
        var fragments: [Fragment] = []
        var textStart = 0
        var i = 0
        let count = bytes.count
        while i < count {
            var matched: Entry?
            for entry in byFirstByte[Int(bytes[i])] where (parseSpecial || entry.alwaysMatched) {
                let length = entry.bytes.count
                if i + length <= count && bytes[i..<(i + length)].elementsEqual(entry.bytes) {
                    matched = entry
                    break
                }
            }
            guard let entry = matched else {
                i += 1
                continue
            }
            if textStart < i { fragments.append(.text(textStart..<i)) }
            fragments.append(.token(entry.id, at: i))
            i += entry.bytes.count
            textStart = i
        }
        if textStart < count { fragments.append(.text(textStart..<count)) }
        return fragments
    }
}
