import Foundation
import Testing
import TestSupport
@testable import VectorStore

@Suite struct SearchTests {
    static let langs = ["en", "de", "fr", "ja"]

    /// A collection and its brute-force twin after inserts, replacements and deletes.
    func populated(_ metric: Metric, dim: Int = 24, n: Int = 3000, seed: UInt64, options: StoreOptions = StoreOptions())
        throws -> (TemporaryDirectory, Store, LMDBCollection, BruteForce, SeededGenerator)
    {
        let dir = TemporaryDirectory()
        let store = try Store(path: dir.path, options: options)
        let c = try store.createCollection("c", dimension: dim, metric: metric)
        var rng = SeededGenerator(seed: seed)
        var ref = BruteForce(metric: metric)
        func record(_ i: Int) -> Record {
            var meta: [String: MetadataValue] = [
                "lang": .string(Self.langs[Int(rng.next() % 4)]),
                "year": .int(Int64(2000 + rng.next() % 25)),
                "weight": .double(Double(rng.next() % 1000) / 10),
                "tags": .strings(["t\(rng.next() % 5)", "t\(rng.next() % 5)"]),
            ]
            if i % 7 == 0 { meta["rare"] = .bool(i % 14 == 0) }
            return Record(id: "id\(i)", vector: rng.vector(dim), text: "text of \(i)", metadata: meta)
        }
        var i = 0
        while i < n {
            let batch = (i..<min(n, i + 250)).map(record)
            try c.upsert(batch)
            ref.upsert(batch)
            i += 250
        }
        // Replace a slice (re-upserted ids get new vectors and metadata) and delete some.
        let replaced = stride(from: 5, to: n, by: 11).map(record)
        try c.upsert(replaced)
        ref.upsert(replaced)
        let gone = stride(from: 3, to: n, by: 13).map { "id\($0)" }
        try c.delete(ids: gone)
        ref.delete(gone)
        return (dir, store, c, ref, rng)
    }

    func assertSame(_ hits: [SearchHit], _ expected: [(id: String, score: Double)], _ metric: Metric) {
        #expect(hits.map(\.id) == expected.map(\.id))
        for (h, e) in zip(hits, expected) {
            #expect(abs(Double(h.score) - e.score) < 1e-3, "score of \(h.id): \(h.score) vs \(e.score)")
        }
    }

    @Test(arguments: Metric.allCases)
    func matchesBruteForceWithoutFilter(metric: Metric) throws {
        var (dir, store, c, ref, rng) = try populated(metric, seed: 42)
        defer { dir.remove() }
        #expect(try c.count() == ref.records.count)
        for _ in 0..<5 {
            let q = rng.vector(24)
            assertSame(try c.search(q, k: 10), ref.search(q, k: 10), metric)
        }
        // Batch search equals one-by-one, for sizes that take each scoring path: the SIMD
        // kernel (partial and full groups of 16 queries) and sgemm (above 32 queries).
        let qs = (0..<40).map { _ in rng.vector(24) }
        for size in [2, 7, 16, 21, 40] {
            let batch = try c.search(batch: Array(qs.prefix(size)), k: 7)
            #expect(batch.count == size)
            for (q, hits) in zip(qs, batch) { assertSame(hits, ref.search(q, k: 7), metric) }
        }
        // k larger than the collection returns everything.
        #expect(try c.search(qs[0], k: 10_000).count == ref.records.count)
        #expect(try store.check().isHealthy)
    }

