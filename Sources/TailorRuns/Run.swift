import Foundation
import GRDB

/// Where a run is in its life (ARCHITECTURE.md §4): queued → running → (paused | succeeded | failed |
/// cancelled); `interrupted` when its worker went away without saying (a daemon resumes it).
public enum RunStatus: String, Codable, Sendable, CaseIterable, DatabaseValueConvertible {
    case queued, running, paused, succeeded, failed, cancelled, interrupted

    /// No further transition: the run is over for good.
    public var isTerminal: Bool { self == .succeeded || self == .cancelled }

    /// The run is (or should be) doing work: `status --follow` keeps refreshing.
    public var isActive: Bool { self == .queued || self == .running }

    /// The states a run may move to from this one. A failed, paused or interrupted run can be queued
    /// or started again (resume); succeeded and cancelled runs are final.
    public var successors: Set<RunStatus> {
        switch self {
        case .queued: [.running, .cancelled, .failed]
        case .running: [.paused, .succeeded, .failed, .cancelled, .interrupted]
        case .paused, .interrupted, .failed: [.queued, .running, .cancelled]
        case .succeeded, .cancelled: []
        }
    }
}

/// A row of the `run` table.
public struct Run: Codable, Sendable, Equatable, FetchableRecord, TableRecord {
    public static let databaseTableName = "run"

    public var id: Int64
    public var name: String
    /// The config file the run was started from, as given on the command line (nil when not a file).
    public var configPath: String?
    /// The config text as the user wrote it.
    public var configYAML: String
    /// The config with overrides applied and every default filled in (`ConfigLoader.resolvedYAML`).
    public var resolvedYAML: String
    /// Where the adapter is written.
    public var outputDirectory: String
    public var status: RunStatus
    public var createdAt: Date
    /// When a worker first started the run (kept across resumes).
    public var startedAt: Date?
    /// When the run last reached succeeded, failed, cancelled, paused or interrupted.
    public var finishedAt: Date?
    /// When the worker last wrote metrics (schema v2; nil for runs recorded before).
    public var heartbeatAt: Date?
    public var workerPID: Int32?
    public var workerHost: String?
    /// Why the run failed, in the words the CLI printed.
    public var error: String?
    public var totalSteps: Int?
    /// The last step whose metrics are in the database.
    public var currentStep: Int
}

extension Run {
    /// Whether the worker of a `running` run still exists: false when its process on this host is gone
    /// (killed, crashed: the run stopped without recording it), nil when the run is not running or its
    /// worker is on another host (unknown from here).
    public func workerIsAlive(host: String = ProcessInfo.processInfo.hostName) -> Bool? {
        guard status == .running, let workerPID, workerHost == host else { return nil }
        return kill(workerPID, 0) == 0 || errno == EPERM
    }
}
