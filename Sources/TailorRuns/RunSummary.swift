import Foundation
import GRDB

/// A run with the figures `tailor status` lists: last loss, best validation loss, recent throughput.
public struct RunSummary: Sendable, Equatable, FetchableRecord {
    public var run: Run
    /// The latest finite training loss.
    public var lastLoss: Double?
    /// The lowest validation loss and the step it was measured at.
    public var bestValidLoss: Double?
    public var bestValidStep: Int?
    /// Mean tokens/s over the last 20 recorded steps.
    public var tokensPerSecond: Double?
    public var peakRSSBytes: Int?

    /// The columns `init(row:)` reads besides `run.*`, for one run row aliased `run`.
    static let figuresSQL = """
        (SELECT loss FROM metric m WHERE m.runId = run.id AND m.loss IS NOT NULL
            ORDER BY m.step DESC LIMIT 1) AS lastLoss,
        (SELECT validLoss FROM metric m WHERE m.runId = run.id AND m.validLoss IS NOT NULL
            ORDER BY m.validLoss, m.step LIMIT 1) AS bestValidLoss,
        (SELECT step FROM metric m WHERE m.runId = run.id AND m.validLoss IS NOT NULL
            ORDER BY m.validLoss, m.step LIMIT 1) AS bestValidStep,
        (SELECT avg(tokensPerSecond) FROM (SELECT tokensPerSecond FROM metric m
            WHERE m.runId = run.id AND m.tokensPerSecond IS NOT NULL ORDER BY m.step DESC LIMIT 20))
            AS tokensPerSecond,
        (SELECT max(peakRSSBytes) FROM metric m WHERE m.runId = run.id) AS peakRSSBytes
        """

    public init(row: Row) throws {
        run = try Run(row: row)
        lastLoss = row["lastLoss"]
        bestValidLoss = row["bestValidLoss"]
        bestValidStep = row["bestValidStep"]
        tokensPerSecond = row["tokensPerSecond"]
        peakRSSBytes = row["peakRSSBytes"]
    }

    /// Seconds since the run started, up to `now` while it runs, else up to when it stopped.
    public func elapsed(now: Date = Date()) -> TimeInterval? {
        guard let start = run.startedAt else { return nil }
        let end = run.status == .running ? now : (run.finishedAt ?? now)
        return max(0, end.timeIntervalSince(start))
    }

    /// Seconds left for a running run, at the wall-clock pace of its steps so far (evaluations included):
    /// the time from the start to the last write, per step recorded by then.
    public func eta(now: Date = Date()) -> TimeInterval? {
        guard run.status == .running, let total = run.totalSteps, run.currentStep > 0,
            let start = run.startedAt
        else { return nil }
        let last = min(run.heartbeatAt ?? now, now)
        let perStep = max(0, last.timeIntervalSince(start)) / Double(run.currentStep)
        let sinceLast = max(0, now.timeIntervalSince(last))
        return max(0, perStep * Double(max(0, total - run.currentStep)) - sinceLast)
    }
}
