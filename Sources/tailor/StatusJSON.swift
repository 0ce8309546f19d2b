import Foundation
import TailorRuns

// The JSON `tailor status --json` and `tailor runs compare --json` print. The shape is a contract with
// scripts: `version` changes when a key is removed or changes meaning; new keys may appear. Every key is
// always present (null when unknown); times are ISO 8601 UTC strings; sizes in bytes; durations in
// seconds.
//
// tailor status --json           {version, database, runs: [Run]}
// tailor status RUN --json       {version, database, run: Run, config: {written, resolved},
//                                 inputs: [{role, path, bytes, sha256}],
//                                 metrics: [{step, loss, validLoss, lr, gradNorm, tokensPerSecond,
//                                            supervisedTokens, peakRSSBytes, tokens, seconds, skipped}],
//                                 checkpoints: [{step, path, validLoss, adapterSHA256, createdAt}],
//                                 events: [{time, kind, message, step}]}
// Run = {id, name, status, workerAlive, step, totalSteps, lastLoss, bestValidLoss, bestValidStep,
//        tokensPerSecond, peakRSSBytes, elapsedSeconds, etaSeconds, createdAt, startedAt, finishedAt,
//        heartbeatAt, workerPID, workerHost, error, configPath, outputDirectory}
// `workerAlive` is false for a `running` run whose worker process on this host is gone, null when the
// run is not running or its worker is on another host.

/// The JSON format version (see above).
let statusJSONVersion = 1

/// ISO 8601 with milliseconds, UTC.
func isoTime(_ date: Date?) -> String? {
    guard let date else { return nil }
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return f.string(from: date)
}

struct RunJSON: Encodable {
    let summary: RunSummary
    let now: Date

    enum Keys: String, CodingKey {
        case id, name, status, workerAlive, step, totalSteps, lastLoss, bestValidLoss, bestValidStep
        case tokensPerSecond, peakRSSBytes, elapsedSeconds, etaSeconds, createdAt, startedAt, finishedAt
        case heartbeatAt, workerPID, workerHost, error, configPath, outputDirectory
    }

    func encode(to encoder: Encoder) throws {
        let r = summary.run
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(r.id, forKey: .id)
        try c.encode(r.name, forKey: .name)
        try c.encode(r.status.rawValue, forKey: .status)
        try c.encode(r.workerIsAlive(), forKey: .workerAlive)
        try c.encode(r.currentStep, forKey: .step)
        try c.encode(r.totalSteps, forKey: .totalSteps)
        try c.encode(summary.lastLoss, forKey: .lastLoss)
        try c.encode(summary.bestValidLoss, forKey: .bestValidLoss)
        try c.encode(summary.bestValidStep, forKey: .bestValidStep)
        try c.encode(summary.tokensPerSecond, forKey: .tokensPerSecond)
        try c.encode(summary.peakRSSBytes, forKey: .peakRSSBytes)
        try c.encode(summary.elapsed(now: now), forKey: .elapsedSeconds)
        try c.encode(summary.eta(now: now), forKey: .etaSeconds)
        try c.encode(isoTime(r.createdAt), forKey: .createdAt)
        try c.encode(isoTime(r.startedAt), forKey: .startedAt)
        try c.encode(isoTime(r.finishedAt), forKey: .finishedAt)
        try c.encode(isoTime(r.heartbeatAt), forKey: .heartbeatAt)
        try c.encode(r.workerPID, forKey: .workerPID)
        try c.encode(r.workerHost, forKey: .workerHost)
        try c.encode(r.error, forKey: .error)
        try c.encode(r.configPath, forKey: .configPath)
        try c.encode(r.outputDirectory, forKey: .outputDirectory)
    }
}

struct MetricJSON: Encodable {
    let m: RunMetric

    enum Keys: String, CodingKey {
        case step, loss, validLoss, lr, gradNorm, tokensPerSecond, supervisedTokens, peakRSSBytes, tokens, seconds
        case skipped
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(m.step, forKey: .step)
        try c.encode(m.loss, forKey: .loss)
        try c.encode(m.validLoss, forKey: .validLoss)
        try c.encode(m.lr, forKey: .lr)
        try c.encode(m.gradNorm, forKey: .gradNorm)
        try c.encode(m.tokensPerSecond, forKey: .tokensPerSecond)
        try c.encode(m.supervisedTokens, forKey: .supervisedTokens)
        try c.encode(m.peakRSSBytes, forKey: .peakRSSBytes)
        try c.encode(m.tokens, forKey: .tokens)
        try c.encode(m.seconds, forKey: .seconds)
        try c.encode(m.skipped, forKey: .skipped)
    }
}

struct CheckpointJSON: Encodable {
    let c: RunCheckpoint

    enum Keys: String, CodingKey { case step, path, validLoss, adapterSHA256, createdAt }

    func encode(to encoder: Encoder) throws {
        var k = encoder.container(keyedBy: Keys.self)
        try k.encode(c.step, forKey: .step)
        try k.encode(c.path, forKey: .path)
        try k.encode(c.validLoss, forKey: .validLoss)
        try k.encode(c.adapterSHA256, forKey: .adapterSHA256)
        try k.encode(isoTime(c.createdAt), forKey: .createdAt)
    }
}

struct EventJSON: Encodable {
    let e: RunEvent

    enum Keys: String, CodingKey { case time, kind, message, step }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(isoTime(e.time), forKey: .time)
        try c.encode(e.kind.rawValue, forKey: .kind)
        try c.encode(e.message, forKey: .message)
        try c.encode(e.step, forKey: .step)
    }
}

/// `tailor status --json`.
struct RunListJSON: Encodable {
    let version = statusJSONVersion
    let database: String
    let runs: [RunJSON]
}

/// `tailor status RUN --json`.
struct RunDetailJSON: Encodable {
    struct Config: Encodable {
        let written: String
        let resolved: String
    }

    let version = statusJSONVersion
    let database: String
    let run: RunJSON
    let config: Config
    let inputs: [RunInput]
    let metrics: [MetricJSON]
    let checkpoints: [CheckpointJSON]
    let events: [EventJSON]

    init(_ snapshot: RunSnapshot, database: String, now: Date) {
        self.database = database
        run = RunJSON(summary: snapshot.summary, now: now)
        config = Config(written: snapshot.summary.run.configYAML, resolved: snapshot.summary.run.resolvedYAML)
        inputs = snapshot.inputs
        metrics = snapshot.metrics.map(MetricJSON.init)
        checkpoints = snapshot.checkpoints.map(CheckpointJSON.init)
        events = snapshot.events.map(EventJSON.init)
    }
}

/// JSON text: pretty and key-sorted for one-shot output, one compact line per document for `--follow`.
func jsonText<T: Encodable>(_ value: T, compact: Bool) throws -> String {
    let enc = JSONEncoder()
    enc.outputFormatting =
        compact ? [.sortedKeys, .withoutEscapingSlashes] : [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try enc.encode(value), as: UTF8.self) + "\n"
}
