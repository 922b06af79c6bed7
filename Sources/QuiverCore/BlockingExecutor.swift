import Dispatch
import Foundation

/// The one way Quiver's work leaves the Swift-concurrency cooperative pool.
///
/// Blocking work — LMDB transactions, file reads, CPU-heavy embedding, application hooks
/// that may block — runs on queues or threads that Quiver owns, and an `async` caller
/// waits for it without holding a cooperative thread (two of them deadlock a 2-core
/// machine). The synchronous forms of Quiver's calls use `wait(for:)` (async work
/// finished on Quiver's own task executor) or `onOwnThreads` (a fixed number of worker
/// threads). Like GRDB's `DispatchQueueActor`, this file is the one place where blocking
/// work meets Swift concurrency.
///
/// Thread safety: every member is safe from any thread or task.
public final class BlockingExecutor: Sendable {
    /// Concurrent work of no particular owner (file loads, CPU-heavy embedding).
    public static let shared = BlockingExecutor(label: "quiver.blocking", concurrent: true)

    /// The queue of a serial executor; nil for a concurrent one.
    private let serialQueue: DispatchQueue?

    /// An executor of its own: serial (one job at a time, in order: a store's writer) or
    /// concurrent.
    ///
    /// A concurrent executor runs each job on one of Quiver's own threads (``OwnThreads``:
    /// an idle one, or a new one when all are busy), not on libdispatch's pools, which are
    /// shared with the application and grow slowly, or not at all, while their threads
    /// are blocked: jobs that block (an LMDB read, a synchronous HTTP call, a tool that
    /// runs another answer) then waited for minutes. Callers bound how many jobs they
    /// start (pipeline windows, batch limits).
    public init(label: String, concurrent: Bool) {
        serialQueue = concurrent ? nil : DispatchQueue(label: label)
    }

    /// Quiver's own threads, shared by every concurrent executor and the task executor.
    static let threads = OwnThreads(name: "quiver.blocking")

    /// Runs `job` on the serial queue, or for a concurrent executor on an own thread.
    private func submit(_ job: @escaping @Sendable () -> Void) {
        if let serialQueue { serialQueue.async(execute: job) } else { Self.threads.submit(job) }
    }

    /// Runs blocking `body` on this executor and returns its result; checks for
    /// cancellation before it starts (the work itself is not interrupted).
    ///
    /// - Throws: `QuiverError.cancelled` when the task was cancelled before the work began,
    ///   or what `body` throws.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        if Task.isCancelled { throw QuiverError(.cancelled, "the operation was cancelled before it started") }
        return try await withCheckedThrowingContinuation { continuation in
            submit { continuation.resume(with: Result { try body() }) }
        }
    }

    /// Runs blocking, non-throwing `body` on this executor.
    public func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            submit { continuation.resume(returning: body()) }
        }
    }

    /// Runs `body` on a new thread of its own: for work that may block for long (an
    /// application's hook), so it holds no queue thread either.
    public static func onNewThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
        }
    }

    /// Runs `body(worker)` on `count` new threads and returns when all have finished; the
    /// calling thread only waits (it is never a cooperative-pool wait on a task).
    public static func onOwnThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
        let done = DispatchSemaphore(value: 0)
        for w in 0..<count {
            Thread.detachNewThread {
                body(w)
                done.signal()
            }
        }
        for _ in 0..<count { done.wait() }
    }

    // MARK: Async work for synchronous callers

    /// The task executor of the synchronous call in progress, if any: unstructured tasks
    /// started inside such a call prefer it (`Task(executorPreference: BlockingExecutor.current)`),
    /// so they never need the cooperative pool either.
    @TaskLocal public static var current: (any TaskExecutor)?

    /// Quiver's own task executor: jobs run on Quiver's own threads.
    public static let taskExecutor: any TaskExecutor = QueueTaskExecutor()

    /// Runs `async` work to completion for a synchronous caller and returns its result. The
    /// work runs as a task on Quiver's own task executor (and the tasks it starts through
    /// `current` too); the caller's thread waits, but nothing it waits for needs a thread
    /// of the cooperative pool, so this is safe from any thread or task, many at once.
    public static func wait<T: Sendable>(for body: @escaping @Sendable () async throws -> T) throws -> T {
        let result = PosixMutex<Result<T, Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        let executor = taskExecutor
        Task(executorPreference: executor) {
            let r: Result<T, Error>
            do { r = .success(try await $current.withValue(executor) { try await body() }) } catch { r = .failure(error) }
            result.withLock { $0 = r }
            done.signal()
        }
        done.wait()
        guard let r = result.withLock({ $0 }) else {
            throw QuiverError(.cancelled, "the synchronous call ended without a result")
        }
        return try r.get()
    }

    /// A task executor that runs each job on one of Quiver's own threads (``OwnThreads``).
    ///
    /// Not on libdispatch: on Linux a concurrent queue draws its threads from the same
    /// default-QoS pool as the cooperative executor, and libdispatch adds a thread to that
    /// pool only about once a second while its threads are blocked, so work for a
    /// synchronous caller waited seconds (16 blocked jobs on `DispatchQueue.global()`
    /// delayed `wait { 42 }` by 15 s); a serial queue per job (the overcommit pool) still
    /// waited minutes beside a whole test suite's blocking work.
    private final class QueueTaskExecutor: TaskExecutor, Sendable {
        func enqueue(_ job: consuming ExecutorJob) {
            let job = UnownedJob(job)
            BlockingExecutor.threads.submit { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
        }
    }
}
