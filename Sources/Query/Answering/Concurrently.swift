import Foundation
import HTTP
import Synchronization
import QuiverCore

/// Runs work for many inputs under a concurrency limit, one result per input, in input
/// order.
enum Concurrently {
    private struct Indexed<T: Sendable>: Sendable {
        let index: Int
        let result: Result<T, Error>
    }

    /// Async: at most `limit` child tasks at once (or `gate.limit` as it is when each one
    /// starts). Cancelling the caller cancels the running ones; inputs not started get
    /// `QueryError.cancelled`.
    static func map<T: Sendable>(
        _ count: Int, limit: Int, gate: AdaptiveGate? = nil, _ body: @escaping @Sendable (Int) async throws -> T
    ) async -> [Result<T, Error>] {
        var results = [Result<T, Error>?](repeating: nil, count: count)
        await withTaskGroup(of: Indexed<T>.self) { group in
            var next = 0
            var running = 0
            while true {
                while next < count, running < max(1, gate?.limit ?? limit), !Task.isCancelled {
                    let i = next
                    next += 1
                    running += 1
                    group.addTask {
                        do { return Indexed(index: i, result: .success(try await body(i))) } catch {
                            return Indexed(index: i, result: .failure(Self.normalized(error)))
                        }
                    }
                }
                guard running > 0, let done = await group.next() else { break }
                running -= 1
                results[done.index] = done.result
            }
        }
        return results.map { $0 ?? .failure(QueryError(.cancelled, "cancelled before it started")) }
    }

    /// A cancellation, whatever layer noticed it, as `QuiverError.cancelled` (the transport's
    /// and the store's already are).
    static func normalized(_ error: Error) -> Error {
        error is CancellationError ? QueryError(.cancelled, "cancelled") : error
    }

    /// Sync: `min(limit, count)` threads of Quiver's own take inputs in turn, each passing
    /// `gate` first when there is one; the calling thread waits.
    static func map<T: Sendable>(
        _ count: Int, limit: Int, gate: AdaptiveGate? = nil, _ body: @escaping @Sendable (Int) throws -> T
    ) -> [Result<T, Error>] {
        let results = PosixMutex([Result<T, Error>?](repeating: nil, count: count))
        let next = Atomic<Int>(0)
        BlockingExecutor.onOwnThreads(max(1, min(limit, count))) { _ in
            while true {
                let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
                guard i < count else { break }
                gate?.enter()
                let r = Result { try body(i) }
                gate?.leave()
                results.withLock { $0[i] = r }
            }
        }
        return results.withLock { $0.map { $0 ?? .failure(QueryError(.cancelled, "not run")) } }
    }

    /// Runs blocking `body` on a new thread of Quiver's own, so a hook that blocks (or
    /// calls synchronous APIs) never holds a thread of the cooperative pool.
    static func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await BlockingExecutor.onNewThread(body)
    }
}
