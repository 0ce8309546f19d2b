import XCTest

@testable import TailorKit

/// The safetensors writer and the strict reader (SPEC.md §6): what one writes the other reads back, and
/// every malformed header or data layout is an error naming the file and the problem.
final class SafetensorsTests: XCTestCase {
    /// u64 header length + `header` + `body`.
    func file(_ header: String, body: [UInt8] = []) -> Data {
        var d = Data()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { d.append(contentsOf: $0) }
        d.append(contentsOf: header.utf8)
        d.append(contentsOf: body)
        return d
    }

    func assertError(
        _ data: Data, file: StaticString = #filePath, line: UInt = #line, _ check: (SafetensorsError) -> Bool
    ) {
        XCTAssertThrowsError(try SafetensorsFile(data: data, path: "x.safetensors"), file: file, line: line) { e in
            guard let e = e as? SafetensorsError else { return XCTFail("\(e)", file: file, line: line) }
            XCTAssertTrue(check(e), "\(e)", file: file, line: line)
            XCTAssertTrue(
                e.localizedDescription.hasPrefix("x.safetensors: "), e.localizedDescription, file: file, line: line)
        }
    }

    func testWrittenFileReadsBack() throws {
        var w = SafetensorsWriter()
        w.metadata["tailor.run"] = "demo"
        w.add("b", shape: [2, 3], floats: [1, -2, 3.5, 0, 1e-30, -0])
        w.add("a", dtype: .i32, shape: [2], bytes: Data([7, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF]))
        let bytes = try w.bytes()
        let headerLength = bytes.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        XCTAssertEqual(headerLength % 8, 0, "header padded to 8 bytes")
        let st = try SafetensorsFile(data: bytes, path: "x")
        XCTAssertEqual(st.names, ["a", "b"], "data in name order")
        XCTAssertEqual(st.metadata, ["format": "pt", "tailor.run": "demo"])
        XCTAssertEqual(try st.floats("b"), [1, -2, 3.5, 0, 1e-30, -0])
        XCTAssertEqual(try st.ints("a"), [7, -1])
        XCTAssertEqual(try st.entry("b").shape, [2, 3])
    }

    /// Borrowed sources (pointers, gathered rows) stream the same bytes as copied arrays, through the
    /// sink's buffer and, for a tensor over 1 MiB, past it; the atomic write leaves no temporary file.
    func testBorrowedAndGatheredSourcesStreamTheSameFile() throws {
        let big = (0..<400_000).map { Float($0) * 0.5 - 7 }  // 1.6 MB: written around the 1 MiB buffer
        let rows: [Float] = [0, 1, 2, 10, 11, 12, 20, 21, 22]  // 3 rows of 3
        let order = [2, 0, 1]
        var copied = SafetensorsWriter(), borrowed = SafetensorsWriter()
        copied.add("big", shape: [400_000], floats: big)
        copied.add("rows", shape: [3, 3], floats: order.flatMap { Array(rows[3 * $0..<3 * $0 + 3]) })
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-st-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("t.safetensors")
        try big.withUnsafeBufferPointer { b in
            try rows.withUnsafeBufferPointer { r in
                borrowed.add("big", shape: [400_000], values: b.baseAddress!, count: b.count)
                borrowed.add("rows", shape: [3, 3], rowsOf: r.baseAddress!, cols: 3, order: order)
                XCTAssertEqual(try borrowed.bytes(), try copied.bytes())
                try borrowed.write(to: url)
            }
        }
        XCTAssertEqual(try Data(contentsOf: url), try copied.bytes())
        XCTAssertEqual(try SafetensorsFile(url: url).floats("rows"), [20, 21, 22, 0, 1, 2, 10, 11, 12])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["t.safetensors"])
    }

    /// A write that cannot happen names the file and the cause, and leaves the old file as it was.
    func testFailedWriteNamesTheFileAndKeepsTheOldOne() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-st-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer {
            chmod(dir.path, 0o755)
            try? FileManager.default.removeItem(at: dir)
        }
        let url = dir.appendingPathComponent("t.safetensors")
        var w = SafetensorsWriter()
        w.add("x", shape: [2], floats: [1, 2])
        try w.write(to: url)
        let before = try Data(contentsOf: url)
        guard getuid() != 0 else {
            // root ignores directory permissions: fail the write with a directory in the file's place instead.
            XCTAssertThrowsError(try w.writeSynced(to: dir)) { e in
                XCTAssertEqual((e as? FileWriteError)?.path, dir.path, "\(e)")
            }
            return
        }
        chmod(dir.path, 0o555)
        w.add("y", shape: [1], floats: [3])
        XCTAssertThrowsError(try w.write(to: url)) { e in
            XCTAssertTrue((e as? FileWriteError)?.path.hasPrefix(dir.path) == true, "\(e)")
            XCTAssertTrue(e.localizedDescription.contains("cannot write"), e.localizedDescription)
        }
        XCTAssertEqual(try Data(contentsOf: url), before)
    }

    func testTruncatedAndOversizedHeadersAreRejected() {
        assertError(Data([1, 2, 3])) { if case .truncated(_, 8, 3) = $0 { true } else { false } }
        var huge = Data()
        withUnsafeBytes(of: UInt64(100_000_001).littleEndian) { huge.append(contentsOf: $0) }
        assertError(huge) { if case .headerTooLarge(_, 100_000_001) = $0 { true } else { false } }
        var short = Data()
        withUnsafeBytes(of: UInt64(64).littleEndian) { short.append(contentsOf: $0) }
        short.append(contentsOf: Array("{}".utf8))
        assertError(short) { if case .truncated(_, 72, 10) = $0 { true } else { false } }
    }

    func testMalformedHeadersAreRejected() {
        assertError(file("[1, 2]")) { if case .badHeader = $0 { true } else { false } }
        assertError(file(#"{"__metadata__": {"k": 1}}"#)) { if case .badHeader = $0 { true } else { false } }
        assertError(file(#"{"t": {"dtype": "F8", "shape": [1], "data_offsets": [0, 1]}}"#, body: [0])) {
            if case .badTensor(_, "t", let reason) = $0 { reason.contains("dtype") } else { false }
        }
        assertError(file(#"{"t": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}"#, body: [0, 0, 0, 0])) {
            if case .badTensor(_, "t", let reason) = $0 { reason.contains("shape") } else { false }
        }
    }

    func testOffsetsAndSizesMustDescribeTheDataExactly() {
        let four: [UInt8] = [0, 0, 128, 63]
        // Past the end of the data.
        assertError(file(#"{"t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}"#, body: four)) {
            if case .badTensor(_, "t", let reason) = $0 { reason.contains("outside") } else { false }
        }
        // Byte count that is not shape x dtype size.
        assertError(file(#"{"t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}"#, body: four)) {
            if case .badTensor(_, "t", let reason) = $0 { reason.contains("needs 8") } else { false }
        }
        // Overlapping tensors.
        let overlap =
            #"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "#
            + #""b": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}"#
        assertError(file(overlap, body: four)) { if case .badHeader = $0 { true } else { false } }
        // A gap before the first tensor, and bytes after the last.
        assertError(file(#"{"t": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}"#, body: four + four)) {
            if case .badHeader = $0 { true } else { false }
        }
        assertError(file(#"{"t": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}"#, body: four + four)) {
            if case .badHeader(_, let reason) = $0 { reason.contains("data ends at 4") } else { false }
        }
    }
}
