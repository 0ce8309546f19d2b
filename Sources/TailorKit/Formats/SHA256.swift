import CKernels
import Foundation

/// Streaming SHA-256 (FIPS 180-4) over `CKernels`' block functions (SHA-NI when the CPU has it). Runs record
/// the digests of their model and data files, checkpoints those of their files (ARCHITECTURE.md §4).
///
/// ```swift
/// var h = SHA256()
/// h.update(Data("abc".utf8))
/// h.hexDigest()  // "ba7816bf…"
/// ```
public struct SHA256 {
    private var context = tk_sha256_ctx()

    /// Whether the hardware path is available on this CPU.
    public static var isAccelerated: Bool { tk_sha256_accelerated() != 0 }

    /// A fresh hash; `accelerated: false` forces the plain C block function (for tests).
    public init(accelerated: Bool = true) {
        tk_sha256_init(&context, accelerated ? 1 : 0)
    }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        tk_sha256_update(&context, base, bytes.count)
    }

    public mutating func update(_ data: Data) {
        data.withUnsafeBytes { update($0) }
    }

    /// The 32-byte digest. Finishing consumes the padding, so this works on a copy and `self` can still
    /// be updated afterwards (the digest of a prefix).
    public func digest() -> [UInt8] {
        var copy = context
        var out = [UInt8](repeating: 0, count: 32)
        out.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            tk_sha256_final(&copy, base)
        }
        return out
    }

    /// The digest as 64 lowercase hex digits (what `sha256sum` prints).
    public func hexDigest() -> String {
        Self.hex(digest())
    }

    /// The hex digest of `data`.
    public static func hex(of data: Data) -> String {
        var h = SHA256()
        h.update(data)
        return h.hexDigest()
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The hex digest of the file at `path`, read in `chunkSize` pieces (memory stays flat for
    /// multi-gigabyte models; about 1.5 GB/s with SHA-NI).
    public static func hexDigest(ofFile path: String, chunkSize: Int = 4 << 20) throws -> String {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw HashError.cannotRead(path: path, reason: String(cString: strerror(errno)))
        }
        defer { close(fd) }
        var h = SHA256()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(chunkSize, 1), alignment: 64)
        defer { buffer.deallocate() }
        guard let base = buffer.baseAddress else { return h.hexDigest() }
        while true {
            let n = read(fd, base, buffer.count)
            if n < 0 {
                if errno == EINTR { continue }
                throw HashError.cannotRead(path: path, reason: String(cString: strerror(errno)))
            }
            if n == 0 { break }
            h.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
        return h.hexDigest()
    }
}

/// Errors hashing a file.
public enum HashError: Error, LocalizedError, Equatable {
    case cannotRead(path: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case .cannotRead(let path, let reason): "\(path): cannot read for hashing: \(reason)"
        }
    }
}
