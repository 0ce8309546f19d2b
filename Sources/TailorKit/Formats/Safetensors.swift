import Foundation

/// Errors reading or writing safetensors files (SPEC.md §6).
public enum SafetensorsError: Error, LocalizedError, Equatable {
    case cannotOpen(path: String, reason: String)
    case truncated(path: String, need: UInt64, have: UInt64)
    case headerTooLarge(path: String, size: UInt64)
    case badHeader(path: String, reason: String)
    case badTensor(path: String, tensor: String, reason: String)
    case missingTensor(path: String, tensor: String)
    case wrongDType(path: String, tensor: String, expected: String, found: String)

    public var errorDescription: String? {
        switch self {
        case let .cannotOpen(path, reason): "\(path): cannot open: \(reason)"
        case let .truncated(path, need, have): "\(path): need \(need) bytes, file has \(have) (truncated?)"
        case let .headerTooLarge(path, size): "\(path): header length \(size) exceeds 100,000,000 bytes"
        case let .badHeader(path, reason): "\(path): bad header: \(reason)"
        case let .badTensor(path, tensor, reason): "\(path): tensor '\(tensor)': \(reason)"
        case let .missingTensor(path, tensor): "\(path): tensor '\(tensor)' is missing"
        case let .wrongDType(path, tensor, expected, found): "\(path): tensor '\(tensor)' is \(found), expected \(expected)"
        }
    }
}

/// Element types Tailor reads and writes in safetensors.
public enum SafetensorsDType: String, Sendable, CaseIterable {
    case f32 = "F32", f16 = "F16", bf16 = "BF16", f64 = "F64"
    case i32 = "I32", i64 = "I64", u8 = "U8", i8 = "I8", i16 = "I16", u16 = "U16", u32 = "U32", u64 = "U64"
    case bool = "BOOL"

    public var size: Int {
        switch self {
        case .f32, .i32, .u32: 4
        case .f16, .bf16, .i16, .u16: 2
        case .f64, .i64, .u64: 8
        case .u8, .i8, .bool: 1
        }
    }
}

/// A strict safetensors reader: `u64` header length, JSON header, contiguous non-overlapping data.
public struct SafetensorsFile: Sendable {
    public struct Entry: Sendable {
        public let name: String
        public let dtype: SafetensorsDType
        public let shape: [Int]
        public let range: Range<Int>  // into `data`
    }

    public let path: String
    public let metadata: [String: String]
    public let entries: [String: Entry]
    /// Tensor names in data order.
    public let names: [String]
    private let data: Data

    public init(url: URL) throws {
        let path = url.path
        let bytes: Data
        do { bytes = try Data(contentsOf: url, options: .mappedIfSafe) } catch {
            throw SafetensorsError.cannotOpen(path: path, reason: error.localizedDescription)
        }
        try self.init(data: bytes, path: path)
    }

