#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A value guarded by a POSIX mutex, for pools that hand objects from one thread to
/// another (workers, connections, handles).
///
/// ```swift
/// let idle = PosixMutex<[Worker]>([])
/// let worker = idle.withLock { $0.popLast() } ?? Worker()
/// defer { idle.withLock { $0.append(worker) } }
/// ```
///
/// Why not `Synchronization.Mutex`: on Linux it locks with a futex inside the
/// uninstrumented `libswiftSynchronization`, so ThreadSanitizer sees no ordering between
/// two holders. An object given back to a `Mutex`-guarded pool by one thread and taken by
/// another then looks like a race on the object's own memory, which no suppression can
/// tell from a real one. ThreadSanitizer intercepts `pthread_mutex_lock`, so through this
/// type it sees the hand-over. Uncontended, a lock and an unlock cost tens of nanoseconds,
/// as `Mutex` does; keep it off per-item paths all the same.
///
/// Thread safety: `withLock` may be called from any number of threads at once; the value
/// is reached only inside it. `@unchecked Sendable`: `value` is only read or written while
/// `mutex` is held, and values go in and out as `sending`, as with `Mutex`.
public final class PosixMutex<Value>: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    /// Creates a mutex guarding `value`.
    public init(_ value: sending Value) {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        // With default attributes, glibc's pthread_mutex_init always succeeds.
        pthread_mutex_init(mutex, nil)
        self.value = value
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    /// Runs `body` with the value while holding the lock, and returns its result.
    ///
    /// - Throws: What `body` throws; the lock is released either way.
    public func withLock<Result>(_ body: (inout sending Value) throws -> sending Result) rethrows -> sending Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
