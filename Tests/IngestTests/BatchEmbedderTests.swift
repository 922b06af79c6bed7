import Foundation
import Synchronization
import TestSupport
import Testing

@testable import Ingest

@Suite struct BatchEmbedderTests {
    func openAI(_ server: LoopbackServer) throws -> OpenAIEmbedder {
        try OpenAIEmbedder(
            model: "m", dimension: 8, baseURL: server.baseURL + "/v1",
            caller: ResilientCaller(
                client: HTTPClient(), policy: RetryPolicy(maxAttempts: 6, baseDelay: .milliseconds(5), maxDelay: .milliseconds(20))))
    }

    @Test func concurrentBatchesKeepInputOrderAndRespectTheLimit() async throws {
        let server = try LoopbackServer(["--latency-ms", "100"])
        let e = try openAI(server)
        let texts = (0..<500).map { "text \($0)" }
        let direct = try blocking { try e.embed(texts) }
        try server.reset()
        let batcher = BatchEmbedder(e, batchSize: 10, concurrency: 8)
        let result = await batcher.embed(texts)
        #expect(result.failures.isEmpty)
        #expect(try result.get() == direct)
        let stats = try server.stats()
        #expect(stats["requests"] == 50)
        #expect(stats["max_in_flight"] == 8)  // reaches the limit, never more
        // The synchronous form, on Quiver-owned threads, gives the same.
        try server.reset()
        let sync = try blocking { try batcher.embed(texts).get() }
        #expect(sync == direct)
        #expect(try server.stats()["max_in_flight"] == 8)
    }

    @Test func aFailedBatchIsReportedAndTheOthersAreKept() async throws {
        let server = try LoopbackServer()
        let e = try openAI(server)
        try server.control(#"{"faults": [{"status": 401}]}"#)
        let result = await BatchEmbedder(e, batchSize: 10, concurrency: 1).embed((0..<50).map { "t\($0)" })
        #expect(result.failures.count == 1)
        let failed = try #require(result.failures.first)
        #expect(failed.inputs == 0..<10)
        #expect(failed.message.contains("HTTP 401"))
        #expect(result.vectors[0..<10].allSatisfy { $0 == nil })
        #expect(result.vectors[10...].allSatisfy { $0?.count == 8 })
        #expect(throws: BatchFailure.self) { try result.get() }
    }

    @Test func rateLimitingHalvesTheLimitAndSuccessRaisesItAgain() throws {
        let server = try LoopbackServer()
        let e = try openAI(server)
        let control = BatchEmbedder(e, concurrency: 16).gate()
        defer { control.stop() }
        #expect(control.limit == 16)
        try server.control(
            #"{"faults": [{"status": 429, "retry_after": "0"}, {"status": 429, "retry_after": "0"}, {"status": 429, "retry_after": "0"}]}"#)
        _ = try e.embed(["x"])  // three 429s in quick succession (one decrease), then success
        #expect(control.limit == 8)
        for _ in 0..<8 { _ = try e.embed(["x"]) }
        #expect(control.limit == 9)  // +1 after 8 successes
    }

    @Test func aRateLimitedRunSlowsDownInsteadOfFailing() async throws {
        let server = try LoopbackServer(["--latency-ms", "20"])
        let e = try openAI(server)
        let faults = Array(repeating: #"{"status": 429, "retry_after": "0"}"#, count: 12).joined(separator: ",")
        try server.control(#"{"faults": [\#(faults)]}"#)
        let result = await BatchEmbedder(e, batchSize: 5, concurrency: 8).embed((0..<200).map { "t\($0)" })
        #expect(result.failures.isEmpty)
        #expect(result.vectors.allSatisfy { $0 != nil })
    }
}
