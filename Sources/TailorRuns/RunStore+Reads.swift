import Foundation
import GRDB

/// A run and everything recorded about it, read in one transaction (a consistent picture while the
/// run is being written).
public struct RunSnapshot: Sendable, Equatable {
    public var summary: RunSummary
    public var inputs: [RunInput]
    public var metrics: [RunMetric]
    public var checkpoints: [RunCheckpoint]
    /// The most recent events, oldest first.
    public var events: [RunEvent]
}

extension RunStore {
    /// Runs with their figures, oldest first; with `limit`, the most recent `limit` of them.
    public func runs(limit: Int? = nil) throws -> [RunSummary] {
        try read("list runs") { db in
            try RunSummary.fetchAll(
                db,
                sql: """
                    SELECT * FROM (SELECT run.*, \(RunSummary.figuresSQL) FROM run
                                   ORDER BY run.id DESC LIMIT ?)
                    ORDER BY id
                    """,
                arguments: [limit ?? -1])
        }
    }

    /// The run with this id, if any.
    public func run(id: Int64) throws -> Run? {
        try read("read run \(id)") { db in try Run.fetchOne(db, key: id) }
    }

    /// The most recent run with this name, if any.
    public func latestRun(named name: String) throws -> Run? {
        try read("find run '\(name)'") { db in
            try Run.fetchOne(db, sql: "SELECT * FROM run WHERE name = ? ORDER BY id DESC LIMIT 1", arguments: [name])
        }
    }

    /// The run a user means by `reference`: an id when a run has that id, else the latest run of that
    /// name.
    public func resolveRun(_ reference: String) throws -> Run {
        if let id = Int64(reference), let run = try run(id: id) { return run }
        if let run = try latestRun(named: reference) { return run }
        throw RunStoreError.noSuchRun(path: path, reference: reference)
    }

    /// One run's summary.
    public func summary(run id: Int64) throws -> RunSummary {
        try read("read run \(id)") { db in try Self.summary(db, run: id, path: path) }
    }

    public func inputs(run id: Int64) throws -> [RunInput] {
        try read("read the inputs of run \(id)") { db in try Self.inputs(db, run: id) }
    }

    /// Metrics by step.
    public func metrics(run id: Int64) throws -> [RunMetric] {
        try read("read the metrics of run \(id)") { db in try Self.metrics(db, run: id) }
    }

    /// Checkpoints by step.
    public func checkpoints(run id: Int64) throws -> [RunCheckpoint] {
        try read("read the checkpoints of run \(id)") { db in try Self.checkpoints(db, run: id) }
    }

    /// The run's events, oldest first; with `last`, only the most recent `last`.
    public func events(run id: Int64, last: Int? = nil) throws -> [RunEvent] {
        try read("read the events of run \(id)") { db in try Self.events(db, run: id, last: last) }
    }

    /// Everything about one run, in one read transaction; `events` keeps the most recent `lastEvents`.
    public func snapshot(run id: Int64, lastEvents: Int? = nil) throws -> RunSnapshot {
        try read("read run \(id)") { db in
            RunSnapshot(
                summary: try Self.summary(db, run: id, path: path), inputs: try Self.inputs(db, run: id),
                metrics: try Self.metrics(db, run: id), checkpoints: try Self.checkpoints(db, run: id),
                events: try Self.events(db, run: id, last: lastEvents))
        }
    }

    static func summary(_ db: Database, run id: Int64, path: String) throws -> RunSummary {
        guard
            let summary = try RunSummary.fetchOne(
                db, sql: "SELECT run.*, \(RunSummary.figuresSQL) FROM run WHERE run.id = ?", arguments: [id])
        else { throw RunStoreError.noSuchRun(path: path, reference: String(id)) }
        return summary
    }

    static func inputs(_ db: Database, run id: Int64) throws -> [RunInput] {
        try RunInput.fetchAll(db, sql: "SELECT * FROM runInput WHERE runId = ? ORDER BY rowid", arguments: [id])
    }

    static func metrics(_ db: Database, run id: Int64) throws -> [RunMetric] {
        try RunMetric.fetchAll(db, sql: "SELECT * FROM metric WHERE runId = ? ORDER BY step", arguments: [id])
    }

    static func checkpoints(_ db: Database, run id: Int64) throws -> [RunCheckpoint] {
        try RunCheckpoint.fetchAll(
            db, sql: "SELECT * FROM checkpoint WHERE runId = ? ORDER BY step", arguments: [id])
    }

    static func events(_ db: Database, run id: Int64, last: Int?) throws -> [RunEvent] {
        try RunEvent.fetchAll(
            db,
            sql: "SELECT * FROM (SELECT * FROM event WHERE runId = ? ORDER BY id DESC LIMIT ?) ORDER BY id",
            arguments: [id, last ?? -1])
    }
}
