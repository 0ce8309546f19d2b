import XCTest

@testable import TailorKit

/// The step loop on the tiny model: loss falls, the NaN guard skips and then stops, same seed gives
/// bit-identical losses, and the adapter lands in PEFT's layout.
final class TrainerTests: XCTestCase {
    func examples(_ n: Int, seed: UInt64) -> [TokenizedExample] {
        var rng = TestRNG(seed: seed)
        // A learnable pattern: each row counts up from a random start (mod 40).
        return (0..<n).map { _ in
            let s = rng.int(40)
            let toks = (0..<12).map { Int32((s + $0) % 40) }
            return TokenizedExample(tokens: toks, supervised: [Bool](repeating: true, count: toks.count))
        }
    }

    func config(steps: Int, output: String, lr: Double = 1e-2, maxBadSteps: Int = 5) -> TrainingConfig {
        TrainingConfig(
            name: "tiny", model: "tiny.gguf", output: output, data: DataConfig(train: "train.jsonl"),
            lora: LoRAConfig(rank: 4, alpha: 8, targets: LoRATarget.allCases),
            train: TrainConfig(epochs: nil, steps: steps, batchSize: 4, maxSeqLen: 16, lr: lr, schedule: .constant, seed: 3, threads: 2, maxBadSteps: maxBadSteps),
            eval: EvalConfig(every: 10, batches: 2))
    }

    func testLossFallsAndRunsAreDeterministic() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-trainer-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        var runs: [[Double]] = []
        for _ in 0..<2 {
            let trainer = try Trainer(config: config(steps: 30, output: dir.path), weights: try tinyModelWeights(), tokenizer: try tinySPMTokenizer(), train: examples(64, seed: 1), valid: examples(8, seed: 2))
            var losses: [Double] = []
            var valid: [Double] = []
            let summary = try trainer.run { e in
                if case let .step(m) = e { losses.append(m.loss) }
                if case let .evaluated(_, v) = e { valid.append(v) }
            }
            XCTAssertEqual(summary.steps, 30)
            XCTAssertLessThan(valid.last ?? .nan, (valid.first ?? 0) - 0.5, "validation loss \(valid)")
            runs.append(losses)
        }
        XCTAssertEqual(runs[0], runs[1], "same config and seed must give bit-identical losses")
        let st = try SafetensorsFile(url: dir.appendingPathComponent("adapter_model.safetensors"))
        XCTAssertEqual(st.entries.count, 2 * 7 * 2)
        XCTAssertEqual(try st.entry("base_model.model.model.layers.1.mlp.down_proj.lora_A.weight").shape, [4, 64])
        let cfg = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("adapter_config.json"))) as? [String: Any]
        XCTAssertEqual(cfg?["peft_type"] as? String, "LORA")
        XCTAssertEqual(cfg?["r"] as? Int, 4)
    }

    func testNonFiniteStepsAreSkippedThenStopTheRun() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-trainer-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let trainer = try Trainer(config: config(steps: 10, output: dir.path, maxBadSteps: 3), weights: try tinyModelWeights(), tokenizer: try tinySPMTokenizer(), train: examples(16, seed: 1), valid: [])
        trainer.model.adapters[0].lora.a.data[0] = .nan
        var warnings: [String] = []
        var skipped = 0
        XCTAssertThrowsError(try trainer.run { e in
            if case let .warning(w) = e { warnings.append(w) }
            if case let .step(m) = e, m.skipped { skipped += 1 }
        }) { e in
            XCTAssertEqual(e as? TrainingError, .tooManyBadSteps(step: 3, count: 3))
        }
        XCTAssertEqual(skipped, 3)
        XCTAssertEqual(warnings.count, 3)
        XCTAssertTrue(trainer.model.adapters[1].lora.a.toArray().allSatisfy(\.isFinite), "a skipped step must not update parameters")
    }
}
