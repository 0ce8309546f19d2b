import Foundation
import XCTest

@testable import TailorKit

/// Golden ids from scripts/golden/tokenizer.py (SPEC.md §7): SmolLM2's byte-level BPE against transformers'
/// GGUF tokenizer with the model's own pre-tokenizer, tiny-spm.gguf.bin against sentencepiece.
final class TokenizerGoldenTests: XCTestCase {
    private struct Golden: Decodable {
        struct Case: Decodable {
            var text: String
            var ids: [Int32]
            var decoded: String?
            var parseSpecial: Bool?

            enum CodingKeys: String, CodingKey {
                case text, ids, decoded
                case parseSpecial = "parse_special"
            }
        }

        struct DecodeCase: Decodable {
            var ids: [Int32]
            var skipSpecial: Bool
            var text: String

            enum CodingKeys: String, CodingKey {
                case ids, text
                case skipSpecial = "skip_special"
            }
        }

        var cases: [Case]
        var decodeCases: [DecodeCase]

        enum CodingKeys: String, CodingKey {
            case cases
            case decodeCases = "decode_cases"
        }
    }

    private struct Splits: Decodable {
        var texts: [String]
        var splits: [String: [[String]]]
    }

    /// Byte-exact: `String ==` would accept "e\u{301}" for "é".
    private func assertSameText(
        _ found: String, _ expected: String, _ message: @autoclosure () -> String = "", file: StaticString = #filePath,
        line: UInt = #line
    ) {
        XCTAssertTrue(
            found.utf8.elementsEqual(expected.utf8),
            "\(found.debugDescription) != \(expected.debugDescription) \(message())", file: file, line: line)
    }

    private func golden(_ name: String) throws -> Golden {
        try JSONDecoder().decode(Golden.self, from: Data(contentsOf: fixtureURL(name)))
    }

    /// Every golden case's ids, reporting each mismatch with its text; returns how many were checked.
    @discardableResult
    private func assertGoldenIds(
        _ tokenizer: Tokenizer, _ golden: Golden, file: StaticString = #filePath,
        line: UInt = #line
    ) -> Int {
        for c in golden.cases {
            let ids = tokenizer.encode(c.text, addSpecialTokens: false, parseSpecial: c.parseSpecial ?? true)
            XCTAssertEqual(ids, c.ids, "encode(\(c.text.debugDescription.prefix(60)))", file: file, line: line)
        }
        return golden.cases.count
    }

    // MARK: byte-level BPE (SmolLM2)

    func testSmolLM2GoldenIds() throws {
        let golden = try golden("tokenizer_smollm2.json")
        XCTAssertGreaterThanOrEqual(golden.cases.count, 40)
        assertGoldenIds(try smolLM2Tokenizer(), golden)
    }

    func testSmolLM2DecodeRoundTrips() throws {
        let tokenizer = try smolLM2Tokenizer()
        let golden = try golden("tokenizer_smollm2.json")
        for c in golden.cases {
            assertSameText(tokenizer.decode(c.ids), c.text, "decode of \(c.text.debugDescription.prefix(60))")
            if let decoded = c.decoded { assertSameText(tokenizer.decode(c.ids), decoded) }
            let parseSpecial = c.parseSpecial ?? true
            let again = tokenizer.encode(c.text, addSpecialTokens: false, parseSpecial: parseSpecial)
            assertSameText(tokenizer.decode(again), c.text)
        }
        for c in golden.decodeCases {
            assertSameText(tokenizer.decode(c.ids, skipSpecial: c.skipSpecial), c.text, "decode(\(c.ids))")
        }
    }

