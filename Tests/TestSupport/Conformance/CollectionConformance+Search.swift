import Foundation
import Testing
import VectorStore

// Search against the brute-force reference.
extension CollectionConformance {
    static func searchMatchesBruteForce(_ db: any VectorDatabase, _ metric: Metric) throws {
        let dim = 24
        let c = try db.createCollection("c", dimension: dim, metric: metric)
        var (ref, rng) = try populate(c, n: 600, seed: 42 + UInt64(Metric.allCases.firstIndex(of: metric) ?? 0))
        #expect(try c.count() == ref.records.count)
        for i in 0..<8 {
            let q = rng.vector(dim)
            expectHits(try c.search(q, k: 10), ref.search(q, k: 10), ref, "\(metric) query \(i), k 10")
        }
        let q = rng.vector(dim)
        expectHits(try c.search(q, k: 1), ref.search(q, k: 1), ref, "\(metric) k 1")
        expectHits(try c.search(q, k: 100), ref.search(q, k: 100), ref, "\(metric) k 100")
        // A long query: dot and l2 use it as given; cosine is independent of its length.
        let long = q.map { $0 * 7.5 }
        expectHits(try c.search(long, k: 10), ref.search(long, k: 10), ref, "\(metric) scaled query")
        if metric == .cosine {
            expectSameHits(try c.search(long, k: 10), try c.search(q, k: 10), "cosine ignores the query's length")
        }
        // A query equal to a stored vector finds that record first (cosine, dot of a
        // longest vector is not guaranteed; l2 distance 0 and cosine 1 are).
        if metric != .dot, let some = ref.records["r100"] {
            let hits = try c.search(some.vector, k: 1)
            #expect(hits.map(\.id) == ["r100"], "\(metric): a stored vector finds itself")
        }
    }

    static func kLargerThanCount(_ db: any VectorDatabase) throws {
        for metric in Metric.allCases {
            let c = try db.createCollection("c-\(metric)", dimension: 3, metric: metric)
            // Empty: no hits, for one query or many.
            #expect(try c.search([1, 2, 3], k: 5).isEmpty)
            #expect(try c.search(batch: [[1, 2, 3], [3, 2, 1]], k: 5).map(\.count) == [0, 0])
            #expect(try c.search([1, 2, 3], k: 5, filter: .exists("g")).isEmpty)

            var rng = SeededGenerator(seed: 5)
            var ref = BruteForce(metric: metric)
            let records = (0..<7).map { Record(id: "r\($0)", vector: rng.vector(3), metadata: ["g": .bool($0 < 3)]) }
            try c.upsert(records)
            ref.upsert(records)
            let q = rng.vector(3)
            for k in [7, 8, 50, 10_000] {
                expectHits(try c.search(q, k: k), ref.search(q, k: k), ref, "\(metric) k \(k) of 7")
                let batch = try c.search(batch: [q, q.map { -$0 }], k: k)
                expectHits(batch[0], ref.search(q, k: k), ref, "\(metric) batch k \(k) of 7")
                expectHits(batch[1], ref.search(q.map { -$0 }, k: k), ref, "\(metric) batch k \(k) of 7, second query")
            }
            // k above the filter's matches returns every match.
            let matches = ref.search(q, k: 50) { $0["g"] == .bool(true) }
            #expect(matches.count == 3)
            expectHits(try c.search(q, k: 50, filter: .equals("g", true)), matches, ref, "\(metric) k 50 of 3 matches")
            expectHits(
                try c.search(q, k: 50, filter: .notEquals("g", true)), ref.search(q, k: 50) { $0["g"] != .bool(true) }, ref,
                "\(metric) k 50 of 4 matches of a negation")
            #expect(try c.delete(ids: records.map(\.id)) == 7)
            #expect(try c.search(q, k: 50).isEmpty)
        }
    }

