/// SentencePiece-style BPE (SPEC.md §7; sentencepiece `bpe_model.cc`, ported by llama.cpp as
/// `llm_tokenizer_spm`): split the text into characters, then repeatedly join the adjacent pair whose
/// joined text is a piece with the highest score, the leftmost such pair on ties. A final symbol that is not
/// a piece becomes its `<0xNN>` byte tokens (byte fallback), or the unknown token when there are none.
///
/// The caller has already escaped spaces as `▁` (U+2581) and added the dummy prefix.
struct SentencePieceBPE: Sendable {
    /// Pieces a merge may make: normal, user-defined and unused (sentencepiece's `pieces_`); never control,
    /// unknown or byte tokens, so `<`, `s`, `>` do not join into `<s>`.
    let pieceIds: [ExactText: Int32]
    let scores: [Float]
    /// Unused pieces still merge, then are split back into the pieces that made them (sentencepiece
    /// resegmentation).
    let unused: Set<Int32>
    /// `<0xNN>` token for each byte, -1 if missing.
    let byteIds: [Int32]
    let unkId: Int32?

    init(tokens: [String], types: [VocabTokenType], scores: [Float], unkId: Int32?) {
        var pieceIds = [ExactText: Int32](minimumCapacity: tokens.count)
        var unused = Set<Int32>()
        var byteIds = [Int32](repeating: -1, count: 256)
        var hex: [ExactText: Int] = [:]
        for byte in 0..<256 {
            let digits = String(byte, radix: 16, uppercase: true)
            hex[ExactText("<0x" + (digits.count == 1 ? "0" : "") + digits + ">")] = byte
        }
        for (index, token) in tokens.enumerated() {
            let id = Int32(index)
            let key = ExactText(token)
            switch types[index] {
            case .normal, .undefined, .userDefined:
                pieceIds[key] = id
            case .unused:
                pieceIds[key] = id
                unused.insert(id)
            case .control, .unknown, .byte:
                break
            }
            if let byte = hex[key] { byteIds[byte] = id }
        }
        self.pieceIds = pieceIds
        self.scores = scores.isEmpty ? [Float](repeating: 0, count: tokens.count) : scores
        self.unused = unused
        self.byteIds = byteIds
        self.unkId = unkId
    }

    /// A symbol: `bytes[start..<start + length]`; `length` 0 once joined into its left neighbour.
    private struct Symbol {
        var start: Int
        var length: Int
        var prev: Int
        var next: Int
    }

    /// A candidate join of `left` and `right`; stale once either side's length changed (lengths only grow
    /// or drop to 0, so a matching total means both are as they were).
    private struct Candidate: Comparable {
        var score: Float
        var left: Int
        var right: Int
        var length: Int

        /// Higher score first, then leftmost: sentencepiece's agenda order.
        static func < (a: Candidate, b: Candidate) -> Bool {
            a.score != b.score ? a.score > b.score : a.left < b.left
        }
    }

    /// Appends the ids of `bytes` (well-formed UTF-8, spaces already `▁`) to `output`.
    func encode(_ bytes: [UInt8], into output: inout [Int32]) {
        var symbols: [Symbol] = []
        symbols.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            let length = max(1, min(UTF8Text.sequenceLength(lead: bytes[i]), bytes.count - i))
            symbols.append(Symbol(start: i, length: length, prev: symbols.count - 1, next: symbols.count + 1))
            i += length
        }
        guard !symbols.isEmpty else { return }
        symbols[symbols.count - 1].next = -1

        var joins: [ExactText: (ExactText, ExactText)] = [:]
        var queue = MinHeap<Candidate>(capacity: 2 * symbols.count)
        func text(_ s: Symbol) -> ExactText { ExactText(utf8: bytes[s.start..<(s.start + s.length)]) }
        func consider(_ left: Int, _ right: Int) {
            guard left >= 0, right >= 0 else { return }
            let l = symbols[left]
            let r = symbols[right]
            let joined = ExactText(utf8: bytes[l.start..<(r.start + r.length)])
            guard let id = pieceIds[joined] else { return }
            queue.push(Candidate(score: scores[Int(id)], left: left, right: right, length: l.length + r.length))
            if unused.contains(id) { joins[joined] = (text(l), text(r)) }
        }
        for k in 1..<symbols.count { consider(k - 1, k) }
        while let top = queue.pop() {
            let l = symbols[top.left]
            let r = symbols[top.right]
            guard l.length > 0, r.length > 0, l.length + r.length == top.length else { continue }
            symbols[top.left].length += r.length
            symbols[top.right].length = 0
            symbols[top.left].next = r.next
            if r.next >= 0 { symbols[r.next].prev = top.left }
            consider(l.prev, top.left)
            consider(top.left, r.next)
        }

        var k = 0
        while k >= 0 {
            let s = symbols[k]
            resegment(text(s), Array(bytes[s.start..<(s.start + s.length)]), joins, into: &output)
            k = s.next
        }
    }

    private func resegment(
        _ piece: ExactText, _ pieceBytes: [UInt8], _ joins: [ExactText: (ExactText, ExactText)],
        into output: inout [Int32]
    ) {
        if let id = pieceIds[piece] {
            if !unused.contains(id) {
                output.append(id)
                return
            }
            if let (left, right) = joins[piece] {
                resegment(left, Array(left.value.utf8), joins, into: &output)
                resegment(right, Array(right.value.utf8), joins, into: &output)
                return
            }
        }
        let bytesKnown = pieceBytes.allSatisfy { byteIds[Int($0)] >= 0 }
        if bytesKnown {
            for byte in pieceBytes { output.append(byteIds[Int(byte)]) }
        } else if let unkId {
            output.append(unkId)
        }
    }
}
