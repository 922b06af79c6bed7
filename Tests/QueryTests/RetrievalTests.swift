import Foundation
import Query
import Testing
import TestSupport

/// Retrieval, context building and citation parsing.
@Suite struct RetrievalTests {
    @Test func batchedRetrievalEqualsOneByOne() async throws {
        let corpus = try await Corpus(chunkSize: 120)
        let retriever = try corpus.retriever(RetrievalOptions(k: 3))
        let questions = [
            "Who built the Bell Rock lighthouse?", "What did fog signals use?", "Fresnel lens beam", "Seven Wonders",
            "keepers storms",
        ]
        let batch = try await retriever.retrieve(batch: questions)
        for (q, hits) in zip(questions, batch) {
            let single = try await retriever.retrieve(q)
            // The batch kernel and the single-query kernel may differ in the last bit.
            #expect(hits.map(\.id) == single.map(\.id))
            #expect(zip(hits, single).allSatisfy { abs($0.score - $1.score) < 1e-5 && $0.text == $1.text })
            #expect(hits.count == 3)
        }
        #expect(batch[0].first?.document == "bell-rock.md")
        #expect(batch[1].first?.document == "fog.txt")
        #expect(batch[2].first?.document == "fresnel.md")
        #expect(batch[3].first?.document == "pharos.md")
        #expect(batch[4].first?.document == "keepers.txt")
        let sync = try blocking { try retriever.retrieve(batch: questions) }
        #expect(sync.map { $0.map(\.id) } == batch.map { $0.map(\.id) })
    }

    @Test func filterAndThreshold() async throws {
        let corpus = try await Corpus(chunkSize: 120)
        let retriever = try corpus.retriever()
        let filtered = try await retriever.retrieve(
            "lighthouse", options: RetrievalOptions(k: 10, filter: .equals("doc", .string("fog.txt"))))
        #expect(!filtered.isEmpty)
        #expect(filtered.allSatisfy { $0.document == "fog.txt" })
        let all = try await retriever.retrieve("Fresnel lens", options: RetrievalOptions(k: 10, dropNearDuplicates: false))
        let cut = all[all.count / 2].score
        let above = try await retriever.retrieve(
            "Fresnel lens", options: RetrievalOptions(k: 10, minScore: cut, dropNearDuplicates: false))
        #expect(above.allSatisfy { $0.score >= cut })
        #expect(above.map(\.id) == all.filter { $0.score >= cut }.map(\.id))
    }

