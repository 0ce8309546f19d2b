import XCTest

@testable import TailorKit

/// Formats, loss masks, bad lines, the shuffle stream and its exact resume, packing.
final class DataPipelineTests: XCTestCase {
    func tempFile(_ text: String) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-data-\(UUID().uuidString).jsonl")
        try Data(text.utf8).write(to: url)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url.path
    }

    func smolTemplate(_ tok: Tokenizer) throws -> ChatTemplate {
        let file = try GGUFFile(path: try smolLM2Path())
        return try ChatTemplate(template: try XCTUnwrap(file.optionalString("tokenizer.chat_template")), bosToken: "", path: "smollm2")
    }

    /// The supervised tokens decoded, one string per contiguous run.
    func supervisedRuns(_ e: TokenizedExample, _ tok: Tokenizer) -> [String] {
        var runs: [[Int32]] = []
        var open = false
        for (t, s) in zip(e.tokens, e.supervised) {
            if s {
                if !open { runs.append([]) }
                runs[runs.count - 1].append(t)
            }
            open = s
        }
        return runs.map { tok.decode($0) }
    }

    func testFormatDetectionAndShapeErrors() throws {
        let s = ExampleSchema(format: .auto)
        func ex(_ j: String) throws -> Example { try s.example(from: try JSONParser.parse(j)) }
        XCTAssertEqual(try ex(#"{"text": "a"}"#), .text("a"))
        XCTAssertEqual(try ex(#"{"prompt": "p", "completion": "c", "text": "t"}"#), .completion(prompt: "p", completion: "c"))
        guard case let .chat(m, _) = try ex(#"{"messages": [{"role": "user", "content": "hi", "name": "ann"}]}"#) else { return XCTFail() }
        XCTAssertEqual(m.first?.extra["name"], .string("ann"))
        func reason(_ j: String, _ schema: ExampleSchema = ExampleSchema(format: .auto)) -> String {
            do { _ = try schema.example(from: try JSONParser.parse(j)) } catch let e as ExampleShapeError { return e.reason } catch { return "\(error)" }
            return "no error"
        }
        XCTAssertTrue(reason(#"{"txt": "a"}"#).hasPrefix(#"cannot tell the format from the keys "txt""#))
        XCTAssertEqual(reason(#"{"messages": []}"#), #""messages" is empty; expected at least one message"#)
        XCTAssertEqual(reason(#"{"messages": [{"role": "bot", "content": "x"}]}"#), #"messages[0].role "bot" is not one of system, user, assistant, tool"#)
        XCTAssertEqual(reason(#"{"messages": [{"role": "user", "content": 5}]}"#), "messages[0].content must be a string, found a number")
        XCTAssertEqual(reason(#"{"text": 1}"#), #""text" must be a string, found a number"#)
        XCTAssertEqual(reason(#"{"q": "a"}"#, ExampleSchema(format: .completion, promptKey: "q", completionKey: "a")), #"missing key "a"; expected {"q": "…", "a": "…"}"#)
    }

    func testChatMaskSupervisesEachAnswerAndItsEndOfTurnOnly() throws {
        let tok = try smolLM2Tokenizer()
        let template = try smolTemplate(tok)
        let chat = Example.chat(
            messages: [
                ChatMessage(role: "system", content: "Be brief."), ChatMessage(role: "user", content: "Hi there"),
                ChatMessage(role: "assistant", content: "Hello! How can I help?"), ChatMessage(role: "user", content: "Refunds?"),
                ChatMessage(role: "assistant", content: "Within 45 days."),
            ], tools: nil)
        let all = ExampleEncoder(tokenizer: tok, template: template, maskPrompt: true, trainOn: .assistant, maxTokens: 512)
        let e = try all.encode(chat)
        XCTAssertEqual(supervisedRuns(e, tok), ["Hello! How can I help?<|im_end|>", "Within 45 days.<|im_end|>"])
        XCTAssertTrue(all.endsWithSupervisedEnd(e))
        XCTAssertEqual(tok.decode(e.tokens), try template.render(chatMessages(chat), addGenerationPrompt: false))
        let last = ExampleEncoder(tokenizer: tok, template: template, maskPrompt: true, trainOn: .last, maxTokens: 512)
        XCTAssertEqual(supervisedRuns(try last.encode(chat), tok), ["Within 45 days.<|im_end|>"])
        let everything = ExampleEncoder(tokenizer: tok, template: template, maskPrompt: false, trainOn: .assistant, maxTokens: 512)
        XCTAssertEqual(try everything.encode(chat).supervised.allSatisfy { $0 }, true)
        // Truncation that cuts the last answer's end is flagged.
        let short = ExampleEncoder(tokenizer: tok, template: template, maskPrompt: true, trainOn: .assistant, maxTokens: e.tokens.count - 3)
        let cut = try short.encode(chat)
        XCTAssertTrue(cut.truncated && cut.endCut)
        XCTAssertFalse(short.endsWithSupervisedEnd(cut))
        XCTAssertEqual(cut.fullLength, e.tokens.count)
    }

    func chatMessages(_ e: Example) -> [ChatMessage] {
        if case let .chat(m, _) = e { return m }
        return []
    }

    func testCompletionAndTextMasksEndWithASupervisedEOS() throws {
        let tok = try smolLM2Tokenizer()
        let enc = ExampleEncoder(tokenizer: tok, template: nil, maskPrompt: true, trainOn: .assistant, maxTokens: 512)
        let eos = try XCTUnwrap(tok.eosId)
        let c = try enc.encode(.completion(prompt: "Q: capital of France?\nA:", completion: " Paris"))
        XCTAssertEqual(c.tokens.last, eos)
        XCTAssertEqual(supervisedRuns(c, tok), [" Paris" + tok.decode([eos])])
        let t = try enc.encode(.text("Plain words."))
        XCTAssertEqual(t.tokens.last, eos)
        XCTAssertTrue(t.supervised.allSatisfy { $0 })
        let unmasked = ExampleEncoder(tokenizer: tok, template: nil, maskPrompt: false, trainOn: .assistant, maxTokens: 512)
        XCTAssertTrue(try unmasked.encode(.completion(prompt: "Q", completion: " A")).supervised.allSatisfy { $0 })
    }

    func testBadLinesNameFileLineAndColumnOrAreSkippedAndReported() throws {
        let tok = try smolLM2Tokenizer()
        let enc = ExampleEncoder(tokenizer: tok, template: nil, maskPrompt: true, trainOn: .assistant, maxTokens: 64)
        let path = try tempFile("{\"text\": \"one\"}\n\n{\"text\": \"two\"\n{\"text\": 3}\n{\"prompt\": \"p\", \"completion\": \"c\"}\n{\"text\": \"five\"}")
        let strict = try ExampleSource(path: path, schema: ExampleSchema(format: .auto), encoder: enc, policy: .error)
        XCTAssertNotNil(try strict.next())
        XCTAssertThrowsError(try strict.next()) { e in
            XCTAssertEqual(e.localizedDescription, "\(path):3:15: invalid JSON: expected ',' or '}', found the end of the line (the object is not closed); expected {\"text\": \"…\"}")
        }
        let lenient = try ExampleSource(path: path, schema: ExampleSchema(format: .auto), encoder: enc, policy: .skip)
        var issues: [DataIssue] = []
        lenient.onIssue = { issues.append($0) }
        var lines: [Int] = []
        while let e = try lenient.next() { lines.append(e.cursor.line) }
        XCTAssertEqual(lines, [1, 6])
        XCTAssertEqual(issues.map(\.line), [3, 4, 5])
        XCTAssertTrue(issues[2].reason.contains("looks like completion data, but the file's format is text, detected from line 1"), issues[2].reason)
    }

    func textFile(_ n: Int) throws -> String {
        try tempFile((0..<n).map { "{\"text\": \"example number \($0)\"}" }.joined(separator: "\n") + "\n")
    }

    func testShuffleBufferCoversEveryExampleOncePerEpochAndHoldoutSplitsTheFile() throws {
        let tok = try smolLM2Tokenizer()
        let enc = ExampleEncoder(tokenizer: tok, template: nil, maskPrompt: true, trainOn: .assistant, maxTokens: 64)
        let path = try textFile(50)
        for buffer in [0, 7, 1000] {
            let stream = TrainStream(source: try ExampleSource(path: path, schema: ExampleSchema(format: .text), encoder: enc, policy: .error), shuffleBuffer: buffer, seed: 9)
            let epoch1 = try (0..<50).map { _ in try stream.next().cursor.line }
            let epoch2 = try (0..<50).map { _ in try stream.next().cursor.line }
            XCTAssertEqual(Set(epoch1).count, 50, "buffer \(buffer)")
            XCTAssertEqual(Set(epoch2).count, 50, "buffer \(buffer)")
            XCTAssertEqual(epoch1 == Array(1...50), buffer == 0)
            if buffer > 0 { XCTAssertNotEqual(epoch1, epoch2, "each epoch is shuffled anew") }
        }
        let train = try ExampleSource(path: path, schema: ExampleSchema(format: .text), encoder: enc, policy: .error, holdout: Holdout(fraction: 0.2, seed: 1, heldOut: false))
        let valid = try ExampleSource(path: path, schema: ExampleSchema(format: .text), encoder: enc, policy: .error, holdout: Holdout(fraction: 0.2, seed: 1, heldOut: true))
        var a: Set<Int> = [], b: Set<Int> = []
        while let e = try train.next() { a.insert(e.cursor.line) }
        while let e = try valid.next() { b.insert(e.cursor.line) }
        XCTAssertTrue(a.isDisjoint(with: b))
        XCTAssertEqual(a.union(b), Set(1...50))
        XCTAssertTrue((3...18).contains(b.count), "held out \(b.count) of 50 at 0.2")
    }

    func testBatchStreamResumesExactlyFromItsState() throws {
        let tok = try smolLM2Tokenizer()
        let enc = ExampleEncoder(tokenizer: tok, template: nil, maskPrompt: true, trainOn: .assistant, maxTokens: 64)
        let path = try textFile(37)
        for packing in [false, true] {
            func make() throws -> BatchStream {
                let src = try ExampleSource(path: path, schema: ExampleSchema(format: .text), encoder: enc, policy: .error)
                return BatchStream(stream: TrainStream(source: src, shuffleBuffer: 10, seed: 4), rows: 3, maxSeqLen: 24, packing: packing, padId: 0)
            }
            let a = try make()
            var reference: [[Int32]] = []
            var saved: DataStreamState?
            for i in 0..<40 {
                if i == 17 { saved = a.streamState() }
                let b = try a.next()
                reference.append(b.tokens + b.labels + b.positions + b.segmentStart)
            }
            // Round-trip the state through JSON as a checkpoint does.
            let json = try JSONEncoder().encode(try XCTUnwrap(saved))
            let b = try make()
            try b.restore(try JSONDecoder().decode(DataStreamState.self, from: json))
            for i in 17..<40 {
                let x = try b.next()
                XCTAssertEqual(x.tokens + x.labels + x.positions + x.segmentStart, reference[i], "packing \(packing) batch \(i)")
            }
        }
    }

    func testPackedAndUnpackedLossesAgree() throws {
        let weights = try tinyModelWeights()
        let model = LlamaModel(weights: weights, lora: LoRASettings(rank: 4, alpha: 8, dropout: 0, targets: LoRATarget.allCases, layers: [0, 1], useRSLoRA: false), seed: 1)
        var rng = TestRNG(seed: 5)
        let examples = (0..<5).map { i -> TokenizedExample in
            let n = [7, 12, 5, 9, 11][i]
            let toks = (0..<n).map { _ in Int32(rng.int(40)) }
            return TokenizedExample(tokens: toks, supervised: toks.indices.map { $0 % 3 != 0 })
        }
        let ws = TrainingWorkspace(model: model, rows: 5, seqLen: 32, checkpointing: false)
        let unpacked = model.step(Batcher.batch(examples, padId: 0, maxSeqLen: 32), workspace: ws, lossScale: 1, backward: false)
        let packed = model.step(Batcher.packed([[examples[0], examples[1], examples[2]], [examples[3], examples[4]]], padId: 0, seqLen: 32), workspace: ws, lossScale: 1, backward: false)
        XCTAssertEqual(unpacked.tokens, packed.tokens)
        XCTAssertEqual(unpacked.meanLoss, packed.meanLoss, accuracy: 1e-5 * abs(unpacked.meanLoss))
    }
}
