import XCTest

@testable import TailorKit

/// An adapter written in PEFT's layout and read back drives the inference path to the same result as the
/// training path (independent code: LoRALinear vs LlamaInference.addLoRA), through the q/k row permutation.
final class PEFTAdapterTests: XCTestCase {
    func testWrittenAdapterReadsBackAndMatchesTheTrainingForward() throws {
        var rng = TestRNG(seed: 21)
        let weights = try smolLM2Weights()
        let model = LlamaModel(weights: weights, lora: LoRASettings(rank: 4, alpha: 8, targets: LoRATarget.allCases, layers: [0, 7, 29]), seed: 4)
        for a in model.adapters { for i in 0..<a.lora.b.count { a.lora.b.data[i] = rng.normal() * 0.05 } }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-adapter-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try PEFTAdapter.write(model: model, to: dir, baseModelName: "SmolLM2-135M-Instruct")
        let loaded = try PEFTAdapter.read(directory: dir, config: weights.config)
        XCTAssertEqual(loaded.count, 21)

        let ids = try smolLM2Tokenizer().encode("The lighthouse keeper climbed the stairs every evening to light the lamp.", addSpecialTokens: false)
        let T = ids.count
        let labels = Array(ids.dropFirst()) + [-1]
        let batch = TrainingBatch(rows: 1, seqLen: T, tokens: ids, labels: labels)
        let trainingNLL = model.step(batch, workspace: TrainingWorkspace(model: model, rows: 1, seqLen: T), lossScale: 1, backward: false).nllSum

        let inf = LlamaInference(weights: weights, contextLength: 64, maxBatch: 64)
        func nll() throws -> Double {
            inf.reset()
            let all = Array(try inf.forward(ids, logits: .all))
            let V = weights.config.vocabSize
            var total = 0.0
            for t in 0..<(T - 1) {
                let row = all[t * V..<(t + 1) * V]
                let mx = row.max() ?? 0
                total += Double(mx) + log(row.reduce(0.0) { $0 + exp(Double($1 - mx)) }) - Double(row[row.startIndex + Int(ids[t + 1])])
            }
            return total
        }
        let baseNLL = try nll()
        inf.apply(adapter: loaded)
        let adaptedNLL = try nll()
        XCTAssertGreaterThan(abs(adaptedNLL - baseNLL), 0.05, "the adapter must change the model")
        XCTAssertEqual(adaptedNLL, trainingNLL, accuracy: 1e-4 * abs(trainingNLL))
    }

    func testKeysThatDoNotFitAreListed() throws {
        let weights = try smolLM2Weights()
        let model = LlamaModel(weights: weights, lora: LoRASettings(rank: 2, alpha: 4, targets: [.qProj], layers: [3]))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-adapter-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try PEFTAdapter.write(model: model, to: dir, baseModelName: "x")
        // Claim v_proj too: its keys are missing from the safetensors file.
        var cfg = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("adapter_config.json"))) as? [String: Any])
        cfg["target_modules"] = ["q_proj", "v_proj"]
        try JSONSerialization.data(withJSONObject: cfg).write(to: dir.appendingPathComponent("adapter_config.json"))
        XCTAssertThrowsError(try PEFTAdapter.read(directory: dir, config: weights.config)) { e in
            guard case let .keys(_, missing, unexpected) = e as? AdapterError else { return XCTFail("\(e)") }
            XCTAssertEqual(missing, ["base_model.model.model.layers.3.self_attn.v_proj.lora_A.weight", "base_model.model.model.layers.3.self_attn.v_proj.lora_B.weight"])
            XCTAssertEqual(unexpected, [])
            XCTAssertTrue(e.localizedDescription.contains("v_proj"))
        }
    }
}
