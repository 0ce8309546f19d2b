import XCTest

@testable import TailorKit

/// `AdapterMerge` on the tiny model (F32 and Q8_0 linears, GQA): the merged GGUF, run with no adapter,
/// computes what the base computes with the adapter applied unmerged (the training forward, independent
/// code); untouched tensors and metadata are copied exactly; bad adapters are errors that write nothing.
final class AdapterMergeTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-merge-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// The tiny model written to disk (AdapterMerge reads a mapped file) and an adapter on every linear of
    /// block 1 and q/v of block 0, with B non-zero.
    func fixture(rank: Int = 2, rsLoRA: Bool = false) throws -> (LlamaWeights, LlamaModel, LoRAAdapter) {
        let path = dir.appendingPathComponent("base.gguf")
        try Data(try tinyModelGGUF()).write(to: path)
        let weights = try LlamaWeights(path: path.path)
        let model = LlamaModel(
            weights: weights,
            lora: LoRASettings(rank: rank, alpha: 3, targets: LoRATarget.allCases, layers: [1], useRSLoRA: rsLoRA), seed: 5)
        var rng = TestRNG(seed: 17)
        for a in model.adapters { for i in 0..<a.lora.b.count { a.lora.b.data[i] = rng.normal() * 0.3 } }
        return (weights, model, LoRAAdapter(model: model, baseModel: "base.gguf"))
    }

    /// Summed NLL of a fixed batch under `model` (adapters as they are).
    func nll(_ model: LlamaModel) -> Double {
        let T = 12
        var rng = TestRNG(seed: 2)
        let tokens = (0..<2 * T).map { _ in Int32(rng.int(40)) }
        let labels = (0..<2 * T).map { i in i % T == T - 1 ? Int32(-1) : tokens[i + 1] }
        let batch = TrainingBatch(rows: 2, seqLen: T, tokens: tokens, labels: labels)
        return model.step(batch, workspace: TrainingWorkspace(model: model, rows: 2, seqLen: T), lossScale: 1, backward: false).nllSum
    }

    func testMergedModelComputesWhatTheUnmergedAdapterDoes() throws {
        let (weights, model, adapter) = try fixture(rsLoRA: true)
        let adapted = nll(model)
        let base = nll(LlamaModel(weights: weights, lora: LoRASettings(layers: [])))
        XCTAssertGreaterThan(abs(adapted - base), 0.5, "the adapter must matter")
        for (type, tolerance) in [(GGMLType.f32, 1e-5), (.f16, 2e-3), (.bf16, 2e-2)] {
            let url = dir.appendingPathComponent("merged-\(type.name).gguf")
            let report = try AdapterMerge.write(
                base: weights, adapter: adapter, adapterPath: "adapter", type: type, to: url, metadata: ["tailor.merge.type": .string(type.name)])
            XCTAssertEqual(report.mergedTensors, 7)
            XCTAssertEqual(report.copiedTensors, weights.file.tensors.count - 7)
            XCTAssertGreaterThan(report.largestDelta, 0)
            let merged = try LlamaWeights(path: url.path)
            let got = nll(LlamaModel(weights: merged, lora: LoRASettings(layers: [])))
            XCTAssertEqual(got, adapted, accuracy: tolerance * abs(adapted), "\(type.name): merged \(got), unmerged \(adapted), base \(base)")
            XCTAssertEqual(merged.file.metadata["tailor.merge.type"], .string(type.name))
            XCTAssertEqual(merged.file.tensor("blk.1.attn_v.weight")?.type, type)
            XCTAssertEqual(merged.file.tensor("blk.0.attn_v.weight")?.type, .q8_0, "block 0 has no adapter: kept as stored")
        }
    }

    /// Untouched tensors are the base's bytes; every metadata key survives in order; a merged Q8_0 tensor
    /// is exactly GGMLQuantizer's Q8_0 of dequant(W0) + s·B·A computed here by hand.
    func testCopiesUntouchedTensorsAndQuantizesTheSumExactly() throws {
        let (weights, model, adapter) = try fixture()
        let url = dir.appendingPathComponent("merged.gguf")
        _ = try AdapterMerge.write(base: weights, adapter: adapter, adapterPath: "adapter", type: .q8_0, to: url)
        let merged = try GGUFFile(path: url.path)
        XCTAssertEqual(Array(merged.metadataKeys.prefix(weights.file.metadataKeys.count)), weights.file.metadataKeys)
        for t in weights.file.tensors where !t.name.hasPrefix("blk.1.") || t.name.contains("norm") {
            let m = try XCTUnwrap(merged.tensor(t.name))
            XCTAssertEqual(m.type, t.type, t.name)
            XCTAssertEqual(Data(bytes: merged.data(of: m), count: m.byteCount), Data(bytes: weights.file.data(of: t), count: t.byteCount), t.name)
        }
        let lora = try XCTUnwrap(model.adapters.first { $0.target == .downProj }).lora
        let w0 = weights.layers[1].down, rows = w0.outFeatures, cols = w0.inFeatures
        var w = [Float](repeating: 0, count: rows * cols)
        w.withUnsafeMutableBufferPointer { w0.dequantize(rows: 0, rows, into: $0.baseAddress!) }
        for i in 0..<rows {
            for j in 0..<cols {
                var s: Float = 0
                for k in 0..<lora.rank { s += lora.b[i, k] * lora.a[k, j] }
                w[i * cols + j] += lora.scale * s
            }
        }
        var expected = [UInt8](repeating: 0, count: rows * GGMLType.q8_0.rowBytes(cols))
        w.withUnsafeBufferPointer { x in
            expected.withUnsafeMutableBytes { out in
                for r in 0..<rows {
                    GGMLQuantizer.quantize(x.baseAddress! + r * cols, count: cols, type: .q8_0, into: out.baseAddress! + r * GGMLType.q8_0.rowBytes(cols))
                }
            }
        }
        let m = try XCTUnwrap(merged.tensor("blk.1.ffn_down.weight"))
        // The merge sums B A with SGEMM, this test in a plain loop: a rounding step apart at most, so a byte
        // may differ by one quantization level where a value sits on a rounding edge.
        let got = [UInt8](Data(bytes: merged.data(of: m), count: m.byteCount))
        XCTAssertEqual(got.count, expected.count)
        let differing = zip(got, expected).filter { $0 != $1 }.count
        XCTAssertLessThanOrEqual(differing, got.count / 100, "\(differing) of \(got.count) bytes differ")
    }

    func testAdapterWithNaNIsAnErrorAndWritesNothing() throws {
        let (weights, _, adapter) = try fixture()
        let url = dir.appendingPathComponent("merged.gguf")
        try Data("previous".utf8).write(to: url)
        var bad = adapter
        var w = bad.weights[3]
        var b = w.b
        b[5] = .nan
        w = AdapterWeights(layer: w.layer, target: w.target, rank: w.rank, scale: w.scale, a: w.a, b: b)
        bad.weights[3] = w
        XCTAssertThrowsError(try AdapterMerge.write(base: weights, adapter: bad, adapterPath: "adapters/x", type: .f16, to: url)) { e in
            guard case let .nonFinite(adapter, tensor, _)? = e as? MergeError else { return XCTFail("\(e)") }
            XCTAssertEqual(adapter, "adapters/x")
            XCTAssertEqual(tensor, "blk.1.\(w.target.ggufName).weight")
        }
        XCTAssertEqual(try String(contentsOf: url, encoding: .utf8), "previous", "the old file is untouched")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted(), ["base.gguf", "merged.gguf"], "no temporary left")
        XCTAssertThrowsError(try AdapterMerge.write(base: weights, adapter: adapter, adapterPath: "a", type: .q4_K, to: url)) { e in
            XCTAssertEqual(e as? MergeError, .unsupportedType(path: url.path, type: "Q4_K"))
        }
    }
}
