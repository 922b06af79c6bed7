import Foundation
import PDFParsing
import PostgresStore
import Query
import TestSupport
import Testing

// The README's Swift examples, compiled and run here. `readmeShowsTheseExamples` checks
// that every ```swift block of README.md appears in this file, line for line.

func storeExample(path: String) throws -> ([SearchHit], [[SearchHit]]) {
    let store = try Store(path: path)
    let docs = try store.openOrCreateCollection("docs", dimension: 3, metric: .cosine)
    try docs.upsert([
        Record(id: "guide.md#0", vector: [0.1, 0.9, 0.2], text: "Lighthouses guide ships.", metadata: ["lang": "en", "year": 2024]),
        Record(id: "guide.md#1", vector: [0.8, 0.1, 0.3], text: "Fog horns sound in fog.", metadata: ["lang": "en", "year": 2019]),
    ])
    let hits = try docs.search([0.1, 0.8, 0.2], k: 5, filter: .and([.equals("lang", "en"), .range("year", lower: 2020)]))
    let many = try docs.search(batch: [[0.1, 0.8, 0.2], [0.9, 0.1, 0.2]], k: 1)  // one pass over the vectors for the batch
    return (hits, many)
}

func keywordExample(store: Store) throws -> ([SearchHit], SearchResponse) {
    // Keyword (BM25) and hybrid search: the keyword index lives in the store, written by the
    // same transactions as the vectors.
    var settings = CollectionSettings(dimension: 3, metric: .cosine)
    settings.keywordAnalyzer = .english  // Snowball stemming and stopwords, recorded with the collection
    let notes = try store.createCollection("notes", settings: settings)
    try notes.upsert([
        Record(id: "fog.md#0", vector: [0.8, 0.1, 0.3], text: "The fog horn sounds every thirty seconds."),
        Record(id: "lamp.md#0", vector: [0.1, 0.9, 0.2], text: "The lighthouse lamp burned whale oil."),
    ])
    let exact = try notes.search(SearchRequest(texts: ["\"fog horn\" -lighthouse"], k: 5, mode: .keyword))
    let both = try notes.search(SearchRequest(texts: ["fog signals"], vectors: [[0.7, 0.2, 0.3]], k: 5, mode: .hybrid))
    print(both.plan)  // "hybrid: keyword weight 0.5, candidates 2; dense scan: …; keyword: terms 2, …"
    return (exact.hits[0], both)
}

func postgresExample(url: String) throws -> [SearchHit] {
    let db = try PostgresDatabase(url: url)  // password from the URL, PGPASSWORD or ~/.pgpass; never printed
    let docs = try db.openOrCreateCollection("docs", dimension: 3, metric: .cosine)
    try docs.write(
        upsert: [Record(id: "guide.md#0", vector: [0.1, 0.9, 0.2], text: "Lighthouses guide ships.", metadata: ["doc": "guide.md"])],
        deleting: [], deletingWhere: .equals("doc", "guide.md"))  // replaces the document's chunks in one transaction
    let exact = try docs.search([0.1, 0.8, 0.2], k: 5)  // exact: every candidate row scored
    _ = try docs.approximate(efSearch: 100).search([0.1, 0.8, 0.2], k: 5)  // pgvector's HNSW index
    return exact
}

func ingestExample(store: Store, folder: String) async throws -> IngestReport {
    let embedder = HashingEmbedder(dimension: 384)  // or LocalEmbedder(), OpenAIEmbedder, OllamaEmbedder
    let docs = try await store.openOrCreateCollection("notes", for: embedder)  // remembers its embedder
    var pipeline = IngestPipeline(
        collection: docs, embedder: embedder, splitter: MarkdownSplitter(chunkSize: 800, chunkOverlap: 100))
    pipeline.prune = true  // delete the chunks of files that vanished
    let report = try await pipeline.run(directory: folder) { progress in
        print("\(progress.documents)/\(progress.documentsTotal) files, \(Int(progress.chunksPerSecond)) chunks/s")
    }
    print(report)  // added, updated, unchanged, removed, chunks, failures, MB/s
    return report
}

func queryExample(store: Store, baseURL: String, questions: [String]) async throws -> (Answer, String, [Result<Answer, Error>]) {
    let docs = try await store.collection("notes")
    let retriever = try Retriever(collection: docs, options: RetrievalOptions(k: 4))  // the collection's own embedder
    let offline = QueryEngine(retriever: retriever)  // no LLM: extractive answers
    let answer = try await offline.answer("Who rowed out to rescue the survivors?")
    print(answer.text, answer.citations.map(\.source))

    let llm = try OpenAIChat(model: "gpt-4o-mini", baseURL: baseURL)  // key from $OPENAI_API_KEY
    let engine = QueryEngine(retriever: retriever, model: llm, concurrency: 16)
    var streamed = ""
    for try await event in engine.stream("How does a Fresnel lens work?") {
        if case .delta(let text) = event { streamed += text }
    }
    let answers = await engine.answer(batch: questions)  // one batched search, 16 completions at a time
    return (answer, streamed, answers)
}

