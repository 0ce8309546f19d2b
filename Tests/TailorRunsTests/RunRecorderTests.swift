import Foundation
import GRDB
import XCTest

@testable import TailorKit
@testable import TailorRuns

/// A clock the test moves by hand.
final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var time = Date(timeIntervalSince1970: 1_800_000_000)

    func now() -> Date {
        lock.lock()
        defer { lock.unlock() }
        return time
    }

    func advance(_ seconds: TimeInterval) {
        lock.lock()
        time += seconds
        lock.unlock()
    }
}

/// Errors a recorder reported, collected across its background queue.
final class ErrorLog: @unchecked Sendable {
    private let lock = NSLock()
    private var errors: [RunStoreError] = []

    func append(_ error: RunStoreError) {
        lock.lock()
        errors.append(error)
        lock.unlock()
    }

    var all: [RunStoreError] {
        lock.lock()
        defer { lock.unlock() }
        return errors
    }
}

func stepEvent(_ step: Int, total: Int = 100, loss: Double = 2) -> TrainingEvent {
    .step(
        TrainingStepMetrics(
            step: step, totalSteps: total, loss: loss, lr: 1e-4, gradNorm: 1, tokens: 1024, supervisedTokens: 800,
            seconds: 0.5, tokensPerSecond: 2048, peakRSSBytes: 1 << 28, skipped: !loss.isFinite))
}

final class RunRecorderTests: XCTestCase {
    func makeStore(_ scratch: ScratchDirectory, busyTimeout: Double = 5) throws -> (RunStore, Run) {
        let store = try RunStore(path: scratch.path("tailor.db"), busyTimeout: busyTimeout)
        return (store, try store.createRun(sampleRun(steps: 100)))
    }

    func testStepsAreWrittenInBatchesByCountAndByTime() throws {
        let scratch = try ScratchDirectory()
        let (store, run) = try makeStore(scratch)
        let clock = TestClock()
        let recorder = RunRecorder(
            store: store, run: run.id, policy: .init(maxBufferedSteps: 5, maxInterval: 60), pid: 99, host: "trainer",
            clock: { clock.now() })
        recorder.handle(
            .started(totalSteps: 100, trainExamples: 40, validExamples: 4, trainableParameters: 1000, workspaceBytes: 1)
        )
        recorder.waitForWrites()
        var r = try XCTUnwrap(try store.run(id: run.id))
        XCTAssertEqual(r.status, .running, "the start is written at once")
        XCTAssertEqual(r.workerPID, 99)
        XCTAssertEqual(r.workerHost, "trainer")
        XCTAssertEqual(r.startedAt, clock.now())

        for step in 1...4 { recorder.handle(stepEvent(step)) }
        recorder.waitForWrites()
        XCTAssertEqual(try store.metrics(run: run.id).count, 0, "4 steps stay buffered")
        recorder.handle(stepEvent(5))
        recorder.waitForWrites()
        XCTAssertEqual(try store.metrics(run: run.id).map(\.step), [1, 2, 3, 4, 5], "the 5th step writes the batch")
        r = try XCTUnwrap(try store.run(id: run.id))
        XCTAssertEqual(r.currentStep, 5)

        recorder.handle(stepEvent(6))
        recorder.waitForWrites()
        XCTAssertEqual(try store.metrics(run: run.id).count, 5)
        clock.advance(61)
        recorder.handle(stepEvent(7))
        recorder.waitForWrites()
        XCTAssertEqual(try store.metrics(run: run.id).count, 7, "a step after maxInterval writes the batch")
        XCTAssertEqual(try store.run(id: run.id)?.heartbeatAt, clock.now())

        recorder.handle(stepEvent(8, loss: .nan))
        recorder.handle(.warning("step 8: non-finite loss; update skipped (1 in a row)"))
        recorder.handle(.evaluated(step: 8, validLoss: 1.75))
        recorder.waitForWrites()
        let metrics = try store.metrics(run: run.id)
        XCTAssertEqual(metrics.last?.step, 8, "warnings and evaluations are written at once")
        XCTAssertEqual(metrics.last?.skipped, true)
        XCTAssertNil(metrics.last?.loss)
        XCTAssertEqual(metrics.last?.validLoss, 1.75)
        let warning = try XCTUnwrap(try store.events(run: run.id).last)
        XCTAssertEqual(warning.kind, .warning)
        XCTAssertEqual(warning.step, 8)

        recorder.handle(
            .finished(
                TrainingSummary(
                    steps: 8, finalLoss: 2, validLosses: [8: 1.75], medianTokensPerSecond: 2048,
                    peakRSSBytes: 1 << 28, adapterDirectory: "/a/demo", seconds: 4)))
        try recorder.close()
        let s = try store.snapshot(run: run.id)
        XCTAssertEqual(s.summary.run.status, .succeeded)
        XCTAssertNotNil(s.summary.run.finishedAt)
        XCTAssertEqual(s.summary.bestValidLoss, 1.75)
        XCTAssertTrue(s.events.last?.message.contains("adapter in /a/demo") ?? false, "\(s.events)")
        recorder.handle(stepEvent(9))
        try recorder.close()
        XCTAssertEqual(try store.metrics(run: run.id).count, 8, "nothing is recorded after close")
    }

