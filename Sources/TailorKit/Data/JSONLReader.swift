import Foundation

/// A position in a JSONL file: the byte offset of the next line to read and its 1-based line number.
/// Checkpoints store it; a reader opened at a cursor continues exactly there.
public struct LineCursor: Sendable, Codable, Equatable, Hashable {
    public var offset: UInt64
    public var line: Int

    public init(offset: UInt64 = 0, line: Int = 1) {
        self.offset = offset
        self.line = line
    }

    public static let start = LineCursor()
}

/// One line of a JSONL file: its bytes (without the newline, a trailing CR dropped), where it starts and
/// its line number.
public struct JSONLLine: Sendable {
    public var bytes: [UInt8]
    public var cursor: LineCursor

    /// True when the line holds only spaces and tabs (skipped by readers, still counted as a line).
    public var isBlank: Bool { bytes.allSatisfy { $0 == 0x20 || $0 == 0x09 } }
}

/// Reads a JSONL file line by line through a fixed-size buffer, so memory stays bounded whatever the file
/// size (only the current line is held, and a line longer than `maxLineBytes` is an error). Handles CRLF
/// and a missing final newline. Not thread-safe; one reader per stream.
public final class JSONLReader {
    public let path: String
    public let maxLineBytes: Int
    private let fd: Int32
    private var buffer: [UInt8]
    private var start = 0  // first unread byte in buffer
    private var end = 0  // one past the last valid byte in buffer
    private var eof = false
    /// Where the next line starts.
    public private(set) var cursor: LineCursor

    /// Opens `path` at `cursor`. `bufferBytes` is the read size; lines longer than it are assembled in a
    /// growing buffer up to `maxLineBytes`.
    public init(path: String, at cursor: LineCursor = .start, bufferBytes: Int = 1 << 20, maxLineBytes: Int = 64 << 20) throws {
        self.path = path
        self.maxLineBytes = maxLineBytes
        self.cursor = cursor
        fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            throw DataError.cannotRead(path: path, reason: String(cString: strerror(errno)))
        }
        var st = stat()
        if fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR {
            close(fd)
            throw DataError.cannotRead(path: path, reason: "is a directory, expected a JSONL file")
        }
        buffer = [UInt8](repeating: 0, count: max(4096, bufferBytes))
        if cursor.offset > 0 {
            let size = UInt64(max(0, st.st_size))
            guard cursor.offset <= size else {
                close(fd)
                throw DataError.cannotRead(
                    path: path, reason: "the saved data position (byte \(cursor.offset)) is past the end of the file (\(size) bytes); was the file changed?")
            }
            if lseek(fd, off_t(cursor.offset), SEEK_SET) < 0 {
                let reason = String(cString: strerror(errno))
                close(fd)
                throw DataError.cannotRead(path: path, reason: reason)
            }
        }
    }

    deinit { close(fd) }

    /// Bytes the reader holds: its buffer, grown only to fit the longest line read.
    public var bufferCapacity: Int { buffer.count }

    /// Size of the file in bytes.
    public var fileSize: UInt64 {
        var st = stat()
        return fstat(fd, &st) == 0 ? UInt64(max(0, st.st_size)) : 0
    }

    /// The next line (blank lines included), or nil at the end of the file.
    public func next() throws -> JSONLLine? {
        var scanned = 0  // bytes after `start` known to hold no newline
        while true {
            if let nl = findNewline(from: start + scanned) {
                var lineEnd = nl
                if lineEnd > start && buffer[lineEnd - 1] == 0x0D { lineEnd -= 1 }
                let line = JSONLLine(bytes: Array(buffer[start..<lineEnd]), cursor: cursor)
                cursor.offset += UInt64(nl + 1 - start)
                cursor.line += 1
                start = nl + 1
                return line
            }
            if eof {
                guard start < end else { return nil }
                var lineEnd = end
                if buffer[lineEnd - 1] == 0x0D { lineEnd -= 1 }
                let line = JSONLLine(bytes: Array(buffer[start..<lineEnd]), cursor: cursor)
                cursor.offset += UInt64(end - start)
                cursor.line += 1
                start = end
                return line
            }
            scanned = end - start
            try fill()
        }
    }

    private func findNewline(from: Int) -> Int? {
        guard from < end else { return nil }
        return buffer.withUnsafeBufferPointer { p -> Int? in
            guard let base = p.baseAddress, let hit = memchr(base + from, 0x0A, end - from) else { return nil }
            return base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
        }
    }

    /// Reads more bytes: moves the partial line to the front, grows the buffer if the line fills it.
    private func fill() throws {
        if start > 0 {
            let n = end - start
            if n > 0 {
                buffer.withUnsafeMutableBufferPointer { p in
                    guard let base = p.baseAddress else { return }
                    memmove(base, base + start, n)
                }
            }
            start = 0
            end = n
        }
        if end == buffer.count {
            guard buffer.count < maxLineBytes else {
                throw DataError.badLine(
                    path: path, line: cursor.line, column: nil,
                    reason: "line longer than \(maxLineBytes) bytes (is this a JSONL file, one JSON object per line?)")
            }
            buffer.append(contentsOf: [UInt8](repeating: 0, count: min(buffer.count, maxLineBytes - buffer.count)))
        }
        let got = buffer.withUnsafeMutableBufferPointer { p -> Int in
            guard let base = p.baseAddress else { return 0 }
            var r: Int
            repeat { r = read(fd, base + end, p.count - end) } while r < 0 && errno == EINTR
            return r
        }
        if got < 0 { throw DataError.cannotRead(path: path, reason: String(cString: strerror(errno))) }
        if got == 0 { eof = true }
        end += got
    }
}
