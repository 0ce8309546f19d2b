import TailorKit

/// TailorRuns: run configuration (YAML), the run store (SQLite), the queue and the daemon
/// (ARCHITECTURE.md §2). No numerics live here.
public enum TailorRunsInfo {
    public static let schemaName = "tailor"
}
