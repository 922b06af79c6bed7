import Foundation
import Testing
import VectorStore

extension CollectionConformance {
    static let keywordWords = [
        "lighthouse", "keeper", "storm", "boat", "rescue", "survivors", "rowed", "harbour", "the", "of", "and", "a", "night",
        "wreck", "island", "bell", "lamp", "oil", "tower", "sea", "waves", "coast", "guard", "fisherman", "nets", "rocks", "fog",
    ]

    static let keywordQueries = [
        "lighthouse keeper", "storm rescue survivors", "the", "+storm boat", "lighthouse -storm", "\"lighthouse keeper\"",
        "-\"rowed boat\" waves", "nets nets fog", "unknownword lamp", "+unknownword lamp",
    ]

    /// Records with texts drawn from a small vocabulary (so that terms repeat and tie).
    static func keywordRecords(_ n: Int, seed: UInt64, from start: Int = 0) -> [Record] {
        var rng = SeededGenerator(seed: seed)
        return (start..<start + n).map { i in
            let words = (0..<Int(rng.next() % 30)).map { _ in keywordWords[Int(rng.next() % UInt64(keywordWords.count))] }
            return Record(
                id: "r\(i)", vector: [Float(i % 7) + 1, Float(i % 5), 1], text: words.joined(separator: " "),
                metadata: ["part": .int(Int64(i % 4))])
        }
    }

    static func keywordCollection(_ db: any VectorDatabase, _ name: String = "kw") throws -> any VectorCollection {
        var settings = CollectionSettings(dimension: 3, metric: .cosine)
        settings.keywordAnalyzer = .english
        return try db.createCollection(name, settings: settings)
    }

    /// Keyword search ranks by BM25 (Lucene form, k1 0.9, b 0.4) with the collection's
    /// analyzer, honours `+`, `-` and phrases, applies filters exactly, and follows
    /// replacements and deletes.
    static func keywordSearch(_ db: any VectorDatabase) throws {
        let c = try keywordCollection(db)
        #expect(c.info.keywordAnalyzer == .english)
        var live: [String: Record] = [:]
        for r in keywordRecords(300, seed: 21) { live[r.id] = r }
        try c.upsert(Array(live.values))
        let analyzer = try TextAnalyzer(.english)
        func compare(_ label: String) throws {
            let reference = ReferenceBM25(analyzer, Array(live.values))
            for q in keywordQueries {
                expectMatches(try c.search(SearchRequest(texts: [q], k: 7, mode: .keyword)).hits[0], reference.search(q, k: 7), label + q)
                let filter = Filter.equals("part", .int(1))
                expectMatches(
                    try c.search(SearchRequest(texts: [q], k: 7, filter: filter, mode: .keyword)).hits[0],
                    reference.search(q, k: 7, filter: filter), label + q + " filtered")
            }
            // A batch equals the single searches.
            let batch = try c.search(SearchRequest(texts: keywordQueries, k: 5, mode: .keyword)).hits
            for (q, hits) in zip(keywordQueries, batch) { expectMatches(hits, reference.search(q, k: 5), label + q + " batch") }
        }
        try compare("")
        let replaced = keywordRecords(100, seed: 22, from: 50)
        try c.upsert(replaced)
        for r in replaced { live[r.id] = r }
        #expect(try c.delete(ids: ["r0", "r1", "r2"]) == 3)
        for id in ["r0", "r1", "r2"] { live[id] = nil }
        _ = try c.delete(where: .equals("part", .int(2)))
        live = live.filter { $0.value.metadata["part"] != .int(2) }
        try compare("after writes: ")
    }

