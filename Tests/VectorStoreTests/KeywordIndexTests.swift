import Foundation
import TestSupport
import Testing
import TextAnalysis

@testable import VectorStore

/// A new store in `dir` with a collection "docs" (3 dimensions, cosine) and an English
/// keyword index.
func keywordCollection(_ dir: TemporaryDirectory, options: StoreOptions = StoreOptions()) throws -> (Store, LMDBCollection) {
    let store = try Store(path: dir.path, options: options)
    var settings = CollectionSettings(dimension: 3, metric: .cosine)
    settings.keywordAnalyzer = .english
    return (store, try store.createCollection("docs", settings: settings))
}

@Suite struct KeywordIndexTests {
    static let words = [
        "lighthouse", "keeper", "storm", "boat", "rescue", "survivors", "rowed", "harbour", "the", "of", "and", "a", "night",
        "wreck", "island", "bell", "lamp", "oil", "tower", "sea", "waves", "coast", "guard", "fisherman", "nets", "rocks", "fog",
    ]

    static func text(_ rng: inout SeededGenerator, words: Int) -> String {
        (0..<words).map { _ in Self.words[Int(rng.next() % UInt64(Self.words.count))] }.joined(separator: " ")
    }

    static func records(_ n: Int, seed: UInt64, from start: Int = 0) -> [Record] {
        var rng = SeededGenerator(seed: seed)
        return (start..<start + n).map { i in
            Record(
                id: "r\(i)", vector: [Float(i % 7) + 1, Float(i % 5), 1], text: text(&rng, words: Int(rng.next() % 40)),
                metadata: ["part": .int(Int64(i % 4))])
        }
    }

    static let queries = [
        "lighthouse keeper", "storm rescue survivors", "the", "boat", "fog rocks coast guard", "+storm boat", "lighthouse -storm",
        "\"lighthouse keeper\"", "\"keeper lighthouse\" sea", "-\"rowed boat\" waves", "+\"tower of the sea\"", "nets nets nets",
        "unknownword", "unknownword lamp", "+unknownword lamp", "island bell lamp oil tower sea waves coast",
    ]

    func open(_ dir: TemporaryDirectory) throws -> (Store, LMDBCollection) { try keywordCollection(dir) }

    /// Store options whose keyword searches run term at a time (`true`) or by MaxScore.
    static func options(termAtATime: Bool) -> StoreOptions {
        var options = StoreOptions()
        if !termAtATime { options.keywordAccumulatorRows = 0 }
        return options
    }