    /// The database is locked by another process: `handle` still returns at once (the write waits on the
    /// background queue), the failure is reported, and everything is written once the lock is gone.
    func testAStepNeverWaitsForTheDatabase() throws {
        let scratch = try ScratchDirectory()
        let (store, run) = try makeStore(scratch, busyTimeout: 0.3)
        let errors = ErrorLog()
        let recorder = RunRecorder(
            store: store, run: run.id, policy: .init(maxBufferedSteps: 1, maxInterval: 60),
            onError: { errors.append($0) })
        let other = try DatabaseQueue(path: store.path)
        try other.writeWithoutTransaction { db in
            try db.execute(sql: "BEGIN EXCLUSIVE")
            recorder.handle(
                .started(totalSteps: 10, trainExamples: 4, validExamples: 0, trainableParameters: 1, workspaceBytes: 1))
            var slowest = 0.0
            for step in 1...10 {
                let t0 = Date()
                recorder.handle(stepEvent(step, total: 10))
                slowest = max(slowest, Date().timeIntervalSince(t0))
            }
            XCTAssertLessThan(slowest, 0.05, "a step waited for the database")
            recorder.waitForWrites()
            try db.execute(sql: "COMMIT")
        }
        XCTAssertEqual(
            errors.all.first, .locked(path: store.path, action: "record run \(run.id)", seconds: 0.3), "\(errors.all)")
        XCTAssertEqual(errors.all.count, 1, "the same failure is reported once, not per retry")
        try recorder.close()
        let s = try store.snapshot(run: run.id)
        XCTAssertEqual(s.summary.run.status, .running)
        XCTAssertEqual(s.metrics.map(\.step), Array(1...10))
    }

    func testCloseThrowsWhatCouldNotBeWritten() throws {
        let scratch = try ScratchDirectory()
        let (store, run) = try makeStore(scratch, busyTimeout: 0.1)
        let recorder = RunRecorder(store: store, run: run.id)
        recorder.handle(stepEvent(1))
        let other = try DatabaseQueue(path: store.path)
        try other.writeWithoutTransaction { db in
            try db.execute(sql: "BEGIN EXCLUSIVE")
            defer { try? db.execute(sql: "ROLLBACK") }
            XCTAssertThrowsError(try recorder.close()) { error in
                XCTAssertTrue(error.localizedDescription.hasPrefix(store.path + ":"), error.localizedDescription)
                XCTAssertTrue(error.localizedDescription.contains("locked"), error.localizedDescription)
            }
        }
    }

    func testFailureAndInterruptionAreRecorded() throws {
        let scratch = try ScratchDirectory()
        let (store, run) = try makeStore(scratch)
        let recorder = RunRecorder(store: store, run: run.id)
        recorder.handle(
            .started(totalSteps: 10, trainExamples: 4, validExamples: 0, trainableParameters: 1, workspaceBytes: 1))
        recorder.handle(stepEvent(1, total: 10))
        try recorder.fail(TrainingError.tooManyBadSteps(step: 3, count: 3))
        let failed = try store.snapshot(run: run.id)
        XCTAssertEqual(failed.summary.run.status, .failed)
        XCTAssertEqual(failed.summary.run.error, TrainingError.tooManyBadSteps(step: 3, count: 3).localizedDescription)
        XCTAssertEqual(failed.metrics.map(\.step), [1], "buffered steps are written before the failure")
        XCTAssertEqual(failed.events.map(\.kind).suffix(2), [.state, .error])

        let second = try store.createRun(sampleRun())
        let recorder2 = RunRecorder(store: store, run: second.id)
        recorder2.handle(
            .started(totalSteps: 10, trainExamples: 4, validExamples: 0, trainableParameters: 1, workspaceBytes: 1))
        try recorder2.interrupt("SIGINT")
        XCTAssertEqual(try store.run(id: second.id)?.status, .interrupted)
        XCTAssertEqual(try store.events(run: second.id).last?.message, "running → interrupted: SIGINT")
    }
}
