import Foundation
import XCTest

/// Exact resume under crashes: a run is killed with SIGKILL at fault-injected points (in the middle of a
/// checkpoint write, between the rename and the database row, inside a database commit) and at seeded
/// random moments, and resumed each time. Its per-step losses and final adapter bytes must equal an
/// uninterrupted run's, and no checkpoint or database row is ever unreadable.
final class ResumeCLITests: XCTestCase {
    static let body = """
        lora: {rank: 4, alpha: 8, dropout: 0.1, targets: [q_proj, v_proj, down_proj], layers: 3}
        train: {steps: 14, batch_size: 2, grad_accumulation: 2, max_seq_len: 48, lr: 1.0e-3, threads: 2, seed: 7}
        checkpoint: {every: 1, keep: 2}
        eval: {every: 5, batches: 1}
        """

    struct Outcome {
        var losses: [Double]
        var adapter: Data
    }

    func json(_ s: String) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(s.utf8)) as? [String: Any], s)
    }

    /// Runs `tailor` with extra environment; returns its exit status, whether SIGKILL ended it, stdout, stderr.
    func tailor(_ args: [String], env extra: [String: String] = [:], killAfter: TimeInterval? = nil) throws -> (status: Int32, killed: Bool, out: String, err: String) {
        let p = Process()
        p.executableURL = CLITests.binary
        p.arguments = args
        var env = ProcessInfo.processInfo.environment
        env["OPENBLAS_NUM_THREADS"] = "2"
        env["TAILOR_HOME"] = CLITests.scratchHome.path
        for (k, v) in extra { env[k] = v }
        p.environment = env
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-resume-io-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let outURL = dir.appendingPathComponent("out"), errURL = dir.appendingPathComponent("err")
        FileManager.default.createFile(atPath: outURL.path, contents: nil)
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        p.standardOutput = try FileHandle(forWritingTo: outURL)
        p.standardError = try FileHandle(forWritingTo: errURL)
        try p.run()
        if let killAfter {
            let deadline = Date().addingTimeInterval(killAfter)
            while p.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
            if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        }
        p.waitUntilExit()
        let killed = p.terminationReason == .uncaughtSignal && p.terminationStatus == SIGKILL
        return (p.terminationStatus, killed, try String(contentsOf: outURL, encoding: .utf8), try String(contentsOf: errURL, encoding: .utf8))
    }

    func outcome(_ stdout: String, adapterDir: URL) throws -> Outcome {
        let losses = try XCTUnwrap(try json(stdout)["losses"] as? [Double])
        return Outcome(losses: losses, adapter: try Data(contentsOf: adapterDir.appendingPathComponent("adapter_model.safetensors")))
    }

    /// Every checkpoint directory on disk has a manifest whose hashes match (checked by the resume
    /// itself: it names any damaged one on stderr), and the database answers.
    func assertReadable(db: String, run: URL, _ context: String) throws {
        let status = try tailor(["status", "--db", db, "--json"])
        XCTAssertEqual(status.status, 0, "status after \(context): \(status.err)")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: run.appendingPathComponent("adapter/checkpoints").path)) ?? []
        for n in names where n.hasPrefix("step-") {
            XCTAssertTrue(
                FileManager.default.fileExists(atPath: run.appendingPathComponent("adapter/checkpoints/\(n)/manifest.json").path),
                "\(n) without a manifest after \(context)")
        }
    }

    /// Resumes (killing per `kill`) until the run succeeds; returns its outcome.
    func runToTheEnd(config: String, db: String, dir: URL, kills: [(env: [String: String], after: TimeInterval?)]) throws -> Outcome {
        var first = true
        for (n, k) in kills.enumerated() {
            let r = try tailor(["train", config, "--db", db, "--json"] + (first ? [] : ["--resume"]), env: k.env, killAfter: k.after)
            if r.status == 0 && !r.killed { return try outcome(r.out, adapterDir: dir.appendingPathComponent("adapter")) }
            XCTAssertTrue(r.killed, "attempt \(n) (\(k.env)) ended with \(r.status), not SIGKILL: \(r.err)")
            XCTAssertFalse(r.err.contains("damaged"), r.err)
            try assertReadable(db: db, run: dir, "kill \(n) \(k.env)")
            // Before the first checkpoint there is nothing to resume: start again.
            let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("adapter/checkpoints").path)) ?? []
            first = first && !names.contains { $0.hasPrefix("step-") }
        }
        let r = try tailor(["train", config, "--db", db, "--json"] + (first ? [] : ["--resume"]))
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertFalse(r.err.contains("damaged"), r.err)
        return try outcome(r.out, adapterDir: dir.appendingPathComponent("adapter"))
    }

    func reference() throws -> Outcome {
        let run = try makeTrainingRun(Self.body, name: "resume")
        defer { try? FileManager.default.removeItem(at: run.dir) }
        let r = try tailor(["train", run.config, "--db", run.dir.appendingPathComponent("t.db").path, "--json"])
        XCTAssertEqual(r.status, 0, r.err)
        let o = try outcome(r.out, adapterDir: run.dir.appendingPathComponent("adapter"))
        XCTAssertEqual(o.losses.count, 14)
        return o
    }

    func testKilledAtEveryFaultPointResumesBitIdentically() throws {
        let ref = try reference()
        let points = [
            "kill:checkpoint.adapter:3", "kill:checkpoint.tensors:2", "kill:checkpoint.before-rename:4",
            "kill:checkpoint.after-rename:2", "kill:db.commit:5",
        ]
        let run = try makeTrainingRun(Self.body, name: "resume")
        defer { try? FileManager.default.removeItem(at: run.dir) }
        let db = run.dir.appendingPathComponent("t.db").path
        let o = try runToTheEnd(config: run.config, db: db, dir: run.dir, kills: points.map { (["TAILOR_FAULT": $0], nil) })
        XCTAssertEqual(o.losses, ref.losses, "per-step losses")
        XCTAssertEqual(o.adapter, ref.adapter, "final adapter bytes")
        let status = try json(try tailor(["status", "resume", "--db", db, "--json"]).out)
        XCTAssertEqual((status["run"] as? [String: Any])?["status"] as? String, "succeeded")
    }

    func testKilledAtRandomMomentsResumesBitIdentically() throws {
        let ref = try reference()
        let run = try makeTrainingRun(Self.body, name: "resume")
        defer { try? FileManager.default.removeItem(at: run.dir) }
        let db = run.dir.appendingPathComponent("t.db").path
        // The run's name is in the adapter's metadata: every run here is called "resume".
        // Seeded delays: the model loads in about half a second, a step and its checkpoint take a fraction
        // of a second, so these land before, between and inside steps and checkpoint writes.
        var seed: UInt64 = 0x5EED_2026
        let delays = (0..<6).map { _ -> TimeInterval in
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return 0.6 + Double(seed >> 40) / Double(1 << 24) * 1.6
        }
        let o = try runToTheEnd(config: run.config, db: db, dir: run.dir, kills: delays.map { ([:], $0) })
        XCTAssertEqual(o.losses, ref.losses, "per-step losses (delays \(delays))")
        XCTAssertEqual(o.adapter, ref.adapter, "final adapter bytes")
    }

    /// A full disk while checkpointing (fault-injected ENOSPC on the third checkpoint): the previous
    /// checkpoint stays intact, the run is paused with a message naming the cause, and `tailor resume RUN`
    /// (the recorded config, no config file needed) finishes it with the same losses as an uninterrupted
    /// run; resuming it again is refused, naming the run.
    func testDiskFullWhileCheckpointingPausesAndLosesNothing() throws {
        let ref = try reference()
        let run = try makeTrainingRun(Self.body, name: "resume")
        defer { try? FileManager.default.removeItem(at: run.dir) }
        let db = run.dir.appendingPathComponent("t.db").path
        let full = try tailor(["train", run.config, "--db", db], env: ["TAILOR_FAULT": "enospc:checkpoint:3"])
        XCTAssertEqual(full.status, 1, full.err)
        XCTAssertTrue(full.err.contains("No space left on device"), full.err)
        XCTAssertTrue(full.err.contains("the previous checkpoint is intact; the run is paused"), full.err)
        let checkpoints = try FileManager.default.contentsOfDirectory(atPath: run.dir.appendingPathComponent("adapter/checkpoints").path)
        XCTAssertEqual(checkpoints.sorted(), ["step-000001", "step-000002"], "no partial step-000003")
        let status = try json(try tailor(["status", "resume", "--db", db, "--json"]).out)
        XCTAssertEqual((status["run"] as? [String: Any])?["status"] as? String, "paused")
        try FileManager.default.removeItem(atPath: run.config)
        let resumed = try tailor(["resume", "resume", "--db", db, "--json"])
        XCTAssertEqual(resumed.status, 0, resumed.err)
        let o = try outcome(resumed.out, adapterDir: run.dir.appendingPathComponent("adapter"))
        XCTAssertEqual(o.losses, ref.losses)
        XCTAssertEqual(o.adapter, ref.adapter)
        XCTAssertEqual(try json(resumed.out)["runId"] as? Int, 1, "the paused run continues; no new run")
        let again = try tailor(["resume", "1", "--db", db])
        XCTAssertEqual(again.status, 2, again.err)
        XCTAssertTrue(again.err.contains("run 1 (resume) has finished"), again.err)
    }
}
