import ArgumentParser
import Foundation
import HTTP
import Ingest
import Query
import Synthetic

/// `quiver-bench parallelrag`: the same retrieval-augmented work done two ways in one run
/// against the loopback server — ingest generated documents (load → split → embed →
/// store), then answer questions (embed → retrieve → complete) — naively (one document,
/// one chunk, one question at a time) and with the library's defaults; next to the ideal
/// time the server's latencies and limits allow.
///
/// The ideal: the server answers any number of requests at once, each after its latency,
/// and takes at most `maxInputs` texts per embedding request. So ingesting C chunks needs
/// ⌈C / maxInputs⌉ embedding requests, all in flight together: one embedding latency; the
/// questions need ⌈Q / maxInputs⌉ embedding requests at once (one latency), then Q
/// completions at once (one completion latency). Local work (loading, splitting, writing,
/// searching) is counted as zero, so the ideal is a lower bound. `ideal_at_run_limits_s`
/// is the same count with the library run's own limits (embedding batch and concurrency,
/// completion concurrency: the defaults unless `--answer-concurrency` is given): what
/// those limits could reach at best. `bare_client_*` is the server measured in the same
/// run: a bare client sending the same embedding requests and as many completions under
/// the same limits (the Python server's own cost shows there). The server computes its
/// vectors with `--fast-vectors` (microseconds per text) unless `--slow-vectors` is given:
/// its default recipe costs its one interpreter about 0.7 ms per 384-dimensional text, so
/// 1,000 texts in flight at once took it 0.7 s of work that no real (parallel) server
/// would add on top of its latency. The server is `async_server.py` (an event loop in each of
/// `--server-workers` processes) unless `--server threaded` asks for `embedding_server.py`,
/// whose threads in one interpreter read 100 concurrent requests about 0.55 ms apart, so that
/// the last was answered some 55 ms late for the bare client as for the library.
/// `server_cpu_*` is the CPU the server used during the library's (median) run and during the
/// bare client's. The library's run is repeated (`--repeats`, 3) into
/// fresh stores and the run with the median total is reported, with the fastest and the
/// slowest: it takes well under a second, which one noisy moment on a shared machine skews.
struct ParallelRAGBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parallelrag", abstract: "Benchmark ingest + answers end to end: naive loop vs the library's defaults.")

    @Option(help: "Generated documents.") var documents = 1000
    @Option(help: "Questions answered.") var questions = 100
    @Option(help: "Embedding latency per request, ms.") var embedLatencyMs = 50
    @Option(help: "Completion latency per request, ms.") var completionLatencyMs = 200
    @Option(help: "Most texts per embedding request the server takes.") var maxInputs = 100
    @Option(help: "Embedding dimension the server returns.") var dimension = 384
    @Option(help: "Completions in flight for the library's run (default: QueryEngine's default).") var answerConcurrency: Int?
    @Option(help: "Library runs (each into a fresh store); the run with the median total is reported.") var repeats = 3
    @Flag(help: "The server's default vectors (about 0.7 ms of its single interpreter per 384-d text) instead of --fast-vectors.")
    var slowVectors = false
    @Option(
        name: .customLong("server"),
        help: "The loopback server: async (async_server.py, event loops in --server-workers processes) or threaded (embedding_server.py).")
    var serverKind = "async"
    @Option(help: "Processes of the async server.") var serverWorkers = 2
    @Flag(help: "Leave out the naive run (about 80 s): no naive_* figures and no speedup.") var skipNaive = false
    @Flag(help: "Print one flat JSON object.") var json = false

    func run() async throws {
        let threaded = serverKind == "threaded"
        guard threaded || serverKind == "async" else { throw ValidationError("--server is async or threaded, not \(serverKind)") }
        let server = try LoopbackProcess(
            latencyMs: embedLatencyMs,
            arguments: [
                "--chat-latency-ms", "\(completionLatencyMs)", "--max-inputs", "\(maxInputs)", "--dimension", "\(dimension)",
            ] + (slowVectors ? [] : ["--fast-vectors"]) + (threaded ? [] : ["--workers", "\(serverWorkers)"]),
            script: threaded ? "embedding_server.py" : "async_server.py")
        defer { withExtendedLifetime(server) {} }
        let base = "http://127.0.0.1:\(server.port)"
        let root = NSTemporaryDirectory() + "quiver-parallelrag-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let corpus = root + "/corpus"
        let asked = try Self.generate(at: corpus, documents: documents, questions: questions)
        let setup = Setup(base: base, dimension: dimension, maxInputs: maxInputs)
        var out: [(String, Double)] = [
            ("load_1min", Machine.load()), ("documents", Double(documents)), ("questions", Double(questions)),
            ("embed_latency_ms", Double(embedLatencyMs)), ("completion_latency_ms", Double(completionLatencyMs)),
            ("max_inputs", Double(maxInputs)),
        ]
        if let answerConcurrency { out.append(("answer_concurrency", Double(answerConcurrency))) }
        out.append(("server_workers", threaded ? 0 : Double(serverWorkers)))
        // Warm the server's and client's connections alike for both runs.
        _ = try await setup.embedder().embed(["warm"])

        // The naive loop uses the synchronous calls, as a plain script would: on a thread of
        // its own, off the cooperative pool.
        let naive =
            skipNaive
            ? nil
            : try await BlockingExecutor.onNewThread {
                try Self.naiveRun(setup, corpus: corpus, root: root + "/naive", questions: asked)
            }
        // The library's run takes under a second: on a shared machine one run is noise, so
        // it runs `repeats` times (fresh stores) and the median run is reported.
        var runs: [Timing] = []
        for r in 0..<max(1, repeats) {
            let cpu = server.cpuSeconds
            var run = try await quiverRun(
                setup, corpus: corpus, root: root + "/quiver\(r)", questions: asked, answerConcurrency: answerConcurrency)
            run.serverCPU = server.cpuSeconds - cpu
            runs.append(run)
        }
        runs.sort { $0.ingest + $0.answer < $1.ingest + $1.answer }
        let quiver = runs[runs.count / 2]
        if let naive, naive.chunks != quiver.chunks {
            throw ValidationError("the runs stored different chunk counts: naive \(naive.chunks), quiver \(quiver.chunks)")
        }
        let chunks = quiver.chunks
        let embed = Double(embedLatencyMs) / 1000
        let complete = Double(completionLatencyMs) / 1000
        func rounds(_ n: Int, _ per: Int) -> Double { Double((n + per - 1) / per) }
        let idealIngest = rounds(chunks, maxInputs) > 0 ? embed : 0
        let idealQuestions = embed + complete
        let ideal = idealIngest + idealQuestions
        // The same count with the defaults' limits.
        let batch = min(quiver.batchSize, maxInputs)
        let defaultsIngest = rounds(Int(rounds(chunks, batch)), quiver.embedConcurrency) * embed
        let defaultsQuestions = rounds(questions, maxInputs) * embed + rounds(questions, quiver.answerConcurrency) * complete
        let agree = naive.map { n in zip(n.topSources, quiver.topSources).filter { $0 == $1 }.count }
        // The server's own cost at the defaults' limits: a bare client (prebuilt bodies, no
        // parsing, no store) sends the same embedding requests and as many completions.
        let bareCPU = server.cpuSeconds
        let texts = try Self.files(corpus).map { try String(contentsOfFile: corpus + "/" + $0, encoding: .utf8) }
        let bareIngest =
            Double(texts.count)
            / (try await EmbedBench.rawRate(base: base, inputs: texts, batch: batch, concurrency: quiver.embedConcurrency))
        let prompts = asked.map { PromptTemplate.standard.messages(question: $0, context: PromptContext(chunks: [])) }
        let bareQuestions =
            Double(questions) / (try await EmbedBench.rawRate(base: base, inputs: asked, batch: maxInputs, concurrency: 1))
            + Double(questions) / (try await QueryBench.rawRate(base: base, messages: prompts, concurrency: quiver.answerConcurrency))
        let bareServerCPU = server.cpuSeconds - bareCPU
        out.append(("chunks", Double(chunks)))
        if let naive {
            out += [
                ("naive_s", naive.ingest + naive.answer),
                ("speedup", (naive.ingest + naive.answer) / (quiver.ingest + quiver.answer)),
            ]
        }
        out += [
            ("quiver_s", quiver.ingest + quiver.answer), ("ideal_s", ideal), ("ideal_fraction", ideal / (quiver.ingest + quiver.answer)),
        ]
        if let naive { out += [("naive_ingest_s", naive.ingest), ("naive_questions_s", naive.answer)] }
        out += [
            ("quiver_ingest_s", quiver.ingest), ("quiver_ingest_split_at_s", quiver.split),
            ("quiver_ingest_first_embedded_at_s", quiver.firstEmbedded),
            ("quiver_ingest_all_embedded_at_s", quiver.lastEmbedded), ("quiver_questions_s", quiver.answer),
            ("quiver_runs", Double(runs.count)), ("quiver_s_min", runs[0].ingest + runs[0].answer),
            ("quiver_s_max", runs[runs.count - 1].ingest + runs[runs.count - 1].answer),
            ("ideal_ingest_s", idealIngest), ("ideal_questions_s", idealQuestions),
            ("ingest_ideal_fraction", idealIngest / quiver.ingest), ("questions_ideal_fraction", idealQuestions / quiver.answer),
            ("ideal_at_run_limits_s", defaultsIngest + defaultsQuestions),
            ("run_limits_ideal_fraction", (defaultsIngest + defaultsQuestions) / (quiver.ingest + quiver.answer)),
            ("bare_client_s", bareIngest + bareQuestions), ("bare_client_ingest_s", bareIngest),
            ("bare_client_questions_s", bareQuestions),
            ("bare_client_fraction", (bareIngest + bareQuestions) / (quiver.ingest + quiver.answer)),
            ("server_cpu_quiver_s", quiver.serverCPU), ("server_cpu_bare_client_s", bareServerCPU),
            ("load_1min_after", Machine.load()),
        ]
        if let agree { out.append(("top_source_agreement", Double(agree) / Double(max(1, questions)))) }
        if json {
            print("{" + out.map { "\"\($0.0)\": \(StoreBench.format($0.1))" }.joined(separator: ", ") + "}")
        } else {
            for (k, v) in out { print(k.padding(toLength: 26, withPad: " ", startingAt: 0), StoreBench.format(v)) }
        }
    }

    /// The server's address and limits, and the clients both runs use.
    struct Setup: Sendable {
        let base: String
        let dimension: Int
        let maxInputs: Int

        func embedder() throws -> OpenAIEmbedder {
            try OpenAIEmbedder(
                model: "bench", dimension: dimension, baseURL: base + "/v1", limits: EmbedderLimits(maxInputsPerRequest: maxInputs))
        }

        func model() throws -> OpenAIChat { try OpenAIChat(model: "bench", baseURL: base + "/v1") }
    }

    struct Timing: Sendable {
        var ingest: Double
        var answer: Double
        var chunks: Int
        var topSources: [String]
        /// The limits the run used (the defaults, for the library's run).
        var batchSize = 1
        var embedConcurrency = 1
        var answerConcurrency = 1
        /// CPU seconds the server spent during the run.
        var serverCPU = 0.0
        /// Seconds into the ingest when every chunk was split, and when the first and the
        /// last embeddings came back (from the progress reports).
        var split = 0.0
        var firstEmbedded = 0.0
        var lastEmbedded = 0.0
    }

    /// One document, one chunk, one question at a time, with the synchronous calls.
    static func naiveRun(_ setup: Setup, corpus: String, root: String, questions: [String]) throws -> Timing {
        let embedder = try setup.embedder()
        let model = try setup.model()
        let store = try Store(path: root)
        let collection = try store.openOrCreateCollection("docs", for: embedder)
        let splitter = RecursiveSplitter()
        let files = try Self.files(corpus)
        let t0 = Machine.now()
        var chunks = 0
        for file in files {
            let text = try String(contentsOfFile: corpus + "/" + file, encoding: .utf8)
            for (n, chunk) in splitter.split(text).enumerated() {
                let vector = try embedder.embed([chunk.text])[0]
                try collection.upsert([
                    Record(
                        id: ChunkSchema.recordID(document: file, chunk: n), vector: vector, text: chunk.text,
                        metadata: [ChunkSchema.Key.document: .string(file)])
                ])
                chunks += 1
            }
        }
        let ingest = Machine.now() - t0
        let retriever = try Retriever(collection: collection, embedder: embedder)
        let template = PromptTemplate.standard
        let t1 = Machine.now()
        var top: [String] = []
        for q in questions {
            let found = try retriever.retrieve(q)  // one embedding request, one search
            let context = PromptContext(chunks: found)
            _ = try model.complete(template.messages(question: q, context: context))
            top.append(found.first?.document ?? "")
        }
        return Timing(ingest: ingest, answer: Machine.now() - t1, chunks: chunks, topSources: top)
    }

    /// The library's defaults: the ingest pipeline over the folder, then a batch of answers.
    func quiverRun(_ setup: Setup, corpus: String, root: String, questions: [String], answerConcurrency: Int?) async throws -> Timing {
        let embedder = try setup.embedder()
        let store = try Store(path: root)
        let collection = try await store.openOrCreateCollection("docs", for: embedder)
        let pipeline = IngestPipeline(collection: collection, embedder: embedder, splitter: RecursiveSplitter())
        // When the chunks were known (loaded and split), and the first and last embeddings came back.
        let marks = PosixMutex((split: 0.0, firstEmbedded: 0.0, lastEmbedded: 0.0))
        let t0 = Machine.now()
        let report = try await pipeline.run(directory: corpus) { p in
            let t = Machine.now() - t0
            marks.withLock { m in
                if p.chunks > 0 && m.split == 0 { m.split = t }
                if p.embedded > 0 && m.firstEmbedded == 0 { m.firstEmbedded = t }
                if p.chunks > 0 && p.embedded == p.chunks && m.lastEmbedded == 0 { m.lastEmbedded = t }
            }
        }
        let ingest = Machine.now() - t0
        guard report.failed.isEmpty else { throw ValidationError("ingest failed: \(report.failed.prefix(3))") }
        var engine = QueryEngine(retriever: try Retriever(collection: collection, embedder: embedder), model: try setup.model())
        if let answerConcurrency { engine.concurrency = answerConcurrency }
        let t1 = Machine.now()
        let answers = await engine.answer(batch: questions)
        let answer = Machine.now() - t1
        let top = try answers.map { try $0.get().sources.first?.document ?? "" }
        let m = marks.withLock { $0 }
        return Timing(
            ingest: ingest, answer: answer, chunks: report.chunksWritten, topSources: top, batchSize: pipeline.batchSize,
            embedConcurrency: pipeline.concurrency, answerConcurrency: engine.concurrency, split: m.split,
            firstEmbedded: m.firstEmbedded, lastEmbedded: m.lastEmbedded)
    }

    /// The files of the corpus, relative to it, in order.
    static func files(_ corpus: String) throws -> [String] {
        try FileManager.default.subpathsOfDirectory(atPath: corpus).filter { $0.hasSuffix(".txt") }.sorted()
    }

    /// `documents` short notes (one chunk each at the default chunk size) in 10 folders, and
    /// `questions` questions about some of them.
    static func generate(at corpus: String, documents: Int, questions: Int) throws -> [String] {
        var rng = SeededGenerator(seed: 18)
        let places = ["reef", "cape", "harbour", "island", "headland", "estuary", "sound", "point"]
        let builders = ["Stevenson", "Smeaton", "Douglass", "Walker", "Halpin", "Rennie", "Nelson", "Fresnel"]
        func pick(_ list: [String]) -> String { list[Int(rng.next() % UInt64(list.count))] }
        for d in 0..<documents {
            let folder = corpus + "/f\(d % 10)"
            if d < 10 { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
            let year = 1700 + Int(rng.next() % 300)
            let text = """
                Lighthouse \(d) stands on the \(pick(places)) of station \(d). \(pick(builders)) built it in \(year), \
                and its light shows \(1 + rng.next() % 6) flashes every \(5 + rng.next() % 25) seconds. Keepers of \
                lighthouse \(d) logged the weather every night; the tower is \(20 + rng.next() % 40) metres tall and \
                was automated in \(1950 + rng.next() % 50). Ships passing station \(d) listen for its fog horn.
                """
            try text.write(toFile: folder + "/lighthouse\(d).txt", atomically: false, encoding: .utf8)
        }
        return (0..<questions).map { i in
            let d = (i * 37) % max(1, documents)
            return "Who built lighthouse \(d) at station \(d), and when?"
        }
    }
}