    static func tiesOrderedByID(_ db: any VectorDatabase) throws {
        let dim = 16
        var rng = SeededGenerator(seed: 99)
        // Components k/8: every product and sum is exact in float32, so copies of this
        // vector score exactly alike on any kernel, l2 distance 0 included.
        let same = (0..<dim).map { _ in Float(Int(rng.next() % 15) - 7) / 8 + (1.0 / 8) }
        for metric in Metric.allCases {
            let c = try db.createCollection("c-\(metric)", dimension: dim, metric: metric)
            var ref = BruteForce(metric: metric)
            let copies = try Self.writeCopies(of: same, into: c, &ref, &rng)
            // Rewrite some copies (new rows, old ones dead) and delete others.
            let rewritten = Array(copies[10..<20])
            try c.upsert(rewritten)
            ref.upsert(rewritten)
            let gone = copies[40..<45].map(\.id)
            #expect(try c.delete(ids: gone) == 5)
            ref.delete(gone)

            let live = copies.map(\.id).filter { !gone.contains($0) }.sorted()
            for k in [1, 3, 10, 55, 70] {
                let expected = ref.search(same, k: k)
                #expect(expected.prefix(55).map(\.id) == Array(live.prefix(k)), "the reference orders ties by id")
                expectHits(try c.search(same, k: k), expected, ref, "\(metric) ties, k \(k)")
            }
            // Through a filter (candidates gathered by the index on some backends) and a negation.
            expectHits(
                try c.search(same, k: 10, filter: .equals("copy", true)), ref.search(same, k: 10) { $0["copy"] == .bool(true) }, ref,
                "\(metric) ties with a filter")
            expectHits(
                try c.search(same, k: 10, filter: .notEquals("copy", false)), ref.search(same, k: 10) { $0["copy"] != .bool(false) },
                ref, "\(metric) ties with a negated filter")
            // In batches (more than 32 queries: `tiesOrderedByIDInLargeBatches`).
            for size in [2, 17, 32] {
                let batch = try c.search(batch: Array(repeating: same, count: size), k: 10)
                for (i, hits) in batch.enumerated() {
                    expectHits(hits, ref.search(same, k: 10), ref, "\(metric) ties, batch \(size) #\(i)")
                }
            }
            // Another query: the copies still tie among themselves wherever they rank.
            let q = rng.vector(dim)
            expectHits(try c.search(q, k: 100), ref.search(q, k: 100), ref, "\(metric) all 95 for a random query")
            if metric == .dot {
                // A zero query scores every record 0: all tie, k come back ordered by id.
                let zero = [Float](repeating: 0, count: dim)
                expectHits(try c.search(zero, k: 12), ref.search(zero, k: 12), ref, "dot, zero query")
                #expect(try c.search(zero, k: 12).map(\.id) == Array(ref.records.keys.sorted().prefix(12)))
            }
        }
    }

    /// Ties in batches of more than 32 queries, where a backend may switch to a matrix
    /// kernel (sgemm) that must still score copies of one vector alike.
    static func tiesOrderedByIDInLargeBatches(_ db: any VectorDatabase) throws {
        let dim = 16
        var rng = SeededGenerator(seed: 98)
        let same = rng.vector(dim)
        for metric in Metric.allCases {
            let c = try db.createCollection("c-\(metric)", dimension: dim, metric: metric)
            var ref = BruteForce(metric: metric)
            try Self.writeCopies(of: same, into: c, &ref, &rng)
            let q = rng.vector(dim)
            for size in [33, 40, 64] {
                // Every copy is a candidate: all tie, for any query.
                let filtered = try c.search(batch: Array(repeating: q, count: size), k: 10, filter: .equals("copy", true))
                for (i, hits) in filtered.enumerated() {
                    expectHits(
                        hits, ref.search(q, k: 10) { $0["copy"] == .bool(true) }, ref, "\(metric) ties, batch \(size) #\(i), filtered")
                }
                if metric != .l2 {
                    // The copies are the best hits for their own vector.
                    let batch = try c.search(batch: Array(repeating: same, count: size), k: 10)
                    for (i, hits) in batch.enumerated() {
                        expectHits(hits, ref.search(same, k: 10), ref, "\(metric) ties, batch \(size) #\(i)")
                    }
                }
            }
        }
    }

