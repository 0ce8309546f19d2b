import Foundation

/// Where training batches come from: the streaming pipeline, or examples in memory (tests, tiny data).
public protocol BatchSource: AnyObject {
    /// The next batch of `rows` examples.
    func next() throws -> TrainingBatch
    /// Completed passes over the data.
    var epoch: Int { get }
    /// The position to save in a checkpoint (nil when the source cannot resume).
    func state() -> DataStreamState?
    func restore(_ state: DataStreamState) throws
}

extension BatchStream: BatchSource {
    public func state() -> DataStreamState? { streamState() }
}

/// Examples held in memory, served in a seeded per-epoch shuffle, padded.
public final class InMemoryBatches: BatchSource {
    let examples: [TokenizedExample]
    let rows: Int
    let maxSeqLen: Int
    let padId: Int32
    var rng: SeededRNG
    var order: [Int] = []
    var cursor = 0
    public private(set) var epoch = -1

    public init(_ examples: [TokenizedExample], rows: Int, maxSeqLen: Int, padId: Int32, seed: UInt64) {
        precondition(!examples.isEmpty, "no examples")
        self.examples = examples
        self.rows = rows
        self.maxSeqLen = maxSeqLen
        self.padId = padId
        rng = SeededRNG(seed: seed &+ 0x5EED)
    }

    public func next() throws -> TrainingBatch {
        var out: [TokenizedExample] = []
        while out.count < rows {
            if cursor >= order.count {
                order = Array(examples.indices)
                order.shuffle(using: &rng)
                cursor = 0
                epoch += 1
            }
            out.append(examples[order[cursor]])
            cursor += 1
        }
        return Batcher.batch(out, padId: padId, maxSeqLen: maxSeqLen)
    }

    public func state() -> DataStreamState? { nil }
    public func restore(_ state: DataStreamState) throws {}
}

/// The data side of a run (ARCHITECTURE.md §1): the training and validation files read through
/// `ExampleSource`s with one `ExampleEncoder`, the held-out split, the shuffled batch stream.
public struct DataPipeline {
    public let config: TrainingConfig
    public let tokenizer: Tokenizer
    public let encoder: ExampleEncoder
    public let schema: ExampleSchema
    /// Called for each skipped line or example (`on_bad_line: skip`, examples with nothing to train).
    public var onIssue: ((DataIssue) -> Void)?

    public init(config: TrainingConfig, tokenizer: Tokenizer, template: ChatTemplate?) {
        self.config = config
        self.tokenizer = tokenizer
        encoder = ExampleEncoder(tokenizer: tokenizer, template: template, data: config.data, maxSeqLen: config.train.maxSeqLen)
        schema = ExampleSchema(config.data)
    }

    var holdoutSeed: UInt64 { config.train.seed &+ 0x401D }

    public var padId: Int32 { tokenizer.padId ?? tokenizer.eosId ?? 0 }

    public func trainSource() throws -> ExampleSource {
        let d = config.data
        let holdout = d.valid == nil ? d.validFraction.map { Holdout(fraction: $0, seed: holdoutSeed, heldOut: false) } : nil
        let s = try ExampleSource(path: d.train, schema: schema, encoder: encoder, policy: d.onBadLine, holdout: holdout)
        s.onIssue = onIssue
        return s
    }

    public func validSource() throws -> ExampleSource? {
        let d = config.data
        let s: ExampleSource
        if let v = d.valid {
            s = try ExampleSource(path: v, schema: schema, encoder: encoder, policy: d.onBadLine)
        } else if let f = d.validFraction {
            s = try ExampleSource(path: d.train, schema: schema, encoder: encoder, policy: d.onBadLine, holdout: Holdout(fraction: f, seed: holdoutSeed, heldOut: true))
        } else {
            return nil
        }
        s.onIssue = onIssue
        return s
    }

    /// The validation examples, in file order (at most `limit`).
    public func validExamples(limit: Int? = nil) throws -> [TokenizedExample] {
        guard let s = try validSource() else { return [] }
        var out: [TokenizedExample] = []
        while limit.map({ out.count < $0 }) ?? true, let e = try s.next() { out.append(e.example) }
        if out.isEmpty { throw DataError.empty(path: s.path) }
        return out
    }

    /// The shuffled training batches.
    public func trainBatches() throws -> BatchStream {
        let t = config.train
        let stream = TrainStream(source: try trainSource(), shuffleBuffer: config.data.shuffleBuffer, seed: t.seed)
        return BatchStream(stream: stream, rows: t.batchSize, maxSeqLen: t.maxSeqLen, packing: config.data.packing, padId: padId)
    }

    /// Examples (and their tokens) in one pass over the training data, for `epochs` → steps. Without
    /// packing only lines are counted (fast, no tokenization); with packing every example is tokenized.
    public func countTraining() throws -> (examples: Int, tokens: Int?) {
        let s = try trainSource()
        if !config.data.packing {
            // Count candidate lines without parsing; bad and empty lines are rare enough for a step count.
            let r = try JSONLReader(path: s.path)
            var n = 0
            while let line = try r.next() {
                if !line.isBlank && (s.holdout?.keeps(line: line.cursor.line) ?? true) { n += 1 }
            }
            return (n, nil)
        }
        var n = 0, tokens = 0
        while let e = try s.next() {
            n += 1
            tokens += e.example.tokens.count - 1
        }
        return (n, tokens)
    }
}
