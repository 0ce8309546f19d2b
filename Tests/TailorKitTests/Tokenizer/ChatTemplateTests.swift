import XCTest

@testable import TailorKit

final class ChatTemplateTests: XCTestCase {
    /// SmolLM2's template inserts its default system turn when the conversation has none
    /// (the literal text the Jinja template emits).
    func testChatMLWithDefaultSystem() throws {
        let file = try GGUFFile(path: try smolLM2Path())
        let t = try ChatTemplate(template: try file.string("tokenizer.chat_template"))
        XCTAssertEqual(
            try t.render([ChatMessage(role: "user", content: "Hi")], addGenerationPrompt: true),
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
        XCTAssertEqual(
            try t.render([ChatMessage(role: "system", content: "Be brief."), ChatMessage(role: "user", content: "Hi")], addGenerationPrompt: false),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n")
    }

    func testUnknownTemplateIsAnError() {
        XCTAssertThrowsError(try ChatTemplate(template: "{{ messages }}", path: "m.gguf")) { e in
            XCTAssertTrue(e.localizedDescription.contains("m.gguf"))
        }
    }
}
