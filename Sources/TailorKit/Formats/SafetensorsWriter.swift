import Foundation

#if !_endian(little)
    #error("SafetensorsWriter streams Float32 memory as is: little-endian hosts only (x86-64, arm64)")
#endif

/// Writes safetensors files (SPEC.md §6): u64 header length, JSON header padded with spaces to a multiple
/// of 8 (as huggingface/safetensors does), then the tensors' bytes in name order.
///
/// Tensors are streamed when the file is written, not copied when added: an adapter or optimizer state
/// of any size costs a 1 MiB buffer to save. Borrowed sources (`add(_:shape:values:count:)`,
/// `add(_:shape:rowsOf:cols:order:)`) must stay valid and unchanged until `write`/`bytes` returns.
public struct SafetensorsWriter {
    enum Source {
        case data(Data)
        case array([Float])
        /// `count` Float32 values in memory the caller keeps alive.
        case floats(UnsafePointer<Float>, count: Int)
        /// Rows of `cols` Float32 values: output row i is row `order[i]` of the buffer.
        case rows(UnsafePointer<Float>, cols: Int, order: [Int])
    }

    struct Tensor {
        let name: String
        let dtype: SafetensorsDType
        let shape: [Int]
        let source: Source

        var byteCount: Int {
            switch source {
            case let .data(d): d.count
            case let .array(a): 4 * a.count
            case let .floats(_, count): 4 * count
            case let .rows(_, cols, order): 4 * cols * order.count
            }
        }
    }

    public var metadata: [String: String] = ["format": "pt"]
    private var tensors: [Tensor] = []

    public init() {}

    /// Float32 values, copied.
    public mutating func add(_ name: String, shape: [Int], floats: [Float]) {
        precondition(shape.reduce(1, *) == floats.count, "\(name): shape \(shape) for \(floats.count) floats")
        tensors.append(Tensor(name: name, dtype: .f32, shape: shape, source: .array(floats)))
    }

    /// Float32 values, copied.
    public mutating func add(_ name: String, shape: [Int], floats: UnsafeBufferPointer<Float>) {
        add(name, shape: shape, floats: Array(floats))
    }

    /// `count` Float32 values read from `values` when the file is written (borrowed, not copied).
    public mutating func add(_ name: String, shape: [Int], values: UnsafePointer<Float>, count: Int) {
        precondition(shape.reduce(1, *) == count, "\(name): shape \(shape) for \(count) floats")
        tensors.append(Tensor(name: name, dtype: .f32, shape: shape, source: .floats(values, count: count)))
    }

    /// A Float32 matrix [order.count, cols] whose row i is row `order[i]` of `rows` (borrowed, not copied):
    /// a row permutation written without a permuted copy.
    public mutating func add(_ name: String, shape: [Int], rowsOf rows: UnsafePointer<Float>, cols: Int, order: [Int]) {
        precondition(shape.reduce(1, *) == cols * order.count, "\(name): shape \(shape) for \(order.count) rows of \(cols)")
        tensors.append(Tensor(name: name, dtype: .f32, shape: shape, source: .rows(rows, cols: cols, order: order)))
    }

    public mutating func add(_ name: String, dtype: SafetensorsDType, shape: [Int], bytes: Data) {
        precondition(shape.reduce(1, *) * dtype.size == bytes.count, "\(name): shape \(shape) of \(dtype) for \(bytes.count) bytes")
        tensors.append(Tensor(name: name, dtype: dtype, shape: shape, source: .data(bytes)))
    }

    /// Streams the file into `put` in pieces: header, then every tensor in name order.
    func stream(_ put: (UnsafeRawBufferPointer) throws -> Void) throws {
        let sorted = tensors.sorted { $0.name < $1.name }
        var header: [String: Any] = [:]
        var offset = 0
        for t in sorted {
            header[t.name] = ["dtype": t.dtype.rawValue, "shape": t.shape, "data_offsets": [offset, offset + t.byteCount]] as [String: Any]
            offset += t.byteCount
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        try withUnsafeBytes(of: UInt64(json.count).littleEndian) { try put($0) }
        try json.withUnsafeBytes { try put($0) }
        for t in sorted {
            switch t.source {
            case let .data(d): try d.withUnsafeBytes { try put($0) }
            case let .array(a): try a.withUnsafeBytes { try put($0) }
            case let .floats(p, count): try put(UnsafeRawBufferPointer(start: p, count: 4 * count))
            case let .rows(p, cols, order):
                for r in order { try put(UnsafeRawBufferPointer(start: p + r * cols, count: 4 * cols)) }
            }
        }
    }

    /// The file's bytes in memory (tests, small files).
    public func bytes() throws -> Data {
        var out = Data()
        try stream { out.append(contentsOf: $0) }
        return out
    }

    /// Writes the file atomically (a temporary sibling, fsynced, renamed over `url`).
    public func write(to url: URL) throws {
        try AtomicFile.write(to: url) { sink in try stream { try sink.put($0) } }
    }

    /// Writes the file in place and fsyncs it, for files inside a directory that is itself renamed into
    /// place when complete (checkpoints).
    public func writeSynced(to url: URL) throws {
        let sink = try FileSink(creating: url.path)
        try stream { try sink.put($0) }
        try sink.sync()
    }
}
