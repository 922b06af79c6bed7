import QuiverCore

/// A value behind a lock, shared by closures. A ``PosixMutex`` (not a `Mutex`, so that
/// ThreadSanitizer sees it); this wrapper keeps `Value` `Sendable` for its callers.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: PosixMutex<Value>

    init(_ value: Value) { mutex = PosixMutex(value) }

    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        try mutex.withLock { try body(&$0) }
    }
}
