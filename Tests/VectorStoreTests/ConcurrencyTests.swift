import CQuiverKernels
import Foundation
import Testing
import TestSupport
@testable import VectorStore

@Suite struct ConcurrencyTests {
    /// The kernels remember which CPU path they take in statics that their first callers
    /// set: plain ints that concurrent first searches read and wrote at once, a data race
    /// ThreadSanitizer reported in `quiver_select` (scripts/sanitize.sh thread). Run alone,
    /// this test makes the first calls in its process, 64 at once: before the fix TSan
    /// reported the race in 4 of 6 runs of it (it sees only the interleavings that happen).
    /// Same answers on every thread.
    @Test func kernelsFirstCalledFromManyThreadsAtOnce() {
        let scores: [Float] = [0.5, 2, 1, 3]
        let threshold: [Float] = [1]
        let found = Shared<[[UInt32]]>([])
        let simd = Shared<Set<Int32>>([])
        let barrier = Barrier(64)  // the 64 first calls at once, not one thread after another
        onThreads(64) { _ in
            barrier.wait()
            var out = [UInt32](repeating: 0, count: 4)
            let n = quiver_select(scores, 4, 1, nil, threshold, &out)
            let available = quiver_compact_simd_available()
            found.withLock { $0.append(Array(out[0..<n])) }
            simd.withLock { _ = $0.insert(available) }
        }
        #expect(found.withLock { $0 } == [[UInt32]](repeating: [1, 2, 3], count: 64))
        #expect(simd.withLock { $0.count } == 1)
    }

    /// A pthread barrier: `wait` returns once `count` threads wait.
    private final class Barrier: @unchecked Sendable {
        private var barrier = pthread_barrier_t()
        init(_ count: Int) { pthread_barrier_init(&barrier, nil, UInt32(count)) }
        deinit { pthread_barrier_destroy(&barrier) }
        func wait() { pthread_barrier_wait(&barrier) }
    }

    /// Readers on many threads search while one writer commits batches; each search sees
    /// one committed snapshot (whole batches only, consistent with its own count).
    @Test func readersSeeCommittedSnapshotsWhileAWriterIngests() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try Store(path: dir.path)
        let c = try await store.createCollection("c", dimension: 8, metric: .dot)
        let batch = 100
        let batches = 60
        let done = Flag()
        // Batch i: records all carrying metadata batch=i, vector with component 0 = i.
        let writer = Task.detached {
            for i in 0..<batches {
                try c.upsert(
                    (0..<batch).map { j in
                        Record(
                            id: "b\(i)-\(j)", vector: [Float(i)] + [Float](repeating: Float(j % 3), count: 7),
                            metadata: ["batch": .int(Int64(i))])
                    })
            }
            done.set()
        }
        try await withThrowingTaskGroup(of: Int.self) { group in
            for t in 0..<4 {
                group.addTask {
                    var observations = 0
                    while !done.isSet || observations < 5 {
                        // The best hit for e0 is from the newest committed batch, and that
                        // batch is complete in the same snapshot.
                        let hits = try blocking { try c.searchExplained(batch: [[1, 0, 0, 0, 0, 0, 0, 0]], k: batch, filter: nil) }.hits
                        if let top = hits[0].first, case .int(let newest)? = top.metadata["batch"] {
                            #expect(hits[0].count == batch)
                            #expect(hits[0].allSatisfy { $0.metadata["batch"] == .int(newest) }, "thread \(t) saw a partial batch")
                        }
                        let n = try await c.count()
                        #expect(n % batch == 0)
                        observations += 1
                    }
                    return observations
                }
            }
            for try await n in group { #expect(n >= 5) }
        }
        try await writer.value
        #expect(try await c.count() == batch * batches)
        #expect(try await store.check().isHealthy)
    }

    /// Synchronous calls from inside tasks on the cooperative pool, more tasks than
    /// threads, do not deadlock.
    @Test func synchronousCallsFromManyTasks() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try Store(path: dir.path)
        let c = try await store.createCollection("c", dimension: 4, metric: .cosine)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for t in 0..<16 {
                group.addTask {
                    // `blocking` forces the synchronous overloads inside the task.
                    try blocking { try c.upsert([Record(id: "t\(t)", vector: [1, Float(t), 0, 1])]) }
                    _ = try blocking { try c.search([1, 1, 1, 1], k: 3) }
                    _ = try await c.search([1, 1, 1, 1], k: 3)
                }
            }
            try await group.waitForAll()
        }
        #expect(try await c.count() == 16)
    }
}
