import Foundation

/// Token ids of words already merged, shared by every encode on a `Tokenizer`. Natural text repeats its
/// words, so most lookups skip BPE entirely.
///
/// `@unchecked Sendable`: every access to `entries` holds `lock`. (`Synchronization.Mutex` needs macOS 15;
/// the package supports macOS 14.)
final class BPEWordCache: @unchecked Sendable {
    private var entries: [ExactText: [Int32]] = [:]
    private let lock = NSLock()
    /// Cleared when full, so a long training corpus cannot grow it without bound (~100 MB at most).
    private let capacity: Int

    init(capacity: Int = 200_000) {
        self.capacity = capacity
    }

    func ids(for word: ExactText) -> [Int32]? {
        lock.lock()
        defer { lock.unlock() }
        return entries[word]
    }

    func store(_ ids: [Int32], for word: ExactText) {
        lock.lock()
        defer { lock.unlock() }
        if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
        entries[word] = ids
    }
}