    /// BM25 through the index (term at a time, and MaxScore; leapfrogging, phrases,
    /// exclusions, filters) ranks exactly as the reference does, for every k.
    @Test(arguments: [true, false]) func rankingMatchesReferenceBM25(termAtATime: Bool) throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (_, c) = try keywordCollection(dir, options: Self.options(termAtATime: termAtATime))
        let records = Self.records(600, seed: 7)
        try c.upsert(records)
        let reference = ReferenceBM25(try TextAnalyzer(.english), records)
        for q in Self.queries {
            for k in [1, 3, 10, 1000] {
                let hits = try c.search(SearchRequest(texts: [q], k: k, mode: .keyword)).hits[0]
                expectMatches(hits, reference.search(q, k: k), "\(q) k=\(k)")
            }
            let filter = Filter.equals("part", .int(1))
            let response = try c.search(SearchRequest(texts: [q], k: 5, filter: filter, mode: .keyword))
            expectMatches(response.hits[0], reference.search(q, k: 5, filter: filter), "\(q) filtered")
            #expect(response.hits[0].allSatisfy { $0.metadata["part"] == .int(1) })
            // Required terms and phrases walk the rarest required list instead.
            let conjunctive = q.contains("+") || q.replacingOccurrences(of: "-\"", with: "").contains("\"")
            if response.plan["postings"] ?? 0 > 0, !conjunctive {
                #expect((response.plan["term-at-a-time rows"] != nil) == termAtATime, "\(q): \(response.plan)")
            }
        }
    }

    /// The term-at-a-time scan starts from a floor sampled from every 16th row's score;
    /// when the sampled rows are the best ones (so that fewer than k rows pass the floor),
    /// it scans again from 0 and still returns exactly the reference's top k.
    @Test func sampledFloorFallsBackWhenTooFewRowsPassIt() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (_, c) = try keywordCollection(dir)
        // Every 16th row (the sampled ones) mentions the term more and more often; the
        // others once, in a longer text: the 100 sampled rows outrank all the others.
        let records = (0..<1600).map { i in
            Record(
                id: "r\(i)", vector: [1, 2, 3],
                text: i % 16 == 0 ? Array(repeating: "lighthouse", count: 1 + i / 16).joined(separator: " ") : "lighthouse keeper storm")
        }
        try c.upsert(records)
        // The floor the scan starts from: the 12th best of the sampled rows' scores, which
        // fewer than 100 rows pass.
        var scores = [Double](repeating: 0.58, count: 1600)
        for j in 0..<100 { scores[16 * j] = 1 + Double(j) }
        let floor = scores.withUnsafeBufferPointer { LMDBCollection.sampledFloor($0.baseAddress!, lo: 0, hi: 1599, k: 100) }
        #expect(floor == 89 && scores.filter { $0 > floor }.count < 100)
        let reference = ReferenceBM25(try TextAnalyzer(.english), records)
        let hits = try c.search(SearchRequest(texts: ["lighthouse"], k: 100, mode: .keyword)).hits[0]
        expectMatches(hits, reference.search("lighthouse", k: 100), "sampled rows best")
        #expect(Set(hits.map(\.id)) == Set((0..<100).map { "r\(16 * $0)" }))
    }

    /// Keyword and hybrid hits carry only the fields asked for, ranked the same; a hybrid
    /// query with operators still filters its dense candidates by their text.
    @Test func hitFieldsInEveryMode() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (_, c) = try open(dir)
        try c.upsert(Self.records(300, seed: 9))
        for q in ["lighthouse keeper", "storm -boat", "+\"tower of the sea\""] {
            for mode: SearchMode in [.keyword, .hybrid] {
                var request = SearchRequest(texts: [q], vectors: mode == .hybrid ? [[1, 0, 1]] : [], k: 8, mode: mode)
                let all = try c.search(request).hits[0]
                #expect(!all.isEmpty && all.allSatisfy { !$0.text.isEmpty && !$0.metadata.isEmpty }, "\(q) \(mode)")
                for fields: SearchHit.Fields in [.none, .text, .metadata] {
                    request.fields = fields
                    let some = try c.search(request).hits[0]
                    #expect(some.map(\.id) == all.map(\.id) && some.map(\.score) == all.map(\.score), "\(q) \(mode) \(fields.rawValue)")
                    #expect(some.allSatisfy { $0.text.isEmpty != fields.contains(.text) }, "\(q) \(mode) \(fields.rawValue)")
                    #expect(some.allSatisfy { $0.metadata.isEmpty != fields.contains(.metadata) }, "\(q) \(mode) \(fields.rawValue)")
                }
            }
        }
    }

    /// Terms held by thousands of rows span many LMDB pages: walking, skipping within a
    /// page and skipping across pages all agree with the reference.
    @Test(arguments: [true, false]) func longPostingListsAcrossPages(termAtATime: Bool) throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (store, written) = try keywordCollection(dir, options: Self.options(termAtATime: termAtATime))
        var records: [Record] = []
        for i in 0..<6000 {
            var text = "storm"
            if i % 3 == 0 { text += " keeper" }
            if i % 1000 == 7 { text += " lighthouse lighthouse" }
            if i % 250 == 0 { text += " rescue" }
            records.append(Record(id: "r\(i)", vector: [1, 0, 0], text: text + String(repeating: " sea", count: i % 11)))
        }
        try written.upsert(Array(records[0..<2000]))
        // The first rows in the term lists (a rebuild merges everything), the rest in segments.
        try store.buildKeywordIndex(of: "docs")
        let c = try store.collection("docs")
        try c.upsert(Array(records[2000...]))
        let reference = ReferenceBM25(try TextAnalyzer(.english), records)
        for q in ["storm", "lighthouse storm", "keeper rescue", "+rescue keeper", "+keeper +rescue", "lighthouse rescue keeper sea"] {
            for k in [1, 10, 100] {
                let hits = try c.search(SearchRequest(texts: [q], k: k, mode: .keyword)).hits[0]
                expectMatches(hits, reference.search(q, k: k), "\(q) k=\(k)")
            }
        }
        let plan = try c.search(SearchRequest(texts: ["lighthouse storm"], k: 1, mode: .keyword)).plan
        if termAtATime {
            // 6,000 rows against 6,006 postings: every posting into the accumulator.
            #expect(plan["term-at-a-time rows"] ?? 0 >= 6000 && plan.rowsScored == 6000, "\(plan)")
        } else {
            // Once a row holding the rare term leads, the common term's 6,000 postings are
            // only probed for the rare term's rows, never walked.
            #expect(plan.rowsScored < 50, "\(plan)")
            #expect(plan["blocks read"] ?? 0 > 2, "\(plan)")
        }
    }

    /// Replace, delete, delete-where, document replacement and compaction keep the index
    /// and the statistics exact: searches still match the reference over the live rows.
    @Test func indexFollowsEveryWrite() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (store, c) = try open(dir)
        var live: [String: Record] = [:]
        for r in Self.records(500, seed: 1) { live[r.id] = r }
        try c.upsert(Array(live.values))
        let replaced = Self.records(200, seed: 2, from: 100)
        try c.upsert(replaced)
        for r in replaced { live[r.id] = r }
        #expect(try c.delete(ids: (0..<50).map { "r\($0 * 3)" }) == 50)
        for i in 0..<50 { live["r\(i * 3)"] = nil }
        #expect(try c.delete(where: .equals("part", .int(2))) > 0)
        live = live.filter { $0.value.metadata["part"] != .int(2) }
        let fresh = Self.records(30, seed: 3, from: 1000)
        try c.write(upsert: fresh, deleting: [], deletingWhere: .equals("part", .int(3)))
        live = live.filter { $0.value.metadata["part"] != .int(3) }
        for r in fresh { live[r.id] = r }
        _ = try c.compact()
        let reference = ReferenceBM25(try TextAnalyzer(.english), Array(live.values))
        for q in Self.queries {
            expectMatches(try c.search(SearchRequest(texts: [q], k: 10, mode: .keyword)).hits[0], reference.search(q, k: 10), q)
        }
        let stats = try store.env.read { try c.keywordIndex!.readStats($0) }
        #expect(stats.documents == UInt64(live.count))
        #expect(stats.totalLength == UInt64(reference.docs.values.reduce(0) { $0 + $1.length }))
        #expect(try store.check().isHealthy)
        // Everything deleted: no postings, no documents.
        _ = try c.delete(ids: Array(live.keys))
        #expect(try c.search(SearchRequest(texts: ["storm"], k: 10, mode: .keyword)).hits[0].isEmpty)
        let empty = try store.env.read { txn in (try c.keywordIndex!.readStats(txn), try txn.count(c.keywordIndex!.postings.dbi)) }
        #expect(empty.0 == KeywordStats())
        #expect(empty.1 == 0)
    }

    /// A batch runs each text; an empty or all-stopword query finds nothing; the plan says
    /// what ran.
    @Test func batchEmptyQueriesAndPlan() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (_, c) = try open(dir)
        let records = Self.records(200, seed: 9)
        try c.upsert(records)
        let reference = ReferenceBM25(try TextAnalyzer(.english), records)
        let response = try c.search(SearchRequest(texts: Self.queries + ["", "   ", "the of and"], k: 4, mode: .keyword))
        #expect(response.hits.count == Self.queries.count + 3)
        for (q, hits) in zip(Self.queries, response.hits) { expectMatches(hits, reference.search(q, k: 4), q) }
        #expect(response.hits.suffix(3).allSatisfy { $0.isEmpty })
        #expect(response.plan.access == "keyword")
        #expect(response.plan["postings"] ?? 0 > 0)
    }

    /// Hybrid search fuses the exact dense ranking and the BM25 ranking by reciprocal rank
    /// (or weighted scores); the filter applies to both.
    @Test func hybridFusesBothRankings() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (_, c) = try open(dir)
        try c.upsert(Self.records(300, seed: 4))
        let q: [Float] = [2, 1, 1]
        let text = "storm rescue survivors"
        for filter in [nil, Filter.equals("part", .int(0))] {
            let dense = try c.search(q, k: 50, filter: filter)
            let keyword = try c.search(SearchRequest(texts: [text], k: 50, filter: filter, mode: .keyword)).hits[0]
            var expected: [String: Double] = [:]
            for (i, h) in dense.enumerated() { expected[h.id, default: 0] += 1 / (60 + Double(i + 1)) }
            for (i, h) in keyword.enumerated() { expected[h.id, default: 0] += 1 / (60 + Double(i + 1)) }
            let response = try c.search(
                SearchRequest(
                    texts: [text], vectors: [q], k: 10, filter: filter, mode: .hybrid, fusion: .reciprocalRank(k: 60),
                    fusionCandidates: 50))
            let hits = response.hits[0]
            #expect(hits.count == 10)
            let best = expected.sorted { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }.prefix(10)
            #expect(hits.map(\.id) == best.map(\.key))
            if let filter { #expect(hits.allSatisfy { filter.matches($0.metadata) }) }
            #expect(response.plan.access == "hybrid")
            #expect(response.plan.parts.map(\.access).contains("keyword"))
            #expect(response.plan.description.contains("keyword:"))
            let weighted = try c.search(
                SearchRequest(texts: [text], vectors: [q], k: 10, filter: filter, mode: .hybrid, fusion: .weighted(keywordWeight: 1)))
            // All weight on keywords: the keyword ranking's head leads.
            #expect(weighted.hits[0].first?.id == keyword.first?.id)
        }
        #expect(throws: QuiverError.self) { try c.search(SearchRequest(texts: ["a", "b"], vectors: [q], k: 3, mode: .hybrid)) }
        #expect(throws: QuiverError.self) {
            try c.search(SearchRequest(texts: [text], vectors: [q], k: 3, mode: .hybrid, fusion: .weighted(keywordWeight: 2)))
        }
    }

    /// A hybrid search fuses candidates by row without reading their records; it ranks
    /// exactly as `Fusion.fuse` over the dense and the keyword hits does (ids and scores),
    /// with many equal scores on both sides (35 distinct vectors, repeated texts), rows in
    /// another order than ids, cuts inside runs of equal scores, both fusions, filters,
    /// one query or a batch; the hits carry their records' fields.
    @Test func hybridFusionByRowRanksAsTheHitsFuse() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (_, c) = try open(dir)
        var records = Self.records(400, seed: 9)
        for i in stride(from: 0, to: 400, by: 3) { records[i].text = records[(i * 7) % 400].text }  // repeated texts
        var rng = SeededGenerator(seed: 10)
        records.shuffle(using: &rng)
        for start in stride(from: 0, to: records.count, by: 50) { try c.upsert(Array(records[start..<start + 50])) }
        let byID = Dictionary(uniqueKeysWithValues: records.map { ($0.id, $0) })
        let analyzer = try TextAnalyzer(.english)
        let texts = Self.queries.filter { !KeywordQuery.parse($0, analyzer: analyzer).hasConstraints }
        let vectors = texts.indices.map { [Float($0 % 7) + 1, Float($0 % 5), 1] }
        var ties = 0
        for filter in [nil, Filter.equals("part", .int(1))] {
            for fusion in [Fusion.default, .weighted(keywordWeight: 0.3), .weighted(keywordWeight: 1)] {
                for (pool, k) in [(7, 5), (40, 12), (1000, 1), (1000, 30)] {
                    let batch = try c.search(
                        SearchRequest(
                            texts: texts, vectors: vectors, k: k, filter: filter, mode: .hybrid, fusion: fusion, fusionCandidates: pool)
                    ).hits
                    for (i, text) in texts.enumerated() {
                        let dense = try c.search(SearchRequest(queries: [vectors[i]], k: pool, filter: filter)).hits[0]
                        let keyword = try c.search(SearchRequest(texts: [text], k: pool, filter: filter, mode: .keyword)).hits[0]
                        ties += zip(dense, dense.dropFirst()).filter { $0.score == $1.score }.count
                        ties += zip(keyword, keyword.dropFirst()).filter { $0.score == $1.score }.count
                        let expected = fusion.fuse(dense: dense, keyword: keyword, metric: .cosine, k: k)
                        let single = try c.search(
                            SearchRequest(
                                texts: [text], vectors: [vectors[i]], k: k, filter: filter, mode: .hybrid, fusion: fusion,
                                fusionCandidates: pool)
                        ).hits[0]
                        let label = "\(text) \(fusion) pool \(pool) k \(k) \(String(describing: filter))"
                        for got in [single, batch[i]] {
                            #expect(got.map(\.id) == expected.map(\.id), "\(label)")
                            #expect(got.map(\.score) == expected.map(\.score), "\(label)")
                            for h in got {
                                #expect(h.text == byID[h.id]?.text && h.metadata == byID[h.id]?.metadata, "\(label): \(h.id)")
                            }
                        }
                    }
                }
            }
        }
        #expect(ties > 1000, "the rankings should hold many equal scores, had \(ties)")
    }

    /// A collection made before keyword indexes gets one on demand, from its stored texts;
    /// handles opened before may no longer write; another analyzer is refused on open.
    @Test func buildOnDemandDropAndAnalyzerMismatch() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try Store(path: dir.path)
        let old = try store.createCollection("docs", dimension: 3, metric: .cosine)
        let records = Self.records(300, seed: 5)
        try old.upsert(records)
        #expect(old.keywordIndex == nil)
        #expect(throws: QuiverError.self) { try old.search(SearchRequest(texts: ["storm"], k: 3, mode: .keyword)) }
        var calls: [(Int, Int)] = []
        let c = try store.buildKeywordIndex(of: "docs", analyzer: .english) { calls.append(($0, $1)) }
        #expect(calls.last.map { $0.0 == 300 && $0.1 == 300 } == true)
        #expect(c.info.keywordAnalyzer == .english)
        let reference = ReferenceBM25(try TextAnalyzer(.english), records)
        for q in Self.queries {
            expectMatches(try c.search(SearchRequest(texts: [q], k: 5, mode: .keyword)).hits[0], reference.search(q, k: 5), q)
        }
        // The old handle would leave the new index stale: refused, nothing written.
        #expect(throws: QuiverError.self) { try old.upsert([Record(id: "x", vector: [1, 0, 0], text: "storm")]) }
        #expect(try c.get("x") == nil)
        // Reopened with the index, a reopen asking for another analyzer is refused.
        let again = try Store(path: dir.path)
        var other = CollectionSettings(dimension: 3, metric: .cosine)
        other.keywordAnalyzer = AnalyzerSettings(language: "english", stemming: false)
        #expect(throws: QuiverError.self) { try again.openOrCreateCollection("docs", settings: other) }
        var same = CollectionSettings(dimension: 3, metric: .cosine)
        same.keywordAnalyzer = .english
        #expect(try again.openOrCreateCollection("docs", settings: same).keywordIndex != nil)
        #expect(throws: QuiverError.self) { try again.updateConfiguration(of: "docs", [KeywordIndexSettings.configurationKey: "v1 none"]) }
        #expect(try again.dropKeywordIndex(of: "docs"))
        #expect(try again.collection("docs").keywordIndex == nil)
        #expect(try again.check().isHealthy)
    }

    /// The index survives closing and reopening the store, and a dropped collection's
    /// keyword tables go with it.
    @Test func persistsAndDropsWithTheCollection() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let records = Self.records(100, seed: 6)
        do {
            let (_, c) = try open(dir)
            try c.upsert(records)
        }
        let store = try Store(path: dir.path)
        let c = try store.collection("docs")
        let reference = ReferenceBM25(try TextAnalyzer(.english), records)
        expectMatches(
            try c.search(SearchRequest(texts: ["storm keeper"], k: 5, mode: .keyword)).hits[0], reference.search("storm keeper", k: 5),
            "reopened")
        #expect(try store.dropCollection("docs"))
        var settings = CollectionSettings(dimension: 3, metric: .cosine)
        settings.keywordAnalyzer = .english
        let fresh = try store.createCollection("docs", settings: settings)
        #expect(try fresh.search(SearchRequest(texts: ["storm"], k: 5, mode: .keyword)).hits[0].isEmpty)
    }
}

