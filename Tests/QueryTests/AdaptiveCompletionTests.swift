import Foundation
import Testing
import TestSupport

@testable import Query

/// How many completions a batch runs at once: the model's preference by default, and
/// fewer while its server answers 429.
@Suite struct AdaptiveCompletionTests {
    static let quickRetries = RetryPolicy(maxAttempts: 6, baseDelay: .milliseconds(5), maxDelay: .milliseconds(20))

    func llm(_ server: LoopbackServer, policy: RetryPolicy = RetryPolicy(maxAttempts: 1)) throws -> OpenAIChat {
        try OpenAIChat(model: "m", baseURL: server.baseURL + "/v1", caller: ResilientCaller(client: HTTPClient(), policy: policy))
    }

    /// By default a batch runs as many completions at once as the model prefers (128 for an
    /// OpenAI-compatible server, the transport's connection limit per host; 4 for Ollama; 8
    /// for extractive answers); an explicit number wins. 160 questions reach past the old
    /// 64 at the server, and never past 128.
    @Test func theDefaultIsTheModelsPreference() async throws {
        let corpus = try await Corpus()
        // Long enough that 65 requests reach the server before the first answers, even on a
        // loaded machine (with 300 ms a parallel run of the whole suite saw 60 in flight).
        let server = try LoopbackServer(["--latency-ms", "\(Int(1200 * testTimeScale))"])
        let openAI = try llm(server)
        let ollama = try OllamaChat(model: "m", host: server.baseURL)
        let retriever = try corpus.retriever()
        #expect(openAI.preferredConcurrency == 128 && ollama.preferredConcurrency == 4)
        #expect(QueryEngine(retriever: retriever, model: openAI).concurrency == 128)
        #expect(QueryEngine(retriever: retriever, model: ollama).concurrency == 4)
        #expect(QueryEngine(retriever: retriever).concurrency == 8)
        #expect(QueryEngine(retriever: retriever, model: openAI, concurrency: 3).concurrency == 3)
        #expect(ToolAnswerer(model: openAI).concurrency == 128 && ToolAnswerer(model: ollama).concurrency == 4)

        let results = await QueryEngine(retriever: retriever, model: openAI).answer(batch: (0..<160).map { "Question \($0) on keepers?" })
        #expect(results.allSatisfy { (try? $0.get()) != nil })
        let inFlight = try server.stats()["max_in_flight"] ?? 0
        #expect(inFlight > 64 && inFlight <= 128, "\(inFlight) completions in flight")
    }

    /// The gate follows the model's caller: three quick 429s halve it once, and as many
    /// successes as the limit raise it by one.
    @Test func aCompletionGateFollowsTheServersRateLimits() throws {
        let server = try LoopbackServer()
        let model = try llm(server, policy: Self.quickRetries)
        let gate = model.completionGate(maximum: 16)
        defer { gate.stop() }
        #expect(gate.limit == 16)
        try server.control(#"{"faults": [\#(Array(repeating: #"{"status": 429, "retry_after": "0"}"#, count: 3).joined(separator: ","))]}"#)
        _ = try model.complete([.user("x")])
        #expect(gate.limit == 8)
        for _ in 0..<8 { _ = try model.complete([.user("x")]) }
        #expect(gate.limit == 9)
    }

    /// A lowered gate holds both forms of a batch below their fixed limit: from 2, the
    /// limit climbs by one per that many successes, so 20 requests never have more than 6
    /// in flight where 8 were allowed.
    @Test func aLoweredGateHoldsTheBatchBelowItsLimit() async throws {
        let server = try LoopbackServer(["--latency-ms", "80"])
        let model = try llm(server, policy: Self.quickRetries)
        for sync in [false, true] {
            let gate = model.completionGate(maximum: 8)
            defer { gate.stop() }
            let faults = Array(repeating: #"{"status": 429, "retry_after": "0"}"#, count: 2).joined(separator: ",")
            try server.control(#"{"faults": [\#(faults)]}"#)
            _ = try await model.complete([.user("x")])  // 8 → 4
            try await Task.sleep(for: .milliseconds(600))  // past the decrease interval
            try server.control(#"{"faults": [\#(faults)]}"#)
            _ = try await model.complete([.user("x")])  // 4 → 2
            #expect(gate.limit == 2)
            try server.reset()
            let results: [Result<Completion, Error>]
            if sync {
                results = blocking { Concurrently.map(20, limit: 8, gate: gate) { i in try model.complete([.user("p\(i)")]) } }
            } else {
                results = await Concurrently.map(20, limit: 8, gate: gate) { i in try await model.complete([.user("p\(i)")]) }
            }
            #expect(results.allSatisfy { (try? $0.get()) != nil })
            let inFlight = try server.stats()["max_in_flight"] ?? 0
            #expect(inFlight >= 2 && inFlight <= 6, "sync \(sync): \(inFlight) in flight")
        }
    }

    /// A rate-limited batch of answers slows down instead of failing: twelve 429s spread
    /// over it, every answer arrives.
    @Test func aRateLimitedBatchOfAnswersCompletes() async throws {
        let corpus = try await Corpus()
        let server = try LoopbackServer(["--latency-ms", "20"])
        let engine = QueryEngine(retriever: try corpus.retriever(), model: try llm(server, policy: Self.quickRetries), concurrency: 16)
        let faults = Array(repeating: #"{"status": 429, "retry_after": "0"}"#, count: 12).joined(separator: ",")
        try server.control(#"{"faults": [\#(faults)]}"#)
        let questions = (0..<40).map { "Question \($0) about fog signals?" }
        let asyncResults = await engine.answer(batch: questions)
        #expect(asyncResults.allSatisfy { (try? $0.get()) != nil })
        try server.control(#"{"faults": [\#(faults)]}"#)
        let syncResults = blocking { engine.answer(batch: questions) }
        #expect(syncResults.allSatisfy { (try? $0.get()) != nil })
    }
}