    /// Hybrid search fuses the dense and keyword rankings by weighted scores (the default)
    /// or reciprocal rank (k = 60); its filter and operators hold for every hit; a collection
    /// without a keyword index refuses keyword and hybrid searches.
    static func hybridSearch(_ db: any VectorDatabase) throws {
        let c = try keywordCollection(db)
        try c.upsert(keywordRecords(200, seed: 23))
        let q: [Float] = [2, 1, 1]
        for (text, filter) in [("storm rescue", nil), ("lighthouse keeper", Filter.equals("part", .int(3)))] {
            let dense = try c.search(q, k: 40, filter: filter)
            let keyword = try c.search(SearchRequest(texts: [text], k: 40, filter: filter, mode: .keyword)).hits[0]
            var fused: [String: Double] = [:]
            for (i, h) in dense.enumerated() { fused[h.id, default: 0] += 1 / (60 + Double(i + 1)) }
            for (i, h) in keyword.enumerated() { fused[h.id, default: 0] += 1 / (60 + Double(i + 1)) }
            let expected = fused.sorted { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }.prefix(8).map(\.key)
            let hits = try c.search(
                SearchRequest(
                    texts: [text], vectors: [q], k: 8, filter: filter, mode: .hybrid, fusion: .reciprocalRank(k: 60),
                    fusionCandidates: 40)
            ).hits[0]
            #expect(hits.map(\.id) == expected, "\(text)")
            if let filter { #expect(hits.allSatisfy { filter.matches($0.metadata) }) }
            // The default, weighted fusion: each ranking's scores scaled to 0…1 over its own
            // candidates, half the weight each.
            func scaled(_ list: [SearchHit]) -> [String: Double] {
                let scores = list.map { Double($0.score) }
                guard let lo = scores.min(), let hi = scores.max() else { return [:] }
                return Dictionary(uniqueKeysWithValues: list.map { ($0.id, hi > lo ? (Double($0.score) - lo) / (hi - lo) : 1) })
            }
            var weighted: [String: Double] = [:]
            for (id, v) in scaled(dense) { weighted[id, default: 0] += 0.5 * v }
            for (id, v) in scaled(keyword) { weighted[id, default: 0] += 0.5 * v }
            let best = weighted.sorted { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }
            let byDefault = try c.search(
                SearchRequest(texts: [text], vectors: [q], k: 8, filter: filter, mode: .hybrid, fusionCandidates: 40)
            )
            .hits[0]
            #expect(byDefault.count == min(8, best.count))
            for (h, e) in zip(byDefault, best) {
                #expect(abs(Double(h.score) - e.value) < 1e-4, "\(text): \(h.id) \(h.score) vs \(e.key) \(e.value)")
            }
        }
        // Without `fusionCandidates`, each ranking contributes max(2k, 100) candidates:
        // 120 for a top 60 (the scaling over 120 candidates, not 60 or 100, gives the scores).
        do {
            let text = "storm rescue"
            let dense = try c.search(q, k: 120)
            let keyword = try c.search(SearchRequest(texts: [text], k: 120, mode: .keyword)).hits[0]
            #expect(keyword.count > 100, "the keyword ranking must be longer than the old default pool")
            var weighted: [String: Double] = [:]
            for list in [dense, keyword] {
                let scores = list.map { Double($0.score) }
                guard let lo = scores.min(), let hi = scores.max() else { continue }
                for h in list { weighted[h.id, default: 0] += 0.5 * (hi > lo ? (Double(h.score) - lo) / (hi - lo) : 1) }
            }
            let best = weighted.sorted { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }
            let request = SearchRequest(texts: [text], vectors: [q], k: 60, mode: .hybrid)
            #expect(request.fusionPool == 120)
            let response = try c.search(request)
            #expect(response.plan.parts.count == 2)
            #expect(response.plan.figures.first { $0.name == "candidates" }?.value == 120)
            let hits = response.hits[0]
            #expect(hits.count == 60)
            for (h, e) in zip(hits, best) {
                #expect(abs(Double(h.score) - e.value) < 1e-4, "default pool: \(h.id) \(h.score) vs \(e.key) \(e.value)")
            }
        }
        let analyzer = try TextAnalyzer(.english)
        for text in ["storm -boat", "\"rescue survivors\""] {
            let hits = try c.search(SearchRequest(texts: [text], vectors: [q], k: 30, mode: .hybrid)).hits[0]
            let parsed = KeywordQuery.parse(text, analyzer: analyzer)
            #expect(hits.allSatisfy { ReferenceBM25.satisfies(parsed, analyzer.termsWithPositions($0.text)) }, "\(text)")
        }
        let plain = try db.createCollection("plain", dimension: 3, metric: .cosine)
        try plain.upsert(keywordRecords(5, seed: 24))
        #expect(plain.info.keywordAnalyzer == nil)
        _ = expectError(.invalidArgument, "keyword search without a keyword index") {
            try plain.search(SearchRequest(texts: ["storm"], k: 3, mode: .keyword))
        }
        _ = expectError(.invalidArgument, "hybrid search without a keyword index") {
            try plain.search(SearchRequest(texts: ["storm"], vectors: [q], k: 3, mode: .hybrid))
        }
        _ = expectError(.invalidArgument, "two texts, one vector") {
            try c.search(SearchRequest(texts: ["storm", "boat"], vectors: [q], k: 3, mode: .hybrid))
        }
    }
}