    @Test func nearDuplicatesOfOneDocumentAreDropped() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try Store(path: dir.sub("s"))
        let embedder = HashingEmbedder(dimension: 64)
        let c = try await store.openOrCreateCollection("c", for: embedder)
        let texts = [
            ("a#0", "a", "The lamp burned whale oil until 1850.", 0, 40),
            ("a#1", "a", "The lamp   burned whale oil until 1850.", 30, 70),  // same text, other whitespace
            ("a#2", "a", "burned whale oil", 100, 116),  // contained in a#0
            ("b#0", "b", "The lamp burned whale oil until 1850.", 0, 40),  // same text, other document
            ("a#3", "a", "Paraffin replaced whale oil later on, and the lamp burned brighter.", 10, 80),  // overlaps a#0 by 30 of 40 bytes
        ]
        try await c.upsert(
            try texts.map { id, doc, text, s, e in
                Record(
                    id: id, vector: try embedder.embed([text])[0], text: text,
                    metadata: ["doc": .string(doc), "start": .int(Int64(s)), "end": .int(Int64(e))])
            })
        let retriever = try Retriever(collection: c, embedder: embedder)
        let hits = try await retriever.retrieve("lamp whale oil 1850", options: RetrievalOptions(k: 5))
        let ids = Set(hits.map(\.id))
        #expect(ids.contains("b#0"))
        #expect(ids.intersection(["a#0", "a#1", "a#2"]).count == 1)
        #expect(!ids.contains("a#3"))
        let raw = try await retriever.retrieve("lamp whale oil 1850", options: RetrievalOptions(k: 5, dropNearDuplicates: false))
        #expect(raw.count == 5)
    }

    @Test func maximalMarginalRelevanceDiversifies() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try Store(path: dir.sub("s"))
        let embedder = HashingEmbedder(dimension: 256)
        let c = try await store.openOrCreateCollection("c", for: embedder)
        let texts = [
            ("x", "lighthouse lamp lens lighthouse lamp lens"), ("y", "lighthouse lamp lens lighthouse lamp lens bright"),
            ("z", "lighthouse keeper storm rock"),
        ]
        try await c.upsert(
            try texts.map { id, t in Record(id: id, vector: try embedder.embed([t])[0], text: t, metadata: ["doc": .string(id)]) })
        let retriever = try Retriever(collection: c, embedder: embedder)
        let plain = try await retriever.retrieve("lighthouse lamp lens", options: RetrievalOptions(k: 2))
        #expect(Set(plain.map(\.id)) == ["x", "y"])
        let diverse = try await retriever.retrieve("lighthouse lamp lens", options: RetrievalOptions(k: 2, mmrLambda: 0.3))
        #expect(diverse.map(\.id).first == plain.first?.id)
        #expect(diverse.map(\.id).last == "z")
        let sync = try blocking { try retriever.retrieve("lighthouse lamp lens", options: RetrievalOptions(k: 2, mmrLambda: 0.3)) }
        #expect(sync == diverse)
        await #expect(throws: QueryError.self) { try await retriever.retrieve("x", options: RetrievalOptions(k: 2, mmrLambda: 1.5)) }
        await #expect(throws: QueryError.self) { try await retriever.retrieve("x", options: RetrievalOptions(k: 0)) }
    }

    @Test func refusesAnotherEmbedder() async throws {
        let corpus = try await Corpus()
        let error = #expect(throws: QueryError.self) {
            try Retriever(collection: corpus.collection, embedder: HashingEmbedder(dimension: 256, wordWeight: 2))
        }
        #expect(error?.code == .embedderMismatch)
        let other = #expect(throws: QueryError.self) {
            try Retriever(collection: corpus.collection, embedder: HashingEmbedder(dimension: 128))
        }
        #expect(other?.code == .embedderMismatch && other?.collection == "docs")
    }

    @Test func aCollectionRebuildsItsEmbedderWithoutTheKey() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let server = try LoopbackServer(["--dimension", "16", "--api-key", "sk-secret-value-12345"])
        let port = server.baseURL.split(separator: ":").last!
        let store = try Store(path: dir.sub("s"))
        let embedder = try OpenAIEmbedder(
            model: "m", dimension: 16, baseURL: "http://user:pw@127.0.0.1:\(port)/v1",
            apiKey: Secret("sk-secret-value-12345"))
        let c = try await store.openOrCreateCollection("remote", for: embedder)
        let config = c.info.configuration
        #expect(config[Store.embedderKey] == "openai/m/16")
        #expect(config[Store.embedderBaseURLKey] == "http://127.0.0.1:\(port)/v1")
        #expect(!config.values.contains { $0.contains("sk-secret") || $0.contains("pw") })
        try await c.upsert([Record(id: "a#0", vector: try await embedder.embed(["lamp oil"])[0], text: "lamp oil")])
        // Reopened elsewhere: the recorded URL, the key from the caller's environment.
        let reopened = try await Store(path: dir.sub("s")).collection("remote")
        let rebuilt = try await reopened.recordedEmbedder()
        #expect(rebuilt.identifier == embedder.identifier)
        #expect((rebuilt as? OpenAIEmbedder)?.baseURL == "http://127.0.0.1:\(port)/v1")
        // Without the key the server refuses: the key was not stored.
        await #expect(throws: HTTPError.self) { try await Retriever(collection: reopened).retrieve("lamp") }
        // Hash collections rebuild offline; an unknown provider is a clear error.
        let h = try await store.openOrCreateCollection("h", for: HashingEmbedder(dimension: 32))
        #expect(try Retriever(collection: h).embedder.identifier.description == "hash/fh-w1b2c3-v1/32")
        let odd = try await store.openOrCreateCollection(
            "odd", dimension: 8, metric: .cosine, configuration: [Store.embedderKey: "acme/x/8"])
        let error = #expect(throws: IngestError.self) { try odd.recordedEmbedder() }
        #expect(error?.code == .embedderMismatch && error?.collection == "odd" && error?.actual == "acme/x/8")
        #expect(error?.input == "acme")
    }

    func chunk(_ n: Int, _ text: String) -> RetrievedChunk {
        RetrievedChunk(id: "d\(n)#0", score: 1, text: text, metadata: ["doc": .string("d\(n)"), "source": .string("s\(n).md")])
    }

    @Test func contextIsNumberedWithinTheBudget() {
        let chunks = [chunk(1, String(repeating: "a", count: 50)), chunk(2, String(repeating: "b", count: 500)), chunk(3, "short")]
        let context = PromptContext(chunks: chunks, budget: .characters(120))
        #expect(context.citations.map(\.id) == ["d1#0", "d3#0"])
        #expect(context.citations.map(\.number) == [1, 2])
        #expect(context.text.count <= 120)
        #expect(context.text.hasPrefix("[1] s1.md\n" + String(repeating: "a", count: 50)))
        #expect(context.text.contains("[2] s3.md\nshort"))
        // A first chunk larger than the budget is cut, at a character boundary.
        let big = PromptContext(chunks: [chunk(1, String(repeating: "👩‍👩‍👧", count: 100))], budget: .characters(40))
        #expect(big.text.count == 40)
        #expect(big.citations.first?.text.allSatisfy { $0 == "👩‍👩‍👧" } == true)
        // A token budget.
        let words = PromptContext(
            chunks: (1...5).map { chunk($0, "one two three four five") },
            budget: .tokens(20, count: { $0.split(whereSeparator: \.isWhitespace).count }))
        #expect(words.citations.count == 2)
    }

    /// The character budget counts grapheme clusters however it counts them (ASCII is
    /// counted by bytes: "\r\n" is one character), and the chunk texts are trimmed as
    /// Foundation trims them: the context is the same text with or without those shortcuts.
    @Test func characterBudgetAndTrimmingAgreeWithFoundation() {
        let pieces = [
            "a", "Z", " ", "\t", "\n", "\r", "\r\n", "\u{0B}", "\u{0C}", "\u{85}", "\u{A0}", "\u{2028}", "\u{2029}", "\u{3000}",
            "é", "e\u{301}", "👩‍👩‍👧", "灯台", "~", "0", ".",
        ]
        var rng = SeededGenerator(seed: 5)
        var texts = ["", "\r\n", "a\r\nb", "\r\n\r\n", "\n\r", "  padded  ", "\u{85}x\u{85}"]
        for _ in 0..<3000 {
            texts.append((0..<Int(rng.next() % 9)).map { _ in pieces[Int(rng.next() % UInt64(pieces.count))] }.joined())
        }
        for text in texts {
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            let context = PromptContext(chunks: [chunk(1, text)], budget: .characters(10_000))
            let expected = "[1] s1.md\n" + trimmed
            #expect(context.text == expected, "\(Array(text.unicodeScalars))")
            // The budget: a limit of exactly the context's length keeps it whole, one less cuts it.
            let exact = PromptContext(chunks: [chunk(1, text)], budget: .characters(expected.count))
            #expect(exact.text == expected, "\(Array(text.unicodeScalars))")
            if trimmed.count >= 2 {  // cut to nothing, a chunk is left out
                let cut = PromptContext(chunks: [chunk(1, text)], budget: .characters(expected.count - 1))
                #expect(
                    cut.text.count == expected.count - 1 && expected.hasPrefix(cut.text),
                    "\(Array(text.unicodeScalars)) \(cut.text.count) \(expected.count)")
            }
        }
    }

    @Test func citationsParse() {
        let context = PromptContext(chunks: (1...4).map { chunk($0, "text \($0)") })
        #expect(context.citedNumbers(in: "A [2]. B [1, 3]. C [3][4] and [2] again, [7], [x], [], [1.5]") == [2, 1, 3, 4])
        #expect(context.cited(in: "Only [4].").map(\.source) == ["s4.md"])
        #expect(context.citedNumbers(in: "no citations [") == [])
    }

    @Test func templatesFillOnce() {
        let context = PromptContext(chunks: [chunk(1, "The light")])
        let messages = PromptTemplate.standard.messages(question: "Why {context}?", context: context)
        #expect(messages.map(\.role) == [.system, .user])
        #expect(messages[1].content == "Context:\n[1] s1.md\nThe light\n\nQuestion: Why {context}?")
        let custom = PromptTemplate(system: "S", user: "Q={question} C={context} {other}")
        #expect(custom.messages(question: "q", context: context)[1].content == "Q=q C=[1] s1.md\nThe light {other}")
    }
}

@Suite struct RetrieveVectorsTests {
    /// `retrieve(vectors:)` async and sync agree.
    @Test func asyncAndSyncRetrieveByVectorAgree() async throws {
        let corpus = try await Corpus()
        let retriever = try Retriever(collection: corpus.collection, embedder: corpus.embedder)
        let vectors = try { try corpus.embedder.embed(["Who rowed out to the wreck?", "fog signals"]) }()
        let sync = try { try retriever.retrieve(vectors: vectors) }()
        let async = try await retriever.retrieve(vectors: vectors)
        #expect(sync.map { $0.map(\.id) } == async.map { $0.map(\.id) })
        #expect(sync.allSatisfy { !$0.isEmpty })
    }
}
