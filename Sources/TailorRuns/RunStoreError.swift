import Foundation
import GRDB

/// Errors from the run database. Every case names the database file, and says what Tailor was doing.
public enum RunStoreError: Error, LocalizedError, Equatable {
    case cannotCreateDirectory(path: String, reason: String)
    case cannotCreateFile(path: String, reason: String)
    /// No database at `path` (a reader does not create one).
    case missing(path: String)
    case readOnly(path: String, action: String)
    /// Another process held the write lock for longer than the busy timeout.
    case locked(path: String, action: String, seconds: Double)
    case diskFull(path: String, action: String)
    case cannotOpen(path: String, reason: String)
    case notADatabase(path: String, reason: String)
    /// The file was migrated by a newer Tailor: it has migrations this one does not know.
    case newerSchema(path: String, unknownMigrations: [String])
    case database(path: String, action: String, reason: String)
    case noSuchRun(path: String, reference: String)
    case invalidTransition(path: String, run: Int64, from: RunStatus, to: RunStatus)

    public var errorDescription: String? {
        switch self {
        case .cannotCreateDirectory(let path, let reason):
            "\(path): cannot create the run database's directory: \(reason)"
        case .cannotCreateFile(let path, let reason):
            "\(path): cannot create the run database: \(reason)"
        case .missing(let path):
            "\(path): no run database here (tailor train creates it; --db or TAILOR_HOME point elsewhere)"
        case .readOnly(let path, let action):
            "\(path): the run database is read-only, cannot \(action) (check the permissions of the file, its -wal and -shm files and its directory, or pass --db)"
        case .locked(let path, let action, let seconds):
            "\(path): the run database is locked by another process, cannot \(action) (waited \(String(format: "%.1f", seconds)) s)"
        case .diskFull(let path, let action):
            "\(path): disk full, cannot \(action)"
        case .cannotOpen(let path, let reason):
            "\(path): cannot open the run database: \(reason)"
        case .notADatabase(let path, let reason):
            "\(path): not a Tailor run database or corrupt: \(reason)"
        case .newerSchema(let path, let unknown):
            "\(path): written by a newer Tailor (unknown schema migrations: \(unknown.sorted().joined(separator: ", "))); upgrade tailor or use another --db"
        case .database(let path, let action, let reason):
            "\(path): cannot \(action): \(reason)"
        case .noSuchRun(let path, let reference):
            "\(path): no run '\(reference)' (give a run id or name; `tailor status` lists them)"
        case .invalidTransition(let path, let run, let from, let to):
            "\(path): run \(run) is \(from.rawValue), it cannot become \(to.rawValue)"
        }
    }

    /// An SQLite failure while doing `action` on the database at `path`, in the user's terms.
    static func wrapping(_ error: Error, path: String, action: String, busyTimeout: Double) -> RunStoreError {
        if let error = error as? RunStoreError { return error }
        guard let db = error as? DatabaseError else {
            return .database(path: path, action: action, reason: "\(error)")
        }
        let reason = db.message ?? "\(db.resultCode)"
        switch db.resultCode {
        case .SQLITE_READONLY, .SQLITE_PERM, .SQLITE_AUTH: return .readOnly(path: path, action: action)
        case .SQLITE_BUSY, .SQLITE_LOCKED: return .locked(path: path, action: action, seconds: busyTimeout)
        case .SQLITE_FULL: return .diskFull(path: path, action: action)
        case .SQLITE_CANTOPEN: return .cannotOpen(path: path, reason: reason)
        case .SQLITE_NOTADB, .SQLITE_CORRUPT: return .notADatabase(path: path, reason: reason)
        default: return .database(path: path, action: action, reason: reason)
        }
    }
}
