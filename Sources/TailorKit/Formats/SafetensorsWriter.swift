import Foundation

/// Writes safetensors files (SPEC.md §6): u64 header length, JSON header padded with spaces to a multiple
/// of 8 (as huggingface/safetensors does), then the tensors' bytes in header order.
public struct SafetensorsWriter {
    struct Tensor {
        let name: String
        let dtype: SafetensorsDType
        let shape: [Int]
        let data: Data
    }

    public var metadata: [String: String] = ["format": "pt"]
    private var tensors: [Tensor] = []

    public init() {}

    public mutating func add(_ name: String, shape: [Int], floats: UnsafeBufferPointer<Float>) {
        precondition(shape.reduce(1, *) == floats.count, "\(name): shape \(shape) for \(floats.count) floats")
        var d = Data(count: floats.count * 4)
        d.withUnsafeMutableBytes { raw in
            for (i, f) in floats.enumerated() { raw.storeBytes(of: f.bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self) }
        }
        tensors.append(Tensor(name: name, dtype: .f32, shape: shape, data: d))
    }

    public mutating func add(_ name: String, shape: [Int], floats: [Float]) {
        floats.withUnsafeBufferPointer { add(name, shape: shape, floats: $0) }
    }

    public mutating func add(_ name: String, dtype: SafetensorsDType, shape: [Int], bytes: Data) {
        precondition(shape.reduce(1, *) * dtype.size == bytes.count, "\(name): shape \(shape) of \(dtype) for \(bytes.count) bytes")
        tensors.append(Tensor(name: name, dtype: dtype, shape: shape, data: bytes))
    }

    /// The file's bytes; tensors in name order so output is deterministic.
    public func bytes() throws -> Data {
        let sorted = tensors.sorted { $0.name < $1.name }
        var header: [String: Any] = [:]
        var offset = 0
        for t in sorted {
            header[t.name] = ["dtype": t.dtype.rawValue, "shape": t.shape, "data_offsets": [offset, offset + t.data.count]] as [String: Any]
            offset += t.data.count
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var out = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        for t in sorted { out.append(t.data) }
        return out
    }

    public func write(to url: URL) throws {
        try AtomicFile.write(try bytes(), to: url)
    }
}

/// Crash-safe file replacement: write a temporary sibling, fsync it, rename over the target, fsync the
/// directory. A crash at any instant leaves either the old file or the new one, never a torn file.
public enum AtomicFile {
    public static func write(_ data: Data, to url: URL) throws {
        let dir = url.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let tmp = dir.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
        guard FileManager.default.createFile(atPath: tmp.path, contents: data) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: tmp.path])
        }
        let fd = open(tmp.path, O_RDONLY)
        if fd >= 0 {
            fsync(fd)
            close(fd)
        }
        if rename(tmp.path, url.path) != 0 {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: tmp)
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path, NSLocalizedDescriptionKey: "\(url.path): rename failed: \(reason)"])
        }
        let dfd = open(dir.path, O_RDONLY)
        if dfd >= 0 {
            fsync(dfd)
            close(dfd)
        }
    }
}