@Suite struct HybridConstraintTests {
    /// `+term`, `-term` and phrases hold for every hybrid hit, dense candidates included.
    @Test func operatorsConstrainDenseCandidates() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (_, c) = try keywordCollection(dir)
        let records = KeywordIndexTests.records(300, seed: 11)
        try c.upsert(records)
        let analyzer = try TextAnalyzer(.english)
        for text in ["storm -boat", "+lighthouse keeper", "\"rescue survivors\"", "-\"the sea\" waves"] {
            let hits = try c.search(SearchRequest(texts: [text], vectors: [[1, 1, 1]], k: 50, mode: .hybrid)).hits[0]
            let q = KeywordQuery.parse(text, analyzer: analyzer)
            #expect(!hits.isEmpty, "\(text)")
            for h in hits { #expect(ReferenceBM25.satisfies(q, analyzer.termsWithPositions(h.text)), "\(text): \(h.id)") }
        }
    }
}

@Suite struct KeywordCheckTests {
    /// `check` finds keyword postings naming missing rows and statistics that disagree
    /// with the records, and says how to repair; a rebuild repairs.
    @Test func checkFindsKeywordIndexDamage() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (store, c) = try keywordCollection(dir)
        try c.upsert(KeywordIndexTests.records(50, seed: 3))
        #expect(try store.check().isHealthy)
        let index = try #require(c.keywordIndex)
        try store.env.write { txn in
            try index.insert([(row: 999_999, entries: index.entries(for: Record(id: "ghost", vector: [], text: "storm")))], txn)
        }
        let problems = try store.check().problems
        #expect(problems.contains("docs: 1 keyword index entries name rows that do not exist"), "\(problems)")
        #expect(problems.contains { $0.contains("the keyword index counts 51 documents") }, "\(problems)")
        let rebuilt = try store.buildKeywordIndex(of: "docs")
        #expect(try store.check().isHealthy)
        #expect(try rebuilt.search(SearchRequest(texts: ["storm"], k: 100, mode: .keyword)).hits[0].allSatisfy { $0.id != "ghost" })
    }
}

