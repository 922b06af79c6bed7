import Foundation
import Testing
import TestSupport
import VectorStore
import QuiverCore

@testable import PostgresStore

/// The PostgreSQL keyword (BM25) index beyond the conformance suite: it ranks exactly as
/// the embedded store does (fields, phrases, operators, filters, hybrid fusion), its
/// postings and statistics stay exact under concurrent writers, hostile query and record
/// texts are bound parameters, and an index can be built, used, refused and dropped
/// later, on a real server.
@Suite(.enabled(if: PostgresTestServer.isAvailable, PostgresTestServer.skipReason))
struct PostgresKeywordTests {
    static func database(_ label: String, options: PostgresOptions = PostgresOptions(maxConnections: 6)) throws -> PostgresDatabase {
        try PostgresDatabase(url: try PostgresTestServer.shared().createDatabase(label), options: options)
    }

    static let words = [
        "lighthouse", "keeper", "storm", "boat", "rescue", "survivors", "rowed", "harbour", "the", "of", "and", "a", "night", "wreck",
        "island", "bell", "lamp", "oil", "tower", "sea", "waves", "coast", "guard", "fisherman", "nets", "rocks", "fog", "keepers",
        "rowing", "stormy", "lamps",
    ]

    static func records(_ n: Int, seed: UInt64, from start: Int = 0) -> [Record] {
        var rng = SeededGenerator(seed: seed)
        return (start..<start + n).map { i in
            let words = (0..<Int(rng.next() % 40)).map { _ in Self.words[Int(rng.next() % UInt64(Self.words.count))] }
            let title = (0..<Int(rng.next() % 4)).map { _ in Self.words[Int(rng.next() % UInt64(Self.words.count))] }
            var metadata: [String: MetadataValue] = ["part": .int(Int64(i % 4)), "doc": .string("d\(i % 9)")]
            if !title.isEmpty { metadata["title"] = .string(title.joined(separator: " ")) }
            return Record(id: "r\(i)", vector: [Float(i % 7) + 1, Float(i % 5), 1], text: words.joined(separator: " "), metadata: metadata)
        }
    }

    static let queries = [
        "lighthouse keeper", "storm rescue survivors", "the", "+storm boat", "lighthouse -storm", "\"lighthouse keeper\"",
        "-\"rowed boat\" waves", "nets nets fog", "unknownword lamp", "+unknownword lamp", "keepers rowing", "+\"storm boat\" sea",
        "-storm", "", "\"oil lamp\" -\"the sea\" +tower", "stormy lamps lamps lamp",
    ]

    /// The same records in an embedded store and in PostgreSQL, with the same analyzer
    /// and keyword fields: every keyword query (with and without a filter, single and in a
    /// batch) and every hybrid query (both fusions) gives the same hits with the same scores,
    /// before and after replacements and deletes.
    @Test func ranksAsTheEmbeddedStore() async throws {
        try await PostgresTestServer.startShared()
        // On a thread of its own: seconds of synchronous calls must not hold the cooperative pool.
        try await PostgresTestServer.onOwnThread { try Self.ranksAsTheEmbeddedStoreBody() }
    }