    func testSmolLM2SpecialTokens() throws {
        let tokenizer = try smolLM2Tokenizer()
        let start = try XCTUnwrap(tokenizer.id(of: "<|im_start|>"))
        let end = try XCTUnwrap(tokenizer.id(of: "<|im_end|>"))
        XCTAssertTrue(tokenizer.isControl(start))
        XCTAssertFalse(tokenizer.isControl(try XCTUnwrap(tokenizer.id(of: "hello"))))

        let text = "<|im_start|>user\nhi<|im_end|>"
        let parsed = tokenizer.encode(text, addSpecialTokens: false)
        XCTAssertEqual(parsed.first, start)
        XCTAssertEqual(parsed.last, end)
        XCTAssertEqual(parsed.filter { $0 == start }.count, 1)

        let plain = tokenizer.encode(text, addSpecialTokens: false, parseSpecial: false)
        XCTAssertFalse(plain.contains(start))
        XCTAssertFalse(plain.contains(end))
        XCTAssertGreaterThan(plain.count, parsed.count)
        assertSameText(tokenizer.decode(plain), text)

        XCTAssertEqual(tokenizer.decode(parsed, skipSpecial: true), "user\nhi")
        // tokenizer.ggml.add_bos_token is false for SmolLM2.
        XCTAssertEqual(tokenizer.encode("hi"), tokenizer.encode("hi", addSpecialTokens: false))
        XCTAssertTrue(tokenizer.endOfGenerationIds.contains(end))
        XCTAssertTrue(tokenizer.endOfGenerationIds.contains(try XCTUnwrap(tokenizer.id(of: "<|endoftext|>"))))
        XCTAssertFalse(tokenizer.endOfGenerationIds.contains(start))
        XCTAssertEqual(tokenizer.piece(try XCTUnwrap(tokenizer.id(of: "Ġworld"))), "Ġworld")
        XCTAssertEqual(tokenizer.tokenBytes(try XCTUnwrap(tokenizer.id(of: "Ġworld"))), Array(" world".utf8))
        XCTAssertEqual(tokenizer.vocabularySize, 49152)
    }

    func testSmolLM2StreamingHoldsBackSplitCharacters() throws {
        let tokenizer = try smolLM2Tokenizer()
        let llama = tokenizer.encode("🦙", addSpecialTokens: false)
        XCTAssertGreaterThan(llama.count, 1, "🦙 should span several byte-level tokens")
        var stream = StreamingDecoder(tokenizer: tokenizer)
        let pieces = llama.map { stream.append($0) }
        XCTAssertEqual(pieces, Array(repeating: "", count: llama.count - 1) + ["🦙"])
        XCTAssertEqual(stream.flush(), "")

        let text = "I love 🦙 and 日本語 👨‍👩‍👧‍👦 한국어!"
        var decoder = StreamingDecoder(tokenizer: tokenizer)
        var out = ""
        for id in tokenizer.encode(text, addSpecialTokens: false) {
            let piece = decoder.append(id)
            XCTAssertFalse(piece.unicodeScalars.contains("\u{FFFD}"), "emitted \(piece.debugDescription) early")
            out += piece
        }
        out += decoder.flush()
        assertSameText(out, text)

        var cut = StreamingDecoder(tokenizer: tokenizer)
        XCTAssertEqual(llama.dropLast().map { cut.append($0) }.joined(), "")
        XCTAssertEqual(cut.flush(), "\u{FFFD}")
    }

    // MARK: SentencePiece BPE (tiny-spm.gguf.bin)

    func testTinySPMGoldenIds() throws {
        let golden = try golden("tokenizer_spm.json")
        XCTAssertGreaterThanOrEqual(golden.cases.count, 40)
        assertGoldenIds(try tinySPMTokenizer(), golden)
    }

    func testTinySPMDecode() throws {
        let tokenizer = try tinySPMTokenizer()
        let golden = try golden("tokenizer_spm.json")
        for c in golden.cases {
            guard let decoded = c.decoded else { continue }
            assertSameText(tokenizer.decode(c.ids), decoded, "decode of \(c.text.debugDescription.prefix(60))")
        }
        for c in golden.decodeCases {
            assertSameText(tokenizer.decode(c.ids, skipSpecial: c.skipSpecial), c.text, "decode(\(c.ids))")
        }
    }

    func testTinySPMSpecialTokensAndByteFallback() throws {
        let tokenizer = try tinySPMTokenizer()
        let bos = try XCTUnwrap(tokenizer.bosId)
        let eos = try XCTUnwrap(tokenizer.eosId)
        XCTAssertEqual(tokenizer.piece(bos), "<s>")
        XCTAssertEqual(tokenizer.encode("hello").first, bos)
        XCTAssertEqual(Array(tokenizer.encode("hello").dropFirst()), tokenizer.encode("hello", addSpecialTokens: false))
        XCTAssertTrue(tokenizer.endOfGenerationIds.contains(eos))

        let byte = try XCTUnwrap(tokenizer.id(of: "<0x0A>"))
        XCTAssertEqual(tokenizer.tokenBytes(byte), [0x0A])
        XCTAssertTrue(tokenizer.encode("a\nb", addSpecialTokens: false).contains(byte))

        let text = "漢字🦙 ok"
        let ids = tokenizer.encode(text, addSpecialTokens: false)
        var stream = StreamingDecoder(tokenizer: tokenizer)
        var out = ""
        for id in ids {
            let piece = stream.append(id)
            XCTAssertFalse(piece.unicodeScalars.contains("\u{FFFD}"), "emitted \(piece.debugDescription) early")
            out += piece
        }
        out += stream.flush()
        assertSameText(out, text)
        assertSameText(tokenizer.decode(ids), text)
    }