@Suite struct KeywordHostileQueryTests {
    /// A pasted page of distinct words, control characters, huge k and bad BM25 constants:
    /// answers or clear errors, never a crash or a cursor per word.
    @Test func hostileQueries() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (_, c) = try keywordCollection(dir)
        try c.upsert(KeywordIndexTests.records(100, seed: 8))
        let page = (0..<5000).map { "w\($0)" }.joined(separator: " ") + " storm"
        let response = try c.search(SearchRequest(texts: [page], k: 3, mode: .keyword))
        #expect(response.plan["terms dropped"] == 5001 - Double(LMDBCollection.maxQueryTerms))
        let hostile = ["\u{0}\u{0}storm\u{1B}[2J", "\"", "+", "-", "\"\"\"", "+-+-", String(repeating: "\"a ", count: 1000), "\u{FFFD}"]
        for q in hostile { _ = try c.search(SearchRequest(texts: [q], k: 2_000_000_000, mode: .keyword)) }
        var bad = SearchRequest(texts: ["storm"], k: 3, mode: .keyword)
        bad.bm25 = BM25Parameters(k1: -1, b: 0.5)
        #expect(throws: QuiverError.self) { try c.search(bad) }
        bad.bm25 = BM25Parameters(k1: 1, b: .nan)
        #expect(throws: QuiverError.self) { try c.search(bad) }
        #expect(throws: QuiverError.self) { try c.search(SearchRequest(texts: ["storm"], k: 0, mode: .keyword)) }
    }
}

