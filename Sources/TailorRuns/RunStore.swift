import Foundation
import GRDB

/// Every run in one SQLite database (ARCHITECTURE.md §4): runs, their input files, per-step metrics,
/// checkpoints and events.
///
/// The database is in WAL mode, so a reader (`tailor status --follow` in another terminal) never blocks
/// the training process that writes, and the writer never blocks readers. Writers wait up to
/// `busyTimeout` seconds for each other. The default location is `$TAILOR_HOME/tailor.db`, else
/// `~/.tailor/tailor.db`; a directory Tailor creates for it is 0700 and the database 0600 (SQLite gives
/// the `-wal` and `-shm` files the database's mode).
///
/// Failures are `RunStoreError`s naming the file: read-only, locked past the timeout, disk full,
/// not a database, or written by a newer Tailor.
public final class RunStore: Sendable {
    /// The database file.
    public let path: String
    /// Seconds a write waits for another process's write lock before failing.
    public let busyTimeout: Double
    let pool: DatabasePool

    /// `$TAILOR_HOME/tailor.db` when `TAILOR_HOME` is set (and not empty), else `~/.tailor/tailor.db`.
    public static func defaultPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let home = environment["TAILOR_HOME"], !home.isEmpty {
            return URL(fileURLWithPath: home).appendingPathComponent("tailor.db").path
        }
        let user = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return URL(fileURLWithPath: user).appendingPathComponent(".tailor/tailor.db").path
    }

    /// Opens (and with `createIfMissing`, creates) the database at `path` and brings its schema up to
    /// date. A reader passes `createIfMissing: false` and gets `RunStoreError.missing` instead of an
    /// empty database appearing where the user made a typo.
    public init(path: String, createIfMissing: Bool = true, busyTimeout: Double = 5) throws {
        self.path = path
        self.busyTimeout = busyTimeout
        if createIfMissing {
            try Self.createFile(at: path)
        } else if !FileManager.default.fileExists(atPath: path) {
            throw RunStoreError.missing(path: path)
        }
        var configuration = Configuration()
        configuration.busyMode = .timeout(busyTimeout)
        configuration.label = "tailor.runs"
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
        } catch {
            throw RunStoreError.wrapping(error, path: path, action: "open it", busyTimeout: busyTimeout)
        }
        try migrate()
    }

    /// Applies the migrations this database lacks. A database that is already current is only read,
    /// so opening it never takes the write lock away from a training process.
    private func migrate() throws {
        let migrator = Self.migrator
        let (current, unknown) = try read("read its schema version") { db in
            (
                try migrator.hasCompletedMigrations(db),
                try migrator.appliedIdentifiers(db).subtracting(Migration.all)
            )
        }
        if !unknown.isEmpty { throw RunStoreError.newerSchema(path: path, unknownMigrations: unknown.sorted()) }
        if current { return }
        do {
            try migrator.migrate(pool)
        } catch {
            // Two processes creating the same new database race here; the loser finds it migrated.
            if (try? pool.read { try migrator.hasCompletedMigrations($0) }) == true { return }
            throw RunStoreError.wrapping(error, path: path, action: "migrate its schema", busyTimeout: busyTimeout)
        }
    }

    /// Creates the database file 0600 (and any missing directories 0700) before SQLite opens it.
    private static func createFile(at path: String) throws {
        let fm = FileManager.default
        if fm.fileExists(atPath: path) { return }
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        if !fm.fileExists(atPath: directory.path) {
            do {
                try fm.createDirectory(
                    at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                try fm.setAttributes([.posixPermissions: 0o700], ofItemAtPath: directory.path)
            } catch {
                throw RunStoreError.cannotCreateDirectory(
                    path: directory.path, reason: (error as NSError).localizedDescription)
            }
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd < 0 {
            if errno == EEXIST { return }  // another process created it first
            throw RunStoreError.cannotCreateFile(path: path, reason: String(cString: strerror(errno)))
        }
        // The mode given to open() is masked by the umask; make it exactly 0600.
        fchmod(fd, 0o600)
        close(fd)
    }

    /// Runs `body` in a write transaction, mapping failures to `RunStoreError`s that name the file.
    func write<T>(_ action: String, _ body: (Database) throws -> T) throws -> T {
        do {
            return try pool.write(body)
        } catch {
            throw RunStoreError.wrapping(error, path: path, action: action, busyTimeout: busyTimeout)
        }
    }

    /// Runs `body` on a snapshot of the database (never waits for a writer).
    func read<T>(_ action: String, _ body: (Database) throws -> T) throws -> T {
        do {
            return try pool.read(body)
        } catch {
            throw RunStoreError.wrapping(error, path: path, action: action, busyTimeout: busyTimeout)
        }
    }

    /// The database's journal mode (`wal` for a store opened by Tailor).
    public func journalMode() throws -> String {
        try read("read its journal mode") { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "" }
    }

    /// The migrations applied to this database, oldest first.
    public func appliedMigrations() throws -> [String] {
        try read("read its schema version") { db in try Self.migrator.appliedMigrations(db) }
    }
}
