/// Splits text into the words byte-level BPE merges within (SPEC.md §7), by hand-written matchers that
/// reproduce each regex's leftmost-alternative semantics exactly (Oniguruma, as `tokenizers` runs them).
///
/// Regexes, by `tokenizer.ggml.pre`:
///
///     gpt2    's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
///     llama3  (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}
///             | ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
///     qwen2   llama3 with \p{N} in place of \p{N}{1,3}
///
/// "smollm" (and llama.cpp's group with it: starcoder, refact, command-r, codeshell, exaone, minerva) first
/// isolates every `\p{N}` character, then applies gpt2 to each stretch between them, each stretch on its
/// own (so `(?!\S)` sees the stretch's end). That is llama.cpp's regex list `["\p{N}", gpt2]` for
/// LLAMA_VOCAB_PRE_TYPE_SMOLLM and the model's tokenizer.json
/// `Sequence[Digits(individual_digits=true), ByteLevel(use_regex=true)]`. It differs from plain gpt2 only
/// on whitespace before a number: "a  1" is `a|  |1` here and `a| | 1` under gpt2.
struct PreTokenizer: Sendable {
    enum Rule: Sendable {
        case gpt2
        case digitsThenGPT2
        case llama3
        case qwen2
    }

    let rule: Rule
    /// Llama 3's BPE emits a word that is itself a token without merging it (HF `ignore_merges`,
    /// llama.cpp sets it for LLAMA_VOCAB_PRE_TYPE_LLAMA3).
    let ignoreMerges: Bool

    static let supported: [String: (Rule, ignoreMerges: Bool)] = [
        "default": (.gpt2, false), "gpt-2": (.gpt2, false), "gpt2": (.gpt2, false),
        "smollm": (.digitsThenGPT2, false), "starcoder": (.digitsThenGPT2, false),
        "refact": (.digitsThenGPT2, false), "command-r": (.digitsThenGPT2, false),
        "codeshell": (.digitsThenGPT2, false), "exaone": (.digitsThenGPT2, false),
        "minerva-7b": (.digitsThenGPT2, false),
        "llama3": (.llama3, true), "llama-v3": (.llama3, true), "llama-bpe": (.llama3, true),
        "falcon3": (.llama3, true), "pixtral": (.llama3, true),
        "smaug-bpe": (.llama3, false), "dbrx": (.llama3, false),
        "qwen2": (.qwen2, false), "deepseek-r1-qwen": (.qwen2, false), "stablelm2": (.qwen2, false),
        "megrez": (.qwen2, false),
    ]

    /// `pre` nil means the file predates `tokenizer.ggml.pre`; llama.cpp and transformers then use gpt2.
    init(pre: String?) throws {
        guard let entry = PreTokenizer.supported[pre ?? "default"] else {
            throw TokenizerError.unsupportedPreTokenizer(pre ?? "", supported: PreTokenizer.supported.keys.sorted())
        }
        rule = entry.0
        ignoreMerges = entry.ignoreMerges
    }

    /// Appends the byte ranges of the words in `bytes[range]` (well-formed UTF-8) to `words`.
    func split(_ bytes: [UInt8], _ range: Range<Int>, into words: inout [Range<Int>]) {
        let text = Scalars(bytes, range)
        switch rule {
        case .gpt2:
            text.splitGPT2(0, text.count, into: &words)
        case .digitsThenGPT2:
            var start = 0
            for i in 0..<text.count where text.classes[i] == .number {
                if start < i { text.splitGPT2(start, i, into: &words) }
                words.append(text.offsets[i]..<text.offsets[i + 1])
                start = i + 1
            }
            if start < text.count { text.splitGPT2(start, text.count, into: &words) }
        case .llama3:
            text.splitLlama3(maxDigits: 3, into: &words)
        case .qwen2:
            text.splitLlama3(maxDigits: 1, into: &words)
        }
    }
}

/// A text's scalars with their classes and byte offsets (`offsets[count]` is the end).
private struct Scalars {
    var values: [UInt32] = []
    var classes: [ScalarClass] = []
    var offsets: [Int] = []
    var count: Int { values.count }

    init(_ bytes: [UInt8], _ range: Range<Int>) {
        values.reserveCapacity(range.count)
        classes.reserveCapacity(range.count)
        offsets.reserveCapacity(range.count + 1)
        var i = range.lowerBound
        while i < range.upperBound {
            let lead = UInt32(bytes[i])
            var value: UInt32
            var length: Int
            if lead < 0x80 {
                value = lead
                length = 1
            } else if lead < 0xE0 {
                value = lead & 0x1F
                length = 2
            } else if lead < 0xF0 {
                value = lead & 0x0F
                length = 3
            } else {
                value = lead & 0x07
                length = 4
            }
            for k in 1..<length { value = value << 6 | UInt32(bytes[i + k] & 0x3F) }
            offsets.append(i)
            values.append(value)
            classes.append(ScalarClass(value))
            i += length
        }
        offsets.append(range.upperBound)
    }

