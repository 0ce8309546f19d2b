import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A GGUF metadata value (SPEC.md §5; gguf-py `GGUFValueType`).
public enum GGUFValue: Sendable, Equatable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case float32(Float), bool(Bool), string(String), uint64(UInt64), int64(Int64), float64(Double)
    case array(GGUFArray)

    /// The value as an integer when it is any integer type (or bool).
    public var int: Int? {
        switch self {
        case let .uint8(v): Int(v)
        case let .int8(v): Int(v)
        case let .uint16(v): Int(v)
        case let .int16(v): Int(v)
        case let .uint32(v): Int(v)
        case let .int32(v): Int(v)
        case let .uint64(v): v <= UInt64(Int.max) ? Int(v) : nil
        case let .int64(v): Int(v)
        case let .bool(v): v ? 1 : 0
        default: nil
        }
    }

    public var double: Double? {
        switch self {
        case let .float32(v): Double(v)
        case let .float64(v): v
        default: int.map(Double.init)
        }
    }

    public var string: String? { if case let .string(s) = self { s } else { nil } }
    public var bool: Bool? { if case let .bool(b) = self { b } else { nil } }

    public var typeName: String {
        switch self {
        case .uint8: "uint8"
        case .int8: "int8"
        case .uint16: "uint16"
        case .int16: "int16"
        case .uint32: "uint32"
        case .int32: "int32"
        case .float32: "float32"
        case .bool: "bool"
        case .string: "string"
        case .uint64: "uint64"
        case .int64: "int64"
        case .float64: "float64"
        case let .array(a): "array of \(a.count) \(a.elementTypeName)"
        }
    }
}

/// A typed GGUF array; nested arrays are arrays of `GGUFArray`.
public enum GGUFArray: Sendable, Equatable {
    case uint8([UInt8]), int8([Int8]), uint16([UInt16]), int16([Int16]), uint32([UInt32]), int32([Int32])
    case float32([Float]), bool([Bool]), string([String]), uint64([UInt64]), int64([Int64])
    case float64([Double]), array([GGUFArray])

    public var count: Int {
        switch self {
        case let .uint8(a): a.count
        case let .int8(a): a.count
        case let .uint16(a): a.count
        case let .int16(a): a.count
        case let .uint32(a): a.count
        case let .int32(a): a.count
        case let .float32(a): a.count
        case let .bool(a): a.count
        case let .string(a): a.count
        case let .uint64(a): a.count
        case let .int64(a): a.count
        case let .float64(a): a.count
        case let .array(a): a.count
        }
    }

    public var elementTypeName: String {
        switch self {
        case .uint8: "uint8"
        case .int8: "int8"
        case .uint16: "uint16"
        case .int16: "int16"
        case .uint32: "uint32"
        case .int32: "int32"
        case .float32: "float32"
        case .bool: "bool"
        case .string: "string"
        case .uint64: "uint64"
        case .int64: "int64"
        case .float64: "float64"
        case .array: "array"
        }
    }

    /// Integer elements as Int32 (any integer element type), else nil.
    public var int32s: [Int32]? {
        switch self {
        case let .int32(a): a
        case let .uint32(a): a.map { Int32(truncatingIfNeeded: $0) }
        case let .int8(a): a.map(Int32.init)
        case let .uint8(a): a.map(Int32.init)
        case let .int16(a): a.map(Int32.init)
        case let .uint16(a): a.map(Int32.init)
        case let .int64(a): a.map { Int32(truncatingIfNeeded: $0) }
        case let .uint64(a): a.map { Int32(truncatingIfNeeded: $0) }
        default: nil
        }
    }

    public var floats: [Float]? {
        switch self {
        case let .float32(a): a
        case let .float64(a): a.map(Float.init)
        default: nil
        }
    }

    public var strings: [String]? { if case let .string(a) = self { a } else { nil } }
}

/// One tensor's description in a GGUF file. `shape` is PyTorch order (outermost first: `[rows, cols]`);
/// the file stores dims innermost first.
public struct GGUFTensorInfo: Sendable {
    public let name: String
    public let type: GGMLType
    public let shape: [Int]
    /// Byte offset of the data from the start of the file.
    public let fileOffset: Int
    public let byteCount: Int
    public var elementCount: Int { shape.reduce(1, *) }
    /// Innermost dimension (a row's length).
    public var columns: Int { shape.last ?? 1 }
    public var rows: Int { elementCount / max(columns, 1) }
}