    static func ranksAsTheEmbeddedStoreBody() throws {
        let dir = TemporaryDirectory("quiver-pg-keyword")
        defer { dir.remove() }
        let store = try Store(path: dir.path)
        let db = try Self.database("kw-same")
        var settings = CollectionSettings(dimension: 3, metric: .cosine)
        settings.keywordAnalyzer = .english
        settings.keywordFields = ["title"]
        let lmdb = try store.createCollection("kw", settings: settings)
        let pg = try db.createCollection("kw", settings: settings)
        #expect(pg.info.configuration == lmdb.info.configuration)
        for c in [lmdb, pg] as [any VectorCollection] { try c.upsert(Self.records(300, seed: 41)) }
        let analyzer = try TextAnalyzer(.english)

        func compare(_ label: String) throws {
            let filters: [Filter?] = [nil, .equals("part", .int(1)), .not(.equals("doc", .string("d3")))]
            for filter in filters {
                for q in Self.queries {
                    let request = SearchRequest(texts: [q], k: 9, filter: filter, mode: .keyword)
                    let expected = try lmdb.search(request).hits[0]
                    let got = try pg.search(request).hits[0]
                    expectMatches(got, expected.map { ($0.id, Double($0.score)) }, "\(label)\(q) \(String(describing: filter))")
                    for h in got { #expect(filter?.matches(h.metadata) ?? true, "\(label)\(q): \(h.id) fails the filter") }
                    // Weighted fusion over every candidate (no cut inside a run of equal scores): the same
                    // fused scores in order, and the same ids among equal ones.
                    for fusion in [Fusion.default, .weighted(keywordWeight: 0.8)] {
                        let hybrid = SearchRequest(
                            texts: [q], vectors: [[2, 1, 1]], k: 8, filter: filter, mode: .hybrid, fusion: fusion, fusionCandidates: 1000)
                        let e = try lmdb.search(hybrid).hits[0]
                        expectMatches(try pg.search(hybrid).hits[0], e.map { ($0.id, Double($0.score)) }, "\(label)hybrid \(fusion) \(q)")
                    }
                    // Reciprocal-rank fusion of 30 candidates: PostgreSQL's own two rankings fused
                    // (the rankings themselves are compared above and in the conformance suite; which
                    // of several equal scores makes a cut is each engine's choice).
                    let rrf = SearchRequest(
                        texts: [q], vectors: [[2, 1, 1]], k: 8, filter: filter, mode: .hybrid, fusion: .reciprocalRank(k: 60),
                        fusionCandidates: 30)
                    let parsed = KeywordQuery.parse(q, analyzer: analyzer)
                    let dense = try pg.search(SearchRequest(queries: [[2, 1, 1]], k: 30, filter: filter)).hits[0].filter {
                        !parsed.hasConstraints || parsed.isSatisfied(by: analyzer.termsWithPositions($0.text))
                    }
                    let keyword = try pg.search(SearchRequest(texts: [q], k: 30, filter: filter, mode: .keyword)).hits[0]
                    let fused = Fusion.reciprocalRank(k: 60).fuse(dense: dense, keyword: keyword, metric: .cosine, k: 8)
                    let fusedByPG = try pg.search(rrf).hits[0]
                    #expect(fusedByPG.map(\.id) == fused.map(\.id), "\(label)rrf \(q)")
                    for (x, y) in zip(fusedByPG, fused) { #expect(abs(x.score - y.score) < 1e-6, "\(label)rrf \(q)") }
                }
                // A batch equals the single searches.
                let batch = try pg.search(SearchRequest(texts: Self.queries, k: 5, filter: filter, mode: .keyword)).hits
                #expect(batch.count == Self.queries.count)
                for (q, hits) in zip(Self.queries, batch) {
                    let single = try lmdb.search(SearchRequest(texts: [q], k: 5, filter: filter, mode: .keyword)).hits[0]
                    expectMatches(hits, single.map { ($0.id, Double($0.score)) }, "\(label)batch \(q)")
                }
                // A hybrid batch (one vector per text) equals its single searches on this backend.
                let vectors = Self.queries.indices.map { [Float($0 % 3) + 1, Float($0 % 5), 1] }
                let hybridBatch = try pg.search(
                    SearchRequest(texts: Self.queries, vectors: vectors, k: 6, filter: filter, mode: .hybrid, fusionCandidates: 40)
                ).hits
                #expect(hybridBatch.count == Self.queries.count)
                for (i, hits) in hybridBatch.enumerated() {
                    let single = try pg.search(
                        SearchRequest(
                            texts: [Self.queries[i]], vectors: [vectors[i]], k: 6, filter: filter, mode: .hybrid, fusionCandidates: 40)
                    ).hits[0]
                    #expect(hits.map(\.id) == single.map(\.id) && hits.map(\.score) == single.map(\.score), "\(label)hybrid batch \(i)")
                }
            }
            // Hits carry only the fields asked for.
            var idsOnly = SearchRequest(texts: ["lighthouse keeper"], k: 5, mode: .keyword)
            idsOnly.fields = .none
            let bare = try pg.search(idsOnly).hits[0]
            #expect(!bare.isEmpty && bare.allSatisfy { $0.text.isEmpty && $0.metadata.isEmpty })
            #expect(bare.map(\.id) == (try pg.search(SearchRequest(texts: ["lighthouse keeper"], k: 5, mode: .keyword)).hits[0].map(\.id)))
        }
        try compare("")
        let replaced = Self.records(120, seed: 42, from: 60)
        for c in [lmdb, pg] as [any VectorCollection] {
            try c.upsert(replaced)
            #expect(try c.delete(ids: ["r0", "r1", "r2", "nope"]) == 3)
            _ = try c.delete(where: .equals("part", .int(2)))
            try c.write(upsert: Self.records(20, seed: 43, from: 290), deleting: ["r5"], deletingWhere: .equals("doc", .string("d4")))
        }
        #expect(try pg.count() == lmdb.count())
        try compare("after writes: ")
        try Self.expectConsistent(pg)

        // The plan says what ran.
        let keyword = try pg.search(
            SearchRequest(texts: ["\"lighthouse keeper\" storm"], k: 5, filter: .equals("part", .int(1)), mode: .keyword))
        #expect(keyword.plan.access == "keyword")
        #expect((keyword.plan["terms"] ?? 0) == 3 && (keyword.plan["postings"] ?? 0) > 0)
        #expect(keyword.plan["phrase checks"] != nil)
        #expect(keyword.hits[0].allSatisfy { $0.metadata["part"] == .int(1) })
        let hybrid = try pg.search(SearchRequest(texts: ["storm"], vectors: [[1, 1, 1]], k: 5, mode: .hybrid))
        #expect(hybrid.plan.access == "hybrid")
        #expect(hybrid.plan.parts.map(\.access) == ["exact", "keyword"])
        #expect(hybrid.plan.description.contains("keyword weight 0.5"), "\(hybrid.plan)")
        let approximate = try pg.approximate(efSearch: 400).search(
            SearchRequest(texts: ["storm"], vectors: [[1, 1, 1]], k: 5, mode: .hybrid, fusion: .reciprocalRank(k: 60)))
        #expect(approximate.plan.parts.map(\.access) == ["hnsw", "keyword"])
    }

    /// Checks the keyword tables against the records with SQL: one docs row per record,
    /// each one's length and terms what the analyzer makes of the record now, exactly its
    /// postings, and statistics equal to the aggregates.
    static func expectConsistent(_ c: PostgresCollection, _ label: String = "") throws {
        guard let index = c.keywordIndex, let analyzer = index.analyzer else {
            Issue.record("\(label): no keyword index")
            return
        }
        try c.run { conn in
            let stats = try conn.exec("SELECT documents, total_length FROM \(index.stats)")
            let aggregate = try conn.exec("SELECT count(*), COALESCE(sum(length), 0) FROM \(index.docs)")
            #expect(stats.rowCount == 1)
            #expect(stats.string(0, 0) == aggregate.string(0, 0) && stats.string(0, 1) == aggregate.string(0, 1), "\(label): stats")
            let records = try conn.exec("SELECT count(*) FROM \(c.table)")
            #expect(records.string(0, 0) == aggregate.string(0, 0), "\(label): a docs row per record")
            let strays = try conn.exec(
                """
                SELECT (SELECT count(*) FROM \(index.postings) p WHERE NOT EXISTS (
                            SELECT 1 FROM \(index.docs) d WHERE d.id = p.id AND p.term = ANY(d.terms))),
                       (SELECT count(*) FROM \(index.postings)),
                       (SELECT COALESCE(sum(cardinality(terms)), 0) FROM \(index.docs))
                """)
            #expect(strays.string(0, 0) == "0", "\(label): postings no docs row lists")
            #expect(strays.string(0, 1) == strays.string(0, 2), "\(label): a posting per listed term")
        }
        let ids = try c.metadata(where: .and([])).keys.sorted()
        let records = try c.get(ids).compactMap { $0 }
        try c.run { conn in
            let r = try conn.exec("SELECT id, length, terms::text FROM \(index.docs)")
            var stored: [String: (Int, String)] = [:]
            for row in 0..<r.rowCount { stored[r.string(row, 0) ?? ""] = (Int(r.string(row, 1) ?? "") ?? -1, r.string(row, 2) ?? "") }
            for record in records {
                let doc = KeywordDocument(text: record.text, metadata: record.metadata, fields: index.fields, analyzer: analyzer)
                let terms = doc.frequencies.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
                let expected = SQLText.array(terms)
                guard let s = stored[record.id] else {
                    Issue.record("\(label): \(record.id) has no docs row")
                    continue
                }
                #expect(s.0 == doc.length, "\(label): \(record.id) length")
                // PostgreSQL prints array elements unquoted when it can: compare parsed.
                #expect(Self.parseArray(s.1) == terms, "\(label): \(record.id) terms \(s.1) vs \(expected)")
            }
        }
    }

    /// Elements of a one-dimensional text array as PostgreSQL prints it.
    static func parseArray(_ text: String) -> [String] {
        var out: [String] = []
        var chars = Array(text.dropFirst().dropLast())[...]
        while !chars.isEmpty {
            var element = ""
            if chars.first == "\"" {
                chars = chars.dropFirst()
                while let ch = chars.first, ch != "\"" {
                    if ch == "\\" { chars = chars.dropFirst() }
                    if let c = chars.first { element.append(c) }
                    chars = chars.dropFirst()
                }
                chars = chars.dropFirst()
            } else {
                while let ch = chars.first, ch != "," {
                    element.append(ch)
                    chars = chars.dropFirst()
                }
            }
            out.append(element)
            if chars.first == "," { chars = chars.dropFirst() }
        }
        return out
    }

    /// A keyword query reads the postings of its own terms only: in the executed plan
    /// (EXPLAIN ANALYZE of the statement a search runs) the rows read from the postings
    /// table are at most twice the query terms' postings (their counts, then their
    /// scores) plus the excluded terms', however many other postings the table holds.
    @Test func aQueryReadsOnlyItsTermsPostings() async throws {
        try await PostgresTestServer.startShared()
        // On a thread of its own: seconds of synchronous calls must not hold the cooperative pool.
        try await PostgresTestServer.onOwnThread { try Self.aQueryReadsOnlyItsTermsPostingsBody() }
    }

    static func aQueryReadsOnlyItsTermsPostingsBody() throws {
        let db = try Self.database("kw-plan")
        var settings = CollectionSettings(dimension: 2, metric: .dot)
        settings.keywordAnalyzer = .english
        let c = try db.createCollection("kw", settings: settings)
        var rng = SeededGenerator(seed: 70)
        let records = (0..<3000).map { i in
            var words = (0..<30).map { _ in "filler\(rng.next() % 200)x" }
            if i % 300 == 0 { words.append("rarelighthouse") }
            if i % 150 == 0 { words.append("rarekeeper") }
            return Record(id: "p\(i)", vector: [1, Float(i)], text: words.joined(separator: " "), metadata: ["part": .int(Int64(i % 3))])
        }
        try c.upsert(records)
        guard let index = c.keywordIndex, let analyzer = index.analyzer else {
            Issue.record("no keyword index")
            return
        }
        // "rarelighthouse" is in 10 records, "rarekeeper" in 20: a scoring term's postings are
        // read twice (counted, then scored), an excluded term's once at most.
        // Statistics as autovacuum leaves them after a bulk load (the statistics row, just
        // made, not yet analyzed): the planner knows the postings are many.
        _ = try c.run { conn in try conn.exec("ANALYZE \(index.postings), \(index.docs), \(c.table)") }
        let common = (0..<12).map { "filler\($0)x" }
        let commonPostings = common.reduce(0) { n, t in n + records.filter { $0.text.split(separator: " ").contains(Substring(t)) }.count }
        let cases: [(String, Filter?, Int)] = [
            ("rarelighthouse", nil, 2 * 10), ("rarelighthouse rarekeeper", .equals("part", .int(0)), 2 * 30),
            ("+rarekeeper rarelighthouse", nil, 2 * 30), ("rarekeeper -rarelighthouse", nil, 2 * 20 + 10),
            ("\"rarekeeper rarelighthouse\"", nil, 2 * 30), (common.joined(separator: " "), nil, 2 * commonPostings),
            (common.joined(separator: " ") + " rarekeeper", .equals("part", .int(1)), 2 * (commonPostings + 20)),
        ]
        for (text, filter, budget) in cases {
            let query = KeywordQuery.parse(text, analyzer: analyzer)
            var figures = PostgresKeywordFigures()
            let statement = c.keywordStatement(query, k: 5, filter: filter, bm25: BM25Parameters(), fields: .all, index: index, &figures)
            let values = statement.phrases ? Array(statement.values.dropLast()) : statement.values
            let plan = try c.run { conn in
                try conn.exec("EXPLAIN (ANALYZE, FORMAT JSON) " + statement.sql, values).string(0, 0) ?? ""
            }
            let json = try JSONSerialization.jsonObject(with: Data(plan.utf8)) as? [[String: Any]]
            var read = 0.0
            func walk(_ node: [String: Any]) {
                if node["Relation Name"] as? String == index.postings {
                    read += (node["Actual Rows"] as? Double ?? 0) * (node["Actual Loops"] as? Double ?? 1)
                }
                for child in node["Plans"] as? [[String: Any]] ?? [] { walk(child) }
            }
            for top in json ?? [] { if let node = top["Plan"] as? [String: Any] { walk(node) } }
            #expect(read > 0, "\(text): \(plan.prefix(300))")
            #expect(read <= Double(budget), "\(text): \(read) postings read of \(3000 * 30) in the table")
            // And the search itself finds what the reference finds.
            let hits = try c.search(SearchRequest(texts: [text], k: 5, filter: filter, mode: .keyword)).hits[0]
            expectMatches(hits, ReferenceBM25(analyzer, records).search(text, k: 5, filter: filter), text)
        }
    }

    /// Four writers upsert, replace and delete overlapping records at once (and replace
    /// whole documents by filter) while a reader searches: no write fails, every state the
    /// reader sees ranks with scores in order, and afterwards the statistics equal the
    /// aggregates, the postings are exactly the records' terms, and searches equal the
    /// reference BM25 over what is stored.
    @Test func concurrentWritersKeepPostingsAndStatisticsExact() async throws {
        try await PostgresTestServer.startShared()
        try await Self.concurrentWritersKeepPostingsAndStatisticsExactBody()
    }

    static func concurrentWritersKeepPostingsAndStatisticsExactBody() async throws {
        let db = try Self.database("kw-race", options: PostgresOptions(maxConnections: 8))
        var settings = CollectionSettings(dimension: 3, metric: .cosine)
        settings.keywordAnalyzer = .english
        let c = try await db.createCollection("kw", settings: settings)
        try await c.upsert(Self.records(200, seed: 50))
        let failures = PosixMutex<[String]>([])
        let writing = PosixMutex(4)
        try await PostgresTestServer.onOwnThread {
            onThreads(5) { w in
                if w == 4 {
                    while writing.withLock({ $0 }) > 0 {
                        do {
                            let hits = try c.search(SearchRequest(texts: ["lighthouse storm", "+keeper -fog"], k: 10, mode: .keyword)).hits
                            for list in hits where zip(list, list.dropFirst()).contains(where: { $0.score < $1.score }) {
                                failures.withLock { $0.append("hits out of order: \(list.map(\.score))") }
                            }
                        } catch {
                            failures.withLock { $0.append("reader: \(error)") }
                        }
                    }
                    return
                }
                defer { writing.withLock { $0 -= 1 } }
                for round in 0..<12 {
                    let seed = UInt64(100 * w + round)
                    do {
                        switch round % 4 {
                        case 0: try c.upsert(Self.records(40, seed: seed, from: (w * 37 + round * 11) % 180))
                        case 1: _ = try c.delete(ids: (0..<15).map { "r\((w * 13 + round * 7 + $0 * 3) % 220)" })
                        case 2:
                            try c.write(
                                upsert: Self.records(9, seed: seed, from: 180 + w * 3).map {
                                    var r = $0
                                    r.metadata["doc"] = .string("d\(w)")
                                    return r
                                }, deleting: [], deletingWhere: .equals("doc", .string("d\(w)")))
                        default: _ = try c.delete(where: .and([.equals("part", .int(Int64(w))), .equals("doc", .string("d\(round % 9)"))]))
                        }
                    } catch {
                        failures.withLock { $0.append("writer \(w) round \(round): \(error)") }
                    }
                }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 })")
        try await PostgresTestServer.onOwnThread { try Self.expectConsistentAndRanked(c) }
        // The async form gives what the synchronous form gives, in every mode.
        for mode in [SearchMode.keyword, .hybrid] {
            let request = SearchRequest(texts: ["lighthouse storm", "+keeper -fog"], vectors: [[1, 2, 1], [2, 1, 1]], k: 6, mode: mode)
            let asynchronous = try await c.search(request).hits
            let synchronous = try await PostgresTestServer.onOwnThread { try c.search(request).hits }
            #expect(asynchronous.map { $0.map(\.id) } == synchronous.map { $0.map(\.id) }, "\(mode)")
        }
    }

    static func expectConsistentAndRanked(_ c: PostgresCollection) throws {
        try Self.expectConsistent(c, "after the race")
        let live = try c.get(try c.metadata(where: .and([])).keys.sorted()).compactMap { $0 }
        let reference = ReferenceBM25(try TextAnalyzer(.english), live)
        for q in Self.queries {
            expectMatches(
                try c.search(SearchRequest(texts: [q], k: 7, mode: .keyword)).hits[0], reference.search(q, k: 7), "after the race: \(q)")
        }
    }

    /// Record texts and queries made to break SQL or array literals (quotes, backslashes,
    /// braces, commas, `$1`, NUL, invalid UTF-8 repaired on decoding, CJK), a query of
    /// thousands of distinct terms, and empty or all-stopword or all-exclusion queries:
    /// every search returns what the reference BM25 returns, and nothing else in the
    /// database changes.
    @Test func hostileTextsAndQueries() async throws {
        try await PostgresTestServer.startShared()
        // On a thread of its own: seconds of synchronous calls must not hold the cooperative pool.
        try await PostgresTestServer.onOwnThread { try Self.hostileTextsAndQueriesBody() }
    }

    static func hostileTextsAndQueriesBody() throws {
        let db = try Self.database("kw-hostile")
        var settings = CollectionSettings(dimension: 2, metric: .dot)
        settings.keywordAnalyzer = .english
        let c = try db.createCollection("kw", settings: settings)
        let other = try db.createCollection("other", dimension: 2, metric: .dot)
        try other.upsert([Record(id: "keep", vector: [1, 1])])
        let invalid = String(decoding: [0x66, 0x6F, 0xFF, 0xFE, 0x6F, 0x20, 0xC3, 0x28, 0x62, 0x61, 0x72] as [UInt8], as: UTF8.self)
        let hostile = [
            "'; DROP TABLE quiver_collections; --", "\"quoted\" words", "back\\slash \\\\ double", "{braces,commas} and {", "}{\"",
            "$1 $2::text", "o'brien's boat", "NULL null", "字字 漢字 東京都", "café naïve façade", invalid, "a,b,c \"d,e\"",
            "tab\tand\nnewline", "emoji 🚣 rowing", String(repeating: "longword", count: 40), "\\\"\\\"",
        ]
        let records = hostile.enumerated().map { i, text in
            Record(id: "h\(i) \(text.prefix(12))", vector: [Float(i), 1], text: text + " storm", metadata: ["i": .int(Int64(i))])
        }
        try c.upsert(records)
        let reference = ReferenceBM25(try TextAnalyzer(.english), records)
        // Terms past the first 1024 distinct ones are dropped (as the embedded store drops them): "storm" first.
        let vocabulary = ["storm"] + (0..<5000).map { "zz\($0)q" }
        let queries =
            hostile + hostile.map { "+\($0)" } + hostile.map { "-\($0) storm" } + hostile.map { "\"\($0)\"" } + [
                "", " ", "\t\n", "the of and", "-storm", "+the", "\"", "\"unclosed phrase storm", "-", "+", "\u{0}storm", "storm\u{0}",
                vocabulary.joined(separator: " "), String(repeating: "storm ", count: 20000),
            ]
        for q in queries {
            let hits = try c.search(SearchRequest(texts: [q], k: 5, mode: .keyword)).hits[0]
            expectMatches(hits, reference.search(q, k: 5), "query \(q.prefix(60).debugDescription)")
            let hybrid = try c.search(SearchRequest(texts: [q], vectors: [[1, 1]], k: 5, mode: .hybrid)).hits[0]
            #expect(hybrid.count <= 5)
        }
        let huge = try c.search(SearchRequest(texts: [vocabulary.joined(separator: " ")], k: 5, mode: .keyword))
        #expect(huge.plan["terms dropped"] == Double(5001 - PostgresCollection.maxQueryTerms))
        // The hostile texts came back as stored, and the other collection is untouched.
        #expect(try c.get(records.map(\.id)).map { $0?.text } == records.map(\.text))
        #expect(try db.collections().map(\.name) == ["kw", "other"])
        #expect(try other.count() == 1)
        try Self.expectConsistent(c, "hostile")
    }

    /// A collection made without a keyword index refuses keyword searches, saying how to
    /// build one; `buildKeywordIndex` builds it from the stored texts (with progress) and
    /// searches then match the reference; a handle from before may not write; the index
    /// keys cannot be changed by hand; an index made by another stemmer release is refused
    /// until rebuilt; dropping it refuses keyword searches again.
    @Test func buildingAndDroppingAnIndexLater() async throws {
        try await PostgresTestServer.startShared()
        // On a thread of its own: seconds of synchronous calls must not hold the cooperative pool.
        try await PostgresTestServer.onOwnThread { try Self.buildingAndDroppingAnIndexLaterBody() }
    }

    static func buildingAndDroppingAnIndexLaterBody() throws {
        let db = try Self.database("kw-build")
        let old = try db.createCollection("docs", dimension: 3, metric: .cosine)
        let records = Self.records(500, seed: 60)
        try old.upsert(records)
        let refused = #expect(throws: StoreError.self) { try old.search(SearchRequest(texts: ["storm"], k: 3, mode: .keyword)) }
        #expect(refused?.code == .invalidArgument)
        #expect(refused?.message.contains("quiver reindex --keyword") == true, "\(refused?.message ?? "")")

        let progress = PosixMutex<[(Int, Int)]>([])
        let built = try db.buildKeywordIndex(of: "docs", analyzer: .english, fields: ["title"]) { done, total in
            progress.withLock { $0.append((done, total)) }
        }
        #expect(progress.withLock { $0.first?.0 } == 0 && progress.withLock { $0.last.map { $0.0 == $0.1 && $0.1 == 500 } } == true)
        #expect(built.info.keywordAnalyzer == .english && built.info.keywordFields == ["title"])
        #expect(built.info.configuration[KeywordIndexSettings.stemmerKey] != nil)
        try Self.expectConsistent(built, "built")
        // Vacuuming after the bulk load changes no answer; a missing collection is named.
        let before = try built.search(SearchRequest(texts: Self.queries, k: 6, mode: .keyword)).hits
        try db.vacuum("docs")
        #expect(
            try built.search(SearchRequest(texts: Self.queries, k: 6, mode: .keyword)).hits.map { $0.map(\.id) }
                == before.map { $0.map(\.id) })
        let missing = #expect(throws: StoreError.self) { try db.vacuum("nope") }
        #expect(missing?.code == .collectionNotFound)
        // The same ranking as an embedded collection made with the index from the start.
        let dir = TemporaryDirectory("quiver-pg-keyword-build")
        defer { dir.remove() }
        var settings = CollectionSettings(dimension: 3, metric: .cosine)
        settings.keywordAnalyzer = .english
        settings.keywordFields = ["title"]
        let lmdb = try Store(path: dir.path).createCollection("docs", settings: settings)
        try lmdb.upsert(records)
        for q in Self.queries {
            let request = SearchRequest(texts: [q], k: 6, mode: .keyword)
            expectMatches(
                try built.search(request).hits[0], try lmdb.search(request).hits[0].map { ($0.id, Double($0.score)) }, "built: \(q)")
        }
        // The old handle would write records without postings.
        let stale = #expect(throws: StoreError.self) { try old.upsert(Self.records(1, seed: 61)) }
        #expect(stale?.code == .invalidArgument)
        #expect(try built.count() == 500)
        try built.upsert(Self.records(10, seed: 62, from: 495))
        try Self.expectConsistent(built, "written after the build")
        // Keyword fields need an analyzer, and an analyzer must be one this build knows.
        var fieldsOnly = CollectionSettings(dimension: 3, metric: .cosine)
        fieldsOnly.keywordFields = ["title"]
        #expect(throws: StoreError.self) { try db.createCollection("fields-only", settings: fieldsOnly) }
        var unknown = CollectionSettings(dimension: 3, metric: .cosine)
        unknown.configuration[KeywordIndexSettings.configurationKey] = "klingon/v9"
        #expect(throws: (any Error).self) { try db.createCollection("unknown", settings: unknown) }
        #expect(try db.collections().map(\.name) == ["docs"])
        let manual = #expect(throws: StoreError.self) {
            try db.updateConfiguration(of: "docs", [KeywordIndexSettings.configurationKey: "x"])
        }
        #expect(manual?.code == .invalidArgument)

        // Another stemmer release's index: refused for searches and writes until rebuilt.
        _ = try built.run { conn in
            try conn.exec(
                "UPDATE quiver_collections SET configuration = jsonb_set(configuration, '{keyword.stemmer}', '\"other\"') WHERE name = 'docs'"
            )
        }
        let other = try db.collection("docs")
        #expect(other.keywordIndexProblem?.contains("Snowball") == true)
        #expect(throws: StoreError.self) { try other.search(SearchRequest(texts: ["storm"], k: 3, mode: .keyword)) }
        #expect(throws: StoreError.self) { try other.upsert(Self.records(1, seed: 63)) }
        let rebuilt = try db.buildKeywordIndex(of: "docs")
        #expect(rebuilt.keywordIndexProblem == nil)
        #expect(rebuilt.info.keywordFields == ["title"])
        #expect(try rebuilt.search(SearchRequest(texts: ["storm"], k: 3, mode: .keyword)).hits[0].count == 3)

        #expect(try db.dropKeywordIndex(of: "docs"))
        #expect(try !db.dropKeywordIndex(of: "docs"))
        let dropped = try db.collection("docs")
        #expect(dropped.info.keywordAnalyzer == nil && dropped.info.keywordFields.isEmpty)
        #expect(throws: StoreError.self) { try dropped.search(SearchRequest(texts: ["storm"], k: 3, mode: .keyword)) }
        #expect(throws: StoreError.self) { try rebuilt.upsert(Self.records(1, seed: 64)) }
        // A handle from before the drop says so, rather than that the collection is gone.
        let gone = #expect(throws: StoreError.self) { try rebuilt.search(SearchRequest(texts: ["storm"], k: 3, mode: .keyword)) }
        #expect(gone?.code == .invalidArgument)
        #expect(gone?.message.contains("dropped after this handle was opened") == true, "\(gone?.message ?? "")")
        try dropped.upsert(Self.records(1, seed: 65))
        #expect(try dropped.search([1, 1, 1], k: 3).count == 3)
        // Dropping the collection drops its keyword tables too.
        _ = try db.buildKeywordIndex(of: "docs")
        #expect(try db.dropCollection("docs"))
        try built.run { conn in
            let r = try conn.exec("SELECT count(*) FROM pg_tables WHERE tablename LIKE 'quiver\\_%'")
            #expect(r.string(0, 0) == "1", "only the catalog is left")
        }
    }
}
