import Dispatch
import Foundation

/// Runs `async` work for a synchronous caller without the cooperative pool: the work runs
/// as a task whose executor is a queue Quiver owns, and the unstructured tasks it starts
/// (through `SyncBridge.executor`) run there too. The caller's thread waits, but nothing
/// it waits for needs a thread of the cooperative pool, so a synchronous call is safe from
/// any thread or task, many at once.
enum SyncBridge {
    /// The executor of the synchronous call in progress, if any; tasks started inside
    /// such a call prefer it (`Task(executorPreference: SyncBridge.executor)`).
    @TaskLocal static var executor: (any TaskExecutor)?

    /// Quiver's own executor: a concurrent queue.
    static let shared = QueueExecutor()

    /// Runs `body` to completion and returns its result, on Quiver's executor.
    static func run<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
        let result = Locked<Result<T, Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task(executorPreference: shared) {
            let r: Result<T, Error>
            do { r = .success(try await $executor.withValue(shared) { try await body() }) } catch { r = .failure(error) }
            result.withLock { $0 = r }
            done.signal()
        }
        done.wait()
        return try result.withLock { $0! }.get()
    }

    /// A task executor that runs jobs on a concurrent dispatch queue.
    final class QueueExecutor: TaskExecutor, Sendable {
        private let queue = DispatchQueue(label: "quiver.sync-bridge", attributes: .concurrent)

        func enqueue(_ job: consuming ExecutorJob) {
            let job = UnownedJob(job)
            queue.async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
        }
    }
}
