import XCTest

@testable import TailorKit

final class GGUFFileTests: XCTestCase {
    /// A small file with every metadata value type, nested arrays and tensors of several types.
    static func sampleFile(version: UInt32 = 3) throws -> [UInt8] {
        var w = GGUFWriter()
        w.set("general.architecture", .string("llama"))
        w.set("general.alignment", .uint32(64))
        w.set("u8", .uint8(200))
        w.set("i8", .int8(-5))
        w.set("u16", .uint16(60000))
        w.set("i16", .int16(-30000))
        w.set("u32", .uint32(4_000_000_000))
        w.set("i32", .int32(-2_000_000_000))
        w.set("f32", .float32(3.25))
        w.set("bool", .bool(true))
        w.set("str", .string("héllo ✓"))
        w.set("u64", .uint64(1 << 40))
        w.set("i64", .int64(-(1 << 40)))
        w.set("f64", .float64(-2.5e100))
        w.set("arr.str", .array(.string(["a", "", "ü"])))
        w.set("arr.i32", .array(.int32([1, -2, 3])))
        w.set("arr.f32", .array(.float32([0.5, -1])))
        w.set("arr.nested", .array(.array([.int8([1, 2]), .string(["x"]), .array([.bool([true, false])])])))
        w.add("a.weight", shape: [2, 32], floats: (0..<64).map { Float($0) })
        w.add("b.q8", type: .q8_0, shape: [1, 32], data: [0x00, 0x3C] + (0..<32).map { UInt8($0) })
        var bytes = try w.bytes()
        if version != 3 { bytes[4] = UInt8(version) }
        return bytes
    }

    func testParsesEveryValueTypeAndNestedArrays() throws {
        for version: UInt32 in [2, 3] {
            let f = try GGUFFile(bytes: Self.sampleFile(version: version))
            XCTAssertEqual(f.version, version)
            XCTAssertEqual(f.alignment, 64)
            XCTAssertEqual(f.metadata["u8"], .uint8(200))
            XCTAssertEqual(f.metadata["i8"], .int8(-5))
            XCTAssertEqual(f.metadata["u16"], .uint16(60000))
            XCTAssertEqual(f.metadata["i16"], .int16(-30000))
            XCTAssertEqual(f.metadata["u32"], .uint32(4_000_000_000))
            XCTAssertEqual(f.metadata["i32"], .int32(-2_000_000_000))
            XCTAssertEqual(f.metadata["f32"], .float32(3.25))
            XCTAssertEqual(f.metadata["bool"], .bool(true))
            XCTAssertEqual(f.metadata["str"], .string("héllo ✓"))
            XCTAssertEqual(f.metadata["u64"], .uint64(1 << 40))
            XCTAssertEqual(f.metadata["i64"], .int64(-(1 << 40)))
            XCTAssertEqual(f.metadata["f64"], .float64(-2.5e100))
            XCTAssertEqual(f.metadata["arr.str"], .array(.string(["a", "", "ü"])))
            XCTAssertEqual(f.metadata["arr.nested"], .array(.array([.int8([1, 2]), .string(["x"]), .array([.bool([true, false])])])))
            XCTAssertEqual(f.metadataKeys.first, "general.architecture")
            let a = try f.requireTensor("a.weight", shape: [2, 32])
            XCTAssertEqual(a.type, .f32)
            XCTAssertEqual(a.fileOffset % 64, 0)
            XCTAssertEqual(f.data(of: a).load(fromByteOffset: 4 * 33, as: Float.self), 33)
            let q = try f.requireTensor("b.q8")
            XCTAssertEqual(q.byteCount, 34)
        }
    }

    func testRealModelHeader() throws {
        let f = try GGUFFile(path: try smolLM2Path())
        XCTAssertEqual(try f.string("general.architecture"), "llama")
        XCTAssertEqual(try f.int("llama.block_count"), 30)
        XCTAssertEqual(try f.string("tokenizer.ggml.model"), "gpt2")
        XCTAssertEqual(try f.array("tokenizer.ggml.tokens").count, 49152)
        XCTAssertEqual(f.tensor("token_embd.weight")?.type, .q8_0)
        XCTAssertEqual(f.tensor("blk.0.attn_q.weight")?.type, .q4_1)
        XCTAssertEqual(f.tensor("blk.0.attn_q.weight")?.shape, [576, 576])
        XCTAssertEqual(f.tensor("blk.0.ffn_down.weight")?.shape, [576, 1536])
        XCTAssertEqual(f.tensor("output_norm.weight")?.type, .f32)
        let c = try ModelConfig(gguf: f)
        XCTAssertEqual(c.hiddenSize, 576)
        XCTAssertEqual(c.headCount, 9)
        XCTAssertEqual(c.kvHeadCount, 3)
        XCTAssertEqual(c.headDim, 64)
        XCTAssertEqual(c.intermediateSize, 1536)
        XCTAssertEqual(c.ropeTheta, 100000)
        XCTAssertTrue(c.tiedEmbeddings)
    }

