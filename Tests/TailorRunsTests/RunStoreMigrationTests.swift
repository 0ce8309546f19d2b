import Foundation
import GRDB
import XCTest

@testable import TailorRuns

/// A database made by every schema version Tailor ever shipped opens with today's store, and everything
/// written at that version reads back.
final class RunStoreMigrationTests: XCTestCase {
    /// Rows as an older Tailor wrote them, in that version's own SQL, keyed by the migration that was the
    /// newest when it ran. Every migration needs an entry: adding a migration without one fails below.
    static let rowsWrittenAt: [String: (Database) throws -> Void] = [
        RunStore.Migration.v1: { db in
            try db.execute(
                sql: """
                    INSERT INTO run (id, name, configPath, configYAML, resolvedYAML, outputDirectory, status,
                                     createdAt, startedAt, finishedAt, workerPID, workerHost, error, totalSteps,
                                     currentStep)
                    VALUES (1, 'old', 'configs/old.yaml', 'name: old', 'name: "old"', '/a/old', 'succeeded',
                            '2026-01-02 03:04:05.000', '2026-01-02 03:04:06.000', '2026-01-02 03:14:06.000',
                            77, 'box', NULL, 3, 3);
                    INSERT INTO runInput (runId, role, path, bytes, sha256)
                        VALUES (1, 'model', '/m.gguf', 10, 'aa'), (1, 'tokenizer', '/m.gguf', 10, 'aa');
                    INSERT INTO metric (runId, step, loss, validLoss, lr, gradNorm, tokensPerSecond,
                                        supervisedTokens, peakRSSBytes)
                        VALUES (1, 0, NULL, 2.5, NULL, NULL, NULL, NULL, NULL),
                               (1, 1, 2.4, NULL, 1e-4, 1.0, 200, 500, 1000),
                               (1, 2, 2.2, NULL, 1e-4, 0.9, 210, 510, 1100),
                               (1, 3, 2.0, 2.1, 1e-4, 0.8, 220, 520, 1200);
                    INSERT INTO checkpoint (runId, step, path, validLoss, adapterSHA256, createdAt)
                        VALUES (1, 3, '/c/step-000003', 2.1, 'cc', '2026-01-02 03:14:00.000');
                    INSERT INTO event (runId, time, kind, message, step)
                        VALUES (1, '2026-01-02 03:04:05.000', 'state', 'queued', NULL),
                               (1, '2026-01-02 03:05:00.000', 'skipped_line', '/d.jsonl:7: not JSON', NULL),
                               (1, '2026-01-02 03:14:06.000', 'state', 'running → succeeded', NULL);
                    """)
        },
        RunStore.Migration.v2: { db in
            try db.execute(
                sql: """
                    INSERT INTO run (id, name, configPath, configYAML, resolvedYAML, outputDirectory, status,
                                     createdAt, startedAt, heartbeatAt, workerPID, workerHost, totalSteps,
                                     currentStep)
                    VALUES (2, 'newer', NULL, 'name: newer', 'name: "newer"', '/a/newer', 'running',
                            '2026-02-01 00:00:00.000', '2026-02-01 00:00:01.000', '2026-02-01 00:00:11.000',
                            88, 'box', 100, 10);
                    INSERT INTO metric (runId, step, loss, lr, tokensPerSecond, tokens, seconds, skipped)
                        VALUES (2, 9, 1.5, 1e-4, 100, 100, 1.0, 0), (2, 10, NULL, 1e-4, 100, 100, 1.0, 1);
                    INSERT INTO event (runId, time, kind, message, step)
                        VALUES (2, '2026-02-01 00:00:11.000', 'warning', 'step 10: non-finite loss', 10);
                    """)
        },
    ]

    func testEveryMigrationHasRowsToCarryForward() {
        XCTAssertEqual(Set(Self.rowsWrittenAt.keys), Set(RunStore.Migration.all))
        XCTAssertEqual(RunStore.migrator.migrations, RunStore.Migration.all)
    }

    func testDatabasesFromEveryVersionOpenAndReadBack() throws {
        for (index, version) in RunStore.Migration.all.enumerated() {
            let scratch = try ScratchDirectory()
            let path = scratch.path("tailor.db")
            // Build the database exactly as the Tailor of `version` left it: its migrations, then the rows
            // each version wrote while it was current.
            let queue = try DatabaseQueue(path: path)
            for older in RunStore.Migration.all[...index] {
                try RunStore.migrator.migrate(queue, upTo: older)
                try queue.write { db in try XCTUnwrap(Self.rowsWrittenAt[older])(db) }
            }
            try queue.close()

            let store = try RunStore(path: path)
            XCTAssertEqual(try store.appliedMigrations(), RunStore.Migration.all, version)
            XCTAssertEqual(try store.journalMode(), "wal", version)
            let runs = try store.runs()
            XCTAssertGreaterThanOrEqual(runs.count, 1, version)
            let old = try store.snapshot(run: 1)
            XCTAssertEqual(old.summary.run.name, "old", version)
            XCTAssertEqual(old.summary.run.status, .succeeded, version)
            XCTAssertEqual(old.summary.run.workerPID, 77, version)
            XCTAssertEqual(old.summary.run.currentStep, 3, version)
            XCTAssertEqual(old.summary.lastLoss, 2.0, version)
            XCTAssertEqual(old.summary.bestValidLoss, 2.1, version)
            XCTAssertEqual(old.summary.tokensPerSecond ?? 0, 210, accuracy: 1e-9)
            XCTAssertEqual(old.inputs.map(\.role), [.model, .tokenizer], version)
            XCTAssertEqual(old.metrics.map(\.step), [0, 1, 2, 3], version)
            XCTAssertEqual(old.checkpoints.map(\.path), ["/c/step-000003"], version)
            XCTAssertEqual(old.events.map(\.kind), [.state, .skippedLine, .state], version)
            let elapsed = try XCTUnwrap(old.summary.elapsed())
            XCTAssertEqual(elapsed, 600, accuracy: 1e-6, version)

            if index >= 1 {
                let newer = try store.snapshot(run: 2)
                XCTAssertEqual(newer.summary.run.heartbeatAt?.timeIntervalSince1970, 1_769_904_011, version)
                XCTAssertEqual(newer.metrics.map(\.skipped), [false, true], version)
                XCTAssertEqual(newer.metrics.first?.seconds, 1.0, version)
                XCTAssertEqual(newer.summary.lastLoss, 1.5, version)
                // 10 steps took 10 s up to the last write: 90 s left, less the time since that write.
                let eta = try XCTUnwrap(newer.summary.eta(now: Date(timeIntervalSince1970: 1_769_904_021)))
                XCTAssertEqual(eta, 80, accuracy: 1e-6, version)
            } else {
                XCTAssertEqual(old.metrics.map(\.skipped), [false, false, false, false], "v1 rows: not skipped")
                XCTAssertNil(old.summary.run.heartbeatAt, version)
            }

            // And today's store keeps writing to it.
            let run = try store.createRun(sampleRun())
            try store.start(run: run.id, pid: 1, host: "h", totalSteps: 10)
            try store.recordSteps([RunMetric(step: 1, loss: 1)], run: run.id)
            XCTAssertEqual(try store.summary(run: run.id).lastLoss, 1, version)
        }
    }
}
