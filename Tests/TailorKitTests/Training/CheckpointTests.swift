import XCTest

@testable import TailorKit

/// Checkpoints on the tiny model: a run stopped and resumed gives the same losses and adapter bytes as
/// one that ran straight through; damaged checkpoints are passed over; retention keeps the last and best.
final class CheckpointTests: XCTestCase {
    func scratch() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-ckpt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }

    func config(_ dir: URL, data: String, steps: Int, every: Int?, keep: Int = 2) -> TrainingConfig {
        TrainingConfig(
            name: "tiny", model: "tiny.gguf", output: dir.appendingPathComponent("out").path,
            data: DataConfig(train: data, validFraction: 0.2, shuffleBuffer: 16),
            lora: LoRAConfig(rank: 4, alpha: 8, dropout: 0.1, targets: LoRATarget.allCases),
            train: TrainConfig(epochs: nil, steps: steps, batchSize: 3, gradAccumulation: 2, maxSeqLen: 16, lr: 1e-2, schedule: .cosine, seed: 3, threads: 2),
            checkpoint: CheckpointConfig(every: every, keep: keep, keepBest: true),
            eval: EvalConfig(every: 4, batches: 2))
    }

    func dataFile(_ dir: URL) throws -> String {
        var rng = TestRNG(seed: 11)
        let words = ["alpha", "beta", "gamma", "delta", "one", "two", "three", "red", "blue"]
        let lines = (0..<60).map { _ in "{\"text\": \"" + (0..<(3 + rng.int(5))).map { _ in words[rng.int(words.count)] }.joined(separator: " ") + "\"}" }
        let url = dir.appendingPathComponent("train.jsonl")
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: url)
        return url.path
    }

    func trainer(_ cfg: TrainingConfig) throws -> Trainer {
        let tok = try tinySPMTokenizer()
        let p = DataPipeline(config: cfg, tokenizer: tok, template: nil)
        return try Trainer(
            config: cfg, weights: try tinyModelWeights(vocab: tok.vocabularySize), tokenizer: tok, batches: try p.trainBatches(),
            trainExampleCount: try p.countTraining().examples, valid: try p.validExamples())
    }

    func testStoppedAndResumedRunEqualsAnUninterruptedOne() throws {
        let dir = try scratch()
        let data = try dataFile(dir)
        let straight = config(dir.appendingPathComponent("a"), data: data, steps: 14, every: nil)
        let reference = try trainer(straight).run { _ in }
        let refAdapter = try Data(contentsOf: URL(fileURLWithPath: straight.outputDirectory).appendingPathComponent("adapter_model.safetensors"))

        let cfg = config(dir.appendingPathComponent("b"), data: data, steps: 14, every: 3)
        var stopAt = 5
        var resume: CheckpointInfo?
        var summary: TrainingSummary?
        var stepsSeen: [Int] = []
        // Stop after step 5 and after step 9, resuming each time from the newest checkpoint.
        while summary?.stopped != nil || summary == nil {
            var current = 0
            let s = try trainer(cfg).run(resume: resume, shouldStop: { current >= stopAt }) { e in
                if case let .step(m) = e {
                    current = m.step
                    stepsSeen.append(m.step)
                }
            }
            summary = s
            stopAt += 4
            resume = CheckpointStore(outputDirectory: cfg.outputDirectory).latest()
            if s.stopped == nil { break }
            XCTAssertEqual(s.stopped, .interrupted)
            XCTAssertEqual(resume?.step, s.steps, "a stop writes a checkpoint at the step it stopped")
        }
        XCTAssertEqual(stepsSeen, Array(1...14), "no step is repeated or skipped")
        XCTAssertEqual(summary?.losses, reference.losses, "per-step losses bit-identical")
        XCTAssertEqual(summary?.validLosses, reference.validLosses)
        let adapter = try Data(contentsOf: URL(fileURLWithPath: cfg.outputDirectory).appendingPathComponent("adapter_model.safetensors"))
        XCTAssertEqual(adapter, refAdapter, "final adapter bytes identical")
        // Retention: the last 2 plus the best by validation loss.
        let kept = CheckpointStore(outputDirectory: cfg.outputDirectory).candidates().map(\.step)
        XCTAssertTrue(kept.count <= 3 && kept.contains(14) && kept.contains(12), "kept \(kept)")
    }

    func testDamagedCheckpointIsPassedOverForThePreviousOne() throws {
        let dir = try scratch()
        let cfg = config(dir, data: try dataFile(dir), steps: 6, every: 2, keep: 5)
        _ = try trainer(cfg).run { _ in }
        let store = CheckpointStore(outputDirectory: cfg.outputDirectory)
        XCTAssertEqual(store.candidates().map(\.step), [6, 4, 2])
        // Flip a byte in the newest checkpoint's tensors, and leave a half-written one (no manifest).
        let t = store.root.appendingPathComponent("step-000006/trainer_tensors.safetensors")
        var bytes = try Data(contentsOf: t)
        bytes[bytes.count - 3] ^= 0x40
        try bytes.write(to: t)
        try FileManager.default.createDirectory(at: store.root.appendingPathComponent("step-000008"), withIntermediateDirectories: true)
        var skipped: [String] = []
        let latest = store.latest { skipped.append($0.localizedDescription) }
        XCTAssertEqual(latest?.step, 4)
        XCTAssertEqual(skipped.count, 2)
        XCTAssertTrue(skipped[0].contains("step-000008: checkpoint is damaged: no manifest.json"), skipped[0])
        XCTAssertTrue(skipped[1].contains("trainer_tensors.safetensors does not match its sha256"), skipped[1])
        // A resume under a different config is refused.
        var other = cfg
        other.train.lr = 5e-3
        XCTAssertThrowsError(try trainer(other).run(resume: latest) { _ in }) { e in
            XCTAssertEqual(e as? CheckpointError, .configChanged(path: latest?.directory.path ?? ""))
        }
    }
}