@Suite struct KeywordStemmerReleaseTests {
    /// An index made by another Snowball release (another stemmer fingerprint) is refused
    /// for keyword and hybrid search and for writes, with the repair named; dense search
    /// still works; a rebuild records this release's fingerprint.
    @Test func anotherStemmerReleaseIsRefusedUntilRebuilt() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (store, c) = try keywordCollection(dir)
        let fingerprint = try TextAnalyzer(.english).stemmerFingerprint
        #expect(c.info.configuration[KeywordIndexSettings.stemmerKey] == fingerprint)
        try c.upsert(KeywordIndexTests.records(20, seed: 2))
        // As if written by another release.
        try store.env.write { txn in
            var info = try store.info(named: "docs", txn)
            var s = info.settings
            s.configuration[KeywordIndexSettings.stemmerKey] = "0123456789abcdef"
            info = CollectionInfo(name: "docs", settings: s, cid: info.cid)
            try store.collectionsDB.put(txn, "docs", bytes: try Store.encodeInfo(info))
        }
        let old = try Store(path: dir.path).collection("docs")
        #expect(old.keywordIndexProblem?.contains("reindex --keyword") == true)
        #expect(throws: QuiverError.self) { try old.search(SearchRequest(texts: ["storm"], k: 3, mode: .keyword)) }
        #expect(throws: QuiverError.self) { try old.upsert([Record(id: "n", vector: [1, 0, 0], text: "storm")]) }
        #expect(try old.search([1, 0, 0], k: 3).count == 3)
        let rebuilt = try store.buildKeywordIndex(of: "docs")
        #expect(rebuilt.keywordIndexProblem == nil)
        #expect(rebuilt.info.configuration[KeywordIndexSettings.stemmerKey] == fingerprint)
        #expect(try !rebuilt.search(SearchRequest(texts: ["storm"], k: 3, mode: .keyword)).hits[0].isEmpty)
    }
}

