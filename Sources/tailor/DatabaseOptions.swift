import ArgumentParser
import Foundation
import TailorRuns

/// `--db`, shared by the commands that read or write the run database (ARCHITECTURE.md §4).
struct DatabaseOptions: ParsableArguments {
    @Option(
        name: .customLong("db"),
        help: ArgumentHelp(
            "The run database (default: $TAILOR_HOME/tailor.db, else ~/.tailor/tailor.db).", valueName: "path"))
    var path: String?

    /// The file `--db` names, or the default location.
    var resolvedPath: String { path ?? RunStore.defaultPath() }

    /// Opens the database, creating it (directory 0700, file 0600) when it does not exist.
    func openForWriting() throws -> RunStore {
        try RunStore(path: resolvedPath)
    }

    /// Opens an existing database; a missing one is an error naming the file.
    func openForReading() throws -> RunStore {
        try RunStore(path: resolvedPath, createIfMissing: false)
    }
}
