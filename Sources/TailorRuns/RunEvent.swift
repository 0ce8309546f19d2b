import Foundation
import GRDB

/// Something that happened to a run (a row of `event`): a state change, a warning, a skipped data line,
/// an error or a checkpoint.
public struct RunEvent: Codable, Sendable, Equatable, FetchableRecord, TableRecord {
    public static let databaseTableName = "event"

    public enum Kind: String, Codable, Sendable, CaseIterable, DatabaseValueConvertible {
        case state, warning, error, checkpoint
        case skippedLine = "skipped_line"
    }

    public var id: Int64
    public var time: Date
    public var kind: Kind
    public var message: String
    /// The training step it happened at, when there is one.
    public var step: Int?
}