    @inline(__always)
    private func emit(_ start: Int, _ end: Int, _ words: inout [Range<Int>]) {
        words.append(offsets[start]..<offsets[end])
    }

    /// First index in `i..<end` whose class is not `cls`.
    @inline(__always)
    private func run(of cls: ScalarClass, from i: Int, to end: Int) -> Int {
        var j = i
        while j < end && classes[j] == cls { j += 1 }
        return j
    }

    /// `'s|'t|'re|'ve|'m|'ll|'d` at `i`; returns the match length, 0 if none. `fold` makes it `(?i:...)`:
    /// ASCII case, plus U+017F (long s), whose case fold is "s".
    @inline(__always)
    private func contraction(at i: Int, end: Int, fold: Bool) -> Int {
        guard values[i] == 0x27, i + 1 < end else { return 0 }
        func letter(_ k: Int) -> UInt32 {
            let v = values[k]
            guard fold else { return v }
            if v >= 0x41 && v <= 0x5A { return v + 0x20 }
            return v == 0x17F ? 0x73 : v
        }
        switch letter(i + 1) {
        case 0x73, 0x74, 0x6D, 0x64: return 2  // s t m d
        case 0x72, 0x76: return i + 2 < end && letter(i + 2) == 0x65 ? 3 : 0  // re ve
        case 0x6C: return i + 2 < end && letter(i + 2) == 0x6C ? 3 : 0  // ll
        default: return 0
        }
    }

    /// `\s+(?!\S)|\s+` at a whitespace scalar `i`: a run followed by a non-space gives that non-space its
    /// last whitespace (unless the run is a single scalar).
    @inline(__always)
    private func whitespace(at i: Int, end: Int, _ words: inout [Range<Int>]) -> Int {
        let runEnd = run(of: .whitespace, from: i, to: end)
        let matchEnd = runEnd < end && runEnd - i >= 2 ? runEnd - 1 : runEnd
        emit(i, matchEnd, &words)
        return matchEnd
    }

    /// GPT-2 over scalars `start..<end`, with `end` taken as the end of the text.
    func splitGPT2(_ start: Int, _ end: Int, into words: inout [Range<Int>]) {
        var i = start
        while i < end {
            let length = contraction(at: i, end: end, fold: false)
            if length > 0 {
                emit(i, i + length, &words)
                i += length
                continue
            }
            // ` ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+`: an optional U+0020 before a run of one class.
            var j = i
            if values[i] == 0x20 && i + 1 < end && classes[i + 1] != .whitespace { j = i + 1 }
            let cls = classes[j]
            if cls != .whitespace {
                let runEnd = run(of: cls, from: j, to: end)
                emit(i, runEnd, &words)
                i = runEnd
                continue
            }
            i = whitespace(at: i, end: end, &words)
        }
    }

    @inline(__always)
    private func isNewline(_ k: Int) -> Bool { values[k] == 0x0A || values[k] == 0x0D }

    /// Llama 3 (`maxDigits` 3) or Qwen2 (`maxDigits` 1) over all scalars.
    func splitLlama3(maxDigits: Int, into words: inout [Range<Int>]) {
        let end = count
        var i = 0
        while i < end {
            let length = contraction(at: i, end: end, fold: true)
            if length > 0 {
                emit(i, i + length, &words)
                i += length
                continue
            }
            let cls = classes[i]
            // `[^\r\n\p{L}\p{N}]?\p{L}+`
            if cls == .letter {
                i = emitRun(.letter, from: i, start: i, end: end, &words)
                continue
            }
            if cls != .number && !isNewline(i) && i + 1 < end && classes[i + 1] == .letter {
                i = emitRun(.letter, from: i + 1, start: i, end: end, &words)
                continue
            }
            // `\p{N}{1,3}` or `\p{N}`
            if cls == .number {
                var j = i + 1
                while j < end && j - i < maxDigits && classes[j] == .number { j += 1 }
                emit(i, j, &words)
                i = j
                continue
            }
            // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
            var j = i
            if values[i] == 0x20 && i + 1 < end && classes[i + 1] == .other { j = i + 1 }
            if classes[j] == .other {
                var runEnd = run(of: .other, from: j, to: end)
                while runEnd < end && isNewline(runEnd) { runEnd += 1 }
                emit(i, runEnd, &words)
                i = runEnd
                continue
            }
            // `\s*[\r\n]+`: the whitespace run up to and including its last newline.
            let runEnd = run(of: .whitespace, from: i, to: end)
            var lastNewline = runEnd - 1
            while lastNewline >= i && !isNewline(lastNewline) { lastNewline -= 1 }
            if lastNewline >= i {
                emit(i, lastNewline + 1, &words)
                i = lastNewline + 1
                continue
            }
            i = whitespace(at: i, end: end, &words)
        }
    }

    @inline(__always)
    private func emitRun(
        _ cls: ScalarClass, from j: Int, start: Int, end: Int, _ words: inout [Range<Int>]
    ) -> Int {
        let runEnd = run(of: cls, from: j, to: end)
        emit(start, runEnd, &words)
        return runEnd
    }
}
