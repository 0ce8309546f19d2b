import Foundation

/// Everything needed to continue a training data stream exactly: the reader's position, the epoch, the
/// shuffle buffer and the batches being assembled (as line cursors, re-read on restore, so the state
/// stays small whatever the examples), and the shuffle RNG.
public struct DataStreamState: Sendable, Codable, Equatable {
    public var path: String
    public var epoch: Int
    public var cursor: LineCursor
    public var draining: Bool
    public var yieldedThisEpoch: Int
    public var buffer: [LineCursor]
    public var pending: [LineCursor]
    public var rng: [UInt64]
}

/// Training examples from one file, epoch after epoch, through a seeded bounded shuffle buffer
/// (`data.shuffle_buffer` examples; the tf.data algorithm, drained at each epoch's end so no example is
/// seen twice before every other has been seen once). A buffer at least the file's size gives a full
/// per-epoch permutation; 0 keeps file order.
public final class TrainStream {
    public let source: ExampleSource
    public let capacity: Int
    public private(set) var epoch = 0
    var buffer: [SourcedExample] = []
    var draining = false
    var yieldedThisEpoch = 0
    var rng: SeededRNG

    public init(source: ExampleSource, shuffleBuffer: Int, seed: UInt64) {
        self.source = source
        capacity = shuffleBuffer
        rng = SeededRNG(seed: seed &+ 0xDA7A)
    }

    public func next() throws -> SourcedExample {
        while true {
            while !draining && buffer.count < max(1, capacity) {
                if let e = try source.next() {
                    buffer.append(e)
                } else {
                    draining = true
                }
            }
            if buffer.isEmpty {
                guard yieldedThisEpoch > 0 else { throw DataError.empty(path: source.path) }
                epoch += 1
                yieldedThisEpoch = 0
                draining = false
                try source.seek(to: .start)
                continue
            }
            let j = capacity > 1 ? Int(rng.next() % UInt64(buffer.count)) : 0
            if capacity <= 1 {
                yieldedThisEpoch += 1
                return buffer.removeFirst()
            }
            buffer.swapAt(j, buffer.count - 1)
            yieldedThisEpoch += 1
            return buffer.removeLast()
        }
    }

    func state(pending: [LineCursor]) -> DataStreamState {
        DataStreamState(
            path: source.path, epoch: epoch, cursor: source.cursor, draining: draining, yieldedThisEpoch: yieldedThisEpoch,
            buffer: buffer.map(\.cursor), pending: pending, rng: [rng.state.0, rng.state.1, rng.state.2, rng.state.3])
    }

    /// Restores a saved state; returns the pending examples (re-read from their lines).
    func restore(_ s: DataStreamState) throws -> [SourcedExample] {
        guard s.rng.count == 4 else { throw DataError.cannotRead(path: source.path, reason: "the saved data state is malformed") }
        epoch = s.epoch
        draining = s.draining
        yieldedThisEpoch = s.yieldedThisEpoch
        rng.state = (s.rng[0], s.rng[1], s.rng[2], s.rng[3])
        try source.seek(to: s.cursor)
        func reread(_ cs: [LineCursor]) throws -> [SourcedExample] {
            try cs.map { c in
                guard let e = try source.example(at: c) else {
                    throw DataError.cannotRead(path: source.path, reason: "line \(c.line) no longer gives an example; was the file changed since the checkpoint?")
                }
                return SourcedExample(example: e, cursor: c)
            }
        }
        buffer = try reread(s.buffer)
        return try reread(s.pending)
    }
}

/// Forms training batches from a `TrainStream`:
/// - padded: a pool of `bucketBatches` batches' worth of examples is sorted by length and cut into
///   batches served in a shuffled order, so rows in a batch have similar lengths (mlx-lm sorts by length
///   the same way); a batch is padded to its longest row rounded up to 16;
/// - packed (`data.packing`): examples are laid end to end in rows of `max_seq_len`, with RoPE positions and
///   the attention mask reset at each example's start, so no example sees another.
public final class BatchStream {
    public let stream: TrainStream
    public let rows: Int
    public let maxSeqLen: Int
    public let packing: Bool
    public let padId: Int32
    public let bucketBatches: Int
    var pending: [SourcedExample] = []

    public init(stream: TrainStream, rows: Int, maxSeqLen: Int, packing: Bool, padId: Int32, bucketBatches: Int = 8) {
        self.stream = stream
        self.rows = rows
        self.maxSeqLen = maxSeqLen
        self.packing = packing
        self.padId = padId
        self.bucketBatches = max(1, bucketBatches)
    }

