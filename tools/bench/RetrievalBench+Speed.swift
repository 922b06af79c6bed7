import Foundation
import Ingest

extension RetrievalBench {
    /// Keyword queries per second on the calling thread, one query per call, top 100
    /// chunks each (query parsing and analysis, and decoding the 100 hits' `fields`,
    /// included): the best pass over all queries, of at least five and two seconds (as the
    /// bm25s reference times). bm25s ranks documents, Quiver chunks.
    func keywordQueriesPerSecond(_ collection: LMDBCollection, _ texts: [String], fields: SearchHit.Fields) throws -> Double {
        var best = Double.infinity
        var passes = 0
        let start = Machine.now()
        while passes < 5 || Machine.now() - start < 2 {
            let t = Machine.now()
            for text in texts {
                var request = SearchRequest(texts: [text], k: 100, mode: .keyword)
                request.fields = fields
                _ = try collection.search(request)
            }
            best = min(best, Machine.now() - t)
            passes += 1
        }
        return Double(texts.count) / best
    }

    /// The English analyzer alone on the indexed chunks' texts, one thread: MB/s (best of
    /// three passes), the reference for what the keyword index adds to writes.
    func analyzerThroughput(_ records: [Record]) throws -> [(String, Double)] {
        let analyzer = try TextAnalyzer(.english)
        let bytes = records.reduce(0) { $0 + $1.text.utf8.count }
        var best = Double.infinity
        var terms = 0
        for _ in 0..<3 {
            terms = 0
            let t = Machine.now()
            for r in records { analyzer.forEachTerm(in: r.text) { _, _ in terms += 1 } }
            best = min(best, Machine.now() - t)
        }
        return [
            ("analyzer_mb_per_s", Double(bytes) / 1e6 / best), ("analyzer_us_per_chunk", best / Double(records.count) * 1e6),
            ("terms_per_chunk", Double(terms) / Double(records.count)),
        ]
    }

