import Foundation
import GRDB
import XCTest

@testable import TailorRuns

final class RunStoreTests: XCTestCase {
    func testDefaultLocationFollowsTailorHome() {
        XCTAssertEqual(
            RunStore.defaultPath(environment: ["TAILOR_HOME": "/srv/t", "HOME": "/home/u"]), "/srv/t/tailor.db")
        XCTAssertEqual(
            RunStore.defaultPath(environment: ["TAILOR_HOME": "", "HOME": "/home/u"]), "/home/u/.tailor/tailor.db")
        XCTAssertEqual(RunStore.defaultPath(environment: ["HOME": "/home/u"]), "/home/u/.tailor/tailor.db")
    }

    func testNewDatabaseIsWALWithPrivatePermissions() throws {
        let scratch = try ScratchDirectory()
        let path = scratch.path("home/.tailor/tailor.db")
        let store = try RunStore(path: path)
        XCTAssertEqual(try store.journalMode(), "wal")
        XCTAssertEqual(try store.appliedMigrations(), RunStore.Migration.all)
        try store.createRun(sampleRun())
        XCTAssertEqual(mode(scratch.path("home/.tailor")), 0o700)
        XCTAssertEqual(mode(scratch.path("home")), 0o700)
        for file in [path, path + "-wal", path + "-shm"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: file), file)
            XCTAssertEqual(mode(file), 0o600, file)
        }
        // An existing directory keeps its mode: Tailor only sets what it creates.
        XCTAssertNotEqual(mode(scratch.url.path), 0)
    }

    func testRunLifecycleIsRecordedWithEvents() throws {
        let scratch = try ScratchDirectory()
        let store = try RunStore(path: scratch.path("tailor.db"))
        let run = try store.createRun(sampleRun(steps: 4))
        XCTAssertEqual(run.status, .queued)
        XCTAssertEqual(run.name, "demo")
        try store.start(run: run.id, pid: 4242, host: "box", totalSteps: 4)
        try store.recordValidLoss(3.0, step: 0, run: run.id)
        try store.recordSteps(
            (1...4).map {
                RunMetric(
                    step: $0, loss: 3.0 - Double($0) * 0.25, lr: 1e-4, gradNorm: 1.5, tokensPerSecond: 100,
                    supervisedTokens: 512, peakRSSBytes: 1 << 30)
            }, run: run.id)
        try store.recordSteps([RunMetric(step: 2, loss: .nan, lr: 1e-4, gradNorm: .infinity)], run: run.id)
        try store.recordValidLoss(2.1, step: 2, run: run.id)
        try store.recordValidLoss(2.2, step: 4, run: run.id)
        try store.recordEvent(.warning, "3 of 40 training examples truncated", run: run.id)
        let cp = try store.recordCheckpoint(
            run: run.id, step: 4, path: "/c/step-000004", validLoss: 2.2, adapterSHA256: "ab")
        XCTAssertEqual(cp.step, 4)
        try store.recordCheckpoint(run: run.id, step: 4, path: "/c/step-000004", validLoss: 2.2, adapterSHA256: "cd")
        try store.transition(run: run.id, to: .succeeded, message: "4 steps")

        let s = try store.snapshot(run: run.id)
        XCTAssertEqual(s.summary.run.status, .succeeded)
        XCTAssertEqual(s.summary.run.workerPID, 4242)
        XCTAssertEqual(s.summary.run.workerHost, "box")
        XCTAssertEqual(s.summary.run.currentStep, 4)
        XCTAssertNotNil(s.summary.run.startedAt)
        XCTAssertNotNil(s.summary.run.finishedAt)
        XCTAssertEqual(s.inputs.map(\.role), [.model, .train])
        XCTAssertEqual(s.metrics.map(\.step), [0, 1, 2, 3, 4])
        XCTAssertEqual(s.metrics[0].validLoss, 3.0)
        XCTAssertNil(s.metrics[0].loss)
        XCTAssertNil(s.metrics[2].loss, "a non-finite loss is stored as NULL")
        XCTAssertNil(s.metrics[2].gradNorm)
        XCTAssertEqual(s.metrics[2].validLoss, 2.1, "rewriting a step keeps its validation loss")
        XCTAssertEqual(s.summary.lastLoss, 2.0)
        XCTAssertEqual(s.summary.bestValidLoss, 2.1)
        XCTAssertEqual(s.summary.bestValidStep, 2)
        XCTAssertEqual(s.summary.peakRSSBytes, 1 << 30)
        XCTAssertEqual(s.checkpoints.map(\.adapterSHA256), ["cd"], "one row per step; a rewrite replaces it")
        XCTAssertEqual(
            s.events.map(\.kind), [.state, .state, .warning, .checkpoint, .checkpoint, .state])
        XCTAssertEqual(s.events.last?.message, "running → succeeded: 4 steps")
        XCTAssertEqual(try store.events(run: run.id, last: 2).map(\.kind), [.checkpoint, .state])

        XCTAssertThrowsError(try store.transition(run: run.id, to: .running)) { error in
            XCTAssertEqual(
                error as? RunStoreError,
                .invalidTransition(path: store.path, run: run.id, from: .succeeded, to: .running))
        }
    }

    func testFailureKeepsTheErrorText() throws {
        let scratch = try ScratchDirectory()
        let store = try RunStore(path: scratch.path("tailor.db"))
        let run = try store.createRun(sampleRun())
        try store.start(run: run.id, pid: 1, host: "h", totalSteps: nil)
        try store.transition(
            run: run.id, to: .failed, error: "stopped at step 3: 3 consecutive steps had a non-finite loss")
        let s = try store.snapshot(run: run.id)
        XCTAssertEqual(s.summary.run.status, .failed)
        XCTAssertEqual(s.summary.run.error, "stopped at step 3: 3 consecutive steps had a non-finite loss")
        XCTAssertEqual(s.events.last?.kind, .error)
        // A failed run can be started again (resume); the first start time is kept.
        let started = s.summary.run.startedAt
        try store.start(run: run.id, pid: 2, host: "h", totalSteps: nil, at: Date().addingTimeInterval(60))
        let again = try XCTUnwrap(try store.run(id: run.id))
        XCTAssertEqual(again.startedAt, started)
        XCTAssertNil(again.finishedAt)
        XCTAssertNil(again.error)
    }

    func testRunsAreFoundByIdOrLatestName() throws {
        let scratch = try ScratchDirectory()
        let store = try RunStore(path: scratch.path("tailor.db"))
        let a = try store.createRun(sampleRun(name: "demo"))
        let b = try store.createRun(sampleRun(name: "other"))
        let c = try store.createRun(sampleRun(name: "demo"))
        XCTAssertEqual(try store.resolveRun("demo").id, c.id)
        XCTAssertEqual(try store.resolveRun(String(a.id)).id, a.id)
        XCTAssertEqual(try store.resolveRun("other").id, b.id)
        XCTAssertThrowsError(try store.resolveRun("nope")) { error in
            XCTAssertTrue(error.localizedDescription.contains(store.path), error.localizedDescription)
            XCTAssertTrue(error.localizedDescription.contains("nope"), error.localizedDescription)
        }
        XCTAssertEqual(try store.runs().map(\.run.id), [a.id, b.id, c.id])
        XCTAssertEqual(try store.runs(limit: 2).map(\.run.id), [b.id, c.id])
    }

    func testAReaderDoesNotCreateADatabase() throws {
        let scratch = try ScratchDirectory()
        let path = scratch.path("nothing/tailor.db")
        XCTAssertThrowsError(try RunStore(path: path, createIfMissing: false)) { error in
            XCTAssertEqual(error as? RunStoreError, .missing(path: path))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
    }

    func testNotADatabaseNamesTheFile() throws {
        let scratch = try ScratchDirectory()
        let path = scratch.path("tailor.db")
        try Data(repeating: 0x5A, count: 4096).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try RunStore(path: path)) { error in
            guard case .notADatabase(path, _) = error as? RunStoreError else {
                return XCTFail("expected notADatabase naming \(path), got \(error)")
            }
            XCTAssertTrue(error.localizedDescription.hasPrefix(path), error.localizedDescription)
        }
    }

    func testADatabaseFromANewerTailorIsRefused() throws {
        let scratch = try ScratchDirectory()
        let path = scratch.path("tailor.db")
        let store = try RunStore(path: path)
        try store.pool.write { db in
            try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99-from-the-future')")
        }
        XCTAssertThrowsError(try RunStore(path: path)) { error in
            XCTAssertEqual(
                error as? RunStoreError, .newerSchema(path: path, unknownMigrations: ["v99-from-the-future"]))
        }
    }

    /// chmod 0444 on the database: writing fails with an error naming the file. Root ignores file modes,
    /// so as root the test drops to `nobody` for the attempt.
    func testReadOnlyDatabaseNamesTheFile() throws {
        let scratch = try ScratchDirectory()
        chmod(scratch.url.path, 0o777)
        let path = scratch.path("tailor.db")
        do {
            let store = try RunStore(path: path)
            try store.createRun(sampleRun())
        }
        chmod(path, 0o444)
        let asRoot = geteuid() == 0
        if asRoot { XCTAssertEqual(seteuid(65534), 0, "cannot drop to nobody") }
        defer { if asRoot { seteuid(0) } }
        XCTAssertThrowsError(try RunStore(path: path).createRun(sampleRun())) { error in
            let message = error.localizedDescription
            XCTAssertTrue(message.hasPrefix(path + ":"), message)
            XCTAssertTrue(message.contains("read-only"), message)
        }
    }

    /// Another process holds the write lock past the busy timeout: the write fails naming the file
    /// instead of hanging.
    func testLockedDatabaseNamesTheFileAfterTheBusyTimeout() throws {
        let scratch = try ScratchDirectory()
        let path = scratch.path("tailor.db")
        let store = try RunStore(path: path, busyTimeout: 0.2)
        let run = try store.createRun(sampleRun())
        let other = try DatabaseQueue(path: path)
        try other.writeWithoutTransaction { db in
            try db.execute(sql: "BEGIN EXCLUSIVE")
            defer { try? db.execute(sql: "ROLLBACK") }
            let t0 = Date()
            XCTAssertThrowsError(try store.recordEvent(.warning, "x", run: run.id)) { error in
                XCTAssertEqual(
                    error as? RunStoreError,
                    .locked(path: path, action: "record an event of run \(run.id)", seconds: 0.2))
                XCTAssertTrue(error.localizedDescription.hasPrefix(path), error.localizedDescription)
            }
            XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(t0), 0.15)
            // Readers still read (WAL): the lock only stops writers.
            XCTAssertEqual(try store.runs().count, 1)
        }
    }

    /// WAL: a reader in another connection pool (as `tailor status` in another process) reads while a
    /// writer holds a long write transaction, and the writer commits while a reader holds a long read
    /// transaction; neither waits for the other.
    func testReaderAndWriterNeverBlockEachOther() throws {
        let scratch = try ScratchDirectory()
        let path = scratch.path("tailor.db")
        let writer = try RunStore(path: path)
        let run = try writer.createRun(sampleRun())
        let reader = try RunStore(path: path, createIfMissing: false)
        let inWrite = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            try? writer.pool.write { db in
                try RunStore.insertSteps(db, [RunMetric(step: 1, loss: 2)], run: run.id)
                inWrite.signal()
                _ = release.wait(timeout: .now() + 10)
            }
            done.signal()
        }
        XCTAssertEqual(inWrite.wait(timeout: .now() + 10), .success)
        let t0 = Date()
        XCTAssertEqual(try reader.metrics(run: run.id), [], "the uncommitted step is not visible")
        XCTAssertLessThan(Date().timeIntervalSince(t0), 1)
        release.signal()
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(try reader.metrics(run: run.id).map(\.step), [1])

        try reader.pool.read { db in
            XCTAssertEqual(try Int.fetchOne(db, sql: "SELECT count(*) FROM metric"), 1)
            let t1 = Date()
            try writer.recordSteps([RunMetric(step: 2, loss: 1.9)], run: run.id)
            XCTAssertLessThan(Date().timeIntervalSince(t1), 1)
            XCTAssertEqual(try Int.fetchOne(db, sql: "SELECT count(*) FROM metric"), 1, "snapshot isolation")
        }
        XCTAssertEqual(try reader.metrics(run: run.id).map(\.step), [1, 2])
    }
}