    /// A tensor produced while the file streams (in pieces of any size) is written exactly as the same
    /// bytes given up front, with the same padding; `write(to:)` and `bytes()` agree.
    func testProducedTensorsStreamLikeGivenBytes() throws {
        let q8: [UInt8] = [0x00, 0x3C] + (0..<32).map { UInt8($0) }
        let floats = (0..<96).map { Float($0) * 0.25 }
        var given = GGUFWriter(), produced = GGUFWriter()
        given.set("general.architecture", .string("llama"))
        produced.set("general.architecture", .string("llama"))
        given.add("a.q8", type: .q8_0, shape: [1, 32], data: q8)
        given.add("b.f32", shape: [3, 32], floats: floats)
        produced.add("a.q8", type: .q8_0, shape: [1, 32], byteCount: q8.count) { put in
            try q8.withUnsafeBytes { raw in
                try put(UnsafeRawBufferPointer(rebasing: raw[0..<5]))
                try put(UnsafeRawBufferPointer(rebasing: raw[5...]))
            }
        }
        produced.add("b.f32", type: .f32, shape: [3, 32], byteCount: 4 * floats.count) { put in
            try floats.withUnsafeBytes { try put($0) }
        }
        let bytes = try produced.bytes()
        XCTAssertEqual(bytes, try given.bytes())
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-writer-\(UUID().uuidString).gguf")
        defer { try? FileManager.default.removeItem(at: url) }
        try produced.write(to: url)
        XCTAssertEqual([UInt8](try Data(contentsOf: url)), bytes)
        let f = try GGUFFile(path: url.path)
        XCTAssertEqual(f.tensors.map(\.name), ["a.q8", "b.f32"])
        XCTAssertEqual(f.tensors[1].fileOffset % f.alignment, 0)
    }

    func testErrorsNameOffsetAndExpectation() throws {
        var bad = try Self.sampleFile()
        bad[0] = 0x58
        XCTAssertThrowsError(try GGUFFile(bytes: bad, path: "m.gguf")) { e in
            XCTAssertEqual(e as? GGUFError, .badMagic(path: "m.gguf", found: 0x4655_4758))
            XCTAssertTrue(e.localizedDescription.contains("m.gguf"))
        }
        bad = try Self.sampleFile()
        bad[4] = 9
        XCTAssertThrowsError(try GGUFFile(bytes: bad, path: "m.gguf")) { e in
            XCTAssertEqual(e as? GGUFError, .unsupportedVersion(path: "m.gguf", found: 9))
        }
        let good = try Self.sampleFile()
        XCTAssertThrowsError(try GGUFFile(bytes: Array(good.prefix(good.count - 40)), path: "t.gguf")) { e in
            guard case .truncated = e as? GGUFError else { return XCTFail("expected truncated, got \(e)") }
            XCTAssertTrue(e.localizedDescription.contains("truncated"), e.localizedDescription)
        }
        // An absurd tensor count must be refused before anything is allocated.
        bad = try Self.sampleFile()
        for i in 8..<16 { bad[i] = 0xFF }
        XCTAssertThrowsError(try GGUFFile(bytes: bad, path: "c.gguf")) { e in
            guard case let .tooLarge(_, offset, what, _, _) = e as? GGUFError else { return XCTFail("\(e)") }
            XCTAssertEqual(offset, 8)
            XCTAssertEqual(what, "tensor count")
        }
    }

    func testUnsupportedTensorTypeIsNamed() throws {
        var w = GGUFWriter()
        w.set("general.architecture", .string("llama"))
        w.add("blk.0.attn_q.weight", type: .q5_0, shape: [1, 32], data: [UInt8](repeating: 0, count: 22))
        let f = try GGUFFile(bytes: w.bytes(), path: "x.gguf")
        let err = GGUFError.unsupportedType(path: f.path, tensor: "blk.0.attn_q.weight", type: try f.requireTensor("blk.0.attn_q.weight").type.name)
        XCTAssertTrue(err.localizedDescription.contains("blk.0.attn_q.weight"))
        XCTAssertTrue(err.localizedDescription.contains("Q5_0"))
    }

    /// Thousands of seeded random mutations and truncations: every one parses or throws a GGUFError.
    func testFuzzedHeadersNeverCrash() throws {
        let base = try Self.sampleFile()
        var rng = TestRNG(seed: 42)
        var parsed = 0, rejected = 0
        for _ in 0..<4000 {
            var b = base
            switch rng.int(4) {
            case 0:
                b = Array(b.prefix(rng.int(b.count)))
            case 1:
                for _ in 0..<(1 + rng.int(4)) { b[rng.int(b.count)] = UInt8(truncatingIfNeeded: rng.next()) }
            case 2:
                // Overwrite an 8-byte window (lengths and counts) with a random or extreme value.
                let at = rng.int(b.count - 8)
                let v: UInt64 = rng.int(2) == 0 ? rng.next() : UInt64.max - UInt64(rng.int(3))
                for i in 0..<8 { b[at + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) }
            default:
                let at = rng.int(b.count - 4)
                b[at] ^= UInt8(1 << rng.int(8))
                b = Array(b.prefix(b.count - rng.int(40)))
            }
            do {
                _ = try GGUFFile(bytes: b, path: "fuzz.gguf")
                parsed += 1
            } catch is GGUFError {
                rejected += 1
            } catch {
                XCTFail("unexpected error type \(error)")
            }
        }
        XCTAssertEqual(parsed + rejected, 4000)
        XCTAssertGreaterThan(rejected, 1000)
    }
}