    @Test(arguments: Metric.allCases)
    func matchesBruteForceWithFilters(metric: Metric) throws {
        var (dir, _, c, ref, rng) = try populated(metric, seed: 7)
        defer { dir.remove() }
        let cases: [(Filter, ([String: MetadataValue]) -> Bool)] = [
            (.equals("lang", "de"), { $0["lang"] == .string("de") }),
            (.notEquals("lang", "de"), { $0["lang"] != .string("de") }),
            (.isIn("lang", ["fr", "ja"]), { $0["lang"] == .string("fr") || $0["lang"] == .string("ja") }),
            (.notIn("lang", ["fr", "ja"]), { !($0["lang"] == .string("fr") || $0["lang"] == .string("ja")) }),
            (.range("year", lower: 2010, upper: 2015), { ($0["year"]?.number).map { $0 >= 2010 && $0 <= 2015 } ?? false }),
            (
                .range("weight", lower: 50, upper: 60, lowerInclusive: false, upperInclusive: false),
                { ($0["weight"]?.number).map { $0 > 50 && $0 < 60 } ?? false }
            ),
            (.range("year", upper: 2003), { ($0["year"]?.number).map { $0 <= 2003 } ?? false }),
            (.exists("rare"), { $0["rare"] != nil }),
            (.equals("rare", true), { $0["rare"] == .bool(true) }),
            (.equals("tags", "t3"), { if case .strings(let l)? = $0["tags"] { return l.contains("t3") } else { return false } }),
            (.equals("year", 2020.0), { $0["year"]?.number == 2020 }),
            (
                .and([.equals("lang", "en"), .range("year", lower: 2012)]),
                { $0["lang"] == .string("en") && ($0["year"]?.number ?? 0) >= 2012 }
            ),
            (.or([.equals("lang", "ja"), .exists("rare")]), { $0["lang"] == .string("ja") || $0["rare"] != nil }),
            (.not(.or([.equals("lang", "ja"), .exists("rare")])), { !($0["lang"] == .string("ja") || $0["rare"] != nil) }),
            (
                .and([.not(.equals("lang", "en")), .or([.equals("rare", false), .range("weight", upper: 5)])]),
                { $0["lang"] != .string("en") && ($0["rare"] == .bool(false) || ($0["weight"]?.number ?? 1e9) <= 5) }
            ),
            (.equals("lang", "xx"), { _ in false }),
        ]
        for (filter, predicate) in cases {
            // The reference predicate and Filter.matches agree on every record.
            for r in ref.records.values { #expect(filter.matches(r.metadata) == predicate(r.metadata), "\(filter)") }
            let q = rng.vector(24)
            let expected = ref.search(q, k: 15, where: predicate)
            let response = try c.searchExplained(batch: [q], k: 15, filter: filter)
            let (hits, plan) = (response.hits, response.plan)
            assertSame(hits[0], expected, metric)
            // Filtering happens before top-k: k hits whenever k records match.
            let matching = ref.records.values.filter { predicate($0.metadata) }.count
            #expect(hits[0].count == min(15, matching), "\(filter) via \(plan)")
        }
    }

    @Test func selectiveFiltersGatherAndBroadFiltersScan() throws {
        var (dir, _, c, ref, rng) = try populated(.dot, dim: 128, n: 20_000, seed: 9)
        defer { dir.remove() }
        let q = rng.vector(128)
        let selective = try c.searchExplained(batch: [q], k: 5, filter: .and([.equals("rare", true), .equals("lang", "en")]))
        #expect(selective.plan.access == "gather")
        #expect(selective.plan.rowsScored < 1000)
        // The planner weighed both paths and ran the cheaper; the plan names them with costs.
        #expect(selective.plan.considered.map(\.access) == ["gather", "scan"])
        #expect(selective.plan.considered[0].cost < selective.plan.considered[1].cost)
        #expect(selective.plan.filterMatches == selective.plan.rowsScored)
        #expect(selective.plan.description.hasPrefix("gather: \(selective.plan.rowsScored) rows scored in "))
        assertSame(selective.hits[0], ref.search(q, k: 5, where: { $0["rare"] == .bool(true) && $0["lang"] == .string("en") }), .dot)
        let broad = try c.searchExplained(batch: [q, q], k: 5, filter: .isIn("lang", ["en", "de", "fr"]))
        #expect(broad.plan.access == "scan")
        #expect(broad.plan.considered.map(\.access) == ["scan", "gather"])
        let expected = ref.search(q, k: 5, where: { $0["lang"] != .string("ja") })
        assertSame(broad.hits[0], expected, .dot)
        assertSame(broad.hits[1], expected, .dot)
    }

    @Test func multiThreadedScanMatchesBruteForce() throws {
        var options = StoreOptions()
        options.maxBlockBytes = 256 * 1024  // several full blocks to split over threads
        options.searchThreads = 3
        var (dir, _, c, ref, rng) = try populated(.l2, dim: 64, n: 20_000, seed: 5, options: options)
        defer { dir.remove() }
        let qs = (0..<4).map { _ in rng.vector(64) }
        let response = try c.searchExplained(batch: qs, k: 10)
        let (hits, plan) = (response.hits, response.plan)
        #expect(plan.threads == 3)
        #expect(plan.blocks > 3)
        for (q, h) in zip(qs, hits) { assertSame(h, ref.search(q, k: 10), .l2) }
        let single = try c.searchExplained(batch: [qs[0]], k: 10)
        assertSame(single.hits[0], ref.search(qs[0], k: 10), .l2)
    }

    @Test func equalScoresAreOrderedByID() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try Store(path: dir.path)
        let c = try store.createCollection("c", dimension: 2, metric: .dot)
        // Same vector for every record: all scores tie; ids inserted in scrambled order.
        let ids = (0..<50).map { "k\(($0 * 37) % 50)" }
        for chunk in stride(from: 0, to: 50, by: 10) {
            try c.upsert(ids[chunk..<chunk + 10].map { Record(id: $0, vector: [1, 1]) })
        }
        try c.upsert([Record(id: "best", vector: [2, 2])])
        let hits = try c.search([1, 0], k: 6)
        #expect(hits.map(\.id) == ["best"] + ids.sorted().prefix(5))
        let again = try c.search(batch: [[1, 0], [0, 1]], k: 6)
        #expect(again[0].map(\.id) == hits.map(\.id))
        #expect(again[1].map(\.id) == hits.map(\.id))
    }

    @Test func scoresPerMetric() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try Store(path: dir.path)
        let cos = try store.createCollection("cos", dimension: 2, metric: .cosine)
        let dot = try store.createCollection("dot", dimension: 2, metric: .dot)
        let l2 = try store.createCollection("l2", dimension: 2, metric: .l2)
        for c in [cos, dot, l2] { try c.upsert([Record(id: "a", vector: [3, 4]), Record(id: "b", vector: [-1, 0])]) }
        let hc = try cos.search([1, 0], k: 2)
        #expect(hc.map(\.id) == ["a", "b"])
        #expect(abs(hc[0].score - 0.6) < 1e-6)
        #expect(abs(hc[1].score + 1) < 1e-6)
        let hd = try dot.search([2, 1], k: 2)
        #expect(hd.map(\.score) == [10, -2])
        let hl = try l2.search([0, 0], k: 2)
        #expect(hl.map(\.id) == ["b", "a"])
        #expect(abs(hl[0].score - 1) < 1e-5)
        #expect(abs(hl[1].score - 5) < 1e-5)
    }
}