/// A memory-mapped GGUF file (versions 2 and 3, little-endian): metadata, tensor infos and tensor data.
/// Parsing checks every count and offset against the bytes left, so a corrupt or truncated file gives a
/// `GGUFError` naming the byte offset, never a crash or a huge allocation.
public final class GGUFFile: @unchecked Sendable {
    public let path: String
    public let version: UInt32
    public let metadata: [String: GGUFValue]
    /// Metadata keys in file order.
    public let metadataKeys: [String]
    public let tensors: [GGUFTensorInfo]
    public let alignment: Int
    public let dataOffset: Int
    public let fileSize: Int
    private let tensorIndex: [String: Int]
    private let base: UnsafeRawPointer
    private let unmap: (() -> Void)?

    /// Opens and memory-maps `path`.
    public convenience init(path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw GGUFError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw GGUFError.cannotOpen(path: path, reason: String(cString: strerror(errno)))
        }
        let size = Int(st.st_size)
        guard size > 0 else { throw GGUFError.truncated(path: path, offset: 0, need: 24, have: 0) }
        guard let mapped = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), mapped != MAP_FAILED else {
            throw GGUFError.cannotOpen(path: path, reason: "mmap: " + String(cString: strerror(errno)))
        }
        let raw = UnsafeRawPointer(mapped)
        try self.init(path: path, bytes: raw, count: size, unmap: { munmap(mapped, size) })
    }

    /// Parses GGUF bytes held in memory (tests and fuzzing). The bytes are copied.
    public convenience init(bytes: [UInt8], path: String = "<memory>") throws {
        let copy = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 64)
        bytes.withUnsafeBytes { src in if let p = src.baseAddress { copy.copyMemory(from: p, byteCount: bytes.count) } }
        try self.init(path: path, bytes: UnsafeRawPointer(copy), count: bytes.count, unmap: { copy.deallocate() })
    }

    private init(path: String, bytes: UnsafeRawPointer, count: Int, unmap: @escaping () -> Void) throws {
        var reader = ByteReader(base: bytes, count: count, path: path)
        do {
            let magic = try reader.u32()
            guard magic == 0x4655_4747 else { throw GGUFError.badMagic(path: path, found: magic) }
            let version = try reader.u32()
            guard version == 2 || version == 3 else {
                throw GGUFError.unsupportedVersion(path: path, found: version)
            }
            let tensorCount = try reader.count("tensor count", minBytesEach: 24)
            let kvCount = try reader.count("metadata count", minBytesEach: 12)
            var metadata: [String: GGUFValue] = [:]
            var keys: [String] = []
            keys.reserveCapacity(kvCount)
            for _ in 0..<kvCount {
                let key = try reader.string()
                let typeOffset = reader.offset
                let type = try reader.u32()
                let value = try reader.value(type: type, key: key, typeOffset: typeOffset, depth: 0)
                if metadata.updateValue(value, forKey: key) == nil { keys.append(key) }
            }
            var alignment = 32
            if let a = metadata["general.alignment"] {
                guard let v = a.int, v > 0, v <= 1 << 20, v & (v - 1) == 0 else {
                    throw GGUFError.wrongKeyType(
                        path: path, key: "general.alignment", expected: "a power of two up to 2^20",
                        found: "\(a)")
                }
                alignment = v
            }
            struct RawInfo {
                let name: String, type: GGMLType, shape: [Int], relOffset: UInt64, at: Int
            }
            var raws: [RawInfo] = []
            raws.reserveCapacity(tensorCount)
            for _ in 0..<tensorCount {
                let at = reader.offset
                let name = try reader.string()
                let nDims = try reader.u32()
                guard nDims >= 1 && nDims <= 4 else {
                    throw GGUFError.badTensor(path: path, tensor: name, reason: "at byte \(at): \(nDims) dimensions, expected 1...4")
                }
                var dims: [Int] = []
                var elements: UInt64 = 1
                for _ in 0..<nDims {
                    let d = try reader.u64()
                    let (p, overflow) = elements.multipliedReportingOverflow(by: d)
                    guard d > 0, !overflow, p <= UInt64(count) * 8 else {
                        throw GGUFError.badTensor(
                            path: path, tensor: name,
                            reason: "at byte \(at): dims \(dims.map(String.init) + [String(d)]) hold more elements than the file could store")
                    }
                    elements = p
                    dims.append(Int(d))
                }
                let rawType = try reader.u32()
                guard let type = GGMLType(rawValue: rawType) else {
                    throw GGUFError.badTensor(path: path, tensor: name, reason: "unknown ggml type id \(rawType)")
                }
                let off = try reader.u64()
                raws.append(RawInfo(name: name, type: type, shape: dims.reversed(), relOffset: off, at: at))
            }
            let dataOffset = (reader.offset + alignment - 1) / alignment * alignment
            var infos: [GGUFTensorInfo] = []
            var index: [String: Int] = [:]
            for r in raws {
                let inner = r.shape.last ?? 1
                guard inner % r.type.blockElements == 0 else {
                    throw GGUFError.badTensor(
                        path: path, tensor: r.name,
                        reason: "row length \(inner) is not a multiple of the \(r.type.name) block size \(r.type.blockElements)")
                }
                let elements = r.shape.reduce(1, *)
                let bytes = elements / r.type.blockElements * r.type.blockBytes
                guard r.relOffset % UInt64(alignment) == 0 else {
                    throw GGUFError.badTensor(path: path, tensor: r.name, reason: "data offset \(r.relOffset) is not aligned to \(alignment)")
                }
                guard r.relOffset <= UInt64(count), dataOffset + Int(r.relOffset) + bytes <= count else {
                    throw GGUFError.truncated(
                        path: path, offset: UInt64(dataOffset) + r.relOffset, need: UInt64(bytes),
                        have: UInt64(max(0, count - dataOffset - Int(min(r.relOffset, UInt64(count))))))
                }
                guard index[r.name] == nil else {
                    throw GGUFError.badTensor(path: path, tensor: r.name, reason: "duplicate tensor name")
                }
                index[r.name] = infos.count
                infos.append(GGUFTensorInfo(
                    name: r.name, type: r.type, shape: r.shape, fileOffset: dataOffset + Int(r.relOffset),
                    byteCount: bytes))
            }
            self.path = path
            self.version = version
            self.metadata = metadata
            self.metadataKeys = keys
            self.tensors = infos
            self.tensorIndex = index
            self.alignment = alignment
            self.dataOffset = dataOffset
            self.fileSize = count
            self.base = bytes
            self.unmap = unmap
        } catch {
            unmap()
            throw error
        }
    }

    deinit { unmap?() }

    public func tensor(_ name: String) -> GGUFTensorInfo? { tensorIndex[name].map { tensors[$0] } }

    /// The tensor, or an error naming it.
    public func requireTensor(_ name: String, shape: [Int]? = nil) throws -> GGUFTensorInfo {
        guard let t = tensor(name) else { throw GGUFError.missingTensor(path: path, tensor: name) }
        if let shape, t.shape != shape {
            throw GGUFError.badShape(path: path, tensor: name, expected: shape, found: t.shape)
        }
        return t
    }

    /// Pointer to a tensor's bytes inside the mapping (valid while this object lives).
    public func data(of tensor: GGUFTensorInfo) -> UnsafeRawPointer { base + tensor.fileOffset }

    // MARK: typed metadata access

    public func int(_ key: String) throws -> Int {
        guard let v = metadata[key] else { throw GGUFError.missingKey(path: path, key: key, expected: "an integer") }
        guard let i = v.int else { throw GGUFError.wrongKeyType(path: path, key: key, expected: "an integer", found: v.typeName) }
        return i
    }

    public func double(_ key: String) throws -> Double {
        guard let v = metadata[key] else { throw GGUFError.missingKey(path: path, key: key, expected: "a number") }
        guard let d = v.double else { throw GGUFError.wrongKeyType(path: path, key: key, expected: "a number", found: v.typeName) }
        return d
    }

    public func string(_ key: String) throws -> String {
        guard let v = metadata[key] else { throw GGUFError.missingKey(path: path, key: key, expected: "a string") }
        guard let s = v.string else { throw GGUFError.wrongKeyType(path: path, key: key, expected: "a string", found: v.typeName) }
        return s
    }

    public func array(_ key: String) throws -> GGUFArray {
        guard let v = metadata[key] else { throw GGUFError.missingKey(path: path, key: key, expected: "an array") }
        guard case let .array(a) = v else { throw GGUFError.wrongKeyType(path: path, key: key, expected: "an array", found: v.typeName) }
        return a
    }

    public func optionalInt(_ key: String) -> Int? { metadata[key]?.int }
    public func optionalDouble(_ key: String) -> Double? { metadata[key]?.double }
    public func optionalString(_ key: String) -> String? { metadata[key]?.string }
    public func optionalBool(_ key: String) -> Bool? { metadata[key]?.bool }
}