@Suite struct KeywordSegmentTests {
    /// Segment policies: the default, and one small enough that 70 writes of 20 records
    /// merge segments by size class, fold them into the lists by count and by bytes, and
    /// fold in many rounds of a few postings each.
    static let policies: [KeywordSegmentPolicy] = [
        KeywordSegmentPolicy(),
        KeywordSegmentPolicy(
            segmentsBeforeFold: 7, bytesBeforeFold: 20_000, mergeFactor: 3, classBaseBytes: 1_000, maxMergedBytes: 6_000,
            foldChunkBytes: 200),
    ]

    /// Many small writes pile up segments that merge by size class and fold into the term
    /// lists; deletes, replacements and document rewrites hit rows in lists and segments;
    /// at every step searches equal the reference, and a walk that crosses from the lists
    /// into the segments skips correctly.
    @Test(arguments: [(0, true), (1, true), (1, false)])
    func segmentsAndMergesKeepRankingsExact(policy: Int, termAtATime: Bool) throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        var options = KeywordIndexTests.options(termAtATime: termAtATime)
        options.keywordSegments = Self.policies[policy]
        let store = try Store(path: dir.path, options: options)
        var settings = CollectionSettings(dimension: 3, metric: .cosine)
        settings.keywordAnalyzer = .english
        let c = try store.createCollection("docs", settings: settings)
        let analyzer = try TextAnalyzer(.english)
        var live: [String: Record] = [:]
        var rng = SeededGenerator(seed: 77)
        var sawSegments = false
        var sawMerge = false
        var sawFold = false
        var previous = 0
        var most = 0
        for step in 0..<70 {
            let batch = KeywordIndexTests.records(20, seed: UInt64(step), from: step * 10)  // overlaps: replacements
            try c.upsert(batch)
            for r in batch { live[r.id] = r }
            if step % 3 == 0 {
                let victims = live.keys.sorted().filter { _ in rng.next() % 9 == 0 }
                _ = try c.delete(ids: victims)
                for v in victims { live[v] = nil }
            }
            if step % 10 == 5 {
                _ = try c.delete(where: .equals("part", .int(Int64(step % 4))))
                live = live.filter { $0.value.metadata["part"] != .int(Int64(step % 4)) }
            }
            let segments = try store.env.read { try txnCount($0, c.keywordIndex!.segments.dbi) }
            if segments > 0 { sawSegments = true }
            if segments > 0 && segments < previous { sawMerge = true }
            if step > 0 && segments == 0 { sawFold = true }
            // Deleted rows are forgotten as their segments merge: none outside a segment.
            let (segmentRows, deletedRows) = try store.env.read { txn in
                let snapshot = try c.keywordIndex!.snapshot(txn)
                return (snapshot.segments.map { $0.first...$0.last }, snapshot.deleted)
            }
            #expect(deletedRows.allSatisfy { row in segmentRows.contains { $0.contains(row) } }, "step \(step)")
            previous = segments
            most = max(most, segments)
            if step % 7 == 6 {
                let reference = ReferenceBM25(analyzer, Array(live.values))
                for q in KeywordIndexTests.queries {
                    for k in [1, 5, 50] {
                        let hits = try c.search(SearchRequest(texts: [q], k: k, mode: .keyword)).hits[0]
                        expectMatches(hits, reference.search(q, k: k), "step \(step) \(q) k=\(k)")
                    }
                }
            }
        }
        #expect(sawSegments && sawMerge)
        #expect(sawFold == (policy == 1))
        #expect(most < Self.policies[policy].segmentsBeforeFold)
        #expect(try store.check().isHealthy)
        // compact folds what is left in segments into the lists; rankings stay exact.
        _ = try c.compact()
        #expect(try store.env.read { try txnCount($0, c.keywordIndex!.segments.dbi) } == 0)
        let reference = ReferenceBM25(analyzer, Array(live.values))
        for q in KeywordIndexTests.queries {
            expectMatches(
                try c.search(SearchRequest(texts: [q], k: 20, mode: .keyword)).hits[0], reference.search(q, k: 20), "compacted \(q)")
        }
        let stats = try store.env.read { try c.keywordIndex!.readStats($0) }
        #expect(stats.documents == UInt64(live.count))
    }

    func txnCount(_ txn: Transaction, _ dbi: DBI) throws -> Int { try txn.count(dbi) }

    /// A merge of segments larger than malloc's mmap threshold (128 KiB), the newest
    /// written by the same transaction, with rows deleted from them: the merge read the
    /// newest segment after deleting it, memory LMDB had already unmapped (a crash).
    @Test func mergingLargeSegmentsWithDeletedRows() throws {
        // glibc raises its mmap threshold as large blocks are freed, keeping them mapped;
        // fixed at 128 KiB, a freed segment's memory is unmapped at once.
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        let mallopt = unsafeBitCast(try #require(dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt")), to: Mallopt.self)
        // M_MMAP_THRESHOLD. AddressSanitizer's allocator ignores mallopt (0); it finds the
        // use of freed memory itself.
        let set = mallopt(-3, 128 << 10)
        #expect(set == 1 || (set == 0 && testSanitizer == "address"))
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (store, c) = try keywordCollection(dir)
        var live: [String: Record] = [:]
        var sizes: [Int] = []
        var before: [Int] = []
        for step in 0..<KeywordSegmentPolicy().mergeFactor {
            before = sizes
            // 4,500 records: a segment of about 150 KB (compressed postings).
            let batch = KeywordIndexTests.records(4500, seed: UInt64(step), from: step * 4500)
            try c.upsert(batch)
            for r in batch { live[r.id] = r }
            let victims = batch.prefix(5).map(\.id)
            _ = try c.delete(ids: victims)
            for v in victims { live[v] = nil }
            sizes = try store.env.read { txn in try c.keywordIndex!.snapshot(txn).segments.map(\.bytes.count) }
        }
        // Eight segments of one size class, each past the threshold, became one.
        #expect(before.count == 7 && before.allSatisfy { $0 > 128 << 10 }, "\(before)")
        #expect(sizes.count == 1, "\(sizes)")
        let reference = ReferenceBM25(try TextAnalyzer(.english), Array(live.values))
        for q in KeywordIndexTests.queries {
            expectMatches(try c.search(SearchRequest(texts: [q], k: 20, mode: .keyword)).hits[0], reference.search(q, k: 20), q)
        }
        #expect(try store.check().isHealthy)
    }

    /// A segment whose directory points past its end (checked as entries are read, not
    /// all when a search opens the segments) gives `.corrupted` to searches, merges and
    /// check, never a read outside it.
    @Test func aDamagedSegmentEntryIsCorruptionNotACrash() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (store, c) = try keywordCollection(dir)
        try c.upsert(KeywordIndexTests.records(40, seed: 5))
        let index = try #require(c.keywordIndex)
        try store.env.write { txn in
            var key: UInt64 = 0
            var bytes: [UInt8] = []
            try txn.withCursor(index.segments.dbi) { cursor in
                let e = try #require(try cursor.get(.first))
                key = try U64Key.decode(e.key)
                bytes = Array(e.value)
            }
            let terms = try bytes.withUnsafeBytes { try KeywordSegment(first: key, bytes: $0).termCount }
            // Every entry's postings offset far past the end.
            for i in 0..<terms {
                let at = KeywordSegment.headerBytes + i * KeywordSegment.entryBytes + 8
                withUnsafeBytes(of: UInt32(0x7fff_0000).littleEndian) { bytes.replaceSubrange(at..<at + 4, with: $0) }
            }
            try index.segments.put(txn, key, bytes: bytes)
        }
        let error = #expect(throws: QuiverError.self) { try c.search(SearchRequest(texts: ["lighthouse storm"], k: 5, mode: .keyword)) }
        #expect(error?.code == .corrupted && error?.message.contains("points past its end") == true, "\(String(describing: error))")
        let report = try store.check()
        #expect(!report.isHealthy)
        #expect(report.problems.contains { $0.contains("points past its end") }, "\(report.problems)")
    }
}

