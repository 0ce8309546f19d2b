import Foundation

/// Writes GGUF v3 files (SPEC.md §5): metadata in insertion order, tensor infos, aligned data.
/// Used for exports (LoRA adapters for llama.cpp, merged models) and for building test files.
///
/// Tensor data is either given as bytes or produced when the file is written (`add(_:type:shape:byteCount:produce:)`),
/// so a merged multi-gigabyte model streams through a small buffer instead of being built in memory.
public struct GGUFWriter {
    /// Writes a tensor's bytes, in order, through `put`.
    public typealias Producer = (_ put: (UnsafeRawBufferPointer) throws -> Void) throws -> Void

    public struct Tensor {
        public var name: String
        public var type: GGMLType
        public var shape: [Int]  // outermost first, as PyTorch
        public var byteCount: Int
        let source: Source
    }

    enum Source {
        case bytes([UInt8])
        case producer(Producer)
    }

    public var alignment = 32
    public private(set) var metadata: [(String, GGUFValue)] = []
    public private(set) var tensors: [Tensor] = []

    public init() {}

    public mutating func set(_ key: String, _ value: GGUFValue) {
        if key == "general.alignment", let a = value.int { alignment = a }
        metadata.removeAll { $0.0 == key }
        metadata.append((key, value))
    }

    public mutating func add(_ name: String, type: GGMLType, shape: [Int], data: [UInt8]) {
        tensors.append(Tensor(name: name, type: type, shape: shape, byteCount: data.count, source: .bytes(data)))
    }

    /// A tensor of `byteCount` bytes that `produce` writes when the file is written.
    public mutating func add(_ name: String, type: GGMLType, shape: [Int], byteCount: Int, produce: @escaping Producer) {
        tensors.append(Tensor(name: name, type: type, shape: shape, byteCount: byteCount, source: .producer(produce)))
    }

    public mutating func add(_ name: String, shape: [Int], floats: [Float]) {
        var bytes = [UInt8]()
        bytes.reserveCapacity(floats.count * 4)
        for f in floats { withUnsafeBytes(of: f.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
        add(name, type: .f32, shape: shape, data: bytes)
    }

    /// The complete file in memory (tests, small files).
    public func bytes() throws -> [UInt8] {
        var out: [UInt8] = []
        try stream { out.append(contentsOf: $0) }
        return out
    }

    /// Writes atomically: a temporary sibling, fsynced, renamed over `url`.
    public func write(to url: URL) throws {
        try AtomicFile.write(to: url) { sink in try stream { try sink.put($0) } }
    }

    /// The file in pieces: header and tensor infos, then each tensor's data, padded to `alignment`.
    func stream(_ put: (UnsafeRawBufferPointer) throws -> Void) throws {
        let head = header()
        try head.withUnsafeBytes { try put($0) }
        let zeros = [UInt8](repeating: 0, count: alignment)
        for t in tensors {
            switch t.source {
            case let .bytes(b): try b.withUnsafeBytes { try put($0) }
            case let .producer(produce):
                var written = 0
                try produce { chunk in
                    written += chunk.count
                    try put(chunk)
                }
                precondition(written == t.byteCount, "GGUFWriter: tensor \(t.name) produced \(written) bytes, declared \(t.byteCount)")
            }
            let pad = (alignment - t.byteCount % alignment) % alignment
            try zeros.withUnsafeBytes { try put(UnsafeRawBufferPointer(rebasing: $0[0..<pad])) }
        }
    }

    /// Magic, counts, metadata and tensor infos, zero-padded to `alignment`.
    func header() -> [UInt8] {
        var out: [UInt8] = []
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func str(_ s: String) { u64(UInt64(s.utf8.count)); out.append(contentsOf: s.utf8) }
        func typeId(_ v: GGUFValue) -> UInt32 {
            switch v {
            case .uint8: 0
            case .int8: 1
            case .uint16: 2
            case .int16: 3
            case .uint32: 4
            case .int32: 5
            case .float32: 6
            case .bool: 7
            case .string: 8
            case .array: 9
            case .uint64: 10
            case .int64: 11
            case .float64: 12
            }
        }
        func arrayTypeId(_ a: GGUFArray) -> UInt32 {
            switch a {
            case .uint8: 0
            case .int8: 1
            case .uint16: 2
            case .int16: 3
            case .uint32: 4
            case .int32: 5
            case .float32: 6
            case .bool: 7
            case .string: 8
            case .array: 9
            case .uint64: 10
            case .int64: 11
            case .float64: 12
            }
        }
        func fixed<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func array(_ a: GGUFArray) {
            u32(arrayTypeId(a))
            u64(UInt64(a.count))
            switch a {
            case let .uint8(x): x.forEach(fixed)
            case let .int8(x): x.forEach(fixed)
            case let .uint16(x): x.forEach(fixed)
            case let .int16(x): x.forEach(fixed)
            case let .uint32(x): x.forEach(fixed)
            case let .int32(x): x.forEach(fixed)
            case let .float32(x): x.forEach { fixed($0.bitPattern) }
            case let .bool(x): x.forEach { fixed(UInt8($0 ? 1 : 0)) }
            case let .string(x): x.forEach(str)
            case let .array(x): x.forEach(array)
            case let .uint64(x): x.forEach(fixed)
            case let .int64(x): x.forEach(fixed)
            case let .float64(x): x.forEach { fixed($0.bitPattern) }
            }
        }
        func value(_ v: GGUFValue) {
            switch v {
            case let .uint8(x): fixed(x)
            case let .int8(x): fixed(x)
            case let .uint16(x): fixed(x)
            case let .int16(x): fixed(x)
            case let .uint32(x): fixed(x)
            case let .int32(x): fixed(x)
            case let .float32(x): fixed(x.bitPattern)
            case let .bool(x): fixed(UInt8(x ? 1 : 0))
            case let .string(x): str(x)
            case let .array(x): array(x)
            case let .uint64(x): fixed(x)
            case let .int64(x): fixed(x)
            case let .float64(x): fixed(x.bitPattern)
            }
        }
        u32(0x4655_4747)
        u32(3)
        u64(UInt64(tensors.count))
        u64(UInt64(metadata.count))
        for (k, v) in metadata {
            str(k)
            u32(typeId(v))
            value(v)
        }
        var offset = 0
        var offsets: [Int] = []
        for t in tensors {
            offsets.append(offset)
            offset += (t.byteCount + alignment - 1) / alignment * alignment
        }
        for (t, off) in zip(tensors, offsets) {
            str(t.name)
            u32(UInt32(t.shape.count))
            for d in t.shape.reversed() { u64(UInt64(d)) }
            u32(t.type.rawValue)
            u64(UInt64(off))
        }
        while out.count % alignment != 0 { out.append(0) }
        return out
    }
}
