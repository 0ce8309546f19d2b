import XCTest

@testable import TailorKit

/// The JSON parser's values and error columns, and the JSONL reader's line handling, cursors and bound.
final class JSONLTests: XCTestCase {
    func tempFile(_ bytes: [UInt8]) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-jsonl-\(UUID().uuidString).jsonl")
        try Data(bytes).write(to: url)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url.path
    }

    func testParsesValuesKeepingKeyOrder() throws {
        let v = try JSONParser.parse(#" {"b": [1, -2.5e1, true, false, null], "a": "x\n\u00e9\ud83d\ude00\"", "b": 3} "#)
        guard case let .object(o) = v else { return XCTFail("not an object") }
        XCTAssertEqual(o.keys, ["b", "a"], "file order, a repeated key keeps its place and last value")
        XCTAssertEqual(o["b"], .int(3))
        XCTAssertEqual(o["a"], .string("x\né😀\""))
        XCTAssertEqual(try JSONParser.parse("[1, -2.5e1, true, false, null]"), .array([.int(1), .double(-25), .bool(true), .bool(false), .null]))
    }

    func testErrorsSayWhatWasExpectedAndWhere() {
        func err(_ s: String) -> JSONSyntaxError? {
            do { _ = try JSONParser.parse(s) } catch { return error }
            return nil
        }
        XCTAssertEqual(err(#"{"text": "hi""#)?.column, 14)
        XCTAssertTrue(err(#"{"text": "hi""#)?.message.contains("expected ',' or '}'") ?? false)
        XCTAssertEqual(err(#"{"text" "hi"}"#)?.message, #"expected ':' after the key "text", found '"'"#)
        XCTAssertEqual(err(#"{"text" "hi"}"#)?.column, 9)
        XCTAssertEqual(err(#"{"a": tru}"#)?.column, 7)
        XCTAssertEqual(err(#"{"é": 1,}"#)?.column, 9, "columns count characters, not bytes")
        XCTAssertEqual(err("{\"a\": \"x\ty\"}")?.column, 9, "raw control characters are not allowed in strings")
        XCTAssertEqual(err(#"{"a": 1} x"#)?.message, "unexpected 'x' after the end of the JSON value")
        XCTAssertNotNil(err(String(repeating: "[", count: 200) + String(repeating: "]", count: 200)), "depth is bounded")
        // Invalid UTF-8 inside a string: the column of the bad byte.
        var bytes = Array(#"{"text": "ab"#.utf8)
        bytes.append(0xC3)
        bytes.append(contentsOf: Array(#"("}"#.utf8))
        XCTAssertThrowsError(try JSONParser.parse(bytes)) { e in
            XCTAssertEqual((e as? JSONSyntaxError)?.column, 13)
            XCTAssertTrue((e as? JSONSyntaxError)?.message.contains("invalid UTF-8") ?? false)
        }
    }

    func testReaderHandlesCRLFMissingFinalNewlineAndResumesAtACursor() throws {
        let path = try tempFile(Array("{\"a\":1}\r\n\n  \n{\"a\":2}\n{\"a\":3}".utf8))
        let r = try JSONLReader(path: path, bufferBytes: 4096)
        var lines: [(String, Int)] = []
        var cursorAfterSecond: LineCursor?
        while let l = try r.next() {
            lines.append((String(decoding: l.bytes, as: UTF8.self), l.cursor.line))
            if l.cursor.line == 2 { cursorAfterSecond = r.cursor }
        }
        XCTAssertEqual(lines.map(\.0), ["{\"a\":1}", "", "  ", "{\"a\":2}", "{\"a\":3}"])
        XCTAssertEqual(lines.map(\.1), [1, 2, 3, 4, 5])
        let cursor = try XCTUnwrap(cursorAfterSecond)
        XCTAssertEqual(cursor, LineCursor(offset: 10, line: 3))
        let again = try JSONLReader(path: path, at: cursor)
        var rest: [String] = []
        while let l = try again.next() { rest.append(String(decoding: l.bytes, as: UTF8.self)) }
        XCTAssertEqual(rest, ["  ", "{\"a\":2}", "{\"a\":3}"])
        XCTAssertThrowsError(try JSONLReader(path: path, at: LineCursor(offset: 1000, line: 9)))
    }

    func testReaderMemoryIsBoundedByTheLongestLine() throws {
        // 20k short lines and one 50 KB line, read through a 4 KiB buffer: the buffer grows only to fit
        // the long line, never to the file.
        var text = ""
        for i in 0..<20_000 { text += "{\"text\": \"line \(i)\"}\n" }
        text += "{\"text\": \"" + String(repeating: "x", count: 50_000) + "\"}\n"
        let path = try tempFile(Array(text.utf8))
        let r = try JSONLReader(path: path, bufferBytes: 4096)
        var n = 0
        while try r.next() != nil { n += 1 }
        XCTAssertEqual(n, 20_001)
        XCTAssertLessThanOrEqual(r.bufferCapacity, 2 * 65_536, "buffer \(r.bufferCapacity) bytes for a \(text.utf8.count)-byte file")
        let small = try JSONLReader(path: path, bufferBytes: 4096, maxLineBytes: 16_384)
        XCTAssertThrowsError(try { while try small.next() != nil {} }()) { e in
            XCTAssertTrue("\(e.localizedDescription)".contains(":20001: line longer than"), e.localizedDescription)
        }
    }
}