/// Bounds-checked little-endian cursor over the mapped header.
private struct ByteReader {
    let base: UnsafeRawPointer
    let count: Int
    let path: String
    var offset = 0

    init(base: UnsafeRawPointer, count: Int, path: String) {
        self.base = base
        self.count = count
        self.path = path
    }

    var remaining: Int { count - offset }

    mutating func need(_ n: Int) throws {
        if n > remaining {
            throw GGUFError.truncated(path: path, offset: UInt64(offset), need: UInt64(n), have: UInt64(remaining))
        }
    }

    mutating func load<T: FixedWidthInteger>(_: T.Type) throws -> T {
        try need(MemoryLayout<T>.size)
        let v = base.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += MemoryLayout<T>.size
        return T(littleEndian: v)
    }

    mutating func u32() throws -> UInt32 { try load(UInt32.self) }
    mutating func u64() throws -> UInt64 { try load(UInt64.self) }

    /// A u64 element count, refused when even the smallest encoding of that many items cannot fit.
    mutating func count(_ what: String, minBytesEach: Int) throws -> Int {
        let at = offset
        let n = try u64()
        let limit = UInt64(remaining / max(minBytesEach, 1))
        guard n <= limit else {
            throw GGUFError.tooLarge(path: path, offset: UInt64(at), what: what, count: n, limit: limit)
        }
        return Int(n)
    }

