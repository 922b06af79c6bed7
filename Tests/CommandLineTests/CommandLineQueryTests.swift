import Foundation
import Query
import TestSupport
import Testing

/// The built `quiver` binary end to end: index, query, repl, stats, delete, exit codes.
@Suite struct CommandLineQueryTests {
    static let data = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("data").path

    /// A copy of `data/` indexed with the hashing embedder into a temporary store.
    func indexed() throws -> (dir: TemporaryDirectory, corpus: String, store: String) {
        let dir = TemporaryDirectory("quiver-cli")
        let corpus = dir.sub("data")
        try FileManager.default.copyItem(atPath: Self.data, toPath: corpus)
        let store = dir.sub("store")
        let r = try runProduct(["index", corpus, "--store", store, "--embedder", "hash", "--json"])
        #expect(r.status == 0, "\(r.err)")
        return (dir, corpus, store)
    }

    func json(_ text: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:]
    }

    @Test func queryAnswersWithTheRightSourceFirst() throws {
        let (dir, _, store) = try indexed()
        defer { dir.remove() }
        let cases = [
            ("Who rowed out to rescue the survivors of a shipwreck?", "keepers/famous-keepers.txt"),
            ("What is a Fresnel lens made of?", "technology/fresnel-lens.html"),
        ]
        for (question, source) in cases {
            let r = try runProduct(["query", question, "--store", store, "--json"])
            #expect(r.status == 0, "\(r.err)")
            let object = json(r.out)
            #expect(object["question"] as? String == question)
            #expect(object["extractive"] as? Bool == true)
            let hits = object["hits"] as? [[String: Any]] ?? []
            #expect(hits.first?["source"] as? String == source)
            #expect(
                hits.allSatisfy { $0["id"] is String && $0["score"] is Double && $0["text"] is String && $0["metadata"] is [String: Any] })
            let answer = object["answer"] as? String ?? ""
            #expect(answer.contains("[1]"), "the best source is quoted: \(answer)")
        }
        // An FAQ-style source: the sentence after the matching question is the answer.
        let faq = json(try runProduct(["query", "Why were lighthouse keepers called wickies?", "--store", store, "--json"]).out)
        #expect((faq["answer"] as? String)?.hasPrefix("Because they trimmed the wicks of the oil lamps") == true)
        // Text output: the answer, then numbered sources.
        let text = try runProduct(["query", cases[0].0, "--store", store, "-k", "2"])
        #expect(text.out.contains("Grace Darling"))
        #expect(text.out.contains("[1] keepers/famous-keepers.txt"))
        // A filter.
        let filtered = try runProduct(["query", cases[0].0, "--store", store, "--json", "--where", "doc=history/timeline.txt"])
        let hits = json(filtered.out)["hits"] as? [[String: Any]] ?? []
        #expect(!hits.isEmpty && hits.allSatisfy { $0["source"] as? String == "history/timeline.txt" })
    }

    @Test(.enabled(if: LocalModel.isInstalled(), "all-MiniLM-L6-v2 is not installed: run scripts/setup.sh"))
    func theDefaultLocalModelAnswersParaphrases() throws {
        let dir = TemporaryDirectory("quiver-cli-local")
        defer { dir.remove() }
        let store = dir.sub("store")
        let index = try runProduct(["index", Self.data, "--store", store, "--json"])
        #expect(index.status == 0, "\(index.err)")
        let stats = json(try runProduct(["stats", "--store", store, "--json"]).out)
        #expect((stats["collections"] as? [[String: Any]])?.first?["embedder"] as? String == "local/all-MiniLM-L6-v2/384")
        // Few words in common with the source: the model, not the words, finds it.
        let cases = [
            ("Which beacon was shifted away from the eroding beach?", "places/cape-hatteras.txt"),
            ("What is the name of the Roman tower in Spain that still guides sailors?", "places/tower-of-hercules.html"),
        ]
        for (question, source) in cases {
            let r = try runProduct(["query", question, "--store", store, "--json", "-k", "3"])
            #expect(r.status == 0, "\(r.err)")
            let sources = (json(r.out)["hits"] as? [[String: Any]])?.compactMap { $0["source"] as? String } ?? []
            #expect(sources.contains(source), "\(question): \(sources)")
        }
    }

    @Test func reindexPruneDryRunStatsAndDelete() throws {
        let (dir, corpus, store) = try indexed()
        defer { dir.remove() }
        let same = json(try runProduct(["index", corpus, "--store", store, "--embedder", "hash", "--json"]).out)
        #expect(same["chunks_written"] as? Int == 0)
        #expect((same["added"] as? [String])?.isEmpty == true)
        // Change one file, delete another.
        let changed = corpus + "/keepers/famous-keepers.txt"
        try "Famous keepers\n\nAbbie Burgess kept the Matinicus Rock light burning through a storm in 1856.".write(
            toFile: changed, atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(atPath: corpus + "/history/timeline.txt")
        let plan = try runProduct(["index", corpus, "--store", store, "--embedder", "hash", "--prune", "--dry-run", "--json"])
        let planned = json(plan.out)
        #expect(planned["updated"] as? [String] == ["keepers/famous-keepers.txt"])
        #expect(planned["removed"] as? [String] == ["history/timeline.txt"])
        #expect(planned["chunks_written"] as? Int == 0)
        let stillThere = try runProduct(["query", "Grace Darling rowed out", "--store", store, "--json", "-k", "1"])
        #expect((json(stillThere.out)["hits"] as? [[String: Any]])?.first?["source"] as? String == "keepers/famous-keepers.txt")
        let statsBefore = json(try runProduct(["stats", "--store", store, "--json"]).out)
        let run = json(try runProduct(["index", corpus, "--store", store, "--embedder", "hash", "--prune", "--json"]).out)
        #expect(run["updated"] as? [String] == ["keepers/famous-keepers.txt"])
        #expect(run["removed"] as? [String] == ["history/timeline.txt"])
        let abbie = json(try runProduct(["query", "Who kept the light burning through a storm?", "--store", store, "--json"]).out)
        #expect(
            (abbie["hits"] as? [[String: Any]])?.first?["text"] as? String ?? ""
                == "Famous keepers\n\nAbbie Burgess kept the Matinicus Rock light burning through a storm in 1856.")
        // Stats count documents and chunks.
        let stats = json(try runProduct(["stats", "--store", store, "--json"]).out)
        let before = (statsBefore["collections"] as? [[String: Any]])?.first
        let after = (stats["collections"] as? [[String: Any]])?.first
        #expect(after?["documents"] as? Int == (before?["documents"] as? Int ?? 0) - 1)
        #expect((after?["embedder"] as? String)?.hasPrefix("hash/") == true)
        // Delete one document.
        let deleted = try runProduct(["delete", "--doc", "keepers/famous-keepers.txt", "--store", store, "--json"])
        #expect(deleted.status == 0)
        #expect((json(deleted.out)["deleted_records"] as? Int ?? 0) >= 1)
        let gone = json(try runProduct(["stats", "--store", store, "--json"]).out)
        #expect(((gone["collections"] as? [[String: Any]])?.first?["documents"] as? Int) == (after?["documents"] as? Int ?? 0) - 1)
        let missing = try runProduct(["delete", "--doc", "no/such.md", "--store", store])
        #expect(missing.status == 1)
        #expect(missing.err.contains("no document \"no/such.md\""))
        #expect(try runProduct(["check", "--store", store]).status == 0)
        // A single file is indexed under its name.
        let one = try runProduct([
            "index", corpus + "/history/eddystone.md", "--store", dir.sub("single"), "--embedder", "hash", "--json",
        ])
        #expect(one.status == 0, "\(one.err)")
        #expect(json(one.out)["added"] as? [String] == ["eddystone.md"])
    }

    @Test func questionsFileAnswersEveryLineInOrder() throws {
        let (dir, _, store) = try indexed()
        defer { dir.remove() }
        let questions = [
            "What is a Fresnel lens made of?", "Who rowed out to rescue the survivors of a shipwreck?", "", "What is a red sector?",
        ]
        try questions.joined(separator: "\n").write(toFile: dir.sub("q.txt"), atomically: true, encoding: .utf8)
        let r = try runProduct(["query", "--questions", dir.sub("q.txt"), "--store", store, "--concurrency", "3"])
        #expect(r.status == 0, "\(r.err)")
        let lines = r.out.split(separator: "\n").map { json(String($0)) }
        #expect(lines.map { $0["question"] as? String ?? "" } == questions.filter { !$0.isEmpty })
        #expect(lines.allSatisfy { ($0["hits"] as? [Any])?.isEmpty == false })
    }

    @Test func questionsWithAnLLMAndPerQuestionErrors() throws {
        let (dir, _, store) = try indexed()
        defer { dir.remove() }
        let server = try LoopbackServer()
        try server.control(#"{"faults": [{}, {"status": 400}]}"#)
        try ["q one?", "q two?", "q three?"].joined(separator: "\n").write(toFile: dir.sub("q.txt"), atomically: true, encoding: .utf8)
        let r = try runProduct([
            "query", "--questions", dir.sub("q.txt"), "--store", store, "--llm", "openai", "--model", "m", "--base-url",
            server.baseURL + "/v1", "--concurrency", "1",
        ])
        #expect(r.status == 3)
        let lines = r.out.split(separator: "\n").map { json(String($0)) }
        #expect(lines.count == 3)
        #expect(lines[0]["answer"] as? String == "You asked: q one?. See [1].")
        #expect(lines[0]["citations"] as? [Int] == [1])
        #expect((lines[1]["error"] as? String)?.contains("400") == true)
        #expect(lines[2]["answer"] as? String == "You asked: q three?. See [1].")
    }

    @Test func replReadsQuestionsAndCommandsFromStdin() throws {
        let (dir, _, store) = try indexed()
        defer { dir.remove() }
        let input = """
            What is a Fresnel lens made of?
            :k 1
            :where doc=keepers/famous-keepers.txt
            :where
            Who rowed out?
            :sources
            :explain
            :clear
            :stats
            :nonsense
            :quit
            This is never asked.

            """
        let r = try runProduct(["repl", "--store", store], input: input)
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("> What is a Fresnel lens made of?"))
        #expect(r.out.contains("[1] technology/fresnel-lens.html"))
        #expect(r.out.contains("k = 1"))
        #expect(r.out.contains("filters: doc=keepers/famous-keepers.txt"))
        #expect(r.out.contains("where doc=keepers/famous-keepers.txt"))
        #expect(r.out.contains("Grace Darling"))
        #expect(r.out.contains("filters cleared"))
        // Hybrid by default (the collection has a keyword index); the doc filter admits few
        // rows, so the dense part gathers them.
        #expect(r.out.contains("search for \"Who rowed out?\": hybrid: "), "\(r.out)")
        #expect(r.out.contains("; dense gather: "), "\(r.out)")
        #expect(r.out.contains("k           1"))
        #expect(r.out.contains("unknown command :nonsense"))
        #expect(!r.out.contains("never asked"))
    }

    @Test func ctrlCCancelsTheAnswerButNotTheConsole() throws {
        let (dir, _, store) = try indexed()
        defer { dir.remove() }
        let server = try LoopbackServer()
        try server.control(#"{"chat_reply": "one two three four five six seven eight nine ten", "stream_delay_ms": 3000}"#)
        let r = try runProduct(
            ["repl", "--store", store, "--llm", "ollama", "--model", "m", "--base-url", server.baseURL],
            input: "first question\nsecond question\n"
        ) { process in
            while (try? server.stats()["in_flight"]) ?? 0 < 1 { Thread.sleep(forTimeInterval: 0.02) }
            Thread.sleep(forTimeInterval: 0.2)
            try? server.control(#"{"stream_delay_ms": 0, "chat_reply": "Quick answer [1]."}"#)
            kill(process.processIdentifier, SIGINT)
        }
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("(cancelled)"))
        #expect(r.out.contains("> second question\nQuick answer [1]."))
    }

    @Test func replOnATerminalEditsAndSurvivesCtrlC() throws {
        let (dir, _, store) = try indexed()
        defer { dir.remove() }
        let binary = try #require(BuiltProducts.executable("quiver"))
        let script = URL(fileURLWithPath: Self.data).deletingLastPathComponent().appendingPathComponent(
            "tools/testserver/pty_session.py"
        ).path
        let steps: [[Any]] = [
            ["until", "quiver> ", 10], ["type", "What is a Fresnel lens made of?\r"], ["until", "Sources:", 10],
            ["until", "quiver> ", 5], ["type", "half typed"], ["until", "typed", 5], ["type", "\u{3}"], ["until", "quiver> ", 5],
            ["type", ":k 1\r"], ["until", "k = 1", 5], ["until", "quiver> ", 5], ["type", "\u{4}"],
        ]
        let stepsJSON = String(decoding: try JSONSerialization.data(withJSONObject: steps), as: UTF8.self)
        let r = try runProduct(
            [script, stepsJSON, "--", binary, "repl", "--store", store], product: "python3",
            environment: ["QUIVER_HISTORY": dir.sub("history")])
        #expect(r.out.contains("Ask a question, or :help."))
        #expect(r.out.contains("[1] technology/fresnel-lens.html"))
        #expect(r.out.contains("^C"))
        #expect(r.out.contains("k = 1"))
        #expect(!r.out.contains("unknown command"))  // the half-typed line was dropped, not prefixed to :k
        #expect(r.out.hasSuffix("EXIT 0\n"), "\(r.out)")
        let history = try String(contentsOfFile: dir.sub("history"), encoding: .utf8)
        #expect(history.contains("Fresnel") && !history.contains("half"))
    }

    @Test func ctrlCOnATerminalCancelsAStreamingAnswer() throws {
        let (dir, _, store) = try indexed()
        defer { dir.remove() }
        let server = try LoopbackServer()
        try server.control(#"{"chat_reply": "one two three four five six seven eight nine ten", "stream_delay_ms": 1500}"#)
        let binary = try #require(BuiltProducts.executable("quiver"))
        let script = URL(fileURLWithPath: Self.data).deletingLastPathComponent().appendingPathComponent(
            "tools/testserver/pty_session.py"
        ).path
        let steps: [[Any]] = [
            ["until", "quiver> ", 10], ["type", "Tell me about fog\r"], ["until", "one ", 10], ["type", "\u{3}"],
            ["until", "(cancelled)", 10], ["until", "quiver> ", 5], ["type", ":k 2\r"], ["until", "k = 2", 5],
            ["until", "quiver> ", 5], ["type", "\u{4}"],
        ]
        let stepsJSON = String(decoding: try JSONSerialization.data(withJSONObject: steps), as: UTF8.self)
        let r = try runProduct(
            [
                script, stepsJSON, "--", binary, "repl", "--store", store, "--llm", "ollama", "--model", "m", "--base-url",
                server.baseURL,
            ], product: "python3", environment: ["QUIVER_HISTORY": dir.sub("history")])
        #expect(r.out.contains("one "))
        #expect(!r.out.contains("ten"))  // cut short
        #expect(r.out.contains("(cancelled)"))
        #expect(r.out.contains("k = 2"))  // the console went on
        #expect(r.out.hasSuffix("EXIT 0\n"), "\(r.out)")
    }

    @Test func exitCodesAndMessages() throws {
        let (dir, corpus, store) = try indexed()
        defer { dir.remove() }
        let missing = try runProduct(["index", dir.sub("nowhere"), "--store", store])
        #expect(missing.status == 1)
        #expect(missing.err.contains("no such file or folder"))
        #expect(missing.err.contains("hint:"))

        let unknown = try runProduct(["query", "x", "--store", store, "--collection", "nope"])
        #expect(unknown.status == 1)
        #expect(unknown.err.contains("nope"))
        #expect(unknown.err.contains("quiver collections"))

        let noStore = try runProduct(["query", "x", "--store", dir.sub("empty")])
        #expect(noStore.status == 1)
        #expect(noStore.err.contains("hint: build one with `quiver index PATH`"))

        let mismatch = try runProduct(["index", corpus, "--store", store, "--embedder", "hash", "--dimensions", "64"])
        #expect(mismatch.status == 1)
        #expect(mismatch.err.contains("384") && mismatch.err.contains("64"))

        let unreachable = try runProduct([
            "query", "x", "--store", store, "--llm", "openai", "--model", "m", "--base-url", "http://127.0.0.1:9/v1",
        ])
        #expect(unreachable.status == 1)
        #expect(unreachable.err.contains("cannot reach http://127.0.0.1:9/v1/chat/completions"))
        #expect(unreachable.err.contains("hint: is the server running?"))
        #expect(!unreachable.err.contains("detail:"))
        let verbose = try runProduct([
            "query", "x", "--store", store, "--llm", "openai", "--model", "m", "--base-url", "http://127.0.0.1:9/v1", "--verbose",
        ])
        #expect(verbose.err.contains("detail:"))

        #expect(try runProduct(["query", "--store", store]).status == 2)
        #expect(try runProduct(["query", "x", "--llm", "gpt"]).status == 2)
        #expect(try runProduct(["index", corpus, "--chunk-size", "0"]).status == 2)
        let twoFolders = try runProduct(["index", corpus + "/history", corpus + "/keepers", "--prune", "--store", store])
        #expect(twoFolders.status == 2)
        #expect(twoFolders.err.contains("--prune with a folder needs that folder alone"))
        let folderAndFile = try runProduct(["index", corpus + "/history", corpus + "/keepers/famous-keepers.txt", "--prune"])
        #expect(folderAndFile.status == 2)
        try FileManager.default.createDirectory(atPath: dir.sub("x"), withIntermediateDirectories: true)
        try "Another timeline.".write(toFile: dir.sub("x/timeline.txt"), atomically: true, encoding: .utf8)
        let sameName = try runProduct(["index", corpus + "/history/timeline.txt", dir.sub("x/timeline.txt"), "--store", store])
        #expect(sameName.status == 2)
        #expect(sameName.err.contains("timeline.txt"))
        // Two folders holding the same relative path: refused before anything is written.
        try FileManager.default.createDirectory(atPath: dir.sub("y/history"), withIntermediateDirectories: true)
        try "Another Pharos.".write(toFile: dir.sub("y/history/pharos.md"), atomically: true, encoding: .utf8)
        let clash = try runProduct(["index", corpus, dir.sub("y"), "--store", dir.sub("store4"), "--embedder", "hash"])
        #expect(clash.status == 2)  // refused like the same-named files above, as a usage error
        #expect(clash.err.contains("both hold a document named \"history/pharos.md\""))
        #expect(!FileManager.default.fileExists(atPath: dir.sub("store4")))

        // An unreachable embedding server: nothing indexed, one clear error.
        let down = try runProduct([
            "index", corpus, "--store", dir.sub("store3"), "--embedder", "ollama", "--model", "m", "--dimensions", "8",
            "--base-url", "http://127.0.0.1:9",
        ])
        #expect(down.status == 1)
        #expect(down.err.contains("error: no document was indexed"))
        #expect(down.err.contains("127.0.0.1:9"))
        #expect(down.err.contains("hint: is the embedding server running?"))

        // Some documents failed to embed, the rest were indexed: exit 3.
        let server = try LoopbackServer(["--dimension", "8"])
        try server.control(#"{"faults": [{"status": 400}]}"#)
        let partial = try runProduct([
            "index", corpus, "--store", dir.sub("store2"), "--embedder", "openai", "--model", "m", "--dimensions", "8",
            "--base-url", server.baseURL + "/v1", "--batch-size", "1", "--concurrency", "1",
        ])
        #expect(partial.status == 3, "\(partial.out)\(partial.err)")
        #expect(partial.out.contains("failed:"))
        // The collection remembers the server: query and a re-index need no embedder flags.
        let stats = json(try runProduct(["stats", "--store", dir.sub("store2"), "--json"]).out)
        #expect((stats["collections"] as? [[String: Any]])?.first?["embedder"] as? String == "openai/m/8")
        let asked = try runProduct(["query", "lighthouse keepers", "--store", dir.sub("store2"), "--json"])
        #expect(asked.status == 0, "\(asked.err)")
        #expect((json(asked.out)["hits"] as? [Any])?.isEmpty == false)
        let again = try runProduct(["index", corpus, "--store", dir.sub("store2"), "--json"])
        #expect(again.status == 0, "\(again.err)")
        #expect((json(again.out)["added"] as? [String])?.count == 1)  // the one that failed before
    }
}
