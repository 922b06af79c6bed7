import Dispatch
import Foundation
import Query
import Testing
import TestSupport

/// The tool-calling answer loop against the loopback server's scripted tool calls.
@Suite struct ToolAnswererTests {
    enum Provider: CaseIterable { case openai, ollama }

    func llm(_ server: LoopbackServer, _ provider: Provider = .openai) throws -> any LanguageModel {
        let caller = ResilientCaller(client: HTTPClient(), policy: RetryPolicy(maxAttempts: 1))
        switch provider {
        case .openai: return try OpenAIChat(model: "m", baseURL: server.baseURL + "/v1", caller: caller)
        case .ollama: return try OllamaChat(model: "m", host: server.baseURL, caller: caller)
        }
    }

    func plan(_ server: LoopbackServer, _ json: String, forever: Bool = false) throws {
        try server.control(#"{"tool_plan": \#(json), "tool_plan_forever": \#(forever)}"#)
    }

    @Test(arguments: Provider.allCases, [false, true])
    func searchesThenAnswersWithNumberedCitations(_ provider: Provider, _ streaming: Bool) async throws {
        let corpus = try await Corpus()
        let server = try LoopbackServer()
        try plan(server, #"[[{"name": "search_documents", "arguments": {"query": "{question}", "k": 2}}]]"#)
        let answerer = ToolAnswerer(model: try llm(server, provider), retriever: try corpus.retriever(), streaming: streaming)
        let answer = try await answerer.answer("Who invented the stepped lens for lighthouses?")
        #expect(answer.steps.count == 2)
        #expect(answer.steps[0].calls.map(\.call.name) == ["search_documents"])
        #expect(answer.sources.count == 2)
        #expect(answer.sources.map(\.number) == [1, 2])
        #expect(answer.sources.first?.document == "fresnel.md")
        // The model read the numbered passages (the scripted answer repeats the tool's result).
        #expect(answer.text.hasPrefix("Tools said: [1] data/fresnel.md"))
        #expect(answer.citations.map(\.number) == [1, 2])
        #expect(answer.toolCalls.first?.error == nil)
        let plain = try await corpus.retriever(RetrievalOptions(k: 2)).retrieve("Who invented the stepped lens for lighthouses?")
        #expect(answer.sources.map(\.id) == plain.map(\.id))
        // Usage is the sum of the steps'.
        let steps = answer.steps.compactMap(\.usage)
        #expect(steps.count == 2)
        #expect(answer.usage.totalTokens == steps.map(\.totalTokens).reduce(0, +))
        // The synchronous form gives the same answer.
        let sync = try blocking { try answerer.answer("Who invented the stepped lens for lighthouses?") }
        #expect(sync.text == answer.text)
    }

    /// One reply with several calls: they run at once (two tools that each wait for the
    /// other finish only if they overlap), results go back in the reply's order, and the
    /// passages of both searches are numbered once across the answer.
    @Test func parallelCallsRunConcurrentlyAndNumberSourcesAcrossSearches() async throws {
        let corpus = try await Corpus()
        let server = try LoopbackServer()
        try plan(
            server,
            #"""
            [[{"name": "search_documents", "arguments": {"query": "Fresnel lens", "k": 1}},
              {"name": "meet", "arguments": {"who": "a"}}, {"name": "meet", "arguments": {"who": "b"}}],
             [{"name": "search_documents", "arguments": {"query": "Fresnel lens beam", "k": 3, "filter": {"doc": ["fresnel.md", "fog.txt"]}}}]]
            """#)
        let arrived = DispatchSemaphore(value: 0)
        let meet = Tool(name: "meet", description: "Waits for the other call") { arguments in
            arrived.signal()
            // Both calls signal once; each waits for one signal of the other's (or its own
            // when the other already passed). A sequential run would time out.
            let met = arrived.wait(timeout: .now() + 60) == .success
            arrived.signal()
            return met ? "met \(arguments["who"]?.stringValue ?? "?")" : "alone"
        }
        let answerer = ToolAnswerer(model: try llm(server), retriever: try corpus.retriever(), tools: [meet])
        let answer = try await answerer.answer("Tell me about lenses")
        #expect(answer.steps.count == 3)
        let first = answer.steps[0].calls
        #expect(first.map(\.call.name) == ["search_documents", "meet", "meet"])
        #expect(first[1].output == "met a" && first[2].output == "met b")
        // The second search (filtered to two documents) found the passage the first had,
        // which keeps its number, and a new one, numbered next.
        #expect(answer.sources.map(\.document) == ["fresnel.md", "fog.txt"])
        #expect(answer.sources.map(\.number) == [1, 2])
        let second = answer.steps[1].calls[0].output
        #expect(second.hasPrefix("[1] data/fresnel.md"))
        #expect(second.contains("\n\n[2] data/fog.txt"))
        // Tool results went back in the order of the calls.
        #expect(answer.text.contains("| met a | met b |"))
    }

    @Test func malformedArgumentsAndUnknownToolsAreReportedToTheModel() async throws {
        let corpus = try await Corpus()
        let server = try LoopbackServer()
        try plan(
            server,
            #"[[{"name": "search_documents", "arguments": "{\"query\": \"lens"}, {"name": "teleport", "arguments": {}}, {"name": "search_documents", "arguments": {"k": 2}}]]"#
        )
        let answerer = ToolAnswerer(model: try llm(server), retriever: try corpus.retriever())
        let answer = try await answerer.answer("q")
        let calls = answer.steps[0].calls
        #expect(calls.map { $0.error?.code } == [.invalidArgument, .invalidArgument, .invalidArgument])
        #expect(calls[0].output.contains("not a valid JSON object"))
        #expect(calls[1].output.contains(#"no tool named "teleport""#) && calls[1].output.contains("search_documents"))
        #expect(calls[1].error?.input == "teleport")
        #expect(calls[2].output.contains(#"needs a non-empty "query""#))
        // The model was told, and answered.
        #expect(answer.text.contains("not a valid JSON object"))
        #expect(answer.sources.isEmpty && answer.citations.isEmpty)
        // Policy .fail: the question fails with an error naming the tool.
        var strict = answerer
        strict.toolErrors = .fail
        let error = await #expect(throws: QueryError.self) { try await strict.answer("q") }
        #expect(error?.code == .toolFailed)
        #expect(error?.input == "search_documents")
        #expect(error?.message.contains(#"while answering "q""#) == true)
    }

    struct Broken: Error, CustomStringConvertible {
        var description: String { "the glossary is offline" }
    }

    @Test func aToolThatThrows() async throws {
        let server = try LoopbackServer()
        try plan(server, #"[[{"name": "glossary", "arguments": {"word": "lens"}}]]"#)
        let glossary = Tool(name: "glossary", description: "Looks up a word") { _ in throw Broken() }
        // The default 300 s limit, longer by the sanitizers' time scale: in the whole suite
        // under AddressSanitizer on 2 cores this one-step answer once waited that long.
        let answerer = ToolAnswerer(model: try llm(server), tools: [glossary], limits: ToolLimits(time: .seconds(300 * testTimeScale)))
        let answer = try await answerer.answer("What is a lens?")
        let record = try #require(answer.toolCalls.first)
        #expect(record.error?.code == .toolFailed)
        #expect(record.output == "Error: glossary threw: the glossary is offline")
        #expect(answer.text == "Tools said: Error: glossary threw: the glossary is offline. See [1].")
        #expect(answer.sources.isEmpty)
        var strict = answerer
        strict.toolErrors = .fail
        let error = await #expect(throws: QueryError.self) { try await strict.answer("What is a lens?") }
        #expect(error?.code == .toolFailed && error?.input == "glossary")
        // An async tool's QuiverError keeps its own code.
        let asyncTool = Tool(name: "glossary", description: "Looks up a word") { _ in
            throw QueryError(.invalidArgument, "unknown word")
        }
        let reported = try await ToolAnswerer(model: try llm(server), tools: [asyncTool]).answer("What is a lens?")
        #expect(reported.toolCalls.first?.error?.code == .invalidArgument)
        #expect(reported.toolCalls.first?.output == "Error: unknown word")
    }

    @Test func aModelThatNeverAnswersStopsAtTheLimits() async throws {
        let server = try LoopbackServer()
        try plan(server, #"[[{"name": "clock", "arguments": {}}]]"#, forever: true)
        let clock = Tool(name: "clock", description: "The time") { _ in "12:00" }
        let answerer = ToolAnswerer(
            model: try llm(server), tools: [clock], limits: ToolLimits(steps: 3, time: .seconds(300 * testTimeScale)))
        let steps = await #expect(throws: QueryError.self) { try await answerer.answer("What time is it?") }
        #expect(steps?.code == .limitExceeded)
        #expect(steps?.input == "steps" && steps?.expected == "3" && steps?.actual == "3")
        #expect(steps?.message.contains(#""What time is it?""#) == true)
        #expect(try server.stats()["requests"] == 3)
        // Tokens: the first step already used more than the limit.
        let tokens = await #expect(throws: QueryError.self) {
            try await ToolAnswerer(model: try llm(server), tools: [clock], limits: ToolLimits(tokens: 1)).answer("What time is it?")
        }
        #expect(tokens?.code == .limitExceeded && tokens?.input == "tokens" && tokens?.expected == "1")
        // Time: a completion slower than the whole answer's limit.
        try server.control(#"{"chat_latency_ms": 20000}"#)
        let time = await #expect(throws: QueryError.self) {
            try await ToolAnswerer(model: try llm(server), tools: [clock], limits: ToolLimits(time: .milliseconds(300))).answer("q")
        }
        #expect(time?.code == .limitExceeded && time?.input == "time")
    }

    @Test func batchKeepsOrderAndFailsQuestionsOneByOne() async throws {
        let corpus = try await Corpus()
        let server = try LoopbackServer()
        try plan(server, #"[[{"name": "search_documents", "arguments": {"query": "{question}", "k": 1}}]]"#)
        try server.control(#"{"faults": [{"status": 400}]}"#)
        let answerer = ToolAnswerer(model: try llm(server), retriever: try corpus.retriever(), concurrency: 4)
        let questions = (0..<8).map { "Bell Rock question \($0)" }
        let results = await answerer.answer(batch: questions)
        #expect(results.count == 8)
        #expect(results.filter { (try? $0.get()) == nil }.count == 1)
        for (q, r) in zip(questions, results) {
            if let a = try? r.get() {
                #expect(a.question == q)
            } else {
                #expect(throws: HTTPError.self) { try r.get() }
            }
        }
        let sync = blocking { answerer.answer(batch: Array(questions.prefix(3))) }
        #expect(try sync.map { try $0.get().question } == Array(questions.prefix(3)))
    }

    /// A synchronous tool that runs another answer loop (a tool calling a tool).
    @Test(.enabled(if: runsIsolatedTests, "runs in a process of its own (scripts/test.sh)"))
    func aToolMayRunAnotherAnswerLoop() async throws {
        let server = try LoopbackServer()
        try plan(server, #"[[{"name": "ask", "arguments": {"question": "{question}"}}]]"#)
        let model = try llm(server)
        let inner = ToolAnswerer(model: model, tools: [Tool(name: "ask", description: "The oracle") { _ in "42" }])
        let outer = ToolAnswerer(
            model: model,
            tools: [
                Tool(name: "ask", description: "Asks another answerer") { arguments in
                    try inner.answer(arguments["question"]?.stringValue ?? "").text
                }
            ])
        let answer = try await withWatchdog(seconds: 120, "nested answer loops") { try await outer.answer("meaning of life") }
        #expect(answer.text == "Tools said: Tools said: 42. See [1].. See [1].")
    }

    /// The synchronous form runs an async tool (here one that awaits a completion and a
    /// streamed one) through Quiver's executor, from plain threads and from a cooperative
    /// thread alike.
    @Test(.enabled(if: runsIsolatedTests, "runs in a process of its own (scripts/test.sh)"))
    func asyncToolsInTheSynchronousForm() async throws {
        let server = try LoopbackServer()
        try plan(server, #"[[{"name": "echo", "arguments": {"text": "{question}"}}, {"name": "echo", "arguments": {"text": "twice"}}]]"#)
        let model = try llm(server)
        let echo = Tool(name: "echo", description: "Asks the model") { arguments in
            let text = arguments["text"]?.stringValue ?? ""
            let whole = try await model.complete([.user(text)]).text
            let streamed = try await model.collect([.user(text)]).text
            return whole == streamed ? whole : "differs"
        }
        let answerer = ToolAnswerer(model: model, tools: [echo])
        let fromPool = try await withWatchdog(seconds: 120, "async tools in a synchronous answer") {
            try blocking { try answerer.answer("ping") }
        }
        #expect(fromPool.text == "Tools said: You asked: ping. See [1]. | You asked: twice. See [1].. See [1].")
        let texts = Shared<[String]>([])
        onThreads(4) { i in
            let text = (try? answerer.answer("ping \(i)").text) ?? "failed"
            texts.withLock { $0.append(text) }
        }
        #expect(
            texts.withLock { $0.sorted() }
                == (0..<4).map { "Tools said: You asked: ping \($0). See [1]. | You asked: twice. See [1].. See [1]." })
    }

    /// 64 answers at once on the cooperative pool (2 threads on this machine), each of whose
    /// synchronous tools calls the synchronous `embed`, `search` and `complete`: no
    /// deadlock, and the server sees the requests overlap.
    @Test(.enabled(if: runsIsolatedTests, "runs in a process of its own (scripts/test.sh)"))
    func manyLoopsWhoseSynchronousToolsCallQuiverDoNotDeadlock() async throws {
        let corpus = try await Corpus()
        let server = try LoopbackServer(["--latency-ms", "20"])
        try plan(
            server,
            #"[[{"name": "lookup", "arguments": {"text": "{question}"}}, {"name": "search_documents", "arguments": {"query": "{question}", "k": 1}}]]"#
        )
        let model = try llm(server)
        let embedder = try OpenAIEmbedder(
            model: "m", dimension: 8, baseURL: server.baseURL + "/v1",
            caller: ResilientCaller(client: HTTPClient(), policy: RetryPolicy(maxAttempts: 1)))
        let collection = corpus.collection
        let lookup = Tool(name: "lookup", description: "Embeds, searches and completes") { arguments in
            let text = arguments["text"]?.stringValue ?? ""
            let vector = try embedder.embed([text])[0]
            _ = try collection.search([Float](repeating: 0.5, count: collection.dimension), k: 1)
            let said = try model.complete([.user("Question: \(text)")]).text
            return "\(vector.count) \(said)"
        }
        let answerer = ToolAnswerer(model: model, retriever: try corpus.retriever(), tools: [lookup], concurrency: 64)
        let questions = (0..<64).map { "lighthouse \($0)" }
        let results = try await withWatchdog(seconds: 120, "64 tool-calling answers") { await answerer.answer(batch: questions) }
        for (q, r) in zip(questions, results) {
            let a = try r.get()
            #expect(a.toolCalls.map(\.output).first == "8 You asked: \(q). See [1].")
            #expect(a.sources.count == 1)
        }
        // Embed, complete and two chat steps per answer: 256 requests, many at once.
        let stats = try server.stats()
        #expect(stats["requests"] == 64 * 4)
        #expect((stats["max_in_flight"] ?? 0) > 1)
        // The synchronous batch, called from a cooperative thread: it runs on threads of
        // Quiver's own.
        try server.reset()
        let sync = try await withWatchdog(seconds: 120, "64 synchronous tool-calling answers") {
            blocking { answerer.answer(batch: questions) }
        }
        #expect(try sync.map { try $0.get().question } == questions)
        #expect((try server.stats()["max_in_flight"] ?? 0) > 1)
    }
}
