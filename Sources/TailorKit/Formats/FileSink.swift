import Foundation

/// A write to a file failed (full disk, permissions, a vanished directory); names the file and the cause.
public struct FileWriteError: Error, LocalizedError, Equatable {
    public let path: String
    public let reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    /// The error for the current `errno`.
    static func errno(_ path: String) -> FileWriteError { FileWriteError(path: path, reason: String(cString: strerror(Foundation.errno))) }

    public var errorDescription: String? { "\(path): cannot write: \(reason)" }
}

/// Bytes written to an open file through a 1 MiB buffer: many small pieces (rows of a tensor) cost
/// one system call per MiB, large ones go straight through. `sync()` flushes and fsyncs.
public final class FileSink {
    public let path: String
    let fd: Int32
    private let buffer: UnsafeMutableRawPointer
    private let capacity = 1 << 20
    private var used = 0

    /// Creates (or truncates) `path` with mode `mode`.
    public init(creating path: String, mode: mode_t = 0o644) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw FileWriteError.errno(path) }
        buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 64)
    }

    deinit {
        close(fd)
        buffer.deallocate()
    }

    public func put(_ bytes: UnsafeRawBufferPointer) throws {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        if used + bytes.count > capacity { try flush() }
        if bytes.count >= capacity {
            try writeAll(base, bytes.count)
        } else {
            (buffer + used).copyMemory(from: base, byteCount: bytes.count)
            used += bytes.count
        }
    }

    public func put(_ data: Data) throws { try data.withUnsafeBytes { try put($0) } }

    public func flush() throws {
        try writeAll(UnsafeRawPointer(buffer), used)
        used = 0
    }

    /// Flushes and fsyncs: the bytes are on disk when this returns.
    public func sync() throws {
        try flush()
        guard fsync(fd) == 0 else { throw FileWriteError.errno(path) }
    }

    private func writeAll(_ p: UnsafeRawPointer, _ n: Int) throws {
        var off = 0
        while off < n {
            let w = Foundation.write(fd, p + off, n - off)
            if w < 0 {
                if Foundation.errno == EINTR { continue }
                throw FileWriteError.errno(path)
            }
            off += w
        }
    }

    /// fsyncs a directory (after a rename into it), ignoring failure: some file systems refuse it.
    public static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd >= 0 {
            fsync(fd)
            close(fd)
        }
    }
}

/// Crash-safe file replacement: write a temporary sibling, fsync it, rename over the target, fsync the
/// directory. A crash at any instant leaves either the old file or the new one, never a torn file.
public enum AtomicFile {
    public static func write(_ data: Data, to url: URL) throws {
        try write(to: url) { try $0.put(data) }
    }

    /// Streams the file's bytes through `body`; on any error the target is untouched and the temporary
    /// sibling removed.
    public static func write(to url: URL, _ body: (FileSink) throws -> Void) throws {
        let dir = url.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let tmp = dir.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
        do {
            let sink = try FileSink(creating: tmp.path)
            try body(sink)
            try sink.sync()
        } catch {
            unlink(tmp.path)
            throw error
        }
        guard rename(tmp.path, url.path) == 0 else {
            let e = FileWriteError.errno(url.path)
            unlink(tmp.path)
            throw e
        }
        FileSink.syncDirectory(dir.path)
    }
}
