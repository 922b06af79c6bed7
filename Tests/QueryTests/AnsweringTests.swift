import Foundation
import Query
import Testing
import TestSupport

/// Concurrent completion and answering, citations, extractive answers, hooks.
@Suite struct AnsweringTests {
    func llm(_ server: LoopbackServer) throws -> OpenAIChat {
        try OpenAIChat(
            model: "m", baseURL: server.baseURL + "/v1",
            caller: ResilientCaller(client: HTTPClient(), policy: RetryPolicy(maxAttempts: 1)))
    }

    @Test func completeAllKeepsOrderAndReachesButNeverExceedsTheLimit() async throws {
        let server = try LoopbackServer(["--latency-ms", "60"])
        let model = try llm(server)
        let prompts = (0..<24).map { [ChatMessage.user("prompt \($0)")] }
        let results = await model.completeAll(prompts, concurrency: 4)
        #expect(results.count == 24)
        for (i, r) in results.enumerated() { #expect(try r.get().text == "You asked: prompt \(i). See [1].") }
        #expect(try server.stats()["max_in_flight"] == 4)
        // The synchronous form, on Quiver's threads.
        try server.reset()
        let sync = blocking { model.completeAll(prompts, concurrency: 6) }
        for (i, r) in sync.enumerated() { #expect(try r.get().text == "You asked: prompt \(i). See [1].") }
        #expect(try server.stats()["max_in_flight"] == 6)
    }

    @Test func completeAllReportsErrorsPerPrompt() async throws {
        let server = try LoopbackServer()
        try server.control(#"{"faults": [{}, {}, {"status": 400}, {}, {"status": 404}]}"#)
        let model = try llm(server)
        let results = await model.completeAll((0..<10).map { [ChatMessage.user("p\($0)")] }, concurrency: 1)
        for (i, r) in results.enumerated() {
            switch r {
            case .success(let c):
                #expect(![2, 4].contains(i))
                #expect(c.text.contains("p\(i)."))
            case .failure(let e):
                #expect([2, 4].contains(i))
                #expect((e as? HTTPError)?.status == (i == 2 ? 400 : 404))
            }
        }
    }

    @Test func cancellingTheCallerCancelsRequestsInFlight() async throws {
        let server = try LoopbackServer(["--latency-ms", "30000"])
        let model = try llm(server)
        let task = Task { await model.completeAll((0..<12).map { [ChatMessage.user("p\($0)")] }, concurrency: 4) }
        while try server.stats()["in_flight"] ?? 0 < 4 { try await Task.sleep(for: .milliseconds(10)) }
        task.cancel()
        let results = await task.value
        #expect(results.count == 12)
        #expect(results.allSatisfy { if case .failure(let e as QueryError) = $0 { e.code == .cancelled } else { false } })
        #expect(try server.stats()["requests"] == 4)  // nothing started after the cancel
    }

    @Test func answersCiteTheRightSources() async throws {
        let corpus = try await Corpus()
        let server = try LoopbackServer()
        let engine = QueryEngine(retriever: try corpus.retriever(RetrievalOptions(k: 3)), model: try llm(server))
        let answer = try await engine.answer("Who invented the stepped lens for lighthouses?")
        #expect(answer.sources.first?.document == "fresnel.md")
        #expect(answer.sources.first?.source == "data/fresnel.md")
        #expect(answer.citations.map(\.number) == [1])
        #expect(answer.citations.first?.document == "fresnel.md")
        // The prompt numbered the sources and carried the question.
        let response = try await HTTPClient().send(HTTPRequest(url: server.baseURL + "/last_chat"))
        let sent = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
        let user = (sent?["messages"] as? [[String: String]])?.last?["content"] ?? ""
        #expect(user.contains("[1] data/fresnel.md"))
        #expect(user.contains("Question: Who invented the stepped lens for lighthouses?"))
        // Citations of other numbers map to those sources; unknown numbers are ignored.
        try server.control(#"{"chat_reply": "Stevenson [2], and more [3, 2][9] [x]."}"#)
        let second = try await engine.answer("Who invented the stepped lens for lighthouses?")
        #expect(second.citations.map(\.number) == [2, 3])
        #expect(second.citations.map(\.document) == second.sources[1...2].map(\.document))
    }

    @Test func streamedAnswerSendsSourcesThenDeltas() async throws {
        let corpus = try await Corpus()
        let server = try LoopbackServer()
        try server.control(#"{"chat_reply": "Robert Stevenson built it between 1807 and 1810 [1].", "stream_delay_ms": 1}"#)
        let engine = QueryEngine(retriever: try corpus.retriever(), model: try llm(server))
        var events: [AnswerEvent] = []
        for try await e in engine.stream("When was the Bell Rock lighthouse built?") { events.append(e) }
        guard case .sources(let sources)? = events.first, case .finished(let answer)? = events.last else {
            Issue.record("expected .sources first and .finished last, got \(events)")
            return
        }
        let text = events.compactMap { if case .delta(let t) = $0 { t } else { nil } }
        #expect(text.count > 3)
        #expect(text.joined() == answer.text)
        #expect(answer.text == "Robert Stevenson built it between 1807 and 1810 [1].")
        #expect(sources.first?.document == "bell-rock.md")
        #expect(answer.citations.first?.document == "bell-rock.md")
        #expect(answer.completion?.finishReason == "stop")
    }

    @Test func batchAnswersInInputOrderWithPerQuestionErrors() async throws {
        let corpus = try await Corpus()
        // 150 ms per completion: long enough that four answers overlap at the server even
        // when a loaded machine is slow to start them (at 20 ms the maximum in flight
        // came out 3 in full test runs at load 5+).
        let server = try LoopbackServer(["--latency-ms", "150"])
        try server.control(#"{"faults": [{}, {}, {"status": 400}]}"#)
        var engine = QueryEngine(retriever: try corpus.retriever(), model: try llm(server))
        engine.concurrency = 4
        let questions = (0..<16).map { "Question \($0) about fog signals and keepers?" }
        let results = await engine.answer(batch: questions)
        #expect(results.count == 16)
        #expect(results.filter { if case .failure = $0 { true } else { false } }.count == 1)
        for (q, r) in zip(questions, results) {
            if case .success(let a) = r {
                #expect(a.question == q)
                #expect(a.text == "You asked: \(q). See [1].")
            }
        }
        #expect(try server.stats()["max_in_flight"] == 4)
    }

    @Test func anUnreachableEmbedderFailsEachQuestionOnceWithItsOwnError() async throws {
        let corpus = try await Corpus()
        // A collection recorded for an OpenAI-compatible embedder whose server is down.
        let down = try OpenAIEmbedder(
            model: "m", dimension: 256, baseURL: "http://127.0.0.1:9/v1",
            caller: ResilientCaller(client: HTTPClient(), policy: RetryPolicy(maxAttempts: 2, baseDelay: .milliseconds(5))))
        let c = try await corpus.store.openOrCreateCollection("remote", for: down)
        let engine = QueryEngine(retriever: try Retriever(collection: c, embedder: down))
        let results = await engine.answer(batch: ["one?", "two?", "three?"])
        for r in results {
            guard case .failure(let e as HTTPError) = r else {
                Issue.record("expected a transport error, got \(r)")
                continue
            }
            #expect(e.code == .transport)  // not "circuit open" after a retry per question
        }
    }

    @Test func aFailingHookFailsOnlyItsQuestion() async throws {
        struct Refused: Error {}
        let corpus = try await Corpus()
        let hooks = AnswerHooks(
            rewrite: { q in
                if q.contains("bad") { throw Refused() }
                return q
            },
            rerank: { q, chunks in
                if q.contains("empty") { return [] }
                return chunks
            })
        let engine = QueryEngine(retriever: try corpus.retriever(), hooks: hooks)
        let questions = ["fog signals?", "a bad question", "keepers?", "an empty context"]
        for results in [await engine.answer(batch: questions), blocking { engine.answer(batch: questions) }] {
            #expect(results.count == 4)
            #expect((try? results[0].get())?.sources.isEmpty == false)
            #expect(throws: Refused.self) { try results[1].get() }
            #expect((try? results[2].get())?.sources.isEmpty == false)
            let empty = try results[3].get()
            #expect(empty.sources.isEmpty && empty.text.isEmpty)
        }
    }

    @Test func extractiveAnswerWithoutAModel() async throws {
        let corpus = try await Corpus()
        let engine = QueryEngine(retriever: try corpus.retriever(), extractiveSentences: 2)
        let answer = try await engine.answer("When did automation replace the last lighthouse keepers?")
        #expect(answer.isExtractive)
        #expect(answer.text.hasPrefix("Automation replaced the last keepers in 1998."))
        let cited = try #require(answer.citations.first)
        #expect(cited.document == "keepers.txt")
        #expect(answer.text.contains("[\(cited.number)]"))
        // The synchronous form gives the same answer.
        let sync = try blocking { try engine.answer("When did automation replace the last lighthouse keepers?") }
        #expect(sync.text == answer.text)
    }

    @Test(.enabled(if: runsIsolatedTests, "runs in a process of its own (scripts/test.sh)"))
    func hooksMayCallSynchronousAPIsFromInsideAnswers() async throws {
        let corpus = try await Corpus()
        let server = try LoopbackServer(["--latency-ms", "20"])
        let model = try llm(server)
        let retriever = try corpus.retriever()
        let embedder = corpus.embedder
        let collection = corpus.collection
        let hooks = AnswerHooks(
            rewrite: { question in
                // Blocking calls from inside the running answer: embed, search, complete.
                let v = try embedder.embed([question])[0]
                _ = try collection.search(v, k: 2)
                let c = try model.complete([.user("rewrite")])
                return c.text.isEmpty ? question : question + " lighthouse"
            },
            rerank: { question, chunks in
                _ = try retriever.retrieve(question)
                return chunks.reversed()
            })
        let engine = QueryEngine(retriever: retriever, model: model, concurrency: 12, hooks: hooks)
        let questions = (0..<12).map { "Who built Bell Rock \($0)?" }
        // 12 concurrent answers on a 2-thread cooperative pool.
        let results = try await withWatchdog(seconds: 120, "hook re-entrancy") { await engine.answer(batch: questions) }
        for (q, r) in zip(questions, results) {
            let a = try r.get()
            #expect(a.searchedQuestion == q + " lighthouse")
            let plain = try await retriever.retrieve(a.searchedQuestion)
            #expect(a.sources.map(\.id) == plain.reversed().map(\.id))
        }
        // And the synchronous batch, from many threads at once.
        let ok = Shared(0)
        onThreads(4) { _ in
            let r = engine.answer(batch: Array(questions.prefix(3)))
            ok.withLock { $0 += r.filter { (try? $0.get()) != nil }.count }
        }
        #expect(ok.withLock { $0 } == 12)
    }
}