func seamsExample(store: Store) async throws -> (SearchPlan, QuiverError?, [String]) {
    // Code that reads or writes takes the protocols: any backend, the embedded one today.
    func index(_ records: [Record], into docs: any VectorCollection) async throws -> SearchPlan {
        try await docs.write(upsert: records, deleting: [])
        return try await docs.searchExplained(batch: [records[0].vector], k: 3, filter: .equals("lang", "en")).plan
    }
    let db: any VectorDatabase = store
    let docs = try await db.openOrCreateCollection("seams", dimension: 3, metric: .cosine)
    let plan = try await index([Record(id: "a#0", vector: [1, 0, 0], metadata: ["lang": "en"])], into: docs)
    print(plan)  // "scan: 1 rows scored in 1 blocks on 1 thread(s), filter matches 1"

    // One error type for every module: match codes and typed fields, not messages.
    var refused: QuiverError?
    do {
        try await docs.upsert([Record(id: "short", vector: [1, 0])])
    } catch let error as QuiverError where error.code == .dimensionMismatch {
        refused = error  // error.recordID == "short", error.expected == "3", error.actual == "2"
    }

    // Registries: parsers chosen by content and extension, embedders rebuilt by provider.
    var options = DocumentLoader.Options()
    options.parsers.register(PlainTextParser(extensions: ["log"]))
    var embedders = EmbedderRegistry.standard
    embedders.register("hash-512") { _, _ in HashingEmbedder(dimension: 512) }

    // PDF: the PDFParsing library (poppler, GPL-2.0), read in worker processes.
    var withPDF = DocumentLoader.Options()
    withPDF.parsers.register(PDFParser())  // each page a document: "report.pdf#p12", metadata page = 12
    precondition(withPDF.parsers.parser(fileExtension: "pdf", prefix: [])?.name == "pdf")
    return (plan, refused, embedders.providers)
}

func toolExample(store: Store, baseURL: String) async throws -> ToolAnswer {
    let docs = try await store.collection("notes")
    let llm = try OpenAIChat(model: "gpt-4o-mini", baseURL: baseURL)
    let size = Tool(name: "collection_size", description: "How many chunks the collection holds") { _ in
        String(try docs.count())  // a synchronous tool may call Quiver's synchronous APIs
    }
    let answerer = ToolAnswerer(model: llm, retriever: try Retriever(collection: docs), tools: [size], limits: ToolLimits(steps: 6))
    let answer = try await answerer.answer("Who rowed out to rescue the survivors, and how does a Fresnel lens work?")
    print(answer.text, answer.citations.map(\.source), answer.steps.count, answer.usage.totalTokens)
    return answer
}

@Suite struct ReadmeExamples {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test func examplesRun() async throws {
        let dir = TemporaryDirectory("quiver-readme")
        defer { dir.remove() }
        let (hits, many) = try storeExample(path: dir.sub("a"))
        #expect(hits.map(\.id) == ["guide.md#0"])
        #expect(many.map { $0.map(\.id) } == [["guide.md#0"], ["guide.md#1"]])

        let (exact, both) = try keywordExample(store: try Store(path: dir.sub("k")))
        #expect(exact.map(\.id) == ["fog.md#0"])
        #expect(both.hits[0].first?.id == "fog.md#0" && both.plan.access == "hybrid")
        #expect(both.plan.description.hasPrefix("hybrid: keyword weight 0.5, candidates 2; dense scan: "), "\(both.plan)")

        let store = try Store(path: dir.sub("b"))
        let report = try await ingestExample(store: store, folder: Self.root.appendingPathComponent("data").path)
        #expect(report.added.count >= 12 && report.failed.isEmpty)

        let server = try LoopbackServer()
        let (answer, streamed, answers) = try await queryExample(
            store: store, baseURL: server.baseURL + "/v1", questions: ["Where is Eddystone?", "What is a lamp?"])
        #expect(answer.isExtractive && answer.citations.first?.source == "keepers/famous-keepers.txt")
        #expect(streamed == "You asked: How does a Fresnel lens work?. See [1].")
        #expect(
            try answers.map { try $0.get().text } == ["You asked: Where is Eddystone?. See [1].", "You asked: What is a lamp?. See [1]."])

        try server.control(
            #"{"tool_plan": [[{"name": "search_documents", "arguments": {"query": "rescue", "k": 2}}, {"name": "collection_size"}]]}"#)
        let tools = try await toolExample(store: store, baseURL: server.baseURL + "/v1")
        #expect(tools.steps.count == 2 && tools.toolCalls.map(\.call.name) == ["search_documents", "collection_size"])
        #expect(tools.sources.count == 2 && tools.citations.map(\.number) == [1, 2])
        #expect(tools.text.hasSuffix(" | \(try await store.collection("notes").count()). See [1]."))

        let (plan, refused, providers) = try await seamsExample(store: store)
        #expect(plan.description == "scan: 1 rows scored in 1 blocks on 1 thread(s), filter matches 1")
        #expect(refused?.recordID == "short" && refused?.expected == "3" && refused?.actual == "2")
        #expect(providers == ["hash", "hash-512", "local", "ollama", "openai"])
    }

    @Test(.enabled(if: PostgresTestServer.isAvailable, PostgresTestServer.skipReason))
    func postgresExampleRuns() async throws {
        let url = try await PostgresTestServer.sharedDatabase("readme")
        let hits = try await PostgresTestServer.onOwnThread { try postgresExample(url: url) }
        #expect(hits.map(\.id) == ["guide.md#0"])
    }

    @Test func readmeShowsTheseExamples() throws {
        let readme = try String(contentsOf: Self.root.appendingPathComponent("README.md"), encoding: .utf8)
        let source = try String(contentsOf: URL(fileURLWithPath: #filePath), encoding: .utf8)
        func normalized(_ text: some StringProtocol) -> String {
            text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.joined(separator: "\n")
        }
        let here = normalized(source)
        let blocks = readme.components(separatedBy: "```swift\n").dropFirst().map { $0.components(separatedBy: "```")[0] }
        #expect(blocks.count >= 3)
        for block in blocks {
            #expect(here.contains(normalized(block)), "README block not compiled by the tests:\n\(block)")
        }
    }
}
