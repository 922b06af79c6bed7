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

    /// A range filter's postings (one sorted list per value, rows repeated across values
    /// when a record holds several numbers) unite into one sorted, duplicate-free list for
    /// any number of lists, empty ones among them.
    @Test func rangePostingsUniteSortedAndUnique() {
        var rng = SeededGenerator(seed: 21)
        for count in [0, 1, 2, 3, 7, 50] {
            let lists: [[UInt64]] = (0..<count).map { i in
                i % 4 == 3 ? [] : Array(Set((0..<Int(rng.next() % 300)).map { _ in rng.next() % 2000 })).sorted()
            }
            #expect(SortedRows.union(lists) == Array(Set(lists.joined())).sorted(), "\(count) lists")
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

    /// Batches of more than 32 queries are scored by sgemm, which rounds a row's score by
    /// its place in the tile: copies of one vector scored a few ulps apart, so ties went by
    /// position and tied copies dropped out of the top k.
    @Test(arguments: Metric.allCases)
    func copiesTieByIDInLargeBatches(metric: Metric) throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try Store(path: dir.path)
        let dim = 64
        let c = try store.createCollection("c", dimension: dim, metric: metric)
        var rng = SeededGenerator(seed: 404)
        var ref = BruteForce(metric: metric)
        let same = rng.vector(dim)
        // 40 copies, ids in scrambled order, among 200 short noise rows, in four batches: the
        // copies land at every place in the tiles.
        let records = (0..<240).map { i in
            i % 6 == 0
                ? Record(id: String(format: "copy%02d", (i / 6 * 17) % 40), vector: same)
                : Record(id: "noise\(i)", vector: rng.vector(dim).map { $0 * 0.1 })
        }
        for chunk in stride(from: 0, to: records.count, by: 60) {
            try c.upsert(Array(records[chunk..<chunk + 60]))
        }
        ref.upsert(records)
        let smallest = (0..<10).map { String(format: "copy%02d", $0) }
        // 40 distinct queries close to the copies, which are every query's 40 best.
        let queries = (0..<40).map { _ in zip(same, rng.vector(dim)).map { $0 + $1 * 0.001 } }
        let batch = try c.search(batch: queries, k: 10)
        #expect(batch.count == 40)
        for (i, hits) in batch.enumerated() {
            #expect(hits.map(\.id) == smallest, "\(metric) query \(i)")
            let expected = ref.search(queries[i], k: 10)
            #expect(expected.map(\.id) == smallest, "the reference orders ties by id")
            for (h, e) in zip(hits, expected) {
                #expect(abs(Double(h.score) - e.score) <= 1e-5, "\(metric) query \(i): \(h.id) scores \(h.score), expected \(e.score)")
            }
        }
    }

    /// l2 was scored as |q|² − 2q·x + |x|² in float32: at dimension 384 with norms about 10
    /// the cancellation cost about 1e-2 in distance, so neighbours 0.01 apart swapped.
    @Test func l2NeighboursAtDimension384AreExact() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try Store(path: dir.path)
        let dim = 384
        let c = try store.createCollection("c", dimension: dim, metric: .l2)
        var rng = SeededGenerator(seed: 385)
        var ref = BruteForce(metric: .l2)
        let base = rng.vector(dim)  // |base| is about 11
        // Neighbour i is 0.01 · (i + 1) from `base`, each in a direction of its own.
        let near = (0..<30).map { i in
            Record(id: "near\(i)", vector: zip(base, rng.unitVector(dim)).map { $0 + $1 * 0.01 * Float(i + 1) })
        }
        let far = (0..<200).map { Record(id: "far\($0)", vector: rng.vector(dim)) }
        try c.upsert(Array(far.prefix(100)) + near.reversed())
        try c.upsert(Array(far.suffix(100)))
        ref.upsert(near + far)

        func expectExact(_ hits: [SearchHit], _ query: [Float], _ comment: Comment) {
            let expected = ref.search(query, k: hits.count)
            #expect(hits.map(\.id) == expected.map(\.id), comment)
            for (h, e) in zip(hits, expected) {
                #expect(abs(Double(h.score) - e.score) <= 1e-4, "\(comment): \(h.id) is \(h.score) away, expected \(e.score)")
            }
        }
        let hits = try c.search(base, k: 20)
        #expect(hits.map(\.id) == (0..<20).map { "near\($0)" })
        expectExact(hits, base, "neighbours of base")
        for i in [0, 9, 29] {
            let own = try c.search(near[i].vector, k: 10)
            #expect(own.first?.id == "near\(i)")
            #expect(own.first?.score == 0, "near\(i) is \(own.first?.score ?? -1) from itself")
            expectExact(own, near[i].vector, "neighbours of near\(i)")
        }
        // Every scoring kernel: one query, a few (Quiver's SIMD kernel), more than 32 (sgemm).
        let queries = [base] + near.map(\.vector) + (0..<9).map { _ in zip(base, rng.vector(dim)).map { $0 + $1 * 0.02 } }
        for size in [1, 3, 40] {
            let batch = try c.search(batch: Array(queries.prefix(size)), k: 10)
            for (i, hits) in batch.enumerated() { expectExact(hits, queries[i], "batch \(size) #\(i)") }
        }
    }

    /// TopK keeps the k best and every row within the slack of the k-th, however many (all
    /// of them when all tie), prunes the rest as the k-th score rises, and merging two
    /// keeps the same rows.
    @Test func topKKeepsEveryRowWithinTheSlack() {
        var rng = SeededGenerator(seed: 12)
        let random = (0..<20_000).map { _ in Float(rng.next() >> 40) / Float(1 << 24) }
        let tied = [Float](repeating: 0.5, count: 20_000)
        let cases: [(String, [Float], k: Int, slack: Float)] = [
            ("random", random, 10, 0.01), ("random", random, 1, 0.001), ("random", random, 10, 0),
            ("all tied", tied, 10, 0), ("all tied", tied, 10, 0.01),
        ]
        for (name, scores, k, slack) in cases {
            var one = TopK(k: k, slack: slack)
            var halves = [TopK(k: k, slack: slack), TopK(k: k, slack: slack)]
            for (i, score) in scores.enumerated() {
                let entry = TopK.Entry(score: score, view: 0, row: UInt64(i), slot: UInt32(i))
                one.push(entry)
                halves[i % 2].push(entry)
            }
            var merged = halves[0]
            merged.merge(halves[1])
            let kth = scores.sorted(by: >)[k - 1]
            let expected = Set(scores.indices.filter { scores[$0] >= kth - slack })
            for (form, top) in [("one", one), ("merged", merged)] {
                let label = "\(name), k \(k), slack \(slack), \(form)"
                let rows = top.candidates().map { Int($0.row) }
                #expect(rows.count == Set(rows).count, "\(label): a row twice")
                // Rounding the threshold down may keep a row one ulp below, never lose one.
                #expect(Set(rows).isSuperset(of: expected), "\(label): lost \(expected.subtracting(rows).count)")
                #expect(rows.count <= expected.count + 2, "\(label): \(rows.count) kept, \(expected.count) within the slack")
                if name == "random" { #expect(top.near.count < 2000, "\(label): \(top.near.count) in near, not pruned") }
            }
        }
    }

    /// Reads of one snapshot reuse the block walk (``BlockDirectory``); a commit through
    /// another handle, another `Store` of the same folder, or the same handle is seen by
    /// the next search, and so is a delete that only adds tombstones.
    @Test func readsOfOneSnapshotShareTheBlockWalkAndSeeEveryCommit() throws {
        let dir = TemporaryDirectory()
        let store = try Store(path: dir.path)
        let c = try store.createCollection("c", dimension: 3, metric: .cosine)
        try c.upsert((0..<3).map { Record(id: "r\($0)", vector: [1, Float($0), 0]) })
        func ids(_ handle: LMDBCollection) throws -> Set<String> { Set(try handle.search([1, 0, 0], k: 50).map(\.id)) }
        func cachedTransaction() -> Int? { c.blockDirectory.withLock { $0?.key.transaction } }

        #expect(try ids(c) == ["r0", "r1", "r2"])
        let first = try #require(cachedTransaction())
        #expect(try ids(c) == ["r0", "r1", "r2"])
        #expect(cachedTransaction() == first, "a second read of the same snapshot walks again")

        // Another handle of the same store, then another Store of the same folder.
        try store.collection("c").upsert([Record(id: "r3", vector: [1, 3, 0])])
        #expect(try ids(c) == ["r0", "r1", "r2", "r3"])
        let second = try #require(cachedTransaction())
        #expect(second > first)
        let other = try Store(path: dir.path)
        try other.collection("c").upsert([Record(id: "r4", vector: [1, 4, 0])])
        #expect(try ids(c) == ["r0", "r1", "r2", "r3", "r4"])
        // A delete only adds a tombstone bitmap; a replacement moves the row.
        #expect(try c.delete(ids: ["r1"]) == 1)
        #expect(try ids(c) == ["r0", "r2", "r3", "r4"])
        try other.collection("c").upsert([Record(id: "r0", vector: [0, 0, 1])])
        let hits = try c.search([0, 0, 1], k: 1)
        #expect(hits.map(\.id) == ["r0"])
        #expect(abs((hits.first?.score ?? 0) - 1) < 1e-6)
        #expect(try c.count() == 4)
    }

    /// LMDB 0.9 can give a read the transaction id of an older commit than the snapshot it
    /// reads (a reader preempted inside `mdb_txn_renew` copies the roots of a later commit
    /// of the same parity). Block views cached by a read of the older snapshot must not
    /// serve it: keyed by that id, they showed a reader rows its records did not have
    /// ("row … has no record" in the conformance suite's `readersSeeWholeBatches`).
    @Test func aReadUnderAStaleTransactionIDWalksItsOwnSnapshot() throws {
        let dir = TemporaryDirectory()
        let store = try Store(path: dir.path)
        let c = try store.createCollection("c", dimension: 3, metric: .dot)
        func batch(_ b: Int) -> [Record] { (0..<40).map { Record(id: "b\(b)-\($0)", vector: [Float(b + 1), Float($0), 0]) } }
        try c.upsert(batch(0))
        let stale = try store.env.read { txn in
            _ = try c.blockViews(txn)
            return txn.id
        }
        #expect(c.blockDirectory.withLock { $0 != nil }, "the walk was not kept")
        // Two commits (LMDB's stale ids are older by an even number), each replacing the
        // whole content.
        try c.write(upsert: batch(1), deleting: batch(0).map(\.id), deletingWhere: nil)
        try c.write(upsert: batch(2), deleting: batch(1).map(\.id), deletingWhere: nil)
        try store.env.read { txn in
            #expect(txn.id == stale + 2)
            let views = try c.blockViews(txn, transaction: stale)
            var live: [UInt64] = []
            for v in views { for slot in 0..<v.count where !v.isDeleted(slot) { live.append(v.rowID(slot)) } }
            #expect(live.count == 40)
            for row in live {
                let id = try c.records.get(txn, row).map { try RecordCodec.decodeID($0, rowID: row) }
                #expect(id?.hasPrefix("b2-") == true, "row \(row): \(id ?? "no record")")
            }
        }
        #expect(try c.search([1, 0, 0], k: 100).map(\.id) == batch(2).map(\.id).sorted())
    }

    /// Every commit that changes something records its own transaction id in the store
    /// (what read snapshots are told apart by); a write that changes nothing commits nothing.
    @Test func commitsStampTheirTransactionID() throws {
        let dir = TemporaryDirectory()
        let store = try Store(path: dir.path)
        func stampAndID() throws -> (stamp: UInt64?, id: Int) {
            try store.env.read { txn in
                #expect(txn.stamp == (try store.env.commitStamp(txn)), "a read carries its snapshot's stamp")
                return (try store.env.commitStamp(txn), txn.id)
            }
        }
        let c = try store.createCollection("c", dimension: 2, metric: .dot)
        let made = try stampAndID()
        #expect(made.stamp == UInt64(made.id))
        try c.upsert([Record(id: "a", vector: [1, 0])])
        let written = try stampAndID()
        #expect(written.id > made.id)
        #expect(written.stamp == UInt64(written.id))
        // Deleting what is not there changes nothing: no commit, the same stamp.
        #expect(try c.delete(ids: ["missing"]) == 0)
        let unchanged = try stampAndID()
        #expect(unchanged.id == written.id)
        #expect(unchanged.stamp == written.stamp)
        // Another Store of the folder in this process, and a commit it makes.
        try Store(path: dir.path).collection("c").upsert([Record(id: "b", vector: [0, 1])])
        let other = try stampAndID()
        #expect(other.id > written.id && other.stamp == UInt64(other.id))
    }

    /// A compacted copy (`Store.shrink`, `mdb_copy -c`) starts LMDB's ids again at 1 and
    /// keeps the stamp of the old file's last commit: reads must not take that for LMDB's
    /// stale-id race (and renew each read), and the next commit stamps the new ids.
    @Test func aCompactedCopyReadsWithoutRenewalsAndStampsAgain() throws {
        let dir = TemporaryDirectory()
        do {
            let store = try Store(path: dir.path)
            let c = try store.createCollection("c", dimension: 2, metric: .dot)
            for i in 0..<20 { try c.upsert([Record(id: "r\(i)", vector: [1, Float(i)])]) }
        }
        _ = try Store.shrink(path: dir.path)
        let store = try Store(path: dir.path)
        let copied = try store.env.read { (stamp: try store.env.commitStamp($0), id: $0.id) }
        #expect(copied.id < 5, "the compacted copy's ids: \(copied.id)")
        #expect((copied.stamp ?? 0) > UInt64(copied.id), "the old file's stamp: \(String(describing: copied.stamp))")
        let renewals = store.env.settledReadRenewals
        let c = try store.collection("c")
        for _ in 0..<10 { #expect(try c.search([1, 0], k: 100).count == 20) }
        #expect(store.env.settledReadRenewals == renewals, "reads of the compacted copy were renewed")
        try c.upsert([Record(id: "r20", vector: [1, 20])])
        let written = try store.env.read { (stamp: try store.env.commitStamp($0), id: $0.id) }
        #expect(written.stamp == UInt64(written.id))
        #expect(try c.search([1, 0], k: 100).count == 21)
    }
}
