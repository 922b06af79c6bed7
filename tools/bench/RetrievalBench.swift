import ArgumentParser
import Foundation
import Ingest

/// `quiver-bench retrieval`: what dense, keyword and hybrid search find on a BEIR dataset
/// (nDCG@10, Recall@100), next to bm25s on the same corpus and queries in the same run;
/// then keyword, dense and hybrid latency on a ~100k-chunk copy of the corpus, and the
/// time a keyword index adds to ingesting.
struct RetrievalBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retrieval", abstract: "Retrieval quality (BEIR) and keyword/hybrid search speed, next to bm25s.")

    /// The embedder that indexes the corpus.
    enum EmbedderChoice: String, CaseIterable, ExpressibleByArgument {
        /// all-MiniLM-L6-v2 in-process (scripts/setup.sh installs it).
        case local
        /// The lexical hashing embedder: quick runs, no semantic figures.
        case hash
    }

    @Option(help: "BEIR folder: corpus.jsonl, queries.jsonl, qrels/*.tsv.") var beir: String
    @Option(help: "Qrels split: qrels/SPLIT.tsv (the only tsv when it is missing).") var split = "train"
    @Option(help: "Embedder: local (all-MiniLM-L6-v2) or hash (quick runs).") var embedder = EmbedderChoice.local
    @Option(help: "Local model folder (default: where scripts/setup.sh installs it).") var modelDir: String?
    @Option(help: "Chunk size in the embedder's tokens (the local model's are capped at 254).") var chunkSize = 256
    @Option(help: "Chunk overlap in tokens.") var chunkOverlap = 32
    @Option(help: "Texts per embedding call.") var embedBatch = 256
    @Option(help: "Chunks fetched per query to rank the top 100 documents.") var fetch = 400
    @Option(help: "Candidates per ranking that a hybrid search fuses (default: the library's, max(2 × --fetch, 100)).")
    var fusionCandidates: Int?
    @Flag(
        help: """
            With the local model at the default chunking, reuse the MiniLM vectors that `quiver-bench tiers --beir` \
            cached under ~/.cache/quiver/vectors (and save them there when missing); embed_seconds is then 0.
            """)
    var vectorCache = false
    @Option(help: "Queries per batched search.") var searchBatch = 64
    @Option(parsing: .upToNextOption, help: "Keyword weights of extra hybrid runs with weighted fusion (the default is 0.5).")
    var keywordWeights = [0.3, 0.7]
    @Flag(help: "Do not run the bm25s reference (tools/bench/bm25s_reference.py).") var skipBm25s = false
    @Option(help: "Rounds of keyword speed, bm25s then Quiver in each (the best round of each side counts).")
    var speedRounds = 3
    @Option(help: "Python for the bm25s reference.") var python = "python3"
    @Option(help: "BM25 k1 of Quiver's keyword and hybrid searches.") var k1 = BM25Parameters().k1
    @Option(help: "BM25 b of Quiver's keyword and hybrid searches.") var b = BM25Parameters().b
    @Option(help: "Metadata fields the keyword index reads with each chunk, comma-separated (\"\" for the text alone).")
    var keywordFields = "title"
    @Flag(help: "Skip the latency figures on the replicated collection.") var skipScale = false
    @Option(help: "Chunks in the replicated collection.") var scaleChunks = 100_000
    @Option(help: "Queries timed one at a time on it.") var scaleQueries = 200
    @Option(help: "Hits per query there.") var scaleK = 10
    @Flag(help: "Skip the ingest time with and without a keyword index.") var skipIngest = false
    @Option(help: "Generated corpus for the ingest figures, in MB.") var ingestMb = 100
    @Option(help: "Rounds of (without, with, with, without) ingests.") var ingestRounds = 1
    @Flag(help: "Print one flat JSON object.") var json = false

    func validate() throws {
        guard chunkSize > 0, chunkOverlap >= 0, chunkOverlap < chunkSize else {
            throw ValidationError("need 0 <= --chunk-overlap < --chunk-size")
        }
        guard embedBatch > 0, searchBatch > 0, scaleQueries > 0, scaleK > 0, ingestMb > 0, ingestRounds > 0, speedRounds > 0 else {
            throw ValidationError(
                "batch sizes, --scale-queries, --scale-k, --ingest-mb, --ingest-rounds and --speed-rounds must be positive")
        }
        if let c = fusionCandidates, c < 1 { throw ValidationError("--fusion-candidates must be positive") }
        guard fetch >= 100 else { throw ValidationError("--fetch must be at least 100 (the top 100 documents are ranked)") }
        guard keywordWeights.allSatisfy({ (0...1).contains($0) }) else {
            throw ValidationError("--keyword-weights must be between 0 and 1")
        }
    }

    func run() throws {
        var out: [(String, Double)] = [("load_1min", Machine.load())]
        let data = try BEIRDataset.load(beir, split: split)
        guard !data.queries.isEmpty, !data.documents.isEmpty else {
            throw ValidationError("\(beir): no documents, or no query with judgments in \(data.qrelsPath)")
        }
        // The reference first: when it cannot run, say so before the long indexing.
        let reference = skipBm25s ? nil : try bm25sReference()
        let root = NSTemporaryDirectory() + "quiver-retrieval-bench-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }

        let corpus = try index(data, at: root + "/store")
        out += [
            ("queries", Double(data.judgedQueryIDs.count)), ("documents", Double(data.documents.count)),
            ("chunks", Double(corpus.records.count)), ("split_seconds", corpus.splitSeconds),
            ("embed_seconds", corpus.embedSeconds), ("index_seconds", corpus.indexSeconds),
        ]
        out += try analyzerThroughput(corpus.records)
        let quality = try evaluate(corpus, data)
        out += quality
        if let reference { out += [("bm25s_ndcg10", reference.ndcg10), ("bm25s_recall100", reference.recall100)] }
        // bm25s returns document indices and scores: so do these hits (ids and scores);
        // with each hit's text and metadata decoded too, as a default search returns them.
        // The machine is shared and its speed drifts within a run (bm25s alone measured
        // 3,000–4,700 queries per second in runs minutes apart), so the two are measured
        // in interleaved rounds, bm25s then Quiver, and each side's best round counts;
        // the worst round's ratio is reported too.
        var referenceQPS: [Double] = []
        var quiverQPS: [Double] = []
        var qpsWithText = 0.0
        for _ in 0..<(reference == nil ? 1 : speedRounds) {
            if reference != nil { referenceQPS.append(try bm25sReference().qps) }
            quiverQPS.append(try keywordQueriesPerSecond(corpus.collection, data.queries.map(\.text), fields: .none))
            qpsWithText = max(qpsWithText, try keywordQueriesPerSecond(corpus.collection, data.queries.map(\.text), fields: .all))
        }
        let qps = quiverQPS.max()!
        if let bm25sQPS = referenceQPS.max() { out.append(("bm25s_qps", bm25sQPS)) }
        out.append(("keyword_qps", qps))
        // The index's shape as the queries found it: segments not yet folded into the term
        // lists are searched one after another.
        let probe = try corpus.collection.search(SearchRequest(texts: [data.queries[0].text], k: 100, mode: .keyword))
        out.append(("keyword_segments", probe.plan["segments"] ?? 0))
        out.append(("keyword_qps_with_text", qpsWithText))
        if let bm25sQPS = referenceQPS.max() {
            out.append(("keyword_qps_vs_bm25s", qps / bm25sQPS))
            out.append(("keyword_qps_with_text_vs_bm25s", qpsWithText / bm25sQPS))
            out.append(("keyword_qps_vs_bm25s_worst_round", zip(quiverQPS, referenceQPS).map { $0 / $1 }.min()!))
            out.append(("speed_rounds", Double(referenceQPS.count)))
        }
        if !skipScale { out += try scaleLatency(corpus, data) }
        if !skipIngest { out += try ingestOverhead(root: root + "/ingest") }
        out.append(("load_1min_after", Machine.load()))
        let text = [("embedder", corpus.embedderName), ("keyword_analyzer", AnalyzerSettings.english.identifier)]
        print(json ? Machine.json(out, text: text) : Self.table(out, text: text, weights: keywordWeights))
    }

    // MARK: Indexing

    /// The corpus as indexed: the collection, and its records (copied for the scale test).
    struct IndexedCorpus {
        var store: Store
        var collection: LMDBCollection
        var embedder: any Embedder
        var embedderName: String
        var records: [Record]
        /// The queries' vectors, when they came from the cache.
        var queryVectors: [[Float]]?
        var splitSeconds: Double
        var embedSeconds: Double
        var indexSeconds: Double
    }

    func makeEmbedder() throws -> any Embedder {
        switch embedder {
        case .local: return try LocalEmbedder(directory: modelDir)
        case .hash: return HashingEmbedder(dimension: 384)
        }
    }

    /// Splits title + "\n\n" + text of every document into token chunks, embeds them in
    /// batches on all cores and writes them (`docid#n`, metadata `doc` and `title`, as the
    /// ingest pipeline's chunks carry) into a fresh collection with an English keyword
    /// index over the text and `keywordFields`.
    func index(_ data: BEIRDataset, at path: String) throws -> IndexedCorpus {
        let embedder = try makeEmbedder()
        let tokenizer: any Tokenizer = (embedder as? LocalEmbedder)?.tokenizer ?? WordTokenizer()
        let splitter = TokenSplitter(chunkSize: chunkSize, chunkOverlap: chunkOverlap, tokenizer: tokenizer)
        let t0 = Machine.now()
        let texts = data.documents.map { $0.title.isEmpty ? $0.text : $0.title + "\n\n" + $0.text }
        let split = texts.split(with: splitter)
        var chunks: [(id: String, doc: String, title: String, text: String)] = []
        for (doc, parts) in zip(data.documents, split) {
            for (n, part) in parts.enumerated() { chunks.append(("\(doc.id)#\(n)", doc.id, doc.title, part.text)) }
        }
        let splitSeconds = Machine.now() - t0

        var vectors: [[Float]] = []
        vectors.reserveCapacity(chunks.count)
        let t1 = Machine.now()
        let cached = try cachedVectors(data, chunks: chunks.count)
        var queryVectors = cached?.queries
        if let cached {
            vectors = cached.chunks
        } else {
            var start = 0
            while start < chunks.count {
                let end = min(chunks.count, start + embedBatch)
                vectors += try embedder.embed(chunks[start..<end].map(\.text))
                start = end
                Self.progress("embedding", start, chunks.count, since: t1)
            }
            if usesVectorCache {
                queryVectors = try embedder.embed(data.queries.map(\.text))
                try MiniLMVectorCache.save(beir, chunks: vectors, queries: queryVectors ?? [])
            }
        }
        let embedSeconds = cached == nil ? Machine.now() - t1 : 0

        let store = try Store(path: path)
        let collection = try store.openOrCreateCollection(
            "beir", for: embedder, keywordAnalyzer: .english, keywordFields: KeywordIndexSettings.fields(keywordFields))
        let records = zip(chunks, vectors).map { c, v in
            var metadata: [String: MetadataValue] = ["doc": .string(c.doc)]
            if !c.title.isEmpty { metadata[ChunkSchema.Key.title] = .string(c.title) }
            return Record(id: c.id, vector: v, text: c.text, metadata: metadata)
        }
        let t2 = Machine.now()
        var start = 0
        while start < records.count {
            let end = min(records.count, start + 5000)
            try collection.upsert(Array(records[start..<end]))
            start = end
        }
        let indexSeconds = Machine.now() - t2
        return IndexedCorpus(
            store: store, collection: collection, embedder: embedder, embedderName: embedder.identifier.description, records: records,
            queryVectors: queryVectors, splitSeconds: splitSeconds, embedSeconds: embedSeconds, indexSeconds: indexSeconds)
    }

    /// Whether `--vector-cache` applies: the local model at the chunking the cache holds.
    var usesVectorCache: Bool { vectorCache && embedder == .local && chunkSize == 256 && chunkOverlap == 32 && split == "train" }

    /// The cached vectors (`MiniLMVectorCache`), when `--vector-cache` applies and they
    /// match this corpus's chunk and query counts.
    func cachedVectors(_ data: BEIRDataset, chunks: Int) throws -> (chunks: [[Float]], queries: [[Float]])? {
        guard usesVectorCache, let cached = try MiniLMVectorCache.load(beir) else { return nil }
        let (c, q) = (cached.chunks, cached.queries)
        guard c.rows == chunks, q.rows == data.queries.count else {
            FileHandle.standardError.write(Data("the vector cache does not match this corpus; embedding\n".utf8))
            return nil
        }
        FileHandle.standardError.write(Data("vectors from \(MiniLMVectorCache.paths(beir).chunks)\n".utf8))
        return ((0..<c.rows).map { c.row($0) }, (0..<q.rows).map { q.row($0) })
    }

    static func progress(_ label: String, _ done: Int, _ total: Int, since start: Double) {
        let rate = Double(done) / max(Machine.now() - start, 1e-9)
        let end = done == total ? "\n" : ""
        FileHandle.standardError.write(Data("\r\(label) \(done)/\(total) (\(Int(rate))/s)\(end)".utf8))
    }

    // MARK: Quality

    /// nDCG@10 and Recall@100 of every mode, each query's top `fetch` chunks collapsed to
    /// their best 100 documents.
    func evaluate(_ corpus: IndexedCorpus, _ data: BEIRDataset) throws -> [(String, Double)] {
        let texts = data.queries.map(\.text)
        let t0 = Machine.now()
        let vectors = try corpus.queryVectors ?? corpus.embedder.embed(texts)
        var out: [(String, Double)] = [("query_embed_seconds", Machine.now() - t0)]
        var runs: [(key: String, mode: SearchMode, fusion: Fusion)] = [
            ("dense", .dense, .default), ("keyword", .keyword, .default), ("hybrid", .hybrid, .default),
            ("hybrid_rrf", .hybrid, .reciprocalRank(k: 60)),
        ]
        for w in keywordWeights { runs.append((Self.weightedKey(w), .hybrid, .weighted(keywordWeight: w))) }
        for run in runs {
            let t = Machine.now()
            var rankings: [String: [String]] = [:]
            var start = 0
            while start < texts.count {
                let end = min(texts.count, start + searchBatch)
                let request =
                    run.mode == .dense
                    ? SearchRequest(queries: Array(vectors[start..<end]), k: fetch)
                    : SearchRequest(
                        texts: Array(texts[start..<end]), vectors: run.mode == .hybrid ? Array(vectors[start..<end]) : [], k: fetch,
                        mode: run.mode, fusion: run.fusion, fusionCandidates: fusionCandidates)
                var tuned = request
                tuned.bm25 = BM25Parameters(k1: k1, b: b)
                let response = try corpus.collection.search(tuned)
                for (i, hits) in response.hits.enumerated() {
                    rankings[data.queries[start + i].id] = RankingMetrics.documents(hits.map(Self.document))
                }
                start = end
            }
            let seconds = Machine.now() - t
            let m = RankingMetrics(rankings: rankings, relevant: data.relevant)
            out += [
                ("\(run.key)_ndcg10", m.ndcg10), ("\(run.key)_recall100", m.recall100),
                ("\(run.key)_batched_qps", Double(texts.count) / seconds),
            ]
        }
        return out
    }

    /// `hybrid_weighted_0_3` for keyword weight 0.3.
    static func weightedKey(_ w: Double) -> String {
        "hybrid_weighted_" + String(format: "%g", w).replacingOccurrences(of: ".", with: "_")
    }

    /// The document a chunk belongs to: its `doc` field, else its id up to the last `#`.
    static func document(_ hit: SearchHit) -> String {
        if case .string(let doc)? = hit.metadata["doc"] { return doc }
        return hit.id.lastIndex(of: "#").map { String(hit.id[..<$0]) } ?? hit.id
    }

    // MARK: Reference

    struct Reference {
        var ndcg10: Double
        var recall100: Double
        var qps: Double
    }

    /// Runs tools/bench/bm25s_reference.py on the same folder; its errors (bm25s not
    /// installed, a malformed file) pass through on stderr.
    func bm25sReference() throws -> Reference {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("bm25s_reference.py").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [python, script, beir, "--split", split]
        let pipe = Pipe()
        p.standardOutput = pipe
        FileHandle.standardError.write(Data("bm25s reference: \(python) \(script) \(beir)\n".utf8))
        try p.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let result = (try? JSONSerialization.jsonObject(with: output)) as? [String: Any]
        guard p.terminationStatus == 0, let ndcg = result?["bm25s_ndcg10"] as? Double,
            let recall = result?["bm25s_recall100"] as? Double, let qps = result?["bm25s_qps"] as? Double
        else {
            throw ValidationError(
                "the bm25s reference failed (exit \(p.terminationStatus); its message is above): install it with "
                    + "`\(python) -m pip install bm25s==0.2.14 PyStemmer`, or pass --skip-bm25s")
        }
        return Reference(ndcg10: ndcg, recall100: recall, qps: qps)
    }

    // MARK: Output

    /// The quality figures as a table (mode × metric), then every other figure.
    static func table(_ out: [(String, Double)], text: [(String, String)], weights: [Double]) -> String {
        let value = Dictionary(out, uniquingKeysWith: { a, _ in a })
        let modes = ["dense", "keyword", "hybrid", "hybrid_rrf"] + weights.map(weightedKey) + ["bm25s"]
        var lines = ["ranking".padding(toLength: 26, withPad: " ", startingAt: 0) + "nDCG@10   Recall@100"]
        var shown = Set<String>()
        for mode in modes {
            guard let n = value[mode + "_ndcg10"], let r = value[mode + "_recall100"] else { continue }
            shown.formUnion([mode + "_ndcg10", mode + "_recall100"])
            lines.append(
                mode.padding(toLength: 26, withPad: " ", startingAt: 0) + String(format: "%-9.4f %.4f", n, r))
        }
        lines.append("")
        for (k, v) in out where !shown.contains(k) {
            lines.append(k.padding(toLength: 34, withPad: " ", startingAt: 0) + StoreBench.format(v))
        }
        for (k, v) in text { lines.append(k.padding(toLength: 34, withPad: " ", startingAt: 0) + v) }
        return lines.joined(separator: "\n")
    }
}
