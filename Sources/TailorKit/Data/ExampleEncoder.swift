import Foundation

/// One tokenized training example: `tokens` and, per token, whether predicting it is supervised.
public struct TokenizedExample: Sendable, Equatable {
    public var tokens: [Int32]
    public var supervised: [Bool]
    /// Tokens were cut to fit `max_seq_len`.
    public var truncated: Bool
    /// Truncation removed supervised tokens (the end of an answer, and with it its end-of-turn token).
    public var endCut: Bool
    /// Tokens before truncation.
    public var fullLength: Int

    public init(tokens: [Int32], supervised: [Bool], truncated: Bool = false, endCut: Bool = false, fullLength: Int? = nil) {
        self.tokens = tokens
        self.supervised = supervised
        self.truncated = truncated
        self.endCut = endCut
        self.fullLength = fullLength ?? tokens.count
    }

    /// Tokens whose prediction is trained (the first token is never predicted).
    public var supervisedCount: Int { supervised.dropFirst().reduce(0) { $0 + ($1 ? 1 : 0) } }
}

/// An example rendered to text, with the UTF-8 byte ranges of the text that are supervised.
public struct RenderedExample: Sendable, Equatable {
    public var text: String
    public var supervised: [Range<Int>]
    /// Whether the tokenizer adds its BOS/EOS (plain text and completions) or the text already has them
    /// (chat templates write their own).
    public var addSpecialTokens: Bool
    /// An EOS token is appended after the text, supervised, so the model learns to stop.
    public var appendEOS: Bool
}

/// Renders examples (chat through the template), tokenizes them and builds the loss mask:
/// - text: every token, then EOS (mlx-lm and TRL append it so the model learns to stop);
/// - completion: the completion and EOS with `mask_prompt`, everything otherwise (TRL's prompt–completion);
/// - chat: with `mask_prompt`, the content of each assistant turn (`train_on: assistant`) or of the last one
///   (`last`) and the end-of-turn token that closes it; nothing else. `train_on: all` trains on everything.
///
/// Assistant spans are found the way `transformers` finds generation spans without `{% generation %}`
/// tags: the conversation up to turn i rendered with `add_generation_prompt` must be a prefix of the whole
/// rendering; the turn's supervised text runs from there to the end of the first end-of-turn marker.
public struct ExampleEncoder {
    public let tokenizer: Tokenizer
    public let template: ChatTemplate?
    public let maskPrompt: Bool
    public let trainOn: TrainOnTurns
    /// Longest example kept, in tokens (`max_seq_len + 1`: inputs and the shifted labels).
    public let maxTokens: Int
    /// Texts that close a turn (`<|im_end|>`, `<|eot_id|>`, `<end_of_turn>`, `</s>`...) in this vocabulary.
    public let endMarkers: [String]
    /// Token ids that end a turn or a text.
    public let endIds: Set<Int32>

    public init(tokenizer: Tokenizer, template: ChatTemplate?, maskPrompt: Bool, trainOn: TrainOnTurns, maxTokens: Int) {
        self.tokenizer = tokenizer
        self.template = template
        self.maskPrompt = maskPrompt
        self.trainOn = trainOn
        self.maxTokens = maxTokens
        var ids: [Int32] = []
        for id in [tokenizer.eosId, tokenizer.eotId].compactMap({ $0 }) { ids.append(id) }
        for name in ["<|im_end|>", "<|eot_id|>", "<|eom_id|>", "<end_of_turn>", "<|end|>", "</s>", "<|endoftext|>"] {
            if let id = tokenizer.id(of: name) { ids.append(id) }
        }
        var markers: [String] = []
        for id in ids {
            let text = String(decoding: tokenizer.tokenBytes(id), as: UTF8.self)
            if !text.isEmpty && !markers.contains(text) { markers.append(text) }
        }
        endMarkers = markers
        endIds = Set(ids)
    }

    public init(tokenizer: Tokenizer, template: ChatTemplate?, data: DataConfig, maxSeqLen: Int) {
        self.init(tokenizer: tokenizer, template: template, maskPrompt: data.maskPrompt, trainOn: data.trainOn, maxTokens: maxSeqLen + 1)
    }

    var trainsEverything: Bool { !maskPrompt || trainOn == .all }

    /// The example as text with its supervised byte ranges.
    public func render(_ example: Example) throws(ExampleShapeError) -> RenderedExample {
        switch example {
        case let .text(s):
            return RenderedExample(text: s, supervised: [0..<s.utf8.count], addSpecialTokens: true, appendEOS: true)
        case let .completion(prompt, completion):
            let text = prompt + completion
            let n = text.utf8.count
            return RenderedExample(
                text: text, supervised: [(trainsEverything ? 0 : prompt.utf8.count)..<n], addSpecialTokens: true, appendEOS: true)
        case let .chat(messages, tools):
            return try renderChat(messages, tools: tools)
        }
    }

