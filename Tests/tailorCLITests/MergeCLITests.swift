import Foundation
import TailorKit
import XCTest

/// `tailor merge` on the real model: the merged GGUF answers as the base with the adapter applied
/// unmerged does; lossy requantization is reported; bad input exits 2 naming the problem.
final class MergeCLITests: XCTestCase {
    /// An adapter on all seven linears of blocks 0, 15 and 29 (q/k rows exercise the RoPE permutation) with
    /// non-zero B, strong enough to change what the model says.
    func makeAdapter() throws -> (dir: URL, adapter: String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-merge-cli-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        let model = LlamaModel(
            weights: try LlamaWeights(path: CLITests.modelPath),
            lora: LoRASettings(rank: 4, alpha: 8, targets: LoRATarget.allCases, layers: [0, 15, 29]), seed: 3)
        for a in model.adapters {
            for i in 0..<a.lora.b.count { a.lora.b.data[i] = Float((i * 7919) % 13) * 0.02 - 0.12 }
        }
        let adapter = dir.appendingPathComponent("adapter")
        try PEFTAdapter.write(model: model, to: adapter, baseModelName: CLITests.modelPath)
        return (dir, adapter.path)
    }

    func json(_ s: String) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(s.utf8)) as? [String: Any], s)
    }

    func testMergedModelAnswersAsTheUnmergedAdapter() throws {
        let (dir, adapter) = try makeAdapter()
        let out = dir.appendingPathComponent("merged.gguf").path
        let r = try runTailor(["merge", "-m", CLITests.modelPath, "--adapter", adapter, "--out", out, "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let o = try json(r.stdout)
        let merge = try XCTUnwrap(o["merge"] as? [String: Any])
        XCTAssertEqual(merge["mergedTensors"] as? Int, 21)
        XCTAssertEqual(merge["type"] as? String, "F16")
        let check = try XCTUnwrap(o["check"] as? [String: Any])
        XCTAssertEqual(check["passed"] as? Bool, true, "\(check)")
        XCTAssertEqual(check["argmaxAgree"] as? Int, check["tokens"] as? Int)
        let file = try GGUFFile(path: out)
        XCTAssertEqual(file.tensor("blk.15.attn_q.weight")?.type, .f16)
        XCTAssertEqual(file.tensor("blk.14.attn_q.weight")?.type, .q4_1, "no adapter in block 14: copied as stored")
        XCTAssertEqual(file.metadata["tailor.merge.type"], .string("F16"))

        let prompt = ["--prompt", "The lighthouse keeper climbed the stairs and", "--max-tokens", "16"]
        let merged = try runTailor(["generate", "-m", out] + prompt)
        let unmerged = try runTailor(["generate", "-m", CLITests.modelPath, "--adapter", adapter] + prompt)
        let base = try runTailor(["generate", "-m", CLITests.modelPath] + prompt)
        XCTAssertEqual(merged.status, 0, merged.stderr)
        XCTAssertEqual(merged.stdout, unmerged.stdout, "greedy continuations")
        XCTAssertNotEqual(merged.stdout, base.stdout, "the adapter changes what the model says")
    }

    func testRequantizingToFourBitsWarnsAndBadInputExitsTwo() throws {
        let (dir, adapter) = try makeAdapter()
        let out = dir.appendingPathComponent("merged-q4.gguf").path
        var r = try runTailor(["merge", "-m", CLITests.modelPath, "--adapter", adapter, "--out", out, "--quant", "q4_0"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("warning: requantizing to Q4_0"), r.stderr)

        r = try runTailor(["merge", "-m", CLITests.modelPath, "--adapter", adapter, "--out", out, "--quant", "q3_k"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("--quant q3_k") && r.stderr.contains("q8_0"), r.stderr)
        r = try runTailor(["merge", "-m", CLITests.modelPath, "--adapter", adapter, "--out", dir.appendingPathComponent("m.bin").path])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("*.gguf"), r.stderr)
        r = try runTailor(["merge", "-m", CLITests.modelPath, "--adapter", dir.appendingPathComponent("nope").path, "--out", out])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("nope"), r.stderr)
        // An adapter of rank 4 that claims rank 8: every tensor's shape is listed as not fitting.
        let cfg = URL(fileURLWithPath: adapter).appendingPathComponent("adapter_config.json")
        var j = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: cfg)) as? [String: Any])
        j["r"] = 8
        try JSONSerialization.data(withJSONObject: j).write(to: cfg)
        r = try runTailor(["merge", "-m", CLITests.modelPath, "--adapter", adapter, "--out", out])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("adapter_model.safetensors"), r.stderr)
    }
}
