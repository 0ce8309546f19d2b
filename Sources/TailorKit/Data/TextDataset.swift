import Foundation

/// Errors reading training data; each names the file and line.
public enum DataError: Error, LocalizedError, Equatable {
    case cannotRead(path: String, reason: String)
    case badLine(path: String, line: Int, reason: String)
    case empty(path: String)

    public var errorDescription: String? {
        switch self {
        case let .cannotRead(path, reason): "\(path): cannot read: \(reason)"
        case let .badLine(path, line, reason): "\(path):\(line): \(reason)"
        case let .empty(path): "\(path): no examples (expected one JSON object per line)"
        }
    }
}

/// One tokenized training example: `tokens` and, per token, whether predicting it is supervised.
public struct TokenizedExample: Sendable, Equatable {
    public var tokens: [Int32]
    public var supervised: [Bool]
    public var truncated: Bool

    public init(tokens: [Int32], supervised: [Bool], truncated: Bool = false) {
        self.tokens = tokens
        self.supervised = supervised
        self.truncated = truncated
    }
}

/// Plain-text JSONL (`{"text": …}` per line), tokenized with EOS appended so the model learns to stop
/// (mlx-lm's text format does the same). Every token is supervised. The data-pipeline work replaces this
/// with streaming readers for all formats.
public enum TextDataset {
    public static func load(path: String, key: String = "text", tokenizer: Tokenizer, maxTokens: Int) throws -> [TokenizedExample] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DataError.cannotRead(path: path, reason: FileManager.default.fileExists(atPath: path) ? "permission denied" : "no such file")
        }
        var out: [TokenizedExample] = []
        var lineNo = 0
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNo += 1
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            let obj: Any
            do { obj = try JSONSerialization.jsonObject(with: Data(line)) } catch {
                throw DataError.badLine(path: path, line: lineNo, reason: "invalid JSON, expected {\"\(key)\": \"…\"}")
            }
            guard let dict = obj as? [String: Any] else {
                throw DataError.badLine(path: path, line: lineNo, reason: "expected a JSON object {\"\(key)\": \"…\"}")
            }
            guard let text = dict[key] as? String else {
                throw DataError.badLine(path: path, line: lineNo, reason: dict[key] == nil ? "missing key \"\(key)\"" : "\"\(key)\" must be a string")
            }
            var ids = tokenizer.encode(text, addSpecialTokens: true)
            if let eos = tokenizer.eosId, ids.last != eos { ids.append(eos) }
            let truncated = ids.count > maxTokens
            if truncated { ids.removeLast(ids.count - maxTokens) }
            if ids.count < 2 { continue }
            out.append(TokenizedExample(tokens: ids, supervised: [Bool](repeating: true, count: ids.count), truncated: truncated))
        }
        if out.isEmpty { throw DataError.empty(path: path) }
        return out
    }
}

/// Builds right-padded batches from examples: input = tokens[0..<n-1], label = tokens[1..<n] where
/// supervised, −1 elsewhere. Rows are padded to the longest example of the batch, rounded up to 16.
public enum Batcher {
    public static func batch(_ examples: [TokenizedExample], padId: Int32, maxSeqLen: Int) -> TrainingBatch {
        let longest = examples.map { $0.tokens.count - 1 }.max() ?? 1
        let T = min(maxSeqLen, (longest + 15) / 16 * 16)
        var tokens = [Int32](repeating: padId, count: examples.count * T)
        var labels = [Int32](repeating: -1, count: examples.count * T)
        for (r, e) in examples.enumerated() {
            let n = min(T, e.tokens.count - 1)
            for t in 0..<n {
                tokens[r * T + t] = e.tokens[t]
                if e.supervised[t + 1] { labels[r * T + t] = e.tokens[t + 1] }
            }
        }
        return TrainingBatch(rows: examples.count, seqLen: T, tokens: tokens, labels: labels)
    }
}
