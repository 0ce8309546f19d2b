import Foundation
import XCTest

/// `tailor train --db` records runs that `tailor status` and `tailor runs compare` read back, including a
/// run training in another process.
final class StatusCLITests: XCTestCase {
    /// A tiny config: a few fast steps on the real model.
    static func body(steps: Int, evalEvery: Int = 2, lr: String = "2e-4", maxSeqLen: Int = 64) -> String {
        """
        lora: {rank: 4, alpha: 8, targets: [q_proj, v_proj]}
        train: {steps: \(steps), batch_size: 1, max_seq_len: \(maxSeqLen), threads: 2, lr: \(lr)}
        eval: {every: \(evalEvery), batches: 1}
        """
    }

    func json(_ s: Substring) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(s.utf8)) as? [String: Any], String(s))
    }

    /// Starts `tailor` without waiting; its output goes to files in `dir`.
    func launch(_ args: [String], in dir: URL) throws -> Process {
        let p = Process()
        p.executableURL = CLITests.binary
        p.arguments = args
        var env = ProcessInfo.processInfo.environment
        env["OPENBLAS_NUM_THREADS"] = "2"
        env["TAILOR_HOME"] = CLITests.scratchHome.path
        p.environment = env
        _ = FileManager.default.createFile(atPath: dir.appendingPathComponent("out.txt").path, contents: nil)
        _ = FileManager.default.createFile(atPath: dir.appendingPathComponent("err.txt").path, contents: nil)
        p.standardOutput = try FileHandle(forWritingTo: dir.appendingPathComponent("out.txt"))
        p.standardError = try FileHandle(forWritingTo: dir.appendingPathComponent("err.txt"))
        try p.run()
        return p
    }

    /// Polls `tailor status --json` until `done` holds for its first run (or the deadline passes).
    func waitForRun(db: String, timeout: TimeInterval = 120, until done: ([String: Any]) -> Bool) throws
        -> [String: Any]?
    {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let r = try runTailor(["status", "--db", db, "--json"])
            if r.status == 0, let runs = try json(Substring(r.stdout))["runs"] as? [[String: Any]],
                let run = runs.first, done(run)
            {
                return run
            }
            Thread.sleep(forTimeInterval: 0.2)
        }
        return nil
    }

    func testTrainRecordsTheRunAndStatusShowsIt() throws {
        let run = try makeTrainingRun(Self.body(steps: 4), name: "tiny")
        defer { try? FileManager.default.removeItem(at: run.dir) }
        let db = run.dir.appendingPathComponent("state/tailor.db").path
        let train = try runTailor(["train", run.config, "--db", db, "--json"])
        XCTAssertEqual(train.status, 0, train.stderr)
        let summary = try json(Substring(train.stdout))
        XCTAssertEqual(summary["runId"] as? Int, 1)
        XCTAssertEqual(summary["database"] as? String, db)
        XCTAssertTrue(train.stderr.contains("run 1 (tiny) recorded in \(db)"), train.stderr)

        // The table, as JSON.
        let list = try runTailor(["status", "--db", db, "--json"])
        XCTAssertEqual(list.status, 0, list.stderr)
        let listed = try json(Substring(list.stdout))
        XCTAssertEqual(listed["version"] as? Int, 1)
        let runs = try XCTUnwrap(listed["runs"] as? [[String: Any]])
        XCTAssertEqual(runs.count, 1)
        let row = runs[0]
        XCTAssertEqual(row["name"] as? String, "tiny")
        XCTAssertEqual(row["status"] as? String, "succeeded")
        XCTAssertEqual(row["step"] as? Int, 4)
        XCTAssertEqual(row["totalSteps"] as? Int, 4)
        XCTAssertNotNil(row["lastLoss"] as? Double)
        XCTAssertNotNil(row["bestValidLoss"] as? Double)
        XCTAssertNotNil(row["tokensPerSecond"] as? Double)
        XCTAssertTrue(row["etaSeconds"] is NSNull, "every key is present, null when unknown")

        // One run in detail, by name.
        let detail = try runTailor(["status", "tiny", "--db", db, "--json"])
        XCTAssertEqual(detail.status, 0, detail.stderr)
        let d = try json(Substring(detail.stdout))
        let metrics = try XCTUnwrap(d["metrics"] as? [[String: Any]])
        XCTAssertEqual(metrics.compactMap { $0["step"] as? Int }, [0, 1, 2, 3, 4])
        XCTAssertNotNil(metrics[0]["validLoss"] as? Double, "validation before training is step 0")
        XCTAssertEqual(metrics.filter { $0["loss"] is Double }.count, 4)
        XCTAssertEqual(metrics.filter { $0["validLoss"] is Double }.count, 3)  // steps 0, 2, 4
        let config = try XCTUnwrap(d["config"] as? [String: Any])
        XCTAssertEqual(config["written"] as? String, try String(contentsOfFile: run.config, encoding: .utf8))
        XCTAssertTrue((config["resolved"] as? String)?.contains("max_seq_len: 64") ?? false)
        let inputs = try XCTUnwrap(d["inputs"] as? [[String: Any]])
        XCTAssertEqual(inputs.compactMap { $0["role"] as? String }, ["model", "tokenizer", "train", "valid"])
        let trainFile = run.dir.appendingPathComponent("train.jsonl").path
        let trainInput = try XCTUnwrap(inputs.first { $0["role"] as? String == "train" })
        XCTAssertEqual(trainInput["path"] as? String, trainFile)
        if let expected = try sha256sum(trainFile) {
            XCTAssertEqual(trainInput["sha256"] as? String, expected, "agrees with sha256sum")
        }
        let events = try XCTUnwrap(d["events"] as? [[String: Any]])
        XCTAssertEqual(events.first?["message"] as? String, "queued")
        XCTAssertTrue((events.last?["message"] as? String)?.hasPrefix("running → succeeded") ?? false, "\(events)")

        // The text view: header, config summary and a chart that fits 80 columns.
        let text = try runTailor(["status", "1", "--db", db])
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdout.hasPrefix("run 1 · tiny · succeeded"), text.stdout)
        XCTAssertTrue(text.stdout.contains("lora      rank 4, alpha 8"), text.stdout)
        let lines = text.stdout.split(separator: "\n")
        let legend = try XCTUnwrap(lines.firstIndex { $0.hasPrefix("loss  ⠤ train  ● valid") }, text.stdout)
        for line in lines[legend..<(legend + 13)] {
            XCTAssertLessThanOrEqual(line.count, 80, String(line))
        }
        let table = try runTailor(["status", "--db", db])
        XCTAssertTrue(table.stdout.hasPrefix("ID  NAME  STATUS"), table.stdout)
        XCTAssertTrue(table.stdout.contains("succeeded"), table.stdout)
    }

    func testStatusErrorsNameTheDatabaseAndExitTwo() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-status-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let missing = dir.appendingPathComponent("none.db").path
        var r = try runTailor(["status", "--db", missing])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains(missing), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: missing), "status never creates a database")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let junk = dir.appendingPathComponent("junk.db").path
        try Data(repeating: 7, count: 8192).write(to: URL(fileURLWithPath: junk))
        r = try runTailor(["status", "--db", junk])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains(junk), r.stderr)
    }

    /// `status --follow` in one process while `train` writes in another: it reports the run mid-way and
    /// stops by itself when the run succeeds; the trainer is never blocked.
    func testFollowWatchesARunTrainingInAnotherProcess() throws {
        // Long enough (seconds) for the follower to see it mid-way: the recorder writes every 2 s.
        let run = try makeTrainingRun(Self.body(steps: 30, evalEvery: 10, maxSeqLen: 32), name: "live")
        defer { try? FileManager.default.removeItem(at: run.dir) }
        let db = run.dir.appendingPathComponent("tailor.db").path
        let train = try launch(["train", run.config, "--db", db], in: run.dir)
        defer { if train.isRunning { train.terminate() } }
        XCTAssertNotNil(try waitForRun(db: db) { _ in true }, "the run never appeared")
        let follow = try runTailor(["status", "live", "--db", db, "--json", "--follow", "--interval", "0.2"])
        train.waitUntilExit()
        let trainErr = (try? String(contentsOf: run.dir.appendingPathComponent("err.txt"), encoding: .utf8)) ?? ""
        XCTAssertEqual(train.terminationStatus, 0, trainErr)
        XCTAssertEqual(follow.status, 0, follow.stderr)
        let docs = try follow.stdout.split(separator: "\n").map(json)
        let states = docs.compactMap { $0["run"] as? [String: Any] }
        let steps = states.compactMap { $0["step"] as? Int }
        XCTAssertTrue(
            states.contains { $0["status"] as? String == "running" && ($0["step"] as? Int ?? 0) < 30 },
            "never saw the run mid-way: \(steps)")
        XCTAssertEqual(steps, steps.sorted(), "progress never goes back")
        XCTAssertEqual(states.last?["status"] as? String, "succeeded")
        XCTAssertEqual(steps.last, 30)
    }

    /// Ctrl-C during training: the step finishes, a checkpoint is written, the run is recorded as paused
    /// and the exit code is 3; `--resume` continues the same run to the end.
    func testInterruptedTrainingCheckpointsPausesAndResumes() throws {
        let run = try makeTrainingRun(Self.body(steps: 60, evalEvery: 1000), name: "stopped")
        defer { try? FileManager.default.removeItem(at: run.dir) }
        let db = run.dir.appendingPathComponent("tailor.db").path
        let train = try launch(["train", run.config, "--db", db], in: run.dir)
        defer { if train.isRunning { train.terminate() } }
        let running = try waitForRun(db: db) { $0["status"] as? String == "running" && ($0["step"] as? Int ?? 0) >= 1 }
        XCTAssertNotNil(running, "the run never got going")
        train.interrupt()
        train.waitUntilExit()
        XCTAssertEqual(train.terminationStatus, 3)
        let after = try runTailor(["status", "stopped", "--db", db, "--json"])
        let d = try json(Substring(after.stdout))
        let r = try XCTUnwrap(d["run"] as? [String: Any])
        XCTAssertEqual(r["status"] as? String, "paused")
        let step = try XCTUnwrap(r["step"] as? Int)
        XCTAssertLessThan(step, 60)
        let checkpoints = try XCTUnwrap(d["checkpoints"] as? [[String: Any]])
        XCTAssertEqual(checkpoints.last?["step"] as? Int, step, "a checkpoint at the step it paused")
        let resumed = try runTailor(["train", run.config, "--db", db, "--resume", "--json"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stderr.contains("resuming from"), resumed.stderr)
        let final = try json(Substring(try runTailor(["status", "stopped", "--db", db, "--json"]).stdout))
        XCTAssertEqual((final["run"] as? [String: Any])?["status"] as? String, "succeeded")
        let all = try json(Substring(try runTailor(["status", "--db", db, "--json"]).stdout))
        XCTAssertEqual((all["runs"] as? [[String: Any]])?.count, 1, "the same run continued")
        XCTAssertEqual((try json(Substring(resumed.stdout))["losses"] as? [Double])?.count, 60)
    }

    func testCompareShowsTheConfigDiffAndBothCurves() throws {
        let a = try makeTrainingRun(Self.body(steps: 3), name: "base")
        defer { try? FileManager.default.removeItem(at: a.dir) }
        let db = a.dir.appendingPathComponent("tailor.db").path
        XCTAssertEqual(try runTailor(["train", a.config, "--db", db]).status, 0)
        XCTAssertEqual(try runTailor(["train", a.config, "--db", db, "--lr", "1e-3", "--steps", "4"]).status, 0)
        let r = try runTailor(["runs", "compare", "1", "2", "--db", db])
        XCTAssertEqual(r.status, 0, r.stderr)
        for expected in [
            "  train:", "-   steps: 3", "+   steps: 4", "-   lr: 0.0002", "+   lr: 0.001", "inputs: identical",
        ] {
            XCTAssertTrue(r.stdout.contains(expected), "missing '\(expected)' in\n\(r.stdout)")
        }
        XCTAssertEqual(r.stdout.components(separatedBy: "loss  ⠤ train  ● valid").count, 3, "two charts")
        let j = try runTailor(["runs", "compare", "1", "base", "--db", db, "--json"])
        XCTAssertEqual(j.status, 0, j.stderr)
        let d = try json(Substring(j.stdout))
        let diff = try XCTUnwrap(d["configDiff"] as? [[String: Any]])
        XCTAssertEqual(
            Set(diff.compactMap { $0["line"] as? String }), ["  steps: 3", "  steps: 4", "  lr: 0.0002", "  lr: 0.001"])
        XCTAssertEqual((d["b"] as? [String: Any]).flatMap { ($0["run"] as? [String: Any])?["id"] as? Int }, 2)
    }
}

/// The sha256 `sha256sum` prints for `path`, or nil when the tool is not installed.
func sha256sum(_ path: String) throws -> String? {
    guard FileManager.default.isExecutableFile(atPath: "/usr/bin/sha256sum") else { return nil }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
    p.arguments = [path]
    let out = Pipe()
    p.standardOutput = out
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return String(decoding: data, as: UTF8.self).split(separator: " ").first.map(String.init)
}
