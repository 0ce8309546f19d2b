import Foundation
import GRDB

extension RunStore {
    /// The oldest queued run (the queue is first in, first out), if any.
    public func nextQueued() throws -> Run? {
        try read("read the queue") { db in
            try Run.fetchOne(db, sql: "SELECT * FROM run WHERE status = 'queued' ORDER BY id LIMIT 1")
        }
    }

    /// Runs in `status`, oldest first.
    public func runs(in status: RunStatus) throws -> [Run] {
        try read("list \(status.rawValue) runs") { db in
            try Run.fetchAll(db, sql: "SELECT * FROM run WHERE status = ? ORDER BY id", arguments: [status])
        }
    }

    /// The latest run of `name` that is queued or running, if any: a second one would share its output.
    public func activeRun(named name: String) throws -> Run? {
        try read("find an active run '\(name)'") { db in
            try Run.fetchOne(
                db, sql: "SELECT * FROM run WHERE name = ? AND status IN ('queued', 'running') ORDER BY id DESC LIMIT 1",
                arguments: [name])
        }
    }
}
