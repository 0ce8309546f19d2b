import Foundation
import GRDB

/// What a new run row is made from.
public struct NewRun: Sendable, Equatable {
    public var name: String
    public var configPath: String?
    public var configYAML: String
    public var resolvedYAML: String
    public var outputDirectory: String
    public var totalSteps: Int?
    public var inputs: [RunInput]

    public init(
        name: String, configPath: String?, configYAML: String, resolvedYAML: String, outputDirectory: String,
        totalSteps: Int? = nil, inputs: [RunInput] = []
    ) {
        self.name = name
        self.configPath = configPath
        self.configYAML = configYAML
        self.resolvedYAML = resolvedYAML
        self.outputDirectory = outputDirectory
        self.totalSteps = totalSteps
        self.inputs = inputs
    }
}

extension RunStore {
    /// Adds a run in state `queued`, with its input files, and a `state` event.
    @discardableResult
    public func createRun(_ new: NewRun, at time: Date = Date()) throws -> Run {
        try write("create run '\(new.name)'") { db in
            try db.execute(
                sql: """
                    INSERT INTO run (name, configPath, configYAML, resolvedYAML, outputDirectory, status,
                                     createdAt, totalSteps)
                    VALUES (?, ?, ?, ?, ?, 'queued', ?, ?)
                    """,
                arguments: [
                    new.name, new.configPath, new.configYAML, new.resolvedYAML, new.outputDirectory, time,
                    new.totalSteps,
                ])
            let id = db.lastInsertedRowID
            for input in new.inputs {
                try db.execute(
                    sql: "INSERT OR REPLACE INTO runInput (runId, role, path, bytes, sha256) VALUES (?, ?, ?, ?, ?)",
                    arguments: [id, input.role, input.path, input.bytes, input.sha256])
            }
            try Self.insertEvent(db, run: id, kind: .state, message: "queued", step: nil, at: time)
            return try Self.fetchRun(db, id: id, path: path)
        }
    }

    /// Moves a run to `running` under this worker: records its pid and host, the step count, and when it
    /// first started (kept across resumes). `detail` goes into the `state` event.
    public func start(
        run id: Int64, pid: Int32, host: String, totalSteps: Int?, detail: String? = nil, at time: Date = Date()
    ) throws {
        try write("start run \(id)") { db in
            try Self.start(
                db, run: id, pid: pid, host: host, totalSteps: totalSteps, detail: detail, at: time, path: path)
        }
    }

    /// Moves a run to `status`, with a `state` event (and an `error` event carrying `error`, if given).
    /// Leaving `running` sets `finishedAt`. Throws `invalidTransition` for a move `RunStatus.successors`
    /// does not allow.
    public func transition(
        run id: Int64, to status: RunStatus, message: String? = nil, error: String? = nil, at time: Date = Date()
    ) throws {
        try write("record run \(id) as \(status.rawValue)") { db in
            try Self.transition(db, run: id, to: status, message: message, error: error, at: time, path: path)
        }
    }

    /// Marks a run whose worker is gone (ARCHITECTURE.md §4); a daemon resumes it from its last checkpoint.
    public func markInterrupted(run id: Int64, reason: String, at time: Date = Date()) throws {
        try transition(run: id, to: .interrupted, message: reason, at: time)
    }

    /// Writes step metrics (replacing a step's earlier numbers, e.g. after a resume re-ran it, but keeping
    /// its validation loss) and advances the run's `currentStep`.
    public func recordSteps(_ metrics: [RunMetric], run id: Int64) throws {
        try write("record metrics of run \(id)") { db in try Self.insertSteps(db, metrics, run: id) }
    }

    /// Records the validation loss measured after `step`.
    public func recordValidLoss(_ loss: Double, step: Int, run id: Int64) throws {
        try write("record the validation loss of run \(id)") { db in
            try Self.insertValidLoss(db, loss, step: step, run: id)
        }
    }

    /// Adds an event to a run's log.
    public func recordEvent(
        _ kind: RunEvent.Kind, _ message: String, step: Int? = nil, run id: Int64, at time: Date = Date()
    ) throws {
        try write("record an event of run \(id)") { db in
            try Self.insertEvent(db, run: id, kind: kind, message: message, step: step, at: time)
        }
    }

    /// Records a checkpoint that is complete on disk (commit this after the directory's rename, never
    /// before: ARCHITECTURE.md §4), with a `checkpoint` event. Recording the same step again (a resumed
    /// run rewrote it) replaces the row.
    @discardableResult
    public func recordCheckpoint(
        run id: Int64, step: Int, path checkpointPath: String, validLoss: Double?, adapterSHA256: String,
        at time: Date = Date()
    ) throws -> RunCheckpoint {
        try write("record checkpoint \(checkpointPath) of run \(id)") { db in
            try Self.insertCheckpoint(
                db, run: id, step: step, path: checkpointPath, validLoss: validLoss, adapterSHA256: adapterSHA256, at: time)
            guard
                let row = try RunCheckpoint.fetchOne(
                    db, sql: "SELECT * FROM checkpoint WHERE runId = ? AND step = ?", arguments: [id, step])
            else { throw RunStoreError.noSuchRun(path: path, reference: String(id)) }
            return row
        }
    }

    /// The checkpoint row and its event, inside a write transaction.
    static func insertCheckpoint(
        _ db: Database, run id: Int64, step: Int, path checkpointPath: String, validLoss: Double?, adapterSHA256: String,
        at time: Date
    ) throws {
        try db.execute(
            sql: """
                INSERT INTO checkpoint (runId, step, path, validLoss, adapterSHA256, createdAt)
                VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (runId, step) DO UPDATE SET
                    path = excluded.path, validLoss = excluded.validLoss,
                    adapterSHA256 = excluded.adapterSHA256, createdAt = excluded.createdAt
                """,
            arguments: [id, step, checkpointPath, finiteOrNil(validLoss), adapterSHA256, time])
        try insertEvent(db, run: id, kind: .checkpoint, message: "checkpoint \(checkpointPath)", step: step, at: time)
    }

