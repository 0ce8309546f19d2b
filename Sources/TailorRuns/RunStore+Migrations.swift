import GRDB

extension RunStore {
    /// The schema, one migration per shipped version, applied in order by `DatabaseMigrator`.
    ///
    /// Never edit a shipped migration: add the next one. Migrations use strings only (table and column
    /// names), never record types, so later changes to the records cannot change what an old migration
    /// does. `RunStoreMigrationTests` builds a database at every earlier version, fills it, and opens it
    /// with the current store.
    ///
    /// Columns are camelCase like the records that read them; timestamps are GRDB's UTC text
    /// (`yyyy-MM-dd HH:mm:ss.SSS`), readable in the `sqlite3` shell.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration(Migration.v1) { db in
            // A run: what was asked (config as written and as resolved), with what (`runInput`), where
            // it is (status and progress) and who runs it (worker pid and host).
            try db.create(table: "run") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("name", .text).notNull()
                t.column("configPath", .text)
                t.column("configYAML", .text).notNull()
                t.column("resolvedYAML", .text).notNull()
                t.column("outputDirectory", .text).notNull()
                t.column("status", .text).notNull()
                    .check(
                        sql: """
                            status IN ('queued','running','paused','succeeded','failed','cancelled','interrupted')
                            """)
                t.column("createdAt", .datetime).notNull()
                t.column("startedAt", .datetime)
                t.column("finishedAt", .datetime)
                t.column("workerPID", .integer)
                t.column("workerHost", .text)
                t.column("error", .text)
                t.column("totalSteps", .integer)
                t.column("currentStep", .integer).notNull().defaults(to: 0)
            }
            // The files a run read, each with its sha256: role is model, tokenizer, train, valid or
            // chat_template (a GGUF model is also its own tokenizer: same path, same digest).
            try db.create(table: "runInput") { t in
                t.column("runId", .integer).notNull().references("run", onDelete: .cascade)
                t.column("role", .text).notNull()
                t.column("path", .text).notNull()
                t.column("bytes", .integer).notNull()
                t.column("sha256", .text).notNull()
                t.primaryKey(["runId", "role", "path"])
            }
            // One row per optimizer step (and step 0 for the evaluation before training). A step's loss
            // is NULL when it was not finite (the update was skipped); validLoss only on evaluated steps.
            try db.create(table: "metric") { t in
                t.column("runId", .integer).notNull().references("run", onDelete: .cascade)
                t.column("step", .integer).notNull()
                t.column("loss", .double)
                t.column("validLoss", .double)
                t.column("lr", .double)
                t.column("gradNorm", .double)
                t.column("tokensPerSecond", .double)
                t.column("supervisedTokens", .integer)
                t.column("peakRSSBytes", .integer)
                t.primaryKey(["runId", "step"])
            }
            // A checkpoint row is committed only after its directory was renamed into place
            // (ARCHITECTURE.md §4); one per (run, step), a rewrite after a resume replaces it.
            try db.create(table: "checkpoint") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("runId", .integer).notNull().references("run", onDelete: .cascade)
                t.column("step", .integer).notNull()
                t.column("path", .text).notNull()
                t.column("validLoss", .double)
                t.column("adapterSHA256", .text).notNull()
                t.column("createdAt", .datetime).notNull()
                t.uniqueKey(["runId", "step"])
            }
            try db.create(table: "event") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("runId", .integer).notNull().references("run", onDelete: .cascade)
                t.column("time", .datetime).notNull()
                t.column("kind", .text).notNull()
                    .check(sql: "kind IN ('state','warning','skipped_line','error','checkpoint')")
                t.column("message", .text).notNull()
                t.column("step", .integer)
            }
        }
        migrator.registerMigration(Migration.v2) { db in
            // What `tailor status` needs beyond v1: when the worker last wrote (a live run's clock and a
            // dead worker's tell), each step's wall time and token count (throughput and ETA), whether
            // the step's update was skipped (non-finite loss or gradient), and lookups by run.
            try db.alter(table: "run") { t in
                t.add(column: "heartbeatAt", .datetime)
            }
            try db.alter(table: "metric") { t in
                t.add(column: "tokens", .integer)
                t.add(column: "seconds", .double)
                t.add(column: "skipped", .boolean).notNull().defaults(to: false)
            }
            try db.create(index: "run_on_name", on: "run", columns: ["name", "id"])
            try db.create(index: "event_on_runId", on: "event", columns: ["runId", "id"])
        }
        return migrator
    }

    /// Migration identifiers, oldest first.
    enum Migration {
        static let v1 = "v1-runs-metrics-checkpoints-events"
        static let v2 = "v2-heartbeat-step-time-indexes"
        static let all = [v1, v2]
    }
}