    public var epoch: Int { stream.epoch }

    public func next() throws -> TrainingBatch {
        packing ? try nextPacked() : try nextPadded()
    }

    func nextPadded() throws -> TrainingBatch {
        if pending.isEmpty {
            var pool: [SourcedExample] = []
            pool.reserveCapacity(rows * bucketBatches)
            for _ in 0..<(rows * bucketBatches) { pool.append(try stream.next()) }
            if bucketBatches > 1 {
                let sorted = pool.enumerated().sorted { a, b in
                    a.element.example.tokens.count != b.element.example.tokens.count
                        ? a.element.example.tokens.count < b.element.example.tokens.count : a.offset < b.offset
                }.map(\.element)
                var order = Array(0..<bucketBatches)
                for i in stride(from: order.count - 1, to: 0, by: -1) {
                    order.swapAt(i, Int(stream.rng.next() % UInt64(i + 1)))
                }
                pool = order.flatMap { sorted[($0 * rows)..<(($0 + 1) * rows)] }
            }
            pending = pool
        }
        let take = Array(pending.prefix(rows))
        pending.removeFirst(take.count)
        return Batcher.batch(take.map(\.example), padId: padId, maxSeqLen: maxSeqLen)
    }

    func nextPacked() throws -> TrainingBatch {
        var rowsOut: [[TokenizedExample]] = []
        for _ in 0..<rows {
            var row: [TokenizedExample] = []
            var used = 0
            while true {
                let e = pending.isEmpty ? try stream.next() : pending.removeFirst()
                let need = e.example.tokens.count - 1
                if used + need <= maxSeqLen || row.isEmpty {
                    row.append(e.example)
                    used += min(need, maxSeqLen)
                    if used >= maxSeqLen { break }
                } else {
                    pending.insert(e, at: 0)
                    break
                }
            }
            rowsOut.append(row)
        }
        return Batcher.packed(rowsOut, padId: padId, seqLen: maxSeqLen)
    }

    /// The stream's state between batches, for a checkpoint.
    public func streamState() -> DataStreamState { stream.state(pending: pending.map(\.cursor)) }

    public func restore(_ s: DataStreamState) throws {
        pending = try stream.restore(s)
    }
}

/// Builds batches: input = tokens[0..<n-1], label = tokens[1..<n] where supervised, −1 elsewhere.
public enum Batcher {
    /// Right-padded rows, padded to the longest example rounded up to 16 (at most `maxSeqLen`).
    public static func batch(_ examples: [TokenizedExample], padId: Int32, maxSeqLen: Int) -> TrainingBatch {
        let longest = examples.map { $0.tokens.count - 1 }.max() ?? 1
        let T = min(maxSeqLen, (longest + 15) / 16 * 16)
        var tokens = [Int32](repeating: padId, count: examples.count * T)
        var labels = [Int32](repeating: -1, count: examples.count * T)
        for (r, e) in examples.enumerated() {
            let n = min(T, e.tokens.count - 1)
            for t in 0..<max(0, n) {
                tokens[r * T + t] = e.tokens[t]
                if e.supervised[t + 1] { labels[r * T + t] = e.tokens[t + 1] }
            }
        }
        return TrainingBatch(rows: examples.count, seqLen: T, tokens: tokens, labels: labels)
    }

    /// Rows of several examples each, laid end to end; each example starts at RoPE position 0 and attends
    /// only within itself (`segmentStart`), so its loss equals the unpacked one.
    public static func packed(_ rows: [[TokenizedExample]], padId: Int32, seqLen T: Int) -> TrainingBatch {
        let R = rows.count
        var tokens = [Int32](repeating: padId, count: R * T)
        var labels = [Int32](repeating: -1, count: R * T)
        var positions = [Int32](repeating: 0, count: R * T)
        var starts = [Int32](repeating: 0, count: R * T)
        for (r, row) in rows.enumerated() {
            var at = 0
            for e in row where at < T {
                let n = min(e.tokens.count - 1, T - at)
                for t in 0..<max(0, n) {
                    tokens[r * T + at + t] = e.tokens[t]
                    if e.supervised[t + 1] { labels[r * T + at + t] = e.tokens[t + 1] }
                    positions[r * T + at + t] = Int32(t)
                    starts[r * T + at + t] = Int32(at)
                }
                at += max(0, n)
            }
            for t in at..<T {
                positions[r * T + t] = Int32(t - at)
                starts[r * T + t] = Int32(at)
            }
        }
        return TrainingBatch(rows: R, seqLen: T, tokens: tokens, labels: labels, positions: positions, segmentStart: starts)
    }
}
