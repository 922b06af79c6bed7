import Foundation
import HTTP
import Ingest
import TestSupport
import Testing
import QuiverCore

/// The OpenAI and Ollama clients against the real loopback server.
@Suite struct HTTPEmbedderTests {
    static let fast = RetryPolicy(maxAttempts: 4, baseDelay: .milliseconds(5), maxDelay: .milliseconds(20), maxTotalWait: .seconds(5))

    func openAI(
        _ server: LoopbackServer, dimension: Int = 8, maxInputs: Int = 2048, key: String? = nil, breaker: CircuitBreaker = CircuitBreaker()
    )
        throws -> OpenAIEmbedder
    {
        try OpenAIEmbedder(
            model: "test-model", dimension: dimension, baseURL: server.baseURL + "/v1", apiKey: key.map(Secret.init),
            limits: EmbedderLimits(maxInputsPerRequest: maxInputs),
            caller: ResilientCaller(client: HTTPClient(), policy: Self.fast, breaker: breaker))
    }

    @Test func openAIOrdersByIndexAndSplitsAtTheInputLimit() async throws {
        let server = try LoopbackServer()
        try server.control(#"{"shuffle": true}"#)
        let e = try openAI(server, maxInputs: 7)
        let texts = (0..<30).map { "text \($0)" }
        let vectors = try blocking { try e.embed(texts) }
        #expect(vectors.count == 30)
        // Each text's vector is the same whatever batch it traveled in (order restored).
        let single = try await e.embed(["text 17"])
        #expect(vectors[17] == single[0])
        #expect(try server.stats()["requests"] == 5 + 1)  // ceil(30 / 7) + 1
        #expect(try await e.embed(texts) == vectors)
        #expect(e.identifier.description == "openai/test-model/8")
    }

    @Test func ollamaEmbeds() async throws {
        let server = try LoopbackServer(["--dimension", "5"])
        let e = try OllamaEmbedder(
            model: "nomic", dimension: 5, host: server.baseURL.replacingOccurrences(of: "http://", with: ""),
            caller: ResilientCaller(client: HTTPClient(), policy: Self.fast))
        let v = try await e.embed(["a", "b", "c"])
        #expect(v.count == 3 && v.allSatisfy { $0.count == 5 })
        #expect(try blocking { try e.embed(["b"]) }[0] == v[1])
    }

    /// An Azure-style base URL once became `/v1?api-version=…/embeddings`, a 404.
    @Test func aBaseURLsQueryStaysTheQuery() async throws {
        let server = try LoopbackServer()
        let e = try OpenAIEmbedder(
            model: "m", dimension: 8, baseURL: server.baseURL + "/v1/?api-version=2024-01-01",
            caller: ResilientCaller(client: HTTPClient(), policy: Self.fast))
        #expect(try await e.embed(["a"]).count == 1)
        var seen = try server.lastRequest()
        #expect(seen.path == "/v1/embeddings")
        #expect(seen.query == "api-version=2024-01-01")

        let ollama = try OllamaEmbedder(
            model: "m", dimension: 8, host: server.baseURL + "?tenant=a%20b",
            caller: ResilientCaller(client: HTTPClient(), policy: Self.fast))
        #expect(try blocking { try ollama.embed(["a"]) }.count == 1)
        seen = try server.lastRequest()
        #expect(seen.path == "/api/embed")
        #expect(seen.query == "tenant=a%20b")
    }

    @Test func retriesServerErrorsAndHonoursRetryAfterButNotClientErrors() throws {
        let server = try LoopbackServer()
        let e = try openAI(server)
        try server.control(#"{"faults": [{"status": 500}, {"status": 503}, {"status": 429, "retry_after": "0"}]}"#)
        #expect(try e.embed(["x"]).count == 1)
        #expect(try server.stats()["requests"] == 4)  // three failures, then success

        try server.reset()
        try server.control(#"{"faults": [{"status": 400}]}"#)
        let bad = #expect(throws: HTTPError.self) { try e.embed(["x"]) }
        #expect(bad?.status == 400)
        #expect(bad?.attempts == 1)
        #expect(try server.stats()["requests"] == 1)

        try server.reset()
        try server.control(#"{"faults": [{"status": 500}, {"status": 500}, {"status": 500}, {"status": 500}, {"status": 500}]}"#)
        let exhausted = #expect(throws: HTTPError.self) { try e.embed(["x"]) }
        #expect(exhausted?.status == 500)
        #expect(exhausted?.attempts == 4)
        #expect(exhausted?.message == "injected 500")
    }

    @Test func wrongKeyIsRefusedWithoutRetryAndTheKeyNeverPrinted() throws {
        let server = try LoopbackServer(["--api-key", "sk-right"])
        let wrong = try openAI(server, key: "sk-wrong-123")
        let error = #expect(throws: HTTPError.self) { try wrong.embed(["x"]) }
        #expect(error?.status == 401)
        #expect(error?.description.contains("sk-wrong-123") == false)
        #expect("\(wrong)".contains("sk-wrong-123") == false)
        #expect(try server.stats()["requests"] == 1)
        #expect(try openAI(server, key: "sk-right").embed(["x"]).count == 1)
    }

    @Test func badAnswersAreClearErrors() throws {
        let server = try LoopbackServer()
        let e = try openAI(server)
        for (fault, expected, actual) in [
            ("malformed", "a JSON object", nil), ("wrong_count", "3 vectors", "2 vectors"),
            ("wrong_dimension", "\(e.dimension) components", "7 components"),
        ] {
            try server.control(#"{"faults": [{"\#(fault)": true}]}"#)
            let error = #expect(throws: IngestError.self) { try e.embed(["a", "b", "c"]) }
            #expect(error?.code == .badEmbedding)
            #expect(error?.input == e.identifier.description, "\(fault)")
            #expect(error?.expected == expected && error?.actual == actual, "\(fault): \(error?.message ?? "")")
        }
        // A server that rejects a request as too large: the batch is split and retried.
        try server.reset()
        try server.control(#"{"max_inputs": 3}"#)
        #expect(try e.embed((0..<10).map { "t\($0)" }).count == 10)
    }

    /// The benchmarks' cheap vectors (`--fast-vectors`): the same for a text whichever
    /// API and encoding carries them (OpenAI base64, Ollama JSON), different across texts,
    /// in ±[0.5, 1), and the server's faults still apply to them.
    @Test func fastVectorsAgreeAcrossEncodingsAndKeepTheFaults() throws {
        let server = try LoopbackServer(["--fast-vectors", "--dimension", "384"])
        let openAI = try openAI(server, dimension: 384)
        let ollama = try OllamaEmbedder(
            model: "m", dimension: 384, host: server.baseURL.replacingOccurrences(of: "http://", with: ""),
            caller: ResilientCaller(client: HTTPClient(), policy: Self.fast))
        let texts = ["lighthouse 1", "lighthouse 2", "é ü 灯台"]
        let a = try openAI.embed(texts)
        let b = try ollama.embed(texts)
        #expect(a == b)
        #expect(a[0] != a[1] && a[1] != a[2])
        #expect(a.joined().allSatisfy { abs($0) >= 0.5 && abs($0) < 1 })
        // Signs vary: about half of each vector's components are negative.
        #expect(a.allSatisfy { v in (100...284).contains(v.filter { $0 < 0 }.count) })

        try server.control(#"{"faults": [{"wrong_dimension": true}]}"#)
        let error = #expect(throws: IngestError.self) { try openAI.embed(texts) }
        #expect(error?.code == .badEmbedding)
        #expect(error?.expected == "384 components" && error?.actual == "383 components", "\(error?.message ?? "")")
    }

    /// The benchmarks' asyncio server (`async_server.py`, two worker processes) serves the
    /// same vectors and chat answers as the threaded one, keeps the per-request input limit,
    /// and answers requests spread over both workers.
    @Test func asyncServerAnswersAsTheThreadedOne() async throws {
        for recipe in [["--fast-vectors"], []] {
            let options = recipe + ["--dimension", "384", "--max-inputs", "4"]
            let threaded = try LoopbackServer(options)
            let async = try LoopbackServer(options + ["--workers", "2"], script: "async_server.py")
            let texts = (0..<40).map { "note \($0): é ü 灯台 \"quoted\"\n" }
            let reference = try await BatchEmbedder(try openAI(threaded, dimension: 384, maxInputs: 4), concurrency: 8).embed(texts).get()
            let served = try await BatchEmbedder(try openAI(async, dimension: 384, maxInputs: 4), concurrency: 8).embed(texts).get()
            #expect(served == reference, "\(recipe)")
            #expect(Set(served.map { $0 }).count == texts.count)
        }
        let server = try LoopbackServer(["--max-inputs", "2"], script: "async_server.py")
        let client = HTTPClient()
        let tooMany = try await client.send(
            HTTPRequest(method: "POST", url: server.baseURL + "/v1/embeddings", body: Array(#"{"input": ["a", "b", "c"]}"#.utf8)))
        #expect(tooMany.status == 400 && String(decoding: tooMany.body, as: UTF8.self).contains("too many inputs: 3 > 2"))
        let garbage = try await client.send(
            HTTPRequest(method: "POST", url: server.baseURL + "/v1/embeddings", body: Array("{not json".utf8)))
        #expect(garbage.status == 400)
        let chat = #"{"model": "m", "messages": [{"role": "user", "content": "Context: ...\nQuestion: who built it?"}]}"#
        let threaded = try LoopbackServer()
        var answers: [String] = []
        for base in [threaded.baseURL, server.baseURL] {
            let r = try await client.send(HTTPRequest(method: "POST", url: base + "/v1/chat/completions", body: Array(chat.utf8)))
            #expect(r.status == 200)
            let object = try JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Any]
            let choice = (object?["choices"] as? [[String: Any]])?.first
            answers.append(((choice?["message"] as? [String: Any])?["content"] as? String) ?? "")
        }
        #expect(answers == ["You asked: who built it?. See [1].", "You asked: who built it?. See [1]."])
    }

    @Test func circuitBreakerFailsFastAfterRepeatedFailures() throws {
        let server = try LoopbackServer()
        let e = try openAI(server, breaker: CircuitBreaker(threshold: 2, coolDown: .seconds(60)))
        try server.control(#"{"faults": [\#(Array(repeating: #"{"status": 500}"#, count: 8).joined(separator: ","))]}"#)
        #expect(throws: HTTPError.self) { try e.embed(["x"]) }
        #expect(throws: HTTPError.self) { try e.embed(["x"]) }
        let requests = try server.stats()["requests"]
        let fast = #expect(throws: HTTPError.self) { try e.embed(["x"]) }
        #expect(fast?.code == .circuitOpen)
        #expect(try server.stats()["requests"] == requests)  // nothing sent
    }

    @Test func eightThreadsCallingSyncEmbedRunConcurrently() throws {
        let server = try LoopbackServer(["--latency-ms", "300"])
        let e = try openAI(server)
        let ok = PosixMutex(0)
        onThreads(8) { i in
            if (try? e.embed(["thread \(i)"]).count) == 1 { ok.withLock { $0 += 1 } }
        }
        #expect(ok.withLock { $0 } == 8)
        #expect(try server.stats()["max_in_flight"] == 8)
    }

    @Test(.enabled(if: runsIsolatedTests, "runs in a process of its own (scripts/test.sh)"))
    func sixtyFourTasksCallingSyncEmbedOnTheCooperativePoolAllComplete() async throws {
        let server = try LoopbackServer(["--latency-ms", "20"])
        let e = try openAI(server)
        let done = try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<64 { group.addTask { try blocking { try e.embed(["task \(i)"]) }.count } }
            return try await group.reduce(0, +)
        }
        #expect(done == 64)
        #expect(try server.stats()["requests"] == 64)
    }
}
