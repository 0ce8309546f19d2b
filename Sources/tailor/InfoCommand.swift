import ArgumentParser
import Foundation
import TailorKit

struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Print a model's architecture, sizes, quantization, memory, tokenizer and chat template.",
        discussion: "Example: tailor info --model models/SmolLM2-135M-Instruct.Q4_1.gguf --json")

    @Option(name: .shortAndLong, help: "Path to a GGUF model file.")
    var model: String

    @Flag(help: "Print JSON only.")
    var json = false

    struct Info: Encodable {
        var path: String
        var ggufVersion: Int
        var architecture: String
        var name: String
        var parameters: Int
        var fileBytes: Int
        var tensorBytes: Int
        var bitsPerWeight: Double
        var hiddenSize, layers, intermediateSize, heads, kvHeads, headDim, vocab, contextLength: Int
        var ropeTheta: Float
        var rmsNormEps: Float
        var tiedEmbeddings: Bool
        var tensorTypes: [String: Int]
        var tokenizerModel: String
        var tokenizerPre: String?
        var bos: String?
        var eos: String?
        var addBos: Bool
        var chatTemplate: String?
    }

    func run() throws {
        let opts = try ModelOptions.parse(["--model", model])
        let file = try opts.loadFile()
        let config = try ModelConfig(gguf: file)
        let tokenizer = try Tokenizer(gguf: file)
        let vocab = try TokenizerVocabulary(gguf: file)
        var types: [String: Int] = [:]
        for t in file.tensors { types[t.type.name, default: 0] += 1 }
        let params = file.tensors.reduce(0) { $0 + $1.elementCount }
        let bytes = file.tensors.reduce(0) { $0 + $1.byteCount }
        let info = Info(
            path: model, ggufVersion: Int(file.version), architecture: config.architecture, name: config.name,
            parameters: params, fileBytes: file.fileSize, tensorBytes: bytes,
            bitsPerWeight: Double(bytes * 8) / Double(max(params, 1)),
            hiddenSize: config.hiddenSize, layers: config.layerCount, intermediateSize: config.intermediateSize,
            heads: config.headCount, kvHeads: config.kvHeadCount, headDim: config.headDim, vocab: config.vocabSize,
            contextLength: config.contextLength, ropeTheta: config.ropeTheta, rmsNormEps: config.rmsNormEps,
            tiedEmbeddings: config.tiedEmbeddings, tensorTypes: types, tokenizerModel: vocab.model,
            tokenizerPre: vocab.pre, bos: vocab.bosId.map { tokenizer.piece($0) },
            eos: vocab.eosId.map { tokenizer.piece($0) }, addBos: vocab.addBos,
            chatTemplate: file.optionalString("tokenizer.chat_template"))
        if json { return try printJSON(info) }
        let mib = { (b: Int) in String(format: "%.1f MiB", Double(b) / 1_048_576) }
        var lines = [
            "model         \(model)",
            "name          \(config.name) (\(config.architecture), GGUF v\(file.version))",
            "parameters    \(String(format: "%.1f", Double(params) / 1e6)) M, \(mib(bytes)) of tensors (\(String(format: "%.2f", info.bitsPerWeight)) bits/weight), mapped read-only",
            "shape         \(config.layerCount) layers, hidden \(config.hiddenSize), ffn \(config.intermediateSize), heads \(config.headCount)/\(config.kvHeadCount) kv, head dim \(config.headDim)",
            "vocab         \(config.vocabSize) tokens, \(vocab.model) tokenizer, pre '\(vocab.pre ?? "-")', add BOS \(vocab.addBos)",
            "context       \(config.contextLength) positions, RoPE theta \(config.ropeTheta), RMSNorm eps \(config.rmsNormEps)",
            "embeddings    \(config.tiedEmbeddings ? "tied (LM head = token embedding)" : "separate output.weight")",
            "tensor types  " + types.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", "),
            "KV cache      \(mib(2 * config.layerCount * config.kvDim * 4 * 1024)) per 1024 positions (Float32)",
        ]
        if let t = info.chatTemplate {
            lines.append("chat template \(t.count) chars: \(t.prefix(100).replacingOccurrences(of: "\n", with: "\\n"))…")
        } else {
            lines.append("chat template none")
        }
        print(lines.joined(separator: "\n"))
    }
}
