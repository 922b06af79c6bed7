import Foundation
import QuiverCore
import Synchronization
import Testing

/// `PosixMutex` excludes, releases on throw, and orders a hand-over between threads (the
/// last is what ThreadSanitizer checks when `scripts/sanitize.sh thread` runs this).
@Suite struct PosixMutexTests {
    /// A worker with plain mutable state, as a pool hands one out.
    private final class Worker: @unchecked Sendable {
        var scratch: [Int] = []
        var uses = 0
    }

    @Test func incrementsFromManyThreadsAllCount() async {
        let counter = PosixMutex(0)
        await Self.onThreads(8) { _ in
            for _ in 0..<10_000 { counter.withLock { $0 += 1 } }
        }
        #expect(counter.withLock { $0 } == 80_000)
    }

    @Test func aThrowingBodyReleasesTheLockAndKeepsItsChanges() {
        struct Stop: Error {}
        let value = PosixMutex([1])
        #expect(throws: Stop.self) {
            try value.withLock { v in
                v.append(2)
                throw Stop()
            }
        }
        #expect(value.withLock { $0 } == [1, 2])
    }

    @Test func workersHandedBetweenThreadsThroughAPoolKeepTheirState() async {
        let pool = PosixMutex<[Worker]>((0..<2).map { _ in Worker() })
        let rounds = 2_000
        let mismatches = PosixMutex(0)
        await Self.onThreads(6) { t in
            for round in 0..<rounds {
                let worker = pool.withLock { $0.popLast() } ?? Worker()
                // Unlocked use of the worker's memory, as TextAnalyzer's stemmer caches are.
                worker.scratch.removeAll(keepingCapacity: true)
                worker.scratch.append(contentsOf: [t, round, t &+ round])
                if worker.scratch != [t, round, t &+ round] { mismatches.withLock { $0 += 1 } }
                worker.uses += 1
                pool.withLock { $0.append(worker) }
            }
        }
        let uses = pool.withLock { idle in idle.reduce(0) { $0 + $1.uses } }
        #expect(uses == 6 * rounds)
        #expect(mismatches.withLock { $0 } == 0)
    }

    /// Runs `body` on `count` threads of its own and returns when all have finished.
    private static func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) async {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            let remaining = Atomic(count)
            for t in 0..<count {
                Thread {
                    body(t)
                    if remaining.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 { done.resume() }
                }.start()
            }
        }
    }
}
