import ArgumentParser
import Foundation
import TailorKit

struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Print the token ids of a text as a JSON array.",
        discussion: "Example: tailor tokenize --model M.gguf --text 'Hello world' --pieces")

    @Option(name: .shortAndLong, help: "Path to a GGUF model file (its tokenizer is used).")
    var model: String

    @Option(help: "Text to tokenize.")
    var text: String?

    @Option(help: "File whose UTF-8 contents are tokenized.")
    var file: String?

    @Flag(help: "Print [{\"id\":…, \"piece\":…}] instead of bare ids.")
    var pieces = false

    @Flag(help: "Add BOS/EOS when the vocabulary asks for them (default: off).")
    var addSpecial = false

    func validate() throws {
        if (text == nil) == (file == nil) { throw ValidationError("give exactly one of --text or --file") }
    }

    struct Piece: Encodable {
        var id: Int32
        var piece: String
    }

    func run() throws {
        let gguf = try ModelOptions.parse(["--model", model]).loadFile()
        let tokenizer = try Tokenizer(gguf: gguf)
        let input = try text ?? readText(file: file ?? "")
        let ids = tokenizer.encode(input, addSpecialTokens: addSpecial)
        if pieces {
            let enc = JSONEncoder()
            enc.outputFormatting = [.withoutEscapingSlashes]
            let data = try enc.encode(ids.map { Piece(id: $0, piece: tokenizer.piece($0)) })
            print(String(decoding: data, as: UTF8.self))
        } else {
            print("[" + ids.map(String.init).joined(separator: ",") + "]")
        }
    }
}
