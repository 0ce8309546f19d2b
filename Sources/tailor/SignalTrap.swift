import Dispatch
import Foundation

/// Delivers SIGINT and SIGTERM to a handler on a background queue instead of killing the process, so the
/// main thread can keep training while the handler records what happened. `cancel()` removes the handler;
/// with none left, a signal does what it does by default (ends the process).
///
/// One dispatch source per signal serves the whole process, created with the first trap and never torn
/// down: libdispatch installs its signal handler once per process, so cancelling a source and resetting
/// the disposition would leave a later trap (a daemon's worker traps while it loads, then again while it
/// trains) with the signal ignored. Traps stack: the newest one that takes a signal gets it.
final class SignalTrap {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var sources: [Int32: DispatchSourceSignal] = [:]
    nonisolated(unsafe) private static var handlers: [(id: Int, signals: [Int32], handler: (Int32) -> Void)] = []
    nonisolated(unsafe) private static var nextID = 0
    private let id: Int

    init(_ signals: [Int32] = [SIGINT, SIGTERM], handler: @escaping (Int32) -> Void) {
        Self.lock.lock()
        defer { Self.lock.unlock() }
        id = Self.nextID
        Self.nextID += 1
        Self.handlers.append((id, signals, handler))
        for number in signals where Self.sources[number] == nil {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { SignalTrap.deliver(number) }
            source.resume()
            Self.sources[number] = source
        }
    }

    private static func deliver(_ number: Int32) {
        lock.lock()
        let handler = handlers.last { $0.signals.contains(number) }?.handler
        lock.unlock()
        if let handler {
            handler(number)
        } else {
            // No trap: the default action. kill() rather than raise(): this dispatch thread blocks the
            // signal, the process as a whole does not.
            signal(number, SIG_DFL)
            kill(getpid(), number)
        }
    }

    func cancel() {
        Self.lock.lock()
        Self.handlers.removeAll { $0.id == id }
        Self.lock.unlock()
    }

    static func name(_ number: Int32) -> String {
        switch number {
        case SIGINT: "SIGINT"
        case SIGTERM: "SIGTERM"
        default: "signal \(number)"
        }
    }
}