    /// Removes a checkpoint row (its directory was pruned by `checkpoint.keep`).
    public func removeCheckpoint(run id: Int64, step: Int) throws {
        try write("remove checkpoint \(step) of run \(id)") { db in
            try db.execute(sql: "DELETE FROM checkpoint WHERE runId = ? AND step = ?", arguments: [id, step])
        }
    }

    // MARK: - Statements shared with RunRecorder's batched writes

    static func fetchRun(_ db: Database, id: Int64, path: String) throws -> Run {
        guard let run = try Run.fetchOne(db, key: id) else {
            throw RunStoreError.noSuchRun(path: path, reference: String(id))
        }
        return run
    }

    static func start(
        _ db: Database, run id: Int64, pid: Int32, host: String, totalSteps: Int?, detail: String?, at time: Date,
        path: String
    ) throws {
        let message = "pid \(pid) on \(host)" + (detail.map { "; \($0)" } ?? "")
        let run = try fetchRun(db, id: id, path: path)
        if run.status == .running && run.workerPID == pid && run.workerHost == host {
            // The same worker again (a daemon's worker marks the run running before it loads the model,
            // then the trainer starts): no transition, just the details.
            try insertEvent(db, run: id, kind: .state, message: "running: " + message, step: nil, at: time)
        } else {
            try transition(db, run: id, to: .running, message: message, error: nil, at: time, path: path)
        }
        try db.execute(
            sql: """
                UPDATE run SET workerPID = ?, workerHost = ?, totalSteps = coalesce(?, totalSteps),
                               startedAt = coalesce(startedAt, ?), heartbeatAt = ?, finishedAt = NULL,
                               error = NULL
                WHERE id = ?
                """,
            arguments: [pid, host, totalSteps, time, time, id])
    }

    /// Notes that the worker is alive and wrote at `time`.
    static func touch(_ db: Database, run id: Int64, at time: Date) throws {
        try db.execute(sql: "UPDATE run SET heartbeatAt = ? WHERE id = ?", arguments: [time, id])
    }

    static func transition(
        _ db: Database, run id: Int64, to status: RunStatus, message: String?, error: String?, at time: Date,
        path: String
    ) throws {
        let from = try fetchRun(db, id: id, path: path).status
        guard from.successors.contains(status) else {
            throw RunStoreError.invalidTransition(path: path, run: id, from: from, to: status)
        }
        let ends = status != .running && status != .queued
        try db.execute(
            sql: """
                UPDATE run SET status = ?, error = coalesce(?, error),
                               finishedAt = CASE WHEN ? THEN ? ELSE finishedAt END
                WHERE id = ?
                """,
            arguments: [status, error, ends, time, id])
        let text = "\(from.rawValue) → \(status.rawValue)" + (message.map { ": \($0)" } ?? "")
        try insertEvent(db, run: id, kind: .state, message: text, step: nil, at: time)
        if let error {
            try insertEvent(db, run: id, kind: .error, message: error, step: nil, at: time)
        }
    }

    static func insertSteps(_ db: Database, _ metrics: [RunMetric], run id: Int64) throws {
        guard let last = metrics.map(\.step).max() else { return }
        let statement = try db.cachedStatement(
            sql: """
                INSERT INTO metric (runId, step, loss, lr, gradNorm, tokensPerSecond, supervisedTokens,
                                    peakRSSBytes, tokens, seconds, skipped)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (runId, step) DO UPDATE SET
                    loss = excluded.loss, lr = excluded.lr, gradNorm = excluded.gradNorm,
                    tokensPerSecond = excluded.tokensPerSecond, supervisedTokens = excluded.supervisedTokens,
                    peakRSSBytes = excluded.peakRSSBytes, tokens = excluded.tokens, seconds = excluded.seconds,
                    skipped = excluded.skipped
                """)
        for m in metrics {
            try statement.execute(arguments: [
                id, m.step, finiteOrNil(m.loss), finiteOrNil(m.lr), finiteOrNil(m.gradNorm),
                finiteOrNil(m.tokensPerSecond), m.supervisedTokens, m.peakRSSBytes, m.tokens, finiteOrNil(m.seconds),
                m.skipped,
            ])
        }
        try db.execute(
            sql: "UPDATE run SET currentStep = max(currentStep, ?) WHERE id = ?", arguments: [last, id])
    }

    static func insertValidLoss(_ db: Database, _ loss: Double, step: Int, run id: Int64) throws {
        try db.execute(
            sql: """
                INSERT INTO metric (runId, step, validLoss) VALUES (?, ?, ?)
                ON CONFLICT (runId, step) DO UPDATE SET validLoss = excluded.validLoss
                """,
            arguments: [id, step, finiteOrNil(loss)])
    }

    static func insertEvent(
        _ db: Database, run id: Int64, kind: RunEvent.Kind, message: String, step: Int?, at time: Date
    ) throws {
        try db.execute(
            sql: "INSERT INTO event (runId, time, kind, message, step) VALUES (?, ?, ?, ?, ?)",
            arguments: [id, time, kind, message, step])
    }
}

/// SQLite stores NaN as NULL and JSON has no infinities: keep only finite numbers.
func finiteOrNil(_ x: Double?) -> Double? {
    guard let x, x.isFinite else { return nil }
    return x
}