    public init(data bytes: Data, path: String) throws {
        self.path = path
        guard bytes.count >= 8 else { throw SafetensorsError.truncated(path: path, need: 8, have: UInt64(bytes.count)) }
        let n = bytes.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard n <= 100_000_000 else { throw SafetensorsError.headerTooLarge(path: path, size: n) }
        guard UInt64(bytes.count) >= 8 + n else {
            throw SafetensorsError.truncated(path: path, need: 8 + n, have: UInt64(bytes.count))
        }
        let headerData = bytes.subdata(in: bytes.startIndex + 8..<bytes.startIndex + 8 + Int(n))
        guard let json = try? JSONSerialization.jsonObject(with: headerData), let header = json as? [String: Any] else {
            throw SafetensorsError.badHeader(path: path, reason: "the header is not a JSON object")
        }
        let body = bytes.subdata(in: bytes.startIndex + 8 + Int(n)..<bytes.endIndex)
        var metadata: [String: String] = [:]
        var entries: [String: Entry] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                guard let m = value as? [String: Any] else {
                    throw SafetensorsError.badHeader(path: path, reason: "__metadata__ is not an object")
                }
                for (k, v) in m {
                    guard let s = v as? String else {
                        throw SafetensorsError.badHeader(path: path, reason: "__metadata__.\(k) is not a string")
                    }
                    metadata[k] = s
                }
                continue
            }
            guard let info = value as? [String: Any] else {
                throw SafetensorsError.badTensor(path: path, tensor: name, reason: "entry is not an object")
            }
            guard let dt = info["dtype"] as? String, let dtype = SafetensorsDType(rawValue: dt) else {
                throw SafetensorsError.badTensor(path: path, tensor: name, reason: "unknown dtype \(info["dtype"] ?? "nil")")
            }
            guard let shapeAny = info["shape"] as? [Any], let shape = Self.ints(shapeAny), shape.allSatisfy({ $0 >= 0 }) else {
                throw SafetensorsError.badTensor(path: path, tensor: name, reason: "shape is not a list of non-negative integers")
            }
            guard let offAny = info["data_offsets"] as? [Any], let offs = Self.ints(offAny), offs.count == 2,
                offs[0] >= 0, offs[0] <= offs[1], offs[1] <= body.count
            else {
                throw SafetensorsError.badTensor(path: path, tensor: name, reason: "data_offsets \(info["data_offsets"] ?? "nil") outside the \(body.count) data bytes")
            }
            var elements = 1
            for s in shape {
                let (p, o) = elements.multipliedReportingOverflow(by: s)
                guard !o else { throw SafetensorsError.badTensor(path: path, tensor: name, reason: "shape \(shape) overflows") }
                elements = p
            }
            guard offs[1] - offs[0] == elements * dtype.size else {
                throw SafetensorsError.badTensor(
                    path: path, tensor: name,
                    reason: "holds \(offs[1] - offs[0]) bytes, shape \(shape) of \(dtype.rawValue) needs \(elements * dtype.size)")
            }
            entries[name] = Entry(name: name, dtype: dtype, shape: shape, range: offs[0]..<offs[1])
        }
        let sorted = entries.values.sorted { $0.range.lowerBound < $1.range.lowerBound }
        var end = 0
        for e in sorted {
            guard e.range.lowerBound == end else {
                throw SafetensorsError.badHeader(
                    path: path, reason: "tensor '\(e.name)' starts at \(e.range.lowerBound), expected \(end) (overlapping or non-contiguous data)")
            }
            end = e.range.upperBound
        }
        guard end == body.count else {
            throw SafetensorsError.badHeader(path: path, reason: "data ends at \(end) but the file holds \(body.count) data bytes")
        }
        self.metadata = metadata
        self.entries = entries
        self.names = sorted.map(\.name)
        self.data = body
    }

    private static func ints(_ a: [Any]) -> [Int]? {
        var out: [Int] = []
        for v in a {
            guard let n = v as? Int else { return nil }
            out.append(n)
        }
        return out
    }

    public func entry(_ name: String) throws -> Entry {
        guard let e = entries[name] else { throw SafetensorsError.missingTensor(path: path, tensor: name) }
        return e
    }

    public func bytes(_ name: String) throws -> [UInt8] {
        let e = try entry(name)
        return [UInt8](data[data.startIndex + e.range.lowerBound..<data.startIndex + e.range.upperBound])
    }

    /// Values converted to Float from F32, F16 or BF16.
    public func floats(_ name: String) throws -> [Float] {
        let e = try entry(name)
        let raw = try bytes(name)
        let n = raw.count / e.dtype.size
        return raw.withUnsafeBytes { buf in
            switch e.dtype {
            case .f32: return (0..<n).map { Float(bitPattern: UInt32(littleEndian: buf.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
            case .f16: return (0..<n).map { Float(Float16(bitPattern: UInt16(littleEndian: buf.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)))) }
            case .bf16: return (0..<n).map { Float(bitPattern: UInt32(UInt16(littleEndian: buf.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self))) << 16) }
            case .f64: return (0..<n).map { Float(Double(bitPattern: UInt64(littleEndian: buf.loadUnaligned(fromByteOffset: 8 * $0, as: UInt64.self)))) }
            default: return []
            }
        }
    }

    /// Integer values from I32, I64, U8, I8, I16, U16, U32 tensors.
    public func ints(_ name: String) throws -> [Int] {
        let e = try entry(name)
        let raw = try bytes(name)
        let n = raw.count / e.dtype.size
        return raw.withUnsafeBytes { buf in
            (0..<n).map { i -> Int in
                switch e.dtype {
                case .i32: Int(Int32(littleEndian: buf.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)))
                case .i64: Int(Int64(littleEndian: buf.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)))
                case .u8, .bool: Int(buf[i])
                case .i8: Int(Int8(bitPattern: buf[i]))
                case .i16: Int(Int16(littleEndian: buf.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)))
                case .u16: Int(UInt16(littleEndian: buf.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                case .u32: Int(UInt32(littleEndian: buf.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                default: 0
                }
            }
        }
    }
}
