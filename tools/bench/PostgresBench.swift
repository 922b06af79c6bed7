import ArgumentParser
import Foundation
import Ingest
import PostgresStore
import Synthetic
import VectorStore

/// `quiver-bench postgres --url postgres://…`: the PostgreSQL backend next to the embedded
/// LMDB store, both measured in this run: ingest throughput (hashing embedder, one
/// generated corpus), exact and HNSW search latency and HNSW recall at 100k × 384, and a
/// batch of 256 questions against 256 single calls.
struct PostgresBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "postgres", abstract: "Benchmark the PostgreSQL + pgvector backend against the embedded store, same run.")

    @Option(help: "The database to use (its bench_* collections are replaced); default: $QUIVER_BENCH_POSTGRES.")
    var url: String?
    @Option(help: "Vectors for the search figures.") var n = 100_000
    @Option(help: "Dimension.") var dim = 384
    @Option(help: "Top-k.") var k = 10
    @Option(help: "Single queries timed per figure.") var queries = 50
    @Option(help: "Questions in the batch figure.") var batch = 256
    @Option(help: "HNSW candidate list (hnsw.ef_search).") var efSearch = 40
    @Option(help: "Ingest corpus size in MB.") var mb = 10
    @Option(help: "A BEIR folder (corpus.jsonl, queries.jsonl, qrels/) for the keyword and hybrid figures; none: skipped.")
    var beir: String?
    @Option(help: "The BEIR qrels split whose queries are timed.") var beirSplit = "train"
    @Option(help: "Copies of the BEIR corpus for the keyword figures (ids suffixed), for a larger collection.") var keywordCopies = 1
    @Flag(help: "The keyword and hybrid figures only (with --beir): no ingest, no vector search figures.") var keywordOnly = false
    @Flag(help: "Print one flat JSON object.") var json = false

    func run() async throws {
        guard let url = url ?? ProcessInfo.processInfo.environment["QUIVER_BENCH_POSTGRES"] else {
            throw ValidationError("give --url postgres://… (or $QUIVER_BENCH_POSTGRES)")
        }
        var out: [(String, Double)] = []
        func note(_ key: String, _ value: Double) {
            out.append((key, value))
            if !json { FileHandle.standardError.write(Data("\(key) \(StoreBench.format(value))\n".utf8)) }
        }
        note("load_1min", Machine.load())
        let root = NSTemporaryDirectory() + "quiver-pg-bench-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        // Ingest as a user gets it (the HNSW index kept up to date row by row), and with the
        // index left for later, which is how the search figures' collection is loaded.
        let pgIndexed = try PostgresDatabase(url: url)
        let pg = try PostgresDatabase(url: url, options: PostgresOptions(hnswIndex: false))
        let lmdb = try Store(path: root + "/store")

        if let beir { try keywordFigures(pg, lmdb, beir, note) }
        if keywordOnly {
            return print("{" + out.map { "\"\($0.0)\": \(StoreBench.format($0.1))" }.joined(separator: ", ") + "}")
        }
        // Ingest: the same corpus and embedder through the same pipeline into each backend.
        let (documents, _) = try Corpus.generate(at: root + "/corpus", mb: mb, documentBytes: 20_000)
        note("ingest_documents", Double(documents))
        let embedder = HashingEmbedder(dimension: dim)
        var rates: [Double] = []
        for db in [lmdb as any VectorDatabase, pgIndexed, pg] {
            try await db.dropCollection("bench_ingest")
            for cache in try await db.collections(includingReserved: true)
            where cache.name.hasPrefix(ReservedNames.embeddingCachePrefix) {
                try await db.dropCollection(cache.name)
            }
            let c = try await db.openOrCreateCollection("bench_ingest", for: embedder, keywordAnalyzer: nil)
            let pipeline = IngestPipeline(
                collection: c, embedder: embedder, splitter: RecursiveSplitter(chunkSize: 800, chunkOverlap: 80))
            let t0 = Machine.now()
            let report = try await pipeline.run(directory: root + "/corpus")
            rates.append(Double(report.chunksWritten) / (Machine.now() - t0))
        }
        note("lmdb_ingest_chunks_per_s", rates[0])
        note("pg_ingest_chunks_per_s", rates[1])
        note("pg_ingest_ratio", rates[1] / rates[0])
        note("pg_ingest_no_hnsw_chunks_per_s", rates[2])
        note("pg_ingest_no_hnsw_ratio", rates[2] / rates[0])
        try searchFigures(pg, lmdb, note)
        if let beir, let cached = try MiniLMVectorCache.load(beir) { try realRecall(pg, cached.chunks, cached.queries, note) }
        note("load_1min_end", Machine.load())
        note("pgvector_version_major_minor", Double(pg.pgvectorVersion.split(separator: ".").prefix(2).joined(separator: ".")) ?? 0)

        if json {
            print("{" + out.map { "\"\($0.0)\": \(StoreBench.format($0.1))" }.joined(separator: ", ") + "}")
        } else {
            for (key, value) in out { print(key.padding(toLength: 30, withPad: " ", startingAt: 0), StoreBench.format(value)) }
        }
    }

    /// Keyword (BM25) and hybrid search in both backends, same run: the BEIR corpus (title
    /// and text, times `keywordCopies`) written into a keyword-indexed collection of each
    /// (hashing embedder, 64 dimensions), and into a PostgreSQL collection without the index
    /// (what the index adds to writes), then its queries one at a time, top 10: p50
    /// latency in each mode, and how often PostgreSQL's top 10 ids equal the embedded
    /// store's (the same BM25; only the order among equal scores may differ).
    func keywordFigures(_ pg: PostgresDatabase, _ lmdb: Store, _ folder: String, _ note: (String, Double) -> Void) throws {
        let data = try BEIRDataset.load(folder, split: beirSplit)
        let embedder = HashingEmbedder(dimension: 64)
        var settings = CollectionSettings(dimension: 64, metric: .cosine)
        settings.keywordAnalyzer = .english
        try pg.dropCollection("bench_keyword")
        try lmdb.dropCollection("bench_keyword")
        let pc = try pg.createCollection("bench_keyword", settings: settings)
        let lc = try lmdb.createCollection("bench_keyword", settings: settings)
        // The same records into a PostgreSQL collection without the index: what the index costs writes.
        try pg.dropCollection("bench_keyword_plain")
        let plain = try pg.createCollection("bench_keyword_plain", dimension: 64, metric: .cosine)
        var plainLoad = 0.0
        var pgLoad = 0.0
        var lmdbLoad = 0.0
        var written = 0
        for copy in 0..<max(1, keywordCopies) {
            var start = 0
            while start < data.documents.count {
                let part = data.documents[start..<min(data.documents.count, start + 500)]
                let texts = part.map { $0.title.isEmpty ? $0.text : $0.title + "\n\n" + $0.text }
                let vectors = try embedder.embed(texts)
                let records = zip(part, zip(texts, vectors)).map { d, tv in
                    Record(
                        id: d.id + (copy == 0 ? "" : "~\(copy)"), vector: tv.1, text: tv.0, metadata: ["part": .int(Int64(written % 10))])
                }
                var t0 = Machine.now()
                try pc.upsert(records)
                pgLoad += Machine.now() - t0
                t0 = Machine.now()
                try lc.upsert(records)
                lmdbLoad += Machine.now() - t0
                t0 = Machine.now()
                try plain.upsert(records)
                plainLoad += Machine.now() - t0
                written += records.count
                start += part.count
            }
        }
        note("keyword_records", Double(written))
        note("pg_keyword_upsert_per_s", Double(written) / pgLoad)
        note("lmdb_keyword_upsert_per_s", Double(written) / lmdbLoad)
        note("pg_plain_upsert_per_s", Double(written) / plainLoad)
        note("pg_keyword_upsert_overhead", pgLoad / plainLoad - 1)
        try pg.dropCollection("bench_keyword_plain")
        // As autovacuum leaves a bulk load, in the time it takes: visibility map set, statistics taken.
        let t0 = Machine.now()
        try pg.vacuum("bench_keyword")
        note("pg_keyword_vacuum_s", Machine.now() - t0)
        let texts = data.queries.prefix(queries * 4).map(\.text)
        let vectors = try embedder.embed(texts)
        var times: [[Double]] = [[], [], [], []]
        var same = 0
        for (i, text) in texts.enumerated() {
            let keyword = SearchRequest(texts: [text], k: k, mode: .keyword)
            let hybrid = SearchRequest(texts: [text], vectors: [vectors[i]], k: k, mode: .hybrid)
            var results: [[String]] = []
            for (m, (c, request)) in [(pc as any VectorCollection, keyword), (lc, keyword), (pc, hybrid), (lc, hybrid)].enumerated() {
                let t = Machine.now()
                let hits = try c.search(request).hits[0]
                times[m].append(Machine.now() - t)
                if m < 2 { results.append(hits.map(\.id)) }
            }
            if results[0] == results[1] { same += 1 }
        }
        let p50 = times.map { $0.sorted()[$0.count / 2] * 1000 }
        note("keyword_queries", Double(texts.count))
        note("pg_keyword_p50_ms", p50[0])
        note("lmdb_keyword_p50_ms", p50[1])
        note("pg_keyword_p50_ratio", p50[0] / p50[1])
        note("pg_hybrid_p50_ms", p50[2])
        note("lmdb_hybrid_p50_ms", p50[3])
        note("pg_keyword_same_top10", Double(same) / Double(texts.count))
    }

    /// HNSW recall@k on real embeddings: the MiniLM vectors of `--beir`'s chunks that
    /// `quiver-bench tiers --beir` caches (SciFact: 9,634 × 384, its 809 queries), against
    /// PostgreSQL's own exact search, at `--ef-search` and at 100. Uniform random vectors
    /// (`pg_hnsw_recall10`) are a graph's worst case; these are what an application stores.
    func realRecall(_ pg: PostgresDatabase, _ base: NPY.Matrix, _ queries: NPY.Matrix, _ note: (String, Double) -> Void) throws {
        try pg.dropCollection("bench_minilm")
        let pc = try pg.createCollection("bench_minilm", dimension: base.cols, metric: .cosine)
        var i = 0
        while i < base.rows {
            try pc.upsert((i..<min(base.rows, i + 1000)).map { Record(id: "c\($0)", vector: base.row($0)) })
            i += 1000
        }
        let t0 = Machine.now()
        try pg.buildHNSWIndex(of: "bench_minilm")
        note("pg_minilm_vectors", Double(base.rows))
        note("pg_minilm_hnsw_build_s", Machine.now() - t0)
        let qs = (0..<queries.rows).map { queries.row($0) }
        let truth = try qs.map { Set(try pc.search($0, k: k).map(\.id)) }
        for ef in Set([efSearch, 100]).sorted() {
            let approximate = pc.approximate(efSearch: ef)
            var found = 0
            for (q, t) in zip(qs, truth) { found += try approximate.search(q, k: k).filter { t.contains($0.id) }.count }
            note("pg_minilm_hnsw_recall\(k)_ef\(ef)", Double(found) / Double(qs.count * k))
        }
        try pg.dropCollection("bench_minilm")
    }

    /// The search figures (synchronous calls, as an application's request handler makes).
    func searchFigures(_ pg: PostgresDatabase, _ lmdb: Store, _ note: (String, Double) -> Void) throws {
        // n × dim unit vectors into each backend; the HNSW index built once after loading.
        var rng = SeededGenerator(seed: 42)
        try pg.dropCollection("bench_vectors")
        try lmdb.dropCollection("bench_vectors")
        let pc = try pg.createCollection("bench_vectors", dimension: dim, metric: .cosine)
        let lc = try lmdb.createCollection("bench_vectors", dimension: dim, metric: .cosine)
        var pgLoad = 0.0
        var lmdbLoad = 0.0
        var i = 0
        while i < n {
            let records = (i..<min(n, i + 1000)).map {
                Record(id: "r\($0)", vector: rng.unitVector(dim), text: "record \($0)", metadata: ["part": .int(Int64($0 % 10))])
            }
            var t0 = Machine.now()
            try pc.upsert(records)
            pgLoad += Machine.now() - t0
            t0 = Machine.now()
            try lc.upsert(records)
            lmdbLoad += Machine.now() - t0
            i += records.count
        }
        note("n", Double(n))
        note("dim", Double(dim))
        note("pg_upsert_per_s", Double(n) / pgLoad)
        note("lmdb_upsert_per_s", Double(n) / lmdbLoad)
        var t0 = Machine.now()
        try pg.buildHNSWIndex(of: "bench_vectors")
        note("pg_hnsw_build_s", Machine.now() - t0)

        let qs = (0..<max(queries, batch)).map { _ in rng.unitVector(dim) }
        func p50(_ body: ([Float]) throws -> Void) rethrows -> Double {
            try body(qs[0])  // warm
            var lat: [Double] = []
            for q in qs.prefix(queries) {
                let t = Machine.now()
                try body(q)
                lat.append(Machine.now() - t)
            }
            return lat.sorted()[lat.count / 2] * 1000
        }
        note("lmdb_exact_p50_ms", try p50 { _ = try lc.search($0, k: k) })
        note("pg_exact_p50_ms", try p50 { _ = try pc.search($0, k: k) })
        let approximate = pc.approximate(efSearch: efSearch)
        note("pg_hnsw_ef_search", Double(efSearch))
        note("pg_hnsw_p50_ms", try p50 { _ = try approximate.search($0, k: k) })
        // Recall against the exact top-k, for questions near the data (a stored vector plus
        // noise of the same size, as a paraphrase lands near its passage) and for uniformly
        // random ones (nearly equidistant from everything: the worst case for a graph).
        func recall(_ questions: [[Float]]) throws -> Double {
            var found = 0
            for q in questions {
                let truth = Set(try lc.search(q, k: k).map(\.id))
                found += try approximate.search(q, k: k).filter { truth.contains($0.id) }.count
            }
            return Double(found) / Double(questions.count * k)
        }
        var nearRng = SeededGenerator(seed: 99)
        let near = try (0..<queries).map { j -> [Float] in
            let stored = try lc.get("r\(j * 997 % n)")?.vector ?? nearRng.unitVector(dim)
            let noise = nearRng.unitVector(dim)
            let sum = zip(stored, noise).map { $0 + 0.8 * $1 }
            let norm = sum.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return sum.map { $0 / norm }
        }
        note("pg_hnsw_recall10", try recall(near))
        note("pg_hnsw_recall10_uniform_queries", try recall(Array(qs.prefix(queries))))

        // A batch of questions through search(batch:) against the same questions one call
        // at a time (exact).
        let questions = Array(qs.prefix(batch))
        t0 = Machine.now()
        for q in questions { _ = try pc.search(q, k: k) }
        let singles = Machine.now() - t0
        t0 = Machine.now()
        _ = try pc.search(batch: questions, k: k)
        let batched = Machine.now() - t0
        note("pg_batch_\(batch)_s", batched)
        note("pg_single_\(batch)_s", singles)
        note("pg_batch_ratio", singles / batched)
        t0 = Machine.now()
        _ = try lc.search(batch: questions, k: k)
        note("lmdb_batch_\(batch)_s", Machine.now() - t0)
    }
}