    /// Euclidean distances of close neighbours (and of a vector to itself) in a typical
    /// embedding dimension are exact to `scoreTolerance`, and so is their order.
    static func l2NearNeighbours(_ db: any VectorDatabase) throws {
        let dim = 384
        let c = try db.createCollection("c", dimension: dim, metric: .l2)
        var rng = SeededGenerator(seed: 77)
        var ref = BruteForce(metric: .l2)
        let base = rng.vector(dim)
        // Neighbours at distances of about 0.01, 0.02, ... 0.3 from `base`; others far.
        let near = (0..<30).map { i in
            Record(id: "near\(i)", vector: zip(base, rng.vector(dim)).map { $0 + $1 * 0.0009 * Float(i + 1) })
        }
        let far = (0..<100).map { i in Record(id: "far\(i)", vector: rng.vector(dim)) }
        try c.upsert(near + far)
        ref.upsert(near + far)
        expectHits(try c.search(base, k: 20), ref.search(base, k: 20), ref, "neighbours of a vector not stored")
        for i in [0, 7, 29] {
            let own = near[i].vector
            let hits = try c.search(own, k: 5)
            expectHits(hits, ref.search(own, k: 5), ref, "neighbours of near\(i)")
            #expect(
                hits.first.map { abs($0.score) <= Float(scoreTolerance) } == true,
                "the distance of near\(i) to itself: \(hits.first?.score ?? -1)")
        }
        let batch = try c.search(batch: [base, near[3].vector, base], k: 10)
        expectHits(batch[0], ref.search(base, k: 10), ref, "batch #0")
        expectHits(batch[1], ref.search(near[3].vector, k: 10), ref, "batch #1")
    }

    static func filters(_ db: any VectorDatabase) throws {
        for metric in Metric.allCases {
            let dim = 16
            let c = try db.createCollection("c-\(metric)", dimension: dim, metric: metric)
            var (ref, rng) = try populate(c, n: 500, seed: 7 + UInt64(Metric.allCases.firstIndex(of: metric) ?? 0))
            for (name, filter, predicate) in filterCases(ref) {
                // The independent predicate and `Filter.matches` agree on every record.
                let disagree = ref.records.values.filter { filter.matches($0.metadata) != predicate($0.metadata) }.map(\.id)
                #expect(disagree.isEmpty, "\(name): Filter.matches and the reference disagree on \(disagree.prefix(5))")
                let q = rng.vector(dim)
                expectHits(try c.search(q, k: 10, filter: filter), ref.search(q, k: 10, where: predicate), ref, "\(metric) \(name), k 10")
                expectHits(
                    try c.search(q, k: 1000, filter: filter), ref.search(q, k: 1000, where: predicate), ref, "\(metric) \(name), all")
            }
        }
    }

    static func batchEqualsSingle(_ db: any VectorDatabase) throws {
        for metric in Metric.allCases {
            let dim = 16
            let c = try db.createCollection("c-\(metric)", dimension: dim, metric: metric)
            var (ref, rng) = try populate(c, n: 400, seed: 21)
            let queries = (0..<40).map { _ in rng.vector(dim) }
            for size in [1, 2, 5, 16, 17, 33, 40] {
                let batch = try c.search(batch: Array(queries.prefix(size)), k: 7)
                #expect(batch.count == size, "\(metric) batch \(size)")
                for (i, hits) in batch.enumerated() {
                    expectSameHits(hits, try c.search(queries[i], k: 7), "\(metric) batch \(size) #\(i) vs single")
                    expectHits(hits, ref.search(queries[i], k: 7), ref, "\(metric) batch \(size) #\(i) vs reference")
                }
            }
            for filter: Filter in [.equals("lang", "en"), .notEquals("lang", "en"), .equals("rare", "yes")] {
                let batch = try c.search(batch: queries, k: 5, filter: filter)
                for (i, hits) in batch.enumerated() {
                    expectSameHits(hits, try c.search(queries[i], k: 5, filter: filter), "\(metric) \(filter) #\(i)")
                    expectHits(hits, ref.search(queries[i], k: 5, where: filter.matches), ref, "\(metric) \(filter) #\(i) vs reference")
                }
            }
            // The same query twice in a batch, and the request form.
            let twice = try c.search(batch: [queries[0], queries[1], queries[0]], k: 5)
            expectSameHits(twice[0], twice[2], "\(metric) a repeated query")
            let response = try c.search(SearchRequest(queries: [queries[3], queries[4]], k: 6, filter: .exists("draft")))
            #expect(response.hits.count == 2)
            for (i, q) in [queries[3], queries[4]].enumerated() {
                expectHits(response.hits[i], ref.search(q, k: 6) { $0["draft"] != nil }, ref, "\(metric) request #\(i)")
            }
            // Fields: the same hits, carrying only what was asked for.
            var request = SearchRequest(queries: [queries[5]], k: 6, filter: .exists("lang"))
            let all = try c.search(request).hits[0]
            #expect(all.contains { !$0.metadata.isEmpty })
            for fields: SearchHit.Fields in [.none, .text, .metadata] {
                request.fields = fields
                let some = try c.search(request).hits[0]
                #expect(some.map(\.id) == all.map(\.id) && some.map(\.score) == all.map(\.score), "\(metric) fields \(fields.rawValue)")
                for (s, a) in zip(some, all) {
                    #expect(s.text == (fields.contains(.text) ? a.text : ""), "\(metric) fields \(fields.rawValue) text")
                    #expect(s.metadata == (fields.contains(.metadata) ? a.metadata : [:]), "\(metric) fields \(fields.rawValue) metadata")
                }
            }
            // An empty batch has no results.
            #expect(try c.search(batch: [], k: 5).isEmpty)
        }
    }

    static func explain(_ db: any VectorDatabase) throws {
        let dim = 16
        let empty = try db.createCollection("empty", dimension: dim, metric: .dot)
        let none = try empty.searchExplained(batch: [[Float](repeating: 1, count: dim)], k: 3)
        #expect(none.hits.map(\.count) == [0])
        #expect(!none.plan.access.isEmpty)

        let c = try db.createCollection("c", dimension: dim, metric: .dot)
        var (ref, rng) = try populate(c, n: 500, seed: 31)
        let q = rng.vector(dim)
        let filters: [Filter?] = [
            nil, .equals("rare", "yes"), .notEquals("lang", "ja"), .equals("lang", "xx"), .and([.equals("lang", "en"), .exists("draft")]),
        ]
        for filter in filters {
            for queries in [[q], [q, rng.vector(dim), rng.vector(dim)]] {
                let response = try c.searchExplained(batch: queries, k: 10, filter: filter)
                let plan = response.plan
                let label = "\(filter.map { "\($0)" } ?? "no filter"), \(queries.count) queries: \(plan)"
                #expect(!plan.access.isEmpty, "\(label)")
                #expect(plan.description.hasPrefix(plan.access), "\(label)")
                #expect(response.hits.count == queries.count, "\(label)")
                for (i, hits) in response.hits.enumerated() {
                    #expect(plan.rowsScored >= hits.count, "\(label): \(plan.rowsScored) rows scored for \(hits.count) hits")
                    expectHits(hits, ref.search(queries[i], k: 10, where: { filter?.matches($0) ?? true }), ref, "\(label) #\(i)")
                    expectSameHits(hits, try c.search(queries[i], k: 10, filter: filter), "\(label) #\(i) vs search")
                }
                // Figures a backend chooses to report must be true.
                if let filter, let matches = plan.filterMatches {
                    #expect(matches == ref.records.values.filter { filter.matches($0.metadata) }.count, "\(label)")
                }
                if !plan.considered.isEmpty {
                    #expect(plan.considered.map(\.access).contains(plan.access), "\(label)")
                    #expect(plan.considered.map(\.cost) == plan.considered.map(\.cost).sorted(), "\(label): cheapest first")
                }
            }
        }
    }

    static func rejectsBadQueries(_ db: any VectorDatabase) throws {
        for metric in Metric.allCases {
            let c = try db.createCollection("c-\(metric)", dimension: 4, metric: metric)
            try c.upsert([Record(id: "a", vector: [1, 2, 3, 4], metadata: ["lang": "en"]), Record(id: "b", vector: [4, 3, 2, 1])])
            let good: [Float] = [1, 0, 0, 1]
            for query: [Float] in [[1, 2, 3], [1, 2, 3, 4, 5], []] {
                let comment: Comment = "\(metric): \(query.count) components"
                let error = expectError(.dimensionMismatch, comment) { try c.search(query, k: 1) }
                expectFields(error, comment, collection: c.name, expected: "4", actual: "\(query.count)")
            }
            let second = expectError(.dimensionMismatch, "\(metric): second of a batch") { try c.search(batch: [good, [1, 2]], k: 1) }
            expectFields(second, "\(metric): second of a batch", expected: "4", actual: "2")
            expectError(.invalidVector, "\(metric): NaN") { try c.search([1, .nan, 0, 0], k: 1) }
            expectError(.invalidVector, "\(metric): +infinity") { try c.search([.infinity, 0, 0, 0], k: 1) }
            expectError(.invalidVector, "\(metric): -infinity") { try c.search([0, 0, 0, -.infinity], k: 1) }
            expectError(.invalidVector, "\(metric): NaN second in a batch") { try c.search(batch: [good, [0, .nan, 0, 0]], k: 1) }
            expectError(.invalidVector, "\(metric): NaN with a filter") { try c.search([.nan, 0, 0, 0], k: 1, filter: .exists("lang")) }
            let zero: [Float] = [0, 0, 0, 0]
            if metric == .cosine {
                expectError(.invalidVector, "a zero query under cosine") { try c.search(zero, k: 1) }
            } else {
                #expect(try c.search(zero, k: 2).count == 2, "a zero query is valid under \(metric)")
            }
            for k in [0, -1, Int.min] {
                let error = expectError(.invalidArgument, "\(metric): k \(k)") { try c.search(good, k: k) }
                expectFields(error, "\(metric): k \(k)", input: "k", actual: "\(k)")
                expectError(.invalidArgument, "\(metric): k \(k) in a batch") { try c.search(batch: [good, good], k: k) }
                expectError(.invalidArgument, "\(metric): k \(k) with a filter") { try c.search(good, k: k, filter: .exists("lang")) }
            }
            let malformed: [(String, Filter)] = [
                ("a list compared with equals", .equals("lang", ["en", "de"])),
                ("a list compared with notEquals", .notEquals("lang", ["en"])),
                ("a list among isIn values", .isIn("lang", ["en", .strings(["de"])])),
                ("a list among notIn values", .notIn("lang", [.strings(["de"])])),
                ("NaN compared with equals", .equals("w", .double(.nan))),
                ("NaN among isIn values", .isIn("w", [1, .double(.nan)])),
                ("a NaN lower bound", .range("w", lower: .nan)),
                ("a NaN upper bound", .range("w", upper: .nan)),
                ("an empty field name", .exists("")),
                ("an empty field name in equals", .equals("", "x")),
                ("a malformed filter inside and", .and([.exists("lang"), .equals("lang", ["x"])])),
                ("a malformed filter inside or", .or([.exists("lang"), .range("w", lower: .nan)])),
                ("a malformed filter inside not", .not(.exists(""))),
            ]
            for (what, filter) in malformed {
                expectError(.invalidArgument, "\(metric) search: \(what)") { try c.search(good, k: 1, filter: filter) }
                expectError(.invalidArgument, "\(metric) metadata: \(what)") { try c.metadata(where: filter) }
                expectError(.invalidArgument, "\(metric) delete: \(what)") { try c.delete(where: filter) }
            }
            // Nothing was deleted by the refused calls.
            #expect(try c.count() == 2, "\(metric)")
        }
    }

    /// Writes 60 copies of `same` (ids `tie00`…`tie59`, in scrambled order over four
    /// batches) and 40 small random others to `c` and `ref`; returns the copies.
    @discardableResult
    static func writeCopies(
        of same: [Float], into c: any VectorCollection, _ ref: inout BruteForce, _ rng: inout SeededGenerator
    ) throws -> [Record] {
        let copies = (0..<60).map { i in
            Record(id: "tie\(String(format: "%02d", (i * 37) % 60))", vector: same, metadata: ["copy": true])
        }
        let others = (0..<40).map { i in
            Record(id: "other\(i)", vector: rng.vector(same.count).map { $0 * 0.1 }, metadata: ["copy": false])
        }
        for chunk in 0..<4 {
            let batch = Array(copies[(chunk * 15)..<(chunk * 15 + 15)]) + Array(others[(chunk * 10)..<(chunk * 10 + 10)])
            try c.upsert(batch)
            ref.upsert(batch)
        }
        return copies
    }
}