    // MARK: pre-tokenizers, regex by regex

    func testPreTokenizerSplitsMatchTokenizers() throws {
        let fixture = try JSONDecoder().decode(
            Splits.self, from: Data(contentsOf: fixtureURL("pretokenizer_splits.json")))
        XCTAssertEqual(Set(fixture.splits.keys), ["gpt-2", "smollm", "llama-bpe", "qwen2"])
        for (pre, expected) in fixture.splits {
            let splitter = try PreTokenizer(pre: pre)
            for (text, words) in zip(fixture.texts, expected) {
                let bytes = Array(text.utf8)
                var ranges: [Range<Int>] = []
                splitter.split(bytes, 0..<bytes.count, into: &ranges)
                let found = ranges.map { Array(bytes[$0]) }
                XCTAssertEqual(found, words.map { Array($0.utf8) }, "\(pre): \(text.debugDescription.prefix(60))")
            }
        }
    }

    // MARK: bad input

    func testRejectsBadVocabularies() {
        func error(_ vocab: TokenizerVocabulary) -> TokenizerError? {
            do {
                _ = try Tokenizer(vocab)
                return nil
            } catch {
                return error as? TokenizerError
            }
        }
        let bytes = (0..<256).map { String(Unicode.Scalar(ByteLevelAlphabet.scalarForByte[$0]) ?? "?") }
        let tokens = bytes + ["ab"]

        guard case .unsupportedModel("wordpiece") = error(TokenizerVocabulary(model: "wordpiece", tokens: ["a"])) else {
            return XCTFail("unsupported model accepted")
        }
        guard
            case .unsupportedPreTokenizer("tekken", _) = error(
                TokenizerVocabulary(model: "gpt2", pre: "tekken", tokens: tokens, merges: ["a b"]))
        else { return XCTFail("unsupported pre accepted") }
        guard case .malformedMerge(0, "ab") = error(TokenizerVocabulary(model: "gpt2", tokens: tokens, merges: ["ab"]))
        else { return XCTFail("malformed merge accepted") }
        guard
            case .mergePieceNotInVocabulary(1, "b c", "bc") = error(
                TokenizerVocabulary(model: "gpt2", tokens: tokens, merges: ["a b", "b c"]))
        else { return XCTFail("merge making an unknown piece accepted") }
        guard case .missingMerges = error(TokenizerVocabulary(model: "gpt2", tokens: tokens)) else {
            return XCTFail("byte-level vocabulary without merges accepted")
        }
        guard
            case .lengthMismatch("token_type", 1, 257) = error(
                TokenizerVocabulary(model: "gpt2", tokens: tokens, tokenTypes: [1], merges: ["a b"]))
        else { return XCTFail("short token_type accepted") }
        guard
            case .tokenIdOutOfRange("bos_token_id", 300, 257) = error(
                TokenizerVocabulary(model: "gpt2", tokens: tokens, merges: ["a b"], bosId: 300))
        else { return XCTFail("bos id outside the vocabulary accepted") }
        guard case .emptyVocabulary = error(TokenizerVocabulary(model: "llama", tokens: [])) else {
            return XCTFail("empty vocabulary accepted")
        }
        XCTAssertNil(error(TokenizerVocabulary(model: "gpt2", tokens: tokens, merges: ["a b"])))
    }

    // MARK: speed

    func testEncodesTenKilobytesQuickly() throws {
        let tokenizer = try smolLM2Tokenizer()
        let golden = try golden("tokenizer_smollm2.json")
        var text = ""
        while text.utf8.count < 10_000 {
            for c in golden.cases where c.parseSpecial ?? true { text += c.text + "\n" }
        }
        let clock = ContinuousClock()
        var ids: [Int32] = []
        let elapsed = clock.measure { ids = tokenizer.encode(text, addSpecialTokens: false) }
        assertSameText(tokenizer.decode(ids), text)
        // Generous for debug builds; release encodes this in a few milliseconds.
        XCTAssertLessThan(elapsed, .seconds(2), "encoding \(text.utf8.count) bytes took \(elapsed)")
    }
}