    /// Latency of single queries in each mode on `scaleChunks` chunks: the indexed chunks
    /// copied (text and vector, ids suffixed `~copy`) until there are that many. The modes
    /// run one after the other for each query, so that load changes touch them alike; the
    /// dense and keyword searches for the hybrid's candidate count (100) run too, as the
    /// parts a hybrid search is made of.
    ///
    /// The copy is also written, before and after, into a collection without a keyword
    /// index (then dropped): the store's own cost of the index, outside any pipeline.
    func scaleLatency(_ corpus: IndexedCorpus, _ data: BEIRDataset) throws -> [(String, Double)] {
        func plainCopy(_ name: String) throws -> CopyCost {
            let plain = try corpus.store.openOrCreateCollection(name, for: corpus.embedder, keywordAnalyzer: nil)
            defer { _ = try? corpus.store.dropCollection(name) }
            return try copyChunks(corpus.records, into: plain, label: "copying without keyword index")
        }
        let plainBefore = try plainCopy("beir-scale-plain-before")
        let c = try corpus.store.openOrCreateCollection("beir-scale", for: corpus.embedder, keywordAnalyzer: .english)
        let build = try copyChunks(corpus.records, into: c, label: "copying")
        let plainAfter = try plainCopy("beir-scale-plain-after")
        let plain = CopyCost(
            seconds: (plainBefore.seconds + plainAfter.seconds) / 2, cpuSeconds: (plainBefore.cpuSeconds + plainAfter.cpuSeconds) / 2,
            bytesWritten: (plainBefore.bytesWritten + plainAfter.bytesWritten) / 2)

        let texts = (0..<scaleQueries).map { data.queries[$0 % data.queries.count].text }
        let vectors = try corpus.embedder.embed(texts)
        func keyword(_ i: Int) -> SearchRequest { SearchRequest(texts: [texts[i]], k: scaleK, mode: .keyword) }
        func dense(_ i: Int) -> SearchRequest { SearchRequest(queries: [vectors[i]], k: scaleK) }
        func hybrid(_ i: Int) -> SearchRequest { SearchRequest(texts: [texts[i]], vectors: [vectors[i]], k: scaleK, mode: .hybrid) }
        let pool = max(scaleK, 100)  // SearchRequest.fusionCandidates' default
        func requests(_ i: Int) -> [SearchRequest] {
            [
                keyword(i), dense(i), hybrid(i), SearchRequest(queries: [vectors[i]], k: pool),
                SearchRequest(texts: [texts[i]], k: pool, mode: .keyword),
            ]
        }
        for i in 0..<min(5, texts.count) {  // warm the map
            for r in requests(i) { _ = try c.search(r) }
        }
        var times: [[Double]] = [[], [], [], [], []]
        var denseThreads = 0
        var hybridDenseThreads = 0
        var rowsScored = 0.0
        var postings = 0.0
        for i in texts.indices {
            for (m, request) in requests(i).enumerated() {
                let t = Machine.now()
                let response = try c.search(request)
                times[m].append(Machine.now() - t)
                switch m {
                case 0:
                    rowsScored += response.plan[SearchPlan.Figure.rowsScored] ?? 0
                    postings += response.plan["postings"] ?? 0
                case 1: denseThreads = max(denseThreads, response.plan.threads)
                case 2: hybridDenseThreads = max(hybridDenseThreads, response.plan.parts.first?.threads ?? 0)
                default: break
                }
            }
        }
        let p50 = times.map { Self.percentile($0, 0.5) * 1000 }
        let p95 = times.map { Self.percentile($0, 0.95) * 1000 }
        let n = Double(texts.count)
        return [
            ("scale_chunks", Double(try c.count())), ("scale_build_seconds", build.seconds),
            ("scale_build_plain_seconds", plain.seconds), ("scale_build_keyword_overhead", build.seconds / plain.seconds - 1),
            ("scale_build_cpu_seconds", build.cpuSeconds), ("scale_build_plain_cpu_seconds", plain.cpuSeconds),
            ("scale_build_mb_written", build.bytesWritten / 1e6), ("scale_build_plain_mb_written", plain.bytesWritten / 1e6),
            ("scale_k", Double(scaleK)),
            ("keyword_p50_ms", p50[0]), ("keyword_p95_ms", p95[0]), ("dense_p50_ms", p50[1]), ("dense_p95_ms", p95[1]),
            ("hybrid_p50_ms", p50[2]), ("hybrid_p95_ms", p95[2]), ("hybrid_vs_dense_p50", p50[2] / p50[1]),
            ("keyword_vs_dense_p50", p50[0] / p50[1]), ("dense_k100_p50_ms", p50[3]), ("keyword_k100_p50_ms", p50[4]),
            ("hybrid_vs_parts_p50", p50[2] / (p50[3] + p50[4])), ("dense_threads", Double(denseThreads)),
            ("hybrid_dense_threads", Double(hybridDenseThreads)), ("keyword_threads", 1),
            ("keyword_postings_mean", postings / n), ("keyword_rows_scored_mean", rowsScored / n),
        ]
    }

    /// What writing the copies cost: wall and CPU seconds, bytes passed to write calls.
    struct CopyCost {
        var seconds: Double
        var cpuSeconds: Double
        var bytesWritten: Double
    }

    /// Upserts `scaleChunks` copies of `source` into `c`, 10,000 a transaction.
    func copyChunks(_ source: [Record], into c: LMDBCollection, label: String) throws -> CopyCost {
        let t0 = Machine.now()
        let cpu0 = Machine.cpuSeconds()
        let written0 = Machine.bytesWritten()
        var written = 0
        while written < scaleChunks {
            let n = min(10_000, scaleChunks - written)
            try c.upsert(
                (written..<written + n).map { i in
                    let r = source[i % source.count]
                    return Record(id: "\(r.id)~\(i / source.count)", vector: r.vector, text: r.text, metadata: r.metadata)
                })
            written += n
            Self.progress(label, written, scaleChunks, since: t0)
        }
        return CopyCost(
            seconds: Machine.now() - t0, cpuSeconds: Machine.cpuSeconds() - cpu0, bytesWritten: Machine.bytesWritten() - written0)
    }

    /// The `q` quantile of `values` (nearest rank).
    static func percentile(_ values: [Double], _ q: Double) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        return sorted[min(sorted.count - 1, Int((Double(sorted.count) * q).rounded(.up)) - 1)]
    }
}
