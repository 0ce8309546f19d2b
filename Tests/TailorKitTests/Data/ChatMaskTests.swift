import XCTest

@testable import TailorKit

/// The loss mask on conversations rendered by every built-in template: exactly each assistant answer and
/// the end-of-turn text that closes it are supervised, nothing else (prompts, headers, system text, the
/// newline after the end-of-turn).
final class ChatMaskTests: XCTestCase {
    /// The end-of-turn text each template writes after an assistant answer.
    let endOfTurn: [String: String] = [
        "chatml": "<|im_end|>", "smollm2": "<|im_end|>", "qwen2.5": "<|im_end|>", "llama3": "<|eot_id|>",
        "llama3.1": "<|eot_id|>", "llama3.2": "<|eot_id|>", "mistral": "</s>", "gemma2": "<end_of_turn>", "phi3": "<|end|>",
    ]

    func supervisedTexts(_ r: RenderedExample) -> [String] {
        let bytes = Array(r.text.utf8)
        return r.supervised.map { String(decoding: bytes[$0], as: UTF8.self) }
    }

    func testEveryTemplateSupervisesExactlyTheAnswersAndTheirEndOfTurn() throws {
        let tok = try smolLM2Tokenizer()
        let answers = ["Hello! How can I help?", "Refunds are possible within 45 days.", "You're welcome."]
        let withSystem: [ChatMessage] = [
            ChatMessage(role: "system", content: "You are Brin."), ChatMessage(role: "user", content: "Hi"),
            ChatMessage(role: "assistant", content: answers[0]), ChatMessage(role: "user", content: "Refunds?"),
            ChatMessage(role: "assistant", content: answers[1]), ChatMessage(role: "user", content: "Thanks"),
            ChatMessage(role: "assistant", content: answers[2]),
        ]
        XCTAssertEqual(Set(endOfTurn.keys), Set(ChatTemplate.builtinNames), "every built-in template is covered")
        for name in ChatTemplate.builtinNames {
            var template = try ChatTemplate.named(name, bosToken: "<s>", eosToken: name == "mistral" ? "</s>" : "<|endoftext|>")
            template.now = { Date(timeIntervalSince1970: 1_750_000_000) }
            // Gemma 2 refuses a system turn.
            let messages = name == "gemma2" ? Array(withSystem.dropFirst()) : withSystem
            let eot = try XCTUnwrap(endOfTurn[name])
            for trainOn in [TrainOnTurns.assistant, .last] {
                let enc = ExampleEncoder(tokenizer: tok, template: template, maskPrompt: true, trainOn: trainOn, maxTokens: 4096)
                let r = try enc.render(.chat(messages: messages, tools: nil))
                let expected = (trainOn == .last ? [answers[2]] : answers).map { $0 + eot }
                XCTAssertEqual(supervisedTexts(r), expected, "\(name) train_on \(trainOn)")
                XCTAssertEqual(r.text, try template.render(messages, addGenerationPrompt: false), name)
                // Tokens: a token is supervised exactly when its text overlaps a supervised span. SmolLM2's
                // vocabulary has ChatML's markers as single tokens, so there the supervised tokens spell the
                // answers exactly; other families' markers split into pieces that may straddle a boundary.
                let e = enc.tokenize(r)
                let (ids, starts) = tok.encodeWithOffsets(r.text, addSpecialTokens: false)
                XCTAssertEqual(e.tokens, ids)
                for t in ids.indices {
                    let end = t + 1 < starts.count ? starts[t + 1] : r.text.utf8.count
                    let overlaps = r.supervised.contains { $0.lowerBound < end && starts[t] < $0.upperBound }
                    XCTAssertEqual(e.supervised[t], overlaps, "\(name) token \(t)")
                }
                if ["chatml", "smollm2", "qwen2.5"].contains(name) {
                    let tokText = tok.decode(zip(e.tokens, e.supervised).filter(\.1).map(\.0))
                    XCTAssertEqual(tokText, expected.joined(), "\(name) train_on \(trainOn)")
                }
            }
        }
    }

    func testAConversationWithNoAssistantTurnIsAShapeError() throws {
        let tok = try smolLM2Tokenizer()
        let enc = ExampleEncoder(
            tokenizer: tok, template: try ChatTemplate.named("chatml", bosToken: "", eosToken: "<|im_end|>"), maskPrompt: true,
            trainOn: .assistant, maxTokens: 512)
        XCTAssertThrowsError(try enc.render(.chat(messages: [ChatMessage(role: "user", content: "hi")], tools: nil))) { e in
            XCTAssertTrue((e as? ExampleShapeError)?.reason.contains("no assistant message") ?? false)
        }
    }
}
