/// Byte-level BPE over one pre-tokenized word (SPEC.md §7; Sennrich et al. 2016, GPT-2 byte variant):
/// start from one token per byte, then repeatedly merge the adjacent pair with the lowest merge rank,
/// the leftmost such pair on ties, until no adjacent pair has a merge. This is the order both `tokenizers`
/// (BPE `merge_word`) and llama.cpp (`llm_tokenizer_bpe_session`) use.
///
/// Works on token ids: `(left id, right id)` keys a merge's rank and the id it makes, so no strings are
/// built while merging.
struct ByteLevelBPE: Sendable {
    /// A merge's rank (its index in `tokenizer.ggml.merges`) and the token it makes.
    struct Merge: Sendable {
        var rank: Int32
        var id: Int32
    }

    /// The single-byte token for each byte, -1 when the vocabulary lacks it.
    let byteIds: [Int32]
    /// Keyed by `left << 32 | right`.
    let merges: [UInt64: Merge]
    /// When set, a word that is itself a token is emitted whole (see `PreTokenizer.ignoreMerges`).
    let wordIds: [ExactText: Int32]?
    /// Stands for a byte whose token is missing; without one such a byte is dropped, as in `tokenizers`.
    let unkId: Int32?

    /// Words up to this many bytes merge with a rescan per merge (O(n²), tiny n); longer ones use a heap.
    private static let heapThreshold = 48

    /// `tokenToId` maps each spelled token to its id (the last id wins for duplicates, as in llama.cpp).
    init(tokenToId: [ExactText: Int32], merges mergeList: [String], ignoreMerges: Bool, unkId: Int32?) throws {
        guard !mergeList.isEmpty else { throw TokenizerError.missingMerges }
        var byteIds = [Int32](repeating: -1, count: 256)
        for byte in 0..<256 {
            if let scalar = Unicode.Scalar(ByteLevelAlphabet.scalarForByte[byte]),
                let id = tokenToId[ExactText(String(scalar))]
            {
                byteIds[byte] = id
            }
        }
        var merges = [UInt64: Merge](minimumCapacity: mergeList.count)
        for (index, merge) in mergeList.enumerated() {
            // Split on the byte 0x20: splitting `Character`s would miss a space followed by a combining mark.
            let parts = merge.utf8.split(separator: 0x20, omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw TokenizerError.malformedMerge(index: index, merge: merge)
            }
            let left = String(decoding: parts[0], as: UTF8.self)
            let right = String(decoding: parts[1], as: UTF8.self)
            let joined = String(decoding: Array(parts[0]) + Array(parts[1]), as: UTF8.self)
            guard let leftId = tokenToId[ExactText(left)] else {
                throw TokenizerError.mergePieceNotInVocabulary(index: index, merge: merge, piece: left)
            }
            guard let rightId = tokenToId[ExactText(right)] else {
                throw TokenizerError.mergePieceNotInVocabulary(index: index, merge: merge, piece: right)
            }
            guard let id = tokenToId[ExactText(joined)] else {
                throw TokenizerError.mergePieceNotInVocabulary(index: index, merge: merge, piece: joined)
            }
            let key = UInt64(UInt32(bitPattern: leftId)) << 32 | UInt64(UInt32(bitPattern: rightId))
            if merges[key] == nil { merges[key] = Merge(rank: Int32(index), id: id) }
        }
        self.byteIds = byteIds
        self.merges = merges
        self.wordIds = ignoreMerges ? tokenToId : nil
        self.unkId = unkId
    }

    @inline(__always)
    private func merge(_ left: Int32, _ right: Int32) -> Merge? {
        merges[UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))]
    }

    /// The token ids of one word (its UTF-8 bytes).
    func encode(word: ArraySlice<UInt8>) -> [Int32] {
        if let wordIds, let id = wordIds[ExactText(ByteLevelAlphabet.spelling(of: word))] { return [id] }
        var symbols: [Int32] = []
        symbols.reserveCapacity(word.count)
        for byte in word {
            let id = byteIds[Int(byte)]
            if id >= 0 {
                symbols.append(id)
            } else if let unkId {
                symbols.append(unkId)
            }
        }
        if symbols.count < 2 { return symbols }
        return symbols.count <= ByteLevelBPE.heapThreshold ? mergeByRescan(symbols) : mergeByHeap(symbols)
    }

    private func mergeByRescan(_ start: [Int32]) -> [Int32] {
        var symbols = start
        while symbols.count > 1 {
            var best = Int32.max
            var bestAt = -1
            var bestId: Int32 = 0
            for i in 0..<(symbols.count - 1) {
                if let m = merge(symbols[i], symbols[i + 1]), m.rank < best {
                    best = m.rank
                    bestAt = i
                    bestId = m.id
                }
            }
            guard bestAt >= 0 else { break }
            symbols[bestAt] = bestId
            symbols.remove(at: bestAt + 1)
        }
        return symbols
    }

    /// A candidate merge of the symbols at `left` and its right neighbour; stale once either side changed.
    private struct Candidate: Comparable {
        var rank: Int32
        var left: Int32
        var leftId: Int32
        var rightId: Int32

        static func < (a: Candidate, b: Candidate) -> Bool {
            a.rank != b.rank ? a.rank < b.rank : a.left < b.left
        }
    }

    /// Same result as `mergeByRescan` in O(n log n): a linked list of symbols and a queue of candidates.
    private func mergeByHeap(_ start: [Int32]) -> [Int32] {
        let n = start.count
        var ids = start  // -1 once merged into the left neighbour
        var next = (0..<n).map { Int32($0 + 1) }
        var prev = (0..<n).map { Int32($0 - 1) }
        next[n - 1] = -1
        var queue = MinHeap<Candidate>(capacity: 2 * n)
        func consider(_ left: Int32) {
            guard left >= 0 else { return }
            let right = next[Int(left)]
            guard right >= 0, let m = merge(ids[Int(left)], ids[Int(right)]) else { return }
            queue.push(Candidate(rank: m.rank, left: left, leftId: ids[Int(left)], rightId: ids[Int(right)]))
        }
        for i in 0..<(n - 1) { consider(Int32(i)) }
        while let top = queue.pop() {
            let left = Int(top.left)
            let right = next[left]
            guard ids[left] == top.leftId, right >= 0, ids[Int(right)] == top.rightId,
                let m = merge(top.leftId, top.rightId)
            else { continue }
            ids[left] = m.id
            ids[Int(right)] = -1
            let after = next[Int(right)]
            next[left] = after
            if after >= 0 { prev[Int(after)] = Int32(left) }
            consider(prev[left])
            consider(Int32(left))
        }
        var out: [Int32] = []
        var i: Int32 = 0
        while i >= 0 {
            out.append(ids[Int(i)])
            i = next[Int(i)]
        }
        return out
    }
}
