import Foundation
import XCTest

/// `tailor train` and `tailor plan` end to end on the real model.
final class TrainCLITests: XCTestCase {
    func makeRun(_ yamlBody: String) throws -> (dir: URL, config: String) {
        try makeTrainingRun(yamlBody)
    }

    func json(_ s: String) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(s.utf8)) as? [String: Any], s)
    }

    /// The plan's peak-memory prediction is within 15 % of the peak RSS the run then measures, on three
    /// configs (attention-only adapters, the whole batch in one pass; all linears with gradient
    /// checkpointing; all linears in the default one-row passes).
    func testPlanPredictsPeakMemoryWithinFifteenPercent() throws {
        let configs = [
            """
            lora: {rank: 8, alpha: 16, targets: [q_proj, v_proj]}
            train: {steps: 2, batch_size: 4, max_seq_len: 128, micro_batch_tokens: 512, threads: 2}
            eval: {every: 100, batches: 1}
            """,
            """
            lora: {rank: 8, alpha: 16, targets: all-linear}
            train: {steps: 2, batch_size: 4, max_seq_len: 256, threads: 2}
            eval: {every: 100, batches: 1}
            """,
            """
            lora: {rank: 16, alpha: 32, targets: all-linear}
            train: {steps: 2, batch_size: 4, max_seq_len: 256, grad_checkpoint: true, threads: 2}
            eval: {every: 100, batches: 1}
            """,
        ]
        for body in configs {
            let run = try makeRun(body)
            defer { try? FileManager.default.removeItem(at: run.dir) }
            let plan = try runTailor(["plan", run.config, "--json"])
            XCTAssertEqual(plan.status, 0, plan.stderr)
            let predicted = try XCTUnwrap(json(plan.stdout)["predictedPeakBytes"] as? Int)
            let train = try runTailor(["train", run.config, "--json"])
            XCTAssertEqual(train.status, 0, train.stderr)
            let measured = try XCTUnwrap(json(train.stdout)["peakRSSBytes"] as? Int)
            let ratio = Double(predicted) / Double(measured)
            XCTAssert(abs(ratio - 1) <= 0.15, "predicted \(predicted >> 20) MiB, measured \(measured >> 20) MiB (ratio \(ratio))")
            // The adapter landed in PEFT's layout.
            for f in ["adapter_config.json", "adapter_model.safetensors"] {
                XCTAssertTrue(FileManager.default.fileExists(atPath: run.dir.appendingPathComponent("adapter/\(f)").path), f)
            }
            XCTAssertTrue(train.stderr.contains("validation loss"), train.stderr)
        }
    }

    func testConfigErrorsExitTwoAndNameTheKey() throws {
        let run = try makeRun("lora: {rnak: 8}\n")
        defer { try? FileManager.default.removeItem(at: run.dir) }
        let r = try runTailor(["train", run.config])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("lora.rnak") && r.stderr.contains("rank"), r.stderr)
        let r2 = try runTailor(["train", run.config, "--set", "lora.rnak=null", "--set", "train.lr=fast"])
        XCTAssertEqual(r2.status, 2)
    }
}

/// A scratch directory with a JSONL of long plain-text examples (each longer than max_seq_len, so every
/// batch fills the workspace and the measured peak is the planned one), and a run config over them with
/// `yamlBody` appended (lora/train/eval sections).
func makeTrainingRun(_ yamlBody: String, name: String = "run") throws -> (dir: URL, config: String) {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-train-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let words = try String(contentsOf: CLITests.fixture("ppl_text.txt"), encoding: .utf8).split(separator: " ")
    var lines: [String] = []
    for i in stride(from: 0, to: words.count - 400, by: 50) {
        let text = words[i..<(i + 400)].joined(separator: " ")
        let data = try JSONSerialization.data(withJSONObject: ["text": text])
        lines.append(String(decoding: data, as: UTF8.self))
    }
    try lines.joined(separator: "\n").write(to: dir.appendingPathComponent("train.jsonl"), atomically: true, encoding: .utf8)
    try lines.prefix(4).joined(separator: "\n").write(to: dir.appendingPathComponent("valid.jsonl"), atomically: true, encoding: .utf8)
    let yaml = """
        model: \(CLITests.modelPath)
        output: \(dir.appendingPathComponent("adapter").path)
        data:
          train: \(dir.appendingPathComponent("train.jsonl").path)
          valid: \(dir.appendingPathComponent("valid.jsonl").path)
        \(yamlBody)
        """
    let config = dir.appendingPathComponent("\(name).yaml").path
    try yaml.write(toFile: config, atomically: true, encoding: .utf8)
    return (dir, config)
}
