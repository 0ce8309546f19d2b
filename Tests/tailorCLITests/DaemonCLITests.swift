import Foundation
import XCTest

/// The queue as a user drives it: `tailor submit`, `tailor daemon`, `pause`, `resume --queue`, `cancel`.
/// Runs start in order, each in its own worker; a worker killed with SIGKILL is queued again and resumes,
/// a daemon stopped with SIGTERM leaves its run paused at a checkpoint and queued for the next daemon. In
/// every case the run's per-step losses and final adapter bytes equal an uninterrupted foreground run's.
final class DaemonCLITests: XCTestCase {
    /// The run of ResumeCLITests (14 steps, a checkpoint every step, dropout on): its losses are exact.
    static let body = ResumeCLITests.body

    struct Timeout: Error, CustomStringConvertible {
        var what: String
        var seconds: TimeInterval
        var description: String { "timed out after \(Int(seconds)) s waiting for \(what)" }
    }

    struct Outcome: Equatable {
        var losses: [Double]
        var adapter: Data
    }

    func json(_ s: String) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(s.utf8)) as? [String: Any], s)
    }

    /// `tailor ARGS --db DB` to completion.
    func tailor(_ args: [String], db: String) throws -> CLITests.Result {
        try runTailor(args + ["--db", db])
    }

    /// Starts `tailor daemon --db DB [extra]` in the background; its stderr goes to a file returned with it.
    func startDaemon(db: String, _ extra: [String] = [], env extraEnv: [String: String] = [:]) throws -> (Process, URL) {
        let p = Process()
        p.executableURL = CLITests.binary
        p.arguments = ["daemon", "--db", db, "--poll", "0.2"] + extra
        var env = ProcessInfo.processInfo.environment
        env["OPENBLAS_NUM_THREADS"] = "2"
        for (k, v) in extraEnv { env[k] = v }
        p.environment = env
        let log = URL(fileURLWithPath: db + ".daemon-test.log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        p.standardError = try FileHandle(forWritingTo: log)
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        addTeardownBlock { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        return (p, log)
    }

    /// The run as `tailor status RUN --json` shows it.
    func run(_ id: Int, db: String) throws -> [String: Any] {
        let r = try tailor(["status", String(id), "--json"], db: db)
        XCTAssertEqual(r.status, 0, r.stderr)
        return try XCTUnwrap(try json(r.stdout)["run"] as? [String: Any])
    }

    /// Waits until run `id` is running at step ≥ `step` (by its metrics); returns its worker pid.
    func waitUntilRunning(_ id: Int, atStep step: Int, db: String, timeout: TimeInterval = 120) throws -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let r = try run(id, db: db)
            if r["status"] as? String == "running", (r["step"] as? Int ?? 0) >= step, let pid = r["workerPID"] as? Int {
                return Int32(pid)
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw Timeout(what: "run \(id) reaching step \(step)", seconds: timeout)
    }

    func waitForExit(_ p: Process, timeout: TimeInterval = 180) {
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        XCTAssertFalse(p.isRunning, "the daemon did not exit within \(timeout) s")
    }

    func outcome(_ id: Int, db: String, adapterDir: URL) throws -> Outcome {
        let status = try json(try tailor(["status", String(id), "--json"], db: db).stdout)
        let metrics = try XCTUnwrap(status["metrics"] as? [[String: Any]])
        let losses = metrics.compactMap { m -> Double? in (m["step"] as? Int ?? 0) > 0 ? m["loss"] as? Double : nil }
        return Outcome(losses: losses, adapter: try Data(contentsOf: adapterDir.appendingPathComponent("adapter_model.safetensors")))
    }

    /// The same run trained in the foreground, uninterrupted.
    func reference() throws -> Outcome {
        let ref = try makeTrainingRun(Self.body, name: "queued")
        defer { try? FileManager.default.removeItem(at: ref.dir) }
        let db = ref.dir.appendingPathComponent("t.db").path
        let r = try tailor(["train", ref.config], db: db)
        XCTAssertEqual(r.status, 0, r.stderr)
        let o = try outcome(1, db: db, adapterDir: ref.dir.appendingPathComponent("adapter"))
        XCTAssertEqual(o.losses.count, 14)
        return o
    }

    func testQueueRunsInOrderAndAKilledWorkerResumesExactly() throws {
        let ref = try reference()
        let first = try makeTrainingRun(Self.body, name: "queued")
        let second = try makeTrainingRun(Self.body.replacingOccurrences(of: "steps: 14", with: "steps: 3"), name: "second")
        defer {
            try? FileManager.default.removeItem(at: first.dir)
            try? FileManager.default.removeItem(at: second.dir)
        }
        let db = first.dir.appendingPathComponent("t.db").path
        var r = try tailor(["submit", first.config, "--json"], db: db)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try json(r.stdout)["runId"] as? Int, 1)
        r = try tailor(["submit", second.config], db: db)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("run 2 (second) queued, position 2"), r.stdout)
        r = try tailor(["submit", first.config], db: db)
        XCTAssertEqual(r.status, 2, "the same run twice")
        XCTAssertTrue(r.stderr.contains("run 1 (queued) is already queued"), r.stderr)

        let (daemon, log) = try startDaemon(db: db, ["--once"])
        let worker = try waitUntilRunning(1, atStep: 4, db: db)
        XCTAssertEqual(try run(2, db: db)["status"] as? String, "queued", "one run at a time, in order")
        kill(worker, SIGKILL)
        waitForExit(daemon)
        XCTAssertEqual(daemon.terminationStatus, 0)
        let text = try String(contentsOf: log, encoding: .utf8)
        XCTAssertTrue(text.contains("run 1 (queued) was interrupted at step"), text)
        XCTAssertEqual(try run(1, db: db)["status"] as? String, "succeeded")
        XCTAssertEqual(try run(2, db: db)["status"] as? String, "succeeded")
        XCTAssertEqual(try outcome(1, db: db, adapterDir: first.dir.appendingPathComponent("adapter")), ref)
        let events = try json(try tailor(["status", "1", "--json", "--events", "100"], db: db).stdout)["events"] as? [[String: Any]] ?? []
        let messages = events.compactMap { $0["message"] as? String }
        XCTAssertTrue(messages.contains { $0.contains("running → interrupted") }, "\(messages)")
        XCTAssertTrue(messages.contains { $0.contains("interrupted → queued") }, "\(messages)")
        let logs = URL(fileURLWithPath: db).deletingLastPathComponent().appendingPathComponent("logs/run-1.log")
        XCTAssertTrue(FileManager.default.fileExists(atPath: logs.path), "the worker's output is kept")
    }

    /// A run whose worker dies at the same step every time (a fault-injected SIGKILL in its first checkpoint
    /// write, inherited by every worker) is queued again three times (four attempts), then left interrupted with a warning
    /// that names its log: a crash loop never keeps the daemon busy forever.
    func testAWorkerThatKeepsDyingIsLeftInterrupted() throws {
        let run = try makeTrainingRun(Self.body, name: "doomed")
        defer { try? FileManager.default.removeItem(at: run.dir) }
        let db = run.dir.appendingPathComponent("t.db").path
        XCTAssertEqual(try tailor(["submit", run.config], db: db).status, 0)
        let (daemon, log) = try startDaemon(db: db, ["--once"], env: ["TAILOR_FAULT": "kill:checkpoint.adapter:1"])
        waitForExit(daemon)
        XCTAssertEqual(daemon.terminationStatus, 0)
        let text = try String(contentsOf: log, encoding: .utf8)
        XCTAssertEqual(text.components(separatedBy: "started in worker pid").count - 1, 4, text)
        XCTAssertTrue(text.contains("left interrupted: its worker died 4 times at step"), text)
        XCTAssertEqual(try self.run(1, db: db)["status"] as? String, "interrupted")
    }

    func testPauseResumeCancelAndAStoppedDaemonLoseNothing() throws {
        let ref = try reference()
        let first = try makeTrainingRun(Self.body, name: "queued")
        let second = try makeTrainingRun(Self.body, name: "second")
        defer {
            try? FileManager.default.removeItem(at: first.dir)
            try? FileManager.default.removeItem(at: second.dir)
        }
        let db = first.dir.appendingPathComponent("t.db").path
        XCTAssertEqual(try tailor(["submit", first.config], db: db).status, 0)
        XCTAssertEqual(try tailor(["submit", second.config], db: db).status, 0)
        let (daemon, log) = try startDaemon(db: db)
        _ = try waitUntilRunning(1, atStep: 3, db: db)
        let other = try tailor(["daemon", "--once"], db: db)
        XCTAssertEqual(other.status, 2, "one daemon per database")
        XCTAssertTrue(other.stderr.contains("another daemon (pid \(daemon.processIdentifier))"), other.stderr)

        var r = try tailor(["pause", "1"], db: db)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("run 1 (queued) paused at step"), r.stdout)
        // The daemon goes on to run 2; cancelling it (queued or running) stops it for good.
        r = try tailor(["cancel", "2"], db: db)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try run(2, db: db)["status"] as? String, "cancelled")
        XCTAssertEqual(try run(1, db: db)["status"] as? String, "paused", "a paused run stays paused")

        r = try tailor(["resume", "1", "--queue"], db: db)
        XCTAssertEqual(r.status, 0, r.stderr)
        _ = try waitUntilRunning(1, atStep: 9, db: db)
        kill(daemon.processIdentifier, SIGTERM)
        waitForExit(daemon)
        let text = try String(contentsOf: log, encoding: .utf8)
        XCTAssertEqual(daemon.terminationStatus, 0, text)
        XCTAssertTrue(text.contains("queued again for the next daemon"), text)
        XCTAssertEqual(try run(1, db: db)["status"] as? String, "queued", "queued again for the next daemon")

        let (next, _) = try startDaemon(db: db, ["--once"])
        waitForExit(next)
        XCTAssertEqual(try run(1, db: db)["status"] as? String, "succeeded")
        XCTAssertEqual(try run(2, db: db)["status"] as? String, "cancelled", "a cancelled run never runs again")
        XCTAssertEqual(try outcome(1, db: db, adapterDir: first.dir.appendingPathComponent("adapter")), ref)
        r = try tailor(["cancel", "1"], db: db)
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("run 1 (queued) has succeeded"), r.stderr)
    }
}
