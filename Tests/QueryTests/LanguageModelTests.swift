import Foundation
import Query
import Testing
import TestSupport

/// The OpenAI-compatible and Ollama chat clients against the loopback server.
@Suite struct LanguageModelTests {
    enum Provider: CaseIterable { case openai, ollama }

    func client(_ provider: Provider, _ server: LoopbackServer, apiKey: String? = nil) throws -> any LanguageModel {
        let caller = ResilientCaller(client: HTTPClient(), policy: RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(10)))
        switch provider {
        case .openai: return try OpenAIChat(model: "m", baseURL: server.baseURL + "/v1", apiKey: apiKey.map(Secret.init), caller: caller)
        case .ollama: return try OllamaChat(model: "m", host: server.baseURL, caller: caller)
        }
    }

    func lastChat(_ server: LoopbackServer) throws -> [String: Any] {
        let response = try HTTPClient().send(HTTPRequest(url: server.baseURL + "/last_chat"))
        return try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any] ?? [:]
    }

    @Test(arguments: Provider.allCases)
    func completesWithUsageAndSendsOptions(_ provider: Provider) async throws {
        let server = try LoopbackServer()
        let llm = try client(provider, server)
        let options = CompletionOptions(temperature: 0.25, maxTokens: 50, stop: ["\n\n"], seed: 7)
        let done = try await llm.complete([.system("Be brief."), .user("Question: what is a lens?")], options: options)
        #expect(done.text == "You asked: what is a lens?. See [1].")
        #expect(done.finishReason == "stop")
        #expect(done.usage == TokenUsage(promptTokens: 7, completionTokens: 8))
        let sent = try lastChat(server)
        let messages = sent["messages"] as? [[String: String]]
        #expect(messages?.map { $0["role"] ?? "" } == ["system", "user"])
        #expect(sent["stream"] as? Bool == false)
        let settings = provider == .openai ? sent : (sent["options"] as? [String: Any] ?? [:])
        #expect(settings["temperature"] as? Double == 0.25)
        #expect(settings[provider == .openai ? "max_tokens" : "num_predict"] as? Int == 50)
        #expect(settings["stop"] as? [String] == ["\n\n"])
        #expect(settings["seed"] as? Int == 7)
    }

    /// An Azure-style base URL once became `/v1?api-version=…/chat/completions`, a 404.
    @Test(arguments: Provider.allCases)
    func aBaseURLsQueryStaysTheQuery(_ provider: Provider) async throws {
        let server = try LoopbackServer()
        let caller = ResilientCaller(client: HTTPClient(), policy: RetryPolicy(maxAttempts: 1))
        let llm: any LanguageModel =
            provider == .openai
            ? try OpenAIChat(model: "m", baseURL: server.baseURL + "/v1?api-version=2024-01-01", caller: caller)
            : try OllamaChat(model: "m", host: server.baseURL + "/?api-version=2024-01-01", caller: caller)
        let done = try await llm.complete([.user("Question: hello?")], options: CompletionOptions())
        #expect(done.text == "You asked: hello?. See [1].")
        let seen = try server.lastRequest()
        #expect(seen.path == (provider == .openai ? "/v1/chat/completions" : "/api/chat"))
        #expect(seen.query == "api-version=2024-01-01")
    }

    @Test(arguments: Provider.allCases)
    func streamedDeltasConcatenateToTheFullAnswer(_ provider: Provider) async throws {
        let server = try LoopbackServer()
        try server.control(#"{"chat_reply": "Der Leuchtturm 灯台 steht seit 1810 auf dem Riff 🌊 [2].", "stream_delay_ms": 2}"#)
        let llm = try client(provider, server)
        let whole = try await llm.complete([.user("q")])
        var deltas: [CompletionDelta] = []
        for try await d in llm.stream([.user("q")], options: CompletionOptions()) { deltas.append(d) }
        #expect(deltas.count > 5)
        #expect(deltas.map(\.text).joined() == whole.text)
        #expect(whole.text == "Der Leuchtturm 灯台 steht seit 1810 auf dem Riff 🌊 [2].")
        #expect(deltas.last?.finishReason == "stop")
        #expect(deltas.last?.usage == whole.usage)
        #expect(deltas.dropLast().allSatisfy { $0.finishReason == nil })
        if provider == .openai { #expect(try lastChat(server)["stream_options"] as? [String: Bool] == ["include_usage": true]) }
    }

    @Test(arguments: Provider.allCases)
    func maxTokensEndsWithLength(_ provider: Provider) async throws {
        let server = try LoopbackServer()
        let llm = try client(provider, server)
        let cut = try await llm.complete([.user("one two three four five")], options: CompletionOptions(maxTokens: 2))
        #expect(cut.text == "You asked: ")
        #expect(cut.finishReason == "length")
        let streamed = try await llm.collect([.user("one two three")], options: CompletionOptions(maxTokens: 3))
        #expect(streamed.text == "You asked: one ")
        #expect(streamed.finishReason == "length")
    }

    @Test(arguments: Provider.allCases)
    func retriesServerErrorsThenAnswers(_ provider: Provider) async throws {
        let server = try LoopbackServer()
        try server.control(#"{"faults": [{"status": 503}, {"status": 429, "retry_after": "0"}]}"#)
        let llm = try client(provider, server)
        #expect(try await llm.complete([.user("hello")]).text.hasPrefix("You asked: hello"))
        try server.control(#"{"faults": [{"status": 500}]}"#)
        let streamed = try await llm.collect([.user("again")])
        #expect(streamed.text.hasPrefix("You asked: again"))
        #expect(try server.stats()["requests"] == 5)
    }

    @Test(arguments: Provider.allCases)
    func badResponsesGiveClearErrors(_ provider: Provider) async throws {
        let server = try LoopbackServer()
        let llm = try client(provider, server)
        // A client error is not retried and carries the server's message.
        try server.control(#"{"faults": [{"status": 400}]}"#)
        let status = await #expect(throws: HTTPError.self) { try await llm.complete([.user("x")]) }
        #expect(status?.status == 400)
        #expect(status?.message.contains("injected 400") == true)
        // A body that is not JSON.
        try server.control(#"{"faults": [{"malformed": true}]}"#)
        let malformed = await #expect(throws: QueryError.self) { try await llm.complete([.user("x")]) }
        #expect(malformed?.code == .badResponse)
        #expect(malformed?.input == llm.name && malformed?.expected == "a JSON object")
        // A bad event in the middle of a stream.
        try server.control(#"{"faults": [{"malformed": true}]}"#)
        let event = await #expect(throws: QueryError.self) { try await llm.collect([.user("a b c d e f")]) }
        #expect(event?.code == .badResponse)
        #expect(event?.input == llm.name && event?.expected == "a JSON stream line")
        // An error object in the middle of a stream.
        try server.control(#"{"faults": [{"error_event": true}]}"#)
        let mid = await #expect(throws: QueryError.self) { try await llm.collect([.user("a b c d e f")]) }
        #expect(mid?.code == .badResponse && mid?.expected == "an answer")
        #expect(mid?.message.contains("injected mid-stream error") == true)  // the server's own words are passed on
        // A stream cut off half-way.
        try server.control(#"{"faults": [{"truncate": true}]}"#)
        var received = ""
        let truncated = await #expect(throws: QueryError.self) {
            for try await d in llm.stream([.user("a b c d e f g h")], options: CompletionOptions()) { received += d.text }
        }
        #expect(truncated?.code == .truncatedStream)
        #expect(!received.isEmpty)
        #expect(received.count < "You asked: a b c d e f g h. See [1].".count)
        // And the client still works afterwards.
        #expect(try await llm.collect([.user("fine")]).text.hasPrefix("You asked: fine"))
    }

    @Test(arguments: Provider.allCases)
    func timeoutEndsASlowCompletion(_ provider: Provider) async throws {
        let server = try LoopbackServer(["--latency-ms", "20000"])
        let llm = try client(provider, server)
        let options = CompletionOptions(timeout: .milliseconds(300))
        let error = await #expect(throws: HTTPError.self) { try await llm.complete([.user("x")], options: options) }
        #expect(error?.code == .timeout)
        let sync = #expect(throws: HTTPError.self) { try blocking { try llm.complete([.user("x")], options: options) } }
        #expect(sync?.code == .timeout)
        // A stream that stalls after its first piece. (On a starved cooperative pool the
        // stream's task may start after the deadline: a timeout error then, not a cut stream.)
        try server.control(#"{"latency_ms": 0, "stream_delay_ms": 20000}"#)
        do {
            _ = try await llm.collect([.user("a b c")], options: options)
            Issue.record("a stalled stream finished")
        } catch let e as QuiverError {
            // A cut stream (no URL: the answer layer's error) or the transport's timeout.
            #expect(e.code == (e.url == nil ? .truncatedStream : .timeout), "\(e)")
        }
    }

    @Test func apiKeyNeverAppearsInErrors() async throws {
        let server = try LoopbackServer(["--api-key", "sk-right-key-123456"])
        let llm = try client(.openai, server, apiKey: "sk-wrong-key-987654")
        let error = await #expect(throws: HTTPError.self) { try await llm.complete([.user("x")]) }
        #expect(error?.status == 401)
        #expect(!"\(String(describing: error))".contains("sk-wrong-key-987654"))
        let good = try client(.openai, server, apiKey: "sk-right-key-123456")
        #expect(try await good.complete([.user("x")]).text.hasPrefix("You asked"))
    }

    @Test func syncCompletionFromManyThreads() throws {
        let server = try LoopbackServer()
        let llm = try client(.openai, server)
        let texts = Shared([Int: String]())
        onThreads(6) { i in
            let text = (try? llm.complete([.user("question \(i)")]).text) ?? "failed"
            texts.withLock { $0[i] = text }
        }
        for i in 0..<6 { #expect(texts.withLock { $0[i] } == "You asked: question \(i). See [1].") }
    }

    @Test func unreachableServerFailsWithTransportError() async throws {
        let llm = try OllamaChat(
            model: "m", host: "http://127.0.0.1:9",
            caller: ResilientCaller(client: HTTPClient(), policy: RetryPolicy(maxAttempts: 2, baseDelay: .milliseconds(5))))
        let error = await #expect(throws: HTTPError.self) { try await llm.collect([.user("x")]) }
        #expect(error?.code == .transport)
        #expect(error?.url?.contains("127.0.0.1:9") == true)
    }
}
