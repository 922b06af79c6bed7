import Dispatch
import Foundation
import Query
import Synchronization
import Testing
import TestSupport

/// The bridge for synchronous callers does not depend on libdispatch's default-QoS pool,
/// which the cooperative executor shares on Linux and which grows by about one thread a
/// second while its threads are blocked.
@Suite struct BlockingExecutorTests {
    @Test(.enabled(if: runsIsolatedTests, "runs in a process of its own (scripts/test.sh)"))
    func waitRunsWhileDispatchsDefaultPoolIsBlocked() async throws {
        let outcome = try await BlockingExecutor.onNewThread { () throws -> (Int, Int) in
            // 40 jobs that block the default pool's threads (and queue behind them) until
            // released, or give up after 30 s: the old executor needed about a second per
            // blocked job before a thread ran its work.
            let release = DispatchSemaphore(value: 0)
            let gaveUp = Atomic<Int>(0)
            let jobs = 40
            let finished = DispatchGroup()
            for _ in 0..<jobs {
                DispatchQueue.global().async(group: finished) {
                    if release.wait(timeout: .now() + 30) == .timedOut { gaveUp.add(1, ordering: .relaxed) }
                }
            }
            let value = try BlockingExecutor.wait { 42 }
            let early = gaveUp.load(ordering: .relaxed)
            for _ in 0..<jobs { release.signal() }
            finished.wait()
            return (value, early)
        }
        #expect(outcome.0 == 42)
        #expect(outcome.1 == 0, "the wait finished only after blocked jobs gave up")
    }

    /// Nor on its overcommit pool, which serial queues use: it stops adding threads at a
    /// cap (300 blocked serial queues here starve the next one for as long as they block),
    /// and the async forms and synchronous waits run on Quiver's own threads instead. Before,
    /// they ran on serial queues and waited here until the blocked jobs gave up.
    @Test(.enabled(if: runsIsolatedTests, "runs in a process of its own (scripts/test.sh)"))
    func asyncFormsRunWhileDispatchsOvercommitPoolIsExhausted() async throws {
        let outcome = try await BlockingExecutor.onNewThread { () throws -> (Int, Int, Int) in
            let release = DispatchSemaphore(value: 0)
            let gaveUp = Atomic<Int>(0)
            let jobs = 300
            let finished = DispatchGroup()
            for i in 0..<jobs {
                DispatchQueue(label: "blocked-\(i)").async(group: finished) {
                    if release.wait(timeout: .now() + 30) == .timedOut { gaveUp.add(1, ordering: .relaxed) }
                }
            }
            let waited = try BlockingExecutor.wait { 42 }
            let ran = Shared(0)
            let done = DispatchSemaphore(value: 0)
            Task {
                let v = await BlockingExecutor.shared.run { 43 }
                ran.withLock { $0 = v }
                done.signal()
            }
            done.wait()
            let early = gaveUp.load(ordering: .relaxed)
            for _ in 0..<jobs { release.signal() }
            finished.wait()
            return (waited, ran.withLock { $0 }, early)
        }
        #expect(outcome.0 == 42 && outcome.1 == 43)
        #expect(outcome.2 == 0, "the work ran only after blocked jobs gave up")
    }
}
