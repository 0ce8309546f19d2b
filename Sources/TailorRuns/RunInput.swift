import Foundation
import GRDB
import TailorKit

/// A file a run read, with its size and sha256 (a row of `runInput`), so a run can be matched to the
/// exact model and data it trained on.
public struct RunInput: Codable, Sendable, Equatable, FetchableRecord, TableRecord {
    public static let databaseTableName = "runInput"

    /// What the file was to the run.
    public enum Role: String, Codable, Sendable, CaseIterable, DatabaseValueConvertible {
        case model, tokenizer, train, valid
        case chatTemplate = "chat_template"
    }

    public var role: Role
    public var path: String
    public var bytes: Int64
    public var sha256: String

    public init(role: Role, path: String, bytes: Int64, sha256: String) {
        self.role = role
        self.path = path
        self.bytes = bytes
        self.sha256 = sha256
    }

    /// Hashes the file at `path` (streamed; see `SHA256.hexDigest(ofFile:)`).
    public static func hashing(_ path: String, as role: Role) throws -> RunInput {
        let digest = try SHA256.hexDigest(ofFile: path)
        var info = stat()
        let bytes = stat(path, &info) == 0 ? Int64(info.st_size) : 0
        return RunInput(role: role, path: path, bytes: bytes, sha256: digest)
    }
}
