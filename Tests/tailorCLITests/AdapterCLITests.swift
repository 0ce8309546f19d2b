import Foundation
import TailorKit
import XCTest

/// `tailor export-adapter`, `tailor generate --logits-out` and `lora.init_from` as a user runs them.
final class AdapterCLITests: XCTestCase {
    /// A scratch directory holding a PEFT adapter (q_proj and v_proj, rank 2, blocks 28 and 29) with
    /// nonzero B, whose base_model_name_or_path is `baseModel`.
    func makeAdapter(baseModel: String = CLITests.modelPath) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
            "tailor-adapter-cli-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        let model = LlamaModel(
            weights: try LlamaWeights(path: CLITests.modelPath),
            lora: LoRASettings(rank: 2, alpha: 4, targets: [.qProj, .vProj], layers: [28, 29]), seed: 5)
        for a in model.adapters {
            for i in 0..<a.lora.b.count { a.lora.b.data[i] = Float(i % 7) * 0.02 - 0.06 }
        }
        try PEFTAdapter.write(model: model, to: dir.appendingPathComponent("adapter"), baseModelName: baseModel)
        return dir
    }

    func testExportWritesBothFormatsFromTheAdaptersBaseModel() throws {
        let dir = try makeAdapter()
        let adapter = dir.appendingPathComponent("adapter").path
        let gguf = dir.appendingPathComponent("out/lora.gguf").path
        var r = try runTailor(["export-adapter", adapter, "--format", "gguf", "--out", gguf])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("wrote gguf adapter"), r.stdout)
        let file = try GGUFFile(path: gguf)
        XCTAssertEqual(file.metadata["general.type"], .string("adapter"))
        XCTAssertEqual(file.tensors.count, 8)

        let mlx = dir.appendingPathComponent("mlx").path
        r = try runTailor(["export-adapter", adapter, "--format", "mlx", "--out", mlx, "--dtype", "f16"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let st = try SafetensorsFile(url: URL(fileURLWithPath: mlx).appendingPathComponent("adapters.safetensors"))
        XCTAssertEqual(try st.entry("model.layers.29.self_attn.q_proj.lora_a").shape, [576, 2])
        XCTAssertEqual(try st.entry("model.layers.29.self_attn.q_proj.lora_a").dtype, .f16)
    }

    func testExportBadInputExitsTwoNamingTheProblem() throws {
        let dir = try makeAdapter(baseModel: "HuggingFaceTB/SmolLM2-135M-Instruct")
        let adapter = dir.appendingPathComponent("adapter").path
        let out = dir.appendingPathComponent("x.gguf").path
        var r = try runTailor(["export-adapter", adapter, "--format", "gguf", "--out", out])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(
            r.stderr.contains("HuggingFaceTB/SmolLM2-135M-Instruct") && r.stderr.contains("--model"), r.stderr)

        r = try runTailor(["export-adapter", adapter, "--format", "onnx", "--out", out, "--model", CLITests.modelPath])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("onnx"), r.stderr)

        // Claim k_proj too: its tensors are missing from the file.
        let cfg = dir.appendingPathComponent("adapter/adapter_config.json")
        var json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: cfg)) as? [String: Any])
        json["target_modules"] = ["q_proj", "k_proj", "v_proj"]
        try JSONSerialization.data(withJSONObject: json).write(to: cfg)
        r = try runTailor(["export-adapter", adapter, "--format", "gguf", "--out", out, "--model", CLITests.modelPath])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(
            r.stderr.contains("missing: base_model.model.model.layers.28.self_attn.k_proj.lora_A.weight"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

    func testLogitsOutHoldsThePromptsLogitsAndTheAdapterChangesThem() throws {
        let dir = try makeAdapter()
        let prompt = "The capital of France is"
        func logits(_ extra: [String]) throws -> (ids: [Int], rows: [[Float]], first: Int) {
            let file = dir.appendingPathComponent("logits-\(UUID().uuidString).safetensors")
            let r = try runTailor(
                [
                    "generate", "--model", CLITests.modelPath, "--prompt", prompt, "--max-tokens", "1", "--ignore-eos",
                    "--json",
                    "--logits-out", file.path,
                ] + extra)
            XCTAssertEqual(r.status, 0, r.stderr)
            let obj = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
            let st = try SafetensorsFile(url: file)
            let ids = try st.ints("ids")
            XCTAssertEqual(ids, obj["prompt_ids"] as? [Int])
            XCTAssertEqual(try st.entry("logits").shape, [ids.count, 49152])
            let flat = try st.floats("logits")
            let rows = (0..<ids.count).map { Array(flat[$0 * 49152..<($0 + 1) * 49152]) }
            return (ids, rows, try XCTUnwrap((obj["ids"] as? [Int])?.first))
        }
        let base = try logits([])
        let adapted = try logits(["--adapter", dir.appendingPathComponent("adapter").path])
        for run in [base, adapted] {
            let last = try XCTUnwrap(run.rows.last)
            XCTAssertEqual(last.indices.max { last[$0] < last[$1] }, run.first, "greedy takes the last row's argmax")
        }
        let moved = zip(base.rows.joined(), adapted.rows.joined()).map { abs($0 - $1) }.max() ?? 0
        XCTAssertGreaterThan(moved, 0.01)
    }

    func testTrainingStartsFromAnAdapterWithLoRAInitFrom() throws {
        let dir = try makeAdapter()
        let data = dir.appendingPathComponent("data.jsonl")
        try #"{"text": "Paris is the capital and largest city of France."}"#.write(
            to: data, atomically: true, encoding: .utf8)
        func train(_ lora: String) throws -> CLITests.Result {
            let config = dir.appendingPathComponent("run-\(UUID().uuidString).yaml")
            try """
            model: \(CLITests.modelPath)
            output: \(dir.appendingPathComponent("out").path)
            data:
              train: \(data.path)
              valid: \(data.path)
            lora:
              rank: 2
              alpha: 4
              targets: [q_proj, v_proj]
            \(lora)
            train:
              steps: 1
              batch_size: 1
              max_seq_len: 32
            """.write(to: config, atomically: true, encoding: .utf8)
            return try runTailor(["train", config.path, "--json"])
        }
        func firstValidLoss(_ r: CLITests.Result) throws -> Double {
            let obj = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.stderr)
            // JSONEncoder writes [Int: Double] as {"0": loss, ...}.
            let v = try XCTUnwrap(obj["validLosses"] as? [String: Double], r.stdout)
            return try XCTUnwrap(v["0"], r.stdout)
        }
        let adapter = dir.appendingPathComponent("adapter").path
        let fresh = try train("  layers: [28, 29]")
        let resumed = try train("  layers: [28, 29]\n  init_from: \(adapter)")
        XCTAssertEqual(fresh.status, 0, fresh.stderr)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertNotEqual(try firstValidLoss(fresh), try firstValidLoss(resumed), "B = 0 vs the adapter's B")

        let mismatch = try train("  layers: [29]\n  init_from: \(adapter)")
        XCTAssertEqual(mismatch.status, 2)
        XCTAssertTrue(
            mismatch.stderr.contains("lora.layers: the adapter has [28, 29], the config [29]"), mismatch.stderr)
    }
}