    mutating func string() throws -> String {
        let at = offset
        let len = try u64()
        guard len <= UInt64(remaining) else {
            throw GGUFError.truncated(path: path, offset: UInt64(at + 8), need: len, have: UInt64(remaining))
        }
        let n = Int(len)
        let buf = UnsafeRawBufferPointer(start: base + offset, count: n)
        offset += n
        // Token strings in real files are valid UTF-8; repair rather than reject inside arrays is not
        // what llama.cpp does, so invalid UTF-8 is an error naming the offset.
        guard let s = String(validating: buf.bindMemory(to: UInt8.self), as: UTF8.self) else {
            throw GGUFError.badUTF8(path: path, offset: UInt64(at))
        }
        return s
    }

    mutating func value(type: UInt32, key: String, typeOffset: Int, depth: Int) throws -> GGUFValue {
        switch type {
        case 0: return .uint8(try load(UInt8.self))
        case 1: return .int8(try load(Int8.self))
        case 2: return .uint16(try load(UInt16.self))
        case 3: return .int16(try load(Int16.self))
        case 4: return .uint32(try load(UInt32.self))
        case 5: return .int32(try load(Int32.self))
        case 6: return .float32(Float(bitPattern: try load(UInt32.self)))
        case 7:
            let b = try load(UInt8.self)
            return .bool(b != 0)
        case 8: return .string(try string())
        case 9: return .array(try array(key: key, depth: depth))
        case 10: return .uint64(try load(UInt64.self))
        case 11: return .int64(try load(Int64.self))
        case 12: return .float64(Double(bitPattern: try load(UInt64.self)))
        default:
            throw GGUFError.badValueType(path: path, offset: UInt64(typeOffset), key: key, found: type)
        }
    }

    static func elementSize(_ type: UInt32) -> Int? {
        switch type {
        case 0, 1, 7: 1
        case 2, 3: 2
        case 4, 5, 6: 4
        case 10, 11, 12: 8
        default: nil
        }
    }

    mutating func array(key: String, depth: Int) throws -> GGUFArray {
        let typeOffset = offset
        let type = try u32()
        guard depth < 8 else {
            throw GGUFError.tooLarge(path: path, offset: UInt64(typeOffset), what: "array nesting of '\(key)'", count: UInt64(depth + 1), limit: 8)
        }
        // Smallest encoding per element: fixed size, 8 (string length), 12 (nested type + count).
        let minEach = ByteReader.elementSize(type) ?? (type == 8 ? 8 : 12)
        guard type <= 12 else {
            throw GGUFError.badValueType(path: path, offset: UInt64(typeOffset), key: key, found: type)
        }
        let n = try count("array length of '\(key)'", minBytesEach: minEach)
        func fixed<T: FixedWidthInteger>(_: T.Type) throws -> [T] {
            try need(n * MemoryLayout<T>.size)
            let out = [T](unsafeUninitializedCapacity: n) { buf, initialized in
                for i in 0..<n {
                    buf[i] = T(littleEndian: base.loadUnaligned(fromByteOffset: offset + i * MemoryLayout<T>.size, as: T.self))
                }
                initialized = n
            }
            offset += n * MemoryLayout<T>.size
            return out
        }
        switch type {
        case 0: return .uint8(try fixed(UInt8.self))
        case 1: return .int8(try fixed(Int8.self))
        case 2: return .uint16(try fixed(UInt16.self))
        case 3: return .int16(try fixed(Int16.self))
        case 4: return .uint32(try fixed(UInt32.self))
        case 5: return .int32(try fixed(Int32.self))
        case 6: return .float32(try fixed(UInt32.self).map { Float(bitPattern: $0) })
        case 7: return .bool(try fixed(UInt8.self).map { $0 != 0 })
        case 8:
            var a: [String] = []
            a.reserveCapacity(n)
            for _ in 0..<n { a.append(try string()) }
            return .string(a)
        case 9:
            var a: [GGUFArray] = []
            for _ in 0..<n { a.append(try array(key: key, depth: depth + 1)) }
            return .array(a)
        case 10: return .uint64(try fixed(UInt64.self))
        case 11: return .int64(try fixed(Int64.self))
        default: return .float64(try fixed(UInt64.self).map { Double(bitPattern: $0) })
        }
    }
}
