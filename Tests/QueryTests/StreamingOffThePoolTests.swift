import Foundation
import Query
import Testing
import TestSupport

/// A streamed answer consumed inside `BlockingExecutor.wait` (the synchronous forms'
/// bridge) while every cooperative thread is blocked: the stream's own tasks must run on
/// Quiver's executor, or nothing can run them (this deadlocked before the stream tasks
/// took `BlockingExecutor.current` as their executor preference).
@Suite struct StreamingOffThePoolTests {
    @Test(.enabled(if: runsIsolatedTests, "runs in a process of its own (scripts/test.sh)"))
    func streamsInsideBlockingWaitsFromEveryPoolThread() async throws {
        let server = try LoopbackServer()
        let model = try OpenAIChat(model: "m", baseURL: server.baseURL + "/v1")
        let texts = Shared<[String]>([])
        try await withWatchdog(seconds: 120, "streams inside blocking waits") {
            await withTaskGroup(of: Void.self) { group in
                // More blocking waits than the pool (2 threads here) has threads.
                for i in 0..<4 {
                    group.addTask {
                        let text = try? BlockingExecutor.wait { try await model.collect([.user("stream \(i)")]).text }
                        texts.withLock { $0.append(text ?? "failed") }
                    }
                }
            }
        }
        #expect(texts.withLock { $0.sorted() } == (0..<4).map { "You asked: stream \($0). See [1]." })
    }
}