    func renderChat(_ messages: [ChatMessage], tools: [JSONValue]?) throws(ExampleShapeError) -> RenderedExample {
        guard let template else {
            throw ExampleShapeError("chat data needs a chat template: the model has none; set data.chat_template (chatml, llama3, ...)")
        }
        func render(_ m: ArraySlice<ChatMessage>, _ gen: Bool) throws(ExampleShapeError) -> String {
            do { return try template.render(Array(m), addGenerationPrompt: gen, tools: tools) } catch {
                throw ExampleShapeError((error as? LocalizedError)?.errorDescription ?? "\(error)")
            }
        }
        let full = try render(messages[...], false)
        let fullBytes = Array(full.utf8)
        let n = fullBytes.count
        if trainsEverything {
            return RenderedExample(text: full, supervised: [0..<n], addSpecialTokens: false, appendEOS: false)
        }
        let assistantTurns = messages.indices.filter { messages[$0].role == "assistant" }
        guard let lastTurn = assistantTurns.last else {
            throw ExampleShapeError("the conversation has no assistant message, so nothing would be trained (or set data.train_on: all)")
        }
        let turns = trainOn == .last ? [lastTurn] : assistantTurns
        var ranges: [Range<Int>] = []
        for i in turns {
            let prefix = Array(try render(messages[..<i], true).utf8)
            guard prefix.count <= n, fullBytes[..<prefix.count].elementsEqual(prefix) else {
                throw ExampleShapeError(
                    "the template renders the conversation before assistant message \(i) differently from the whole conversation, so its answer cannot be located (set data.train_on: all, or use a different template)")
            }
            let start = prefix.count
            var end: Int
            if let e = firstEndMarker(in: fullBytes, from: start) {
                end = e
            } else {
                // No end-of-turn marker: the turn ends where the rendering of the conversation up to it ends.
                end = min(n, try render(messages[...i], false).utf8.count)
            }
            end = max(start, end)
            if let last = ranges.last, start < last.upperBound { continue }
            if start < end { ranges.append(start..<end) }
        }
        return RenderedExample(text: full, supervised: ranges, addSpecialTokens: false, appendEOS: false)
    }

    /// The end (exclusive) of the first end-of-turn marker at or after `from`.
    func firstEndMarker(in bytes: [UInt8], from: Int) -> Int? {
        var best: Int?
        for m in endMarkers {
            let mb = Array(m.utf8)
            guard let first = mb.first, mb.count <= bytes.count - from else { continue }
            var i = from
            let limit = best.map { min($0, bytes.count) } ?? bytes.count
            while i + mb.count <= limit {
                if bytes[i] == first && bytes[i..<(i + mb.count)].elementsEqual(mb) {
                    if best.map({ i + mb.count < $0 }) ?? true { best = i + mb.count }
                    break
                }
                i += 1
            }
        }
        return best
    }

    /// Tokens and mask of a rendered example: a token is supervised when its text starts inside a
    /// supervised range (the offset mapping `tokenizers` uses for assistant masks).
    public func tokenize(_ r: RenderedExample) -> TokenizedExample {
        let (ids0, starts0) = tokenizer.encodeWithOffsets(r.text, addSpecialTokens: r.addSpecialTokens)
        var ids = ids0
        var supervised = [Bool](repeating: false, count: ids.count)
        var k = 0
        for (t, s) in starts0.enumerated() where s >= 0 {
            while k < r.supervised.count && r.supervised[k].upperBound <= s { k += 1 }
            if k < r.supervised.count && r.supervised[k].contains(s) { supervised[t] = true }
        }
        if r.appendEOS, let eos = tokenizer.eosId, ids.last != eos {
            ids.append(eos)
            supervised.append(true)
        } else if r.appendEOS, ids.last == tokenizer.eosId, let last = supervised.indices.last {
            supervised[last] = true
        }
        return truncate(TokenizedExample(tokens: ids, supervised: supervised))
    }

    func truncate(_ e: TokenizedExample) -> TokenizedExample {
        guard e.tokens.count > maxTokens else { return e }
        let cut = e.supervised[maxTokens...].contains(true)
        return TokenizedExample(
            tokens: Array(e.tokens[..<maxTokens]), supervised: Array(e.supervised[..<maxTokens]), truncated: true, endCut: cut,
            fullLength: e.tokens.count)
    }

    public func encode(_ example: Example) throws(ExampleShapeError) -> TokenizedExample {
        tokenize(try render(example))
    }

    /// Whether the last supervised token ends a turn or the text (so the model learns to stop).
    public func endsWithSupervisedEnd(_ e: TokenizedExample) -> Bool {
        guard let last = e.supervised.lastIndex(of: true), last > 0 else { return false }
        return endIds.contains(e.tokens[last])
    }
}
