import Foundation
import GRDB

/// A checkpoint on disk (a row of `checkpoint`), recorded after its directory was renamed into place.
public struct RunCheckpoint: Codable, Sendable, Equatable, FetchableRecord, TableRecord {
    public static let databaseTableName = "checkpoint"

    public var id: Int64
    public var step: Int
    /// The checkpoint directory (`…/checkpoints/step-000120`).
    public var path: String
    /// Validation loss at this step, when the run evaluated there.
    public var validLoss: Double?
    /// sha256 of the checkpoint's adapter weights file.
    public var adapterSHA256: String
    public var createdAt: Date
}