@Suite struct KeywordFieldTests {
    /// Records whose title (metadata) is indexed with their text; the reference sees the
    /// same text the index is documented to read.
    static func records() -> [Record] {
        KeywordIndexTests.records(300, seed: 11).enumerated().map { i, r in
            var r = r
            if i % 3 != 0 { r.metadata["title"] = .string(["Bell Rock", "Flannan Isles keepers", "Grace Darling"][i % 3]) }
            if i % 10 == 1 { r.metadata["tags"] = .strings(["granite tower", "northern lights"]) }
            return r
        }
    }

    static func indexed(_ r: Record, fields: [String]) -> Record {
        var r = r
        for f in fields {
            switch r.metadata[f] {
            case .string(let s)?: r.text += "\n\n" + s
            case .strings(let l)?: for s in l { r.text += "\n\n" + s }
            default: break
            }
        }
        return r
    }

    func collection(_ dir: TemporaryDirectory, fields: [String]) throws -> (Store, LMDBCollection) {
        let store = try Store(path: dir.path)
        var settings = CollectionSettings(dimension: 3, metric: .cosine)
        settings.keywordAnalyzer = .english
        settings.keywordFields = fields
        return (store, try store.createCollection("docs", settings: settings))
    }

    /// A title's words find every chunk that carries it, ranked exactly as BM25 over text
    /// plus title; phrases read the title too; deletes and replacements remove what the
    /// title added (check stays healthy, statistics match a rebuild).
    @Test func fieldsAreIndexedWithTheText() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let fields = ["title", "tags"]
        let (store, c) = try collection(dir, fields: fields)
        #expect(c.info.keywordFields == fields)
        #expect(c.info.configuration[KeywordIndexSettings.fieldsKey] == "title,tags")
        var records = Self.records()
        try c.upsert(records)
        let analyzer = try TextAnalyzer(.english)
        func expectReference(_ label: String) throws {
            let reference = ReferenceBM25(analyzer, records.map { Self.indexed($0, fields: fields) })
            for q in ["darling", "flannan keepers storm", "\"bell rock\"", "+granite lamp", "\"northern lights\" -storm", "lighthouse"] {
                for k in [1, 10, 400] {
                    let hits = try c.search(SearchRequest(texts: [q], k: k, mode: .keyword)).hits[0]
                    expectMatches(hits, reference.search(q, k: k), "\(label): \(q) k=\(k)")
                }
            }
        }
        try expectReference("inserted")
        // The words of the title alone: every titled record, none other.
        let darling = try c.search(SearchRequest(texts: ["darling"], k: 1000, mode: .keyword)).hits[0]
        #expect(Set(darling.map(\.id)) == Set(records.filter { $0.metadata["title"] == .string("Grace Darling") }.map(\.id)))
        // Replace some (another title), delete others.
        for i in stride(from: 2, to: 300, by: 7) { records[i].metadata["title"] = .string("Longstone") }
        try c.upsert(stride(from: 2, to: 300, by: 7).map { records[$0] })
        let gone = Set(stride(from: 5, to: 300, by: 11).map { "r\($0)" })
        _ = try c.delete(ids: Array(gone))
        records.removeAll { gone.contains($0.id) }
        try expectReference("after replacements and deletes")
        #expect(try store.check().isHealthy)
        let before = try store.env.read { try c.keywordIndex!.readStats($0) }
        let rebuilt = try store.buildKeywordIndex(of: "docs")
        #expect(rebuilt.info.keywordFields == fields, "a rebuild without fields keeps the recorded ones")
        #expect(try store.env.read { try rebuilt.keywordIndex!.readStats($0) } == before)
    }

    /// Building an index with fields over a collection that has none; changing the
    /// fields rebuilds, and handles opened before may not write; bad fields are refused.
    @Test func buildWithFieldsAndRefusals() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try Store(path: dir.path)
        let plain = try store.createCollection("docs", settings: CollectionSettings(dimension: 3, metric: .cosine))
        let records = Self.records()
        try plain.upsert(records)
        let built = try store.buildKeywordIndex(of: "docs", fields: ["title"])
        #expect(built.info.keywordFields == ["title"])
        let withTitle = try built.search(SearchRequest(texts: ["flannan"], k: 1000, mode: .keyword)).hits[0]
        #expect(withTitle.count == records.filter { $0.metadata["title"] == .string("Flannan Isles keepers") }.count)
        let textOnly = try store.buildKeywordIndex(of: "docs", fields: [])
        #expect(textOnly.info.keywordFields.isEmpty)
        #expect(textOnly.info.configuration[KeywordIndexSettings.fieldsKey] == nil)
        #expect(try textOnly.search(SearchRequest(texts: ["flannan"], k: 1000, mode: .keyword)).hits[0].isEmpty)
        // A handle from before the change must not write.
        let error = #expect(throws: QuiverError.self) { try built.upsert([records[0]]) }
        #expect(error?.code == .invalidArgument && error?.message.contains("open the collection again") == true)
        for bad in [[""], ["a,b"], ["title", "title"]] {
            let e = #expect(throws: QuiverError.self) { try store.buildKeywordIndex(of: "docs", fields: bad) }
            #expect(e?.code == .invalidArgument && e?.input == "keyword fields", "\(bad)")
        }
        let e = #expect(throws: QuiverError.self) { try store.updateConfiguration(of: "docs", [KeywordIndexSettings.fieldsKey: "x"]) }
        #expect(e?.code == .invalidArgument && e?.input == KeywordIndexSettings.fieldsKey)
        var noIndex = CollectionSettings(dimension: 3, metric: .cosine)
        noIndex.keywordFields = ["title"]
        let f = #expect(throws: QuiverError.self) { try store.createCollection("other", settings: noIndex) }
        #expect(f?.code == .invalidArgument && f?.input == KeywordIndexSettings.fieldsKey)
        #expect(try store.check().isHealthy)
    }
}
