import Foundation
import Testing
import TestSupport
@testable import VectorStore

/// The partitioned (IVF) index: k-means centroids, blocks as lists, probing, exact
/// filters, inserts and deletes after the build, retrains, check() and bad input.
@Suite struct IVFIndexTests {
    static let dim = 32
    static let clusters = 40

    /// `n` records around `clusters` centres (the index's lists have structure to find),
    /// with a `bucket` metadata field 0..<100 and `half` true for even rows.
    static func records(_ n: Int, from start: Int = 0, seed: UInt64) -> (records: [Record], centers: [[Float]]) {
        var rng = SeededGenerator(seed: 99)
        let centers = (0..<clusters).map { _ in rng.vector(dim) }
        var noise = SeededGenerator(seed: seed)
        let records = (start..<(start + n)).map { i -> Record in
            let c = centers[(i * 7) % clusters]
            return Record(
                id: "r\(i)", vector: zip(c, noise.vector(dim)).map { $0 + 0.35 * $1 },
                metadata: ["bucket": .int(Int64(i % 100)), "half": .bool(i % 2 == 0)])
        }
        return (records, centers)
    }

    static func queries(_ centers: [[Float]], _ n: Int, seed: UInt64) -> [[Float]] {
        var rng = SeededGenerator(seed: seed)
        return (0..<n).map { i in zip(centers[i % centers.count], rng.vector(dim)).map { $0 + 0.35 * $1 } }
    }

    static func recall(_ c: LMDBCollection, _ ref: BruteForce, _ queries: [[Float]], k: Int = 10, request: SearchRequest) throws -> Double {
        let response = try c.search(request)
        var found = 0
        for (q, hits) in zip(queries, response.hits) {
            found += Set(hits.map(\.id)).intersection(ref.search(q, k: k).map(\.id)).count
        }
        return Double(found) / Double(queries.count * k)
    }

    /// A store in `dir` with a cosine collection "c" of `n` records and an IVF index on it.
    static func indexed(
        _ dir: TemporaryDirectory, _ n: Int, seed: UInt64, lists: Int, nprobe: Int? = nil, options: StoreOptions = StoreOptions()
    ) throws -> (
        store: Store, collection: LMDBCollection, records: [Record], centers: [[Float]]
    ) {
        let store = try Store(path: dir.path, options: options)
        _ = try store.createCollection("c", dimension: dim, metric: .cosine)
        let (records, centers) = Self.records(n, seed: seed)
        try store.collection("c").upsert(records)
        return (store, try store.buildIVFIndex(of: "c", lists: lists, nprobe: nprobe), records, centers)
    }

    /// `indexed` with 1,000 rows in 10 lists, nprobe 1, and writes leaving at most 50 rows
    /// outside the lists.
    static func pendingFifty(_ dir: TemporaryDirectory, seed: UInt64) throws -> (
        store: Store, collection: LMDBCollection, records: [Record], centers: [[Float]]
    ) {
        var options = StoreOptions()
        options.ivfPendingRows = 50
        return try indexed(dir, 1000, seed: seed, lists: 10, nprobe: 1, options: options)
    }

    /// With every list probed an IVF search is exact; with the default nprobe it finds
    /// nearly all of the exact top 10 while scoring a fraction of the rows; the plan says
    /// so; nprobe 0 scans. For each metric and for a compact encoding (which rescores).
    @Test(arguments: [(Metric.cosine, VectorEncoding.float32), (.l2, .float32), (.dot, .float32), (.cosine, .int8)])
    func probesFindTheNeighboursAndThePlanSaysSo(metric: Metric, encoding: VectorEncoding) throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try Store(path: dir.path)
        var c = try store.createCollection("c", dimension: Self.dim, metric: metric, encoding: encoding)
        let (records, centers) = Self.records(4000, seed: 1)
        try c.upsert(records)
        var ref = BruteForce(metric: metric)
        ref.upsert(records)
        c = try store.buildIVFIndex(of: "c", lists: 40)
        let queries = Self.queries(centers, 30, seed: 5)
        var all = SearchRequest(queries: queries, k: 10)
        all.nprobe = 40
        let exact = try c.search(SearchRequest(queries: queries, k: 10))
        #expect(exact.plan.access == IVFPath.name)
        let full = try c.search(all)
        let scanned = try c.search(all.with(nprobe: 0))
        #expect(scanned.plan.access == ScanPath.name)
        #expect(full.hits.map { $0.map(\.id) } == scanned.hits.map { $0.map(\.id) })
        #expect(try Self.recall(c, ref, queries, request: all) == 1)
        let recall = try Self.recall(c, ref, queries, request: SearchRequest(queries: queries, k: 10))
        #expect(recall >= 0.9, "recall@10 \(recall) with \(metric) \(encoding.rawValue)")
        var one = SearchRequest(queries: [queries[0]], k: 10)
        one.nprobe = 3
        let plan = try c.search(one).plan
        #expect(plan.access == "ivf")
        #expect(plan[SearchPlan.Figure.listsProbed] == 3)
        #expect(plan[SearchPlan.Figure.lists] == 40)
        #expect(plan.rowsScored < 4000 / 2, "\(plan)")
        #expect(plan.description.hasPrefix("ivf: "), "\(plan)")
        one.nprobe = 0
        #expect(try c.search(one).plan.access == ScanPath.name)
        let status = try #require(try c.ivfStatus())
        #expect(status.lists == 40 && status.rowsOutsideLists == 0 && status.liveRows == 4000 && !status.needsRetrain)
        #expect(try store.check().isHealthy)
    }

    /// Vectors written after the build join their nearest lists (nothing is rebuilt):
    /// with `ivfPendingRows` 0 in their own transaction; by default once more than the
    /// pending limit sit outside the lists, in the transaction of the write that passes it
    /// (so some rows are left outside, and every search scores them). Upserts move,
    /// deletes leave the lists; searches stay exact with every list probed, and check()
    /// finds the lists consistent; compact() files the rows left outside.
    @Test(arguments: [0, nil, 500])
    func writesAfterTheBuildJoinTheirLists(pending: Int?) throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        var options = StoreOptions()
        options.ivfPendingRows = pending
        let (store, c, first, centers) = try Self.indexed(dir, 2000, seed: 2, lists: 20, options: options)
        var ref = BruteForce(metric: .cosine)
        ref.upsert(first)
        let (more, _) = Self.records(1500, from: 2000, seed: 3)
        for batch in stride(from: 0, to: more.count, by: 100) {
            let slice = Array(more[batch..<min(more.count, batch + 100)])
            try c.upsert(slice)
            ref.upsert(slice)
        }
        // Single-record writes too, then replacements of old ids and deletes.
        for r in Self.records(30, from: 3500, seed: 4).records {
            try c.upsert([r])
            ref.upsert([r])
        }
        let moved = Self.records(200, from: 0, seed: 8).records
        try c.upsert(moved)
        ref.upsert(moved)
        let gone = (0..<300).map { "r\($0 * 3)" }
        try c.delete(ids: gone)
        ref.delete(gone)
        let status = try #require(try c.ivfStatus())
        // Default limit: max(1024, a quarter of what nprobe 10 of 20 lists scores) = 1024.
        // The 11th write of 100 passes it and files 1100 rows; 400 more, 30 single rows
        // and 200 replacements (of rows in lists) leave 630 outside, and the deletes take
        // 67 of those (r0, r3, …, r198). With a limit of 500 the 6th and 12th writes and
        // the replacements file theirs: none are left.
        let left = pending == nil ? 563 : 0
        #expect(status.pendingLimit == (pending ?? 1024))
        #expect(status.rowsOutsideLists == left, "\(status)")
        #expect(status.retrainReason == nil)
        #expect(status.liveRows == 3530 - 300)
        #expect(try c.count() == 3530 - 300)
        let queries = Self.queries(centers, 20, seed: 6)
        var all = SearchRequest(queries: queries, k: 10)
        all.nprobe = 20
        #expect(try Self.recall(c, ref, queries, request: all) == 1)
        #expect(try Self.recall(c, ref, queries, request: SearchRequest(queries: queries, k: 10)) >= 0.9)
        // Every block is in a list of the current generation (with rows left outside,
        // those rows' blocks are in none).
        let views = try c.read { txn in try c.blockViews(txn).map { ($0.list, $0.live) } }
        #expect(views.filter { $0.0?.generation != 1 }.reduce(0) { $0 + $1.1 } == left)
        #expect(views.allSatisfy { $0.0 == nil || $0.0?.generation == 1 })
        let report = try store.check()
        #expect(report.isHealthy, "\(report)")
        // Compaction files the rows left outside and packs each list's small blocks into
        // one, never mixing lists.
        try c.compact()
        #expect(try c.ivfStatus()?.rowsOutsideLists == 0)
        let tags = try c.read { txn in try c.blockViews(txn).map { $0.list } }
        #expect(tags.allSatisfy { $0?.generation == 1 })
        #expect(tags.count == Set(tags.compactMap { $0?.list }).count, "a list kept more than one block after compact()")
        #expect(try Self.recall(c, ref, queries, request: all) == 1)
        #expect(try store.check().isHealthy)
    }

    /// Rows that writes leave outside the lists are scored by every search: a row written
    /// at each query's own vector is that query's top hit at nprobe 1, and the plan counts
    /// the rows outside; the write that passes the limit files them all into their lists
    /// in its own transaction, and the same searches then find them there.
    @Test func rowsLeftOutsideTheListsAreScoredByEverySearch() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (store, c, _, centers) = try Self.pendingFifty(dir, seed: 21)
        let queries = Self.queries(centers, 10, seed: 22)
        try c.upsert(queries.enumerated().map { Record(id: "q\($0.offset)", vector: $0.element) })
        #expect(try c.ivfStatus()?.rowsOutsideLists == 10)
        var one = SearchRequest(queries: queries, k: 1)
        one.nprobe = 1
        let expected: [String?] = (0..<10).map { "q\($0)" }
        let before = try c.search(one)
        #expect(before.hits.map { $0.first?.id } == expected)
        #expect(before.plan[SearchPlan.Figure.rowsOutsideLists] == 10, "\(before.plan)")
        // 41 more rows take the rows outside to 51, past the limit of 50: this write files them all.
        try c.upsert(Self.records(41, from: 1000, seed: 23).records)
        let status = try #require(try c.ivfStatus())
        #expect(status.rowsOutsideLists == 0 && status.liveRows == 1051, "\(status)")
        let after = try c.search(one)
        #expect(after.hits.map { $0.first?.id } == expected)
        #expect(after.plan[SearchPlan.Figure.rowsOutsideLists] == 0, "\(after.plan)")
        #expect(try store.check().isHealthy)
    }

    /// A walk over the blocks takes the headers the last read walk found (committed blocks)
    /// instead of reading each block's first page again; a write never learns headers
    /// itself (its own blocks may be aborted and their numbers reused); a block whose value
    /// moved or has another size is read again (one rewritten in place with a damaged
    /// header: `VectorEncodingTests`). Writes that file rows into their lists on those
    /// headers leave searches exact and the store healthy.
    @Test func writesReuseTheHeadersReadsFound() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (store, _, _, centers) = try Self.pendingFifty(dir, seed: 31)
        let c = try store.collection("c")
        try c.upsert(Self.records(20, from: 1000, seed: 32).records)
        #expect(c.blockHeaders.withLock { $0 }.isEmpty, "a write's walk learned headers")
        let queries = Self.queries(centers, 8, seed: 33)
        _ = try c.search(SearchRequest(queries: queries, k: 5).with(nprobe: 1))
        let blocks = try c.read { txn in try c.blockViews(txn).map(\.blockNo) }
        #expect(c.blockHeaders.withLock { $0 }.map(\.no) == blocks)
        // One list block rewritten under its number with 16 more bytes (a valid block: a
        // value may be longer than its rows): the next write must read its header again.
        let padded = try #require(blocks.first)
        try store.env.write { txn in
            let value = try #require(try c.blocks.get(txn, padded))
            let bytes = Array(value) + [UInt8](repeating: 0, count: 16)
            try c.blocks.reserve(txn, padded, size: bytes.count).copyBytes(from: bytes)
        }
        // 40 more rows pass the limit: this write files the 60 outside rows into their lists.
        try c.upsert(Self.records(40, from: 1020, seed: 34).records)
        #expect(try c.ivfStatus()?.rowsOutsideLists == 0)
        let all = SearchRequest(queries: queries, k: 10).with(nprobe: 10)
        let exact = SearchRequest(queries: queries, k: 10).with(nprobe: 0)
        #expect(try c.search(all).hits.map { $0.map(\.id) } == c.search(exact).hits.map { $0.map(\.id) })
        #expect(try c.count() == 1060)
        #expect(try store.check().isHealthy)
    }

    /// The lists a query probes are the n best scores exactly as a full sort ranks them
    /// (ties to the lower list), for n from 1 to every list, with many equal scores.
    @Test func probeSelectionMatchesASort() {
        var rng = SeededGenerator(seed: 31)
        for lists in [1, 2, 7, 64, 300] {
            // Scores drawn from 8 values: ties everywhere.
            let scores = (0..<lists).map { _ in Float(Int(rng.next() % 8)) }
            let sorted = scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
            for n in Set([1, 2, 3, lists / 2, lists - 1, lists]) where n >= 1 && n <= lists {
                let best = scores.withUnsafeBufferPointer { IVFCentroids.best(n, of: $0) }
                #expect(Set(best) == Set(sorted.prefix(n)) && best.count == n, "lists \(lists), n \(n)")
            }
        }
    }

    /// A batch probes exactly the union of each query's `nprobe` nearest centroids, by
    /// scores computed here in double precision: for one query (the vector kernel), a small
    /// batch (the batch kernel) and a batch past it (sgemm), under L2 and inner product.
    @Test(arguments: [false, true])
    func probeUnitesEachQuerysNearestLists(l2: Bool) {
        var rng = SeededGenerator(seed: l2 ? 5 : 6)
        let dim = 48
        let lists = 300
        let nprobe = 7
        let centroids = (0..<lists).flatMap { _ in rng.vector(dim).map { $0 * Float(1 + rng.next() % 3) } }
        let model = IVFCentroids(generation: 1, dimension: dim, l2: l2, centroids: centroids)
        for count in [1, 5, BLASKernels.smallBatchLimit + 8] {
            let queries = (0..<count).flatMap { _ in rng.vector(dim) }
            let chosen = model.probe(queries, count: count, nprobe: nprobe)
            var wanted = Set<Int>()
            var nearBoundary = Set<Int>()
            for q in 0..<count {
                let scores = (0..<lists).map { c -> Double in
                    var dot = 0.0
                    var norm = 0.0
                    for j in 0..<dim {
                        dot += Double(queries[q * dim + j]) * Double(centroids[c * dim + j])
                        norm += Double(centroids[c * dim + j]) * Double(centroids[c * dim + j])
                    }
                    return l2 ? dot - norm / 2 : dot
                }
                let order = scores.indices.sorted { scores[$0] > scores[$1] }
                let cut = scores[order[nprobe - 1]]
                for c in order.prefix(nprobe) { wanted.insert(c) }
                // Lists within float rounding of the cut may go either way.
                for c in scores.indices where abs(scores[c] - cut) < 1e-3 { nearBoundary.insert(c) }
            }
            let got = Set(chosen.indices.filter { chosen[$0] })
            #expect(chosen.count == lists)
            #expect(got.symmetricDifference(wanted).isSubset(of: nearBoundary), "batch \(count), l2 \(l2)")
            #expect(count > 1 || got.count == nprobe, "batch \(count)")
        }
    }

    /// Filters stay exact: a selective one (1 % of rows) runs the gather path; a broad
    /// one probes with the filter as a mask, widened by its selectivity, and every hit
    /// passes it.
    @Test func filtersStayExact() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (_, c, records, centers) = try Self.indexed(dir, 4000, seed: 9, lists: 40, nprobe: 4)
        var ref = BruteForce(metric: .cosine)
        ref.upsert(records)
        let queries = Self.queries(centers, 20, seed: 10)
        let selective = SearchRequest(queries: queries, k: 10, filter: .equals("bucket", .int(7)))
        let response = try c.search(selective)
        #expect(response.plan.access == GatherPath.name)
        for (q, hits) in zip(queries, response.hits) {
            #expect(hits.map(\.id) == ref.search(q, k: 10, where: { $0["bucket"] == .int(7) }).map(\.id))
        }
        let broad = SearchRequest(queries: [queries[0]], k: 10, filter: .equals("half", .bool(true)))
        let b = try c.search(broad)
        #expect(b.plan.access == IVFPath.name)
        #expect(b.plan[SearchPlan.Figure.nprobe] == 8, "\(b.plan)")
        #expect(b.hits[0].count == 10)
        #expect(b.hits[0].allSatisfy { $0.metadata["half"] == .bool(true) })
        // A filter of 10 % of the rows with nprobe 1: the probe widens to 10 lists.
        let tenth = Filter.range("bucket", lower: 0, upper: 9)
        var narrow = SearchRequest(queries: [queries[1]], k: 10, filter: tenth)
        narrow.nprobe = 1
        let n = try c.search(narrow)
        #expect(n.plan.access == IVFPath.name)
        #expect(n.plan[SearchPlan.Figure.nprobe] ?? 0 >= 10, "\(n.plan)")
        #expect(n.hits[0].count == 10)
        #expect(n.hits[0].allSatisfy { if case .int(let b)? = $0.metadata["bucket"] { return b < 10 } else { return false } })
    }

    /// A retrain moves rows chunk by chunk, each chunk its own commit: stopped half-way (as
    /// a killed process would leave it) the index is consistent, searches are still exact
    /// with every list probed (unmoved rows are scanned), and the next build finishes.
    /// Generations are never reused, even after the index is dropped.
    @Test func anInterruptedRetrainLeavesAUsableIndex() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try Store(path: dir.path)
        _ = try store.createCollection("c", dimension: Self.dim, metric: .l2)
        let (records, centers) = Self.records(3000, seed: 12)
        try store.collection("c").upsert(records)
        var ref = BruteForce(metric: .l2)
        ref.upsert(records)
        _ = try store.buildIVFIndex(of: "c", lists: 30)
        // At least the IVF version; the sealed records written above already raised it further.
        #expect(try store.formatVersion() == Int(Format.sealedRecordsVersion))
        let c = try store.buildIVFIndex(
            of: "c", lists: 25, nprobe: nil, chunkRows: 500, stopAfterChunks: 2, progress: nil)
        let status = try #require(try c.ivfStatus())
        #expect(status.generation == 2 && status.lists == 25)
        #expect(status.rowsOutsideLists > 0 && status.needsRetrain)
        let queries = Self.queries(centers, 10, seed: 13)
        var all = SearchRequest(queries: queries, k: 10)
        all.nprobe = 25
        #expect(try Self.recall(c, ref, queries, request: all) == 1)
        #expect(try Self.recall(c, ref, queries, request: SearchRequest(queries: queries, k: 10)) >= 0.9)
        #expect(try store.check().isHealthy)
        let done = try store.buildIVFIndex(of: "c")
        let after = try #require(try done.ivfStatus())
        #expect(after.generation == 3 && after.rowsOutsideLists == 0 && after.lists == 55)
        #expect(try Self.recall(done, ref, queries, request: all.with(nprobe: 55)) == 1)
        // A handle opened before a drop cannot write; after it searches scan; a new build
        // takes a generation never used before.
        #expect(try store.dropIVFIndex(of: "c"))
        let stale = #expect(throws: StoreError.self) { try done.upsert([records[0]]) }
        #expect(stale?.code == .invalidArgument)
        let plain = try store.collection("c")
        #expect(try plain.ivfStatus() == nil)
        #expect(try plain.search(SearchRequest(queries: queries, k: 10)).plan.access == ScanPath.name)
        let again = try store.buildIVFIndex(of: "c", lists: 10)
        #expect(try again.ivfStatus()?.generation == 4)
        #expect(try Self.recall(again, ref, queries, request: all.with(nprobe: 10)) == 1)
        #expect(try store.check().isHealthy)
    }

    /// The async forms build, report and drop the index off the cooperative pool.
    /// `retrainIVFIfNeeded` does nothing to a balanced index; after a burst of vectors all
    /// near one centre (one list holds far more than 4× the mean) it retrains with the same
    /// lists and nprobe, the lists balance again and searches stay exact with every list
    /// probed; after the collection grows 4× it retrains with lists for the new size.
    @Test func aDriftedIndexIsRetrainedOnlyWhenNeeded() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        var (store, c, records, centers) = try Self.indexed(dir, 1000, seed: 3, lists: 10, nprobe: 3)
        #expect(try store.retrainIVFIfNeeded(of: "c") == nil)
        #expect(try c.ivfStatus()?.generation == 1)

        var noise = SeededGenerator(seed: 8)
        let burst = (0..<1500).map { i in
            Record(id: "hot\(i)", vector: zip(centers[0], noise.vector(Self.dim)).map { $0 + 0.35 * $1 }, metadata: ["bucket": .int(0)])
        }
        try c.upsert(burst)
        let drifted = try #require(try c.ivfStatus())
        #expect(drifted.needsRetrain && Double(drifted.largestList) > 4 * drifted.meanList, "\(drifted)")
        #expect(drifted.retrainReason?.hasPrefix("its largest list holds") == true, "\(drifted.retrainReason ?? "nil")")
        let reason = try #require(try store.retrainIVFIfNeeded(of: "c"))
        #expect(reason.generation == 1 && reason.largestList == drifted.largestList)
        c = try store.collection("c")
        let balanced = try #require(try c.ivfStatus())
        #expect(balanced.generation == 2 && balanced.lists == 10 && balanced.nprobe == 3, "\(balanced)")
        #expect(balanced.rowsOutsideLists == 0 && balanced.liveRows == 2500)
        #expect(Double(balanced.largestList) < Double(drifted.largestList), "\(balanced) after \(drifted)")
        var ref = BruteForce(metric: .cosine)
        ref.upsert(records + burst)
        let queries = Self.queries(centers, 20, seed: 9)
        var all = SearchRequest(queries: queries, k: 10)
        all.nprobe = 10
        #expect(try Self.recall(c, ref, queries, request: all) == 1)

        // Grown 4× since that training: lists for the new size (√10,000 = 100), default nprobe.
        let (more, _) = Self.records(7500, from: 5000, seed: 4)
        try c.upsert(more)
        let grown = try #require(try store.retrainIVFIfNeeded(of: "c"))
        #expect(grown.liveRows == 10_000 && grown.trainedRows == 2500)
        let after = try #require(try store.collection("c").ivfStatus())
        #expect(after.lists == 100 && after.nprobe == IVFSettings.defaultNprobe(lists: 100) && after.generation == 3, "\(after)")
        #expect(!after.needsRetrain && after.retrainReason == nil)
        #expect(grown.retrainReason == "the collection grew from 2500 to 10000 vectors")
        #expect(try store.check().isHealthy)
    }

    @Test func asyncFormsBuildAndDrop() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try Store(path: dir.path)
        let c = try await store.createCollection("c", dimension: Self.dim, metric: .cosine)
        try await c.upsert(Self.records(500, seed: 21).records)
        let built = try await store.buildIVFIndex(of: "c", lists: 10, nprobe: 2)
        let status = try await built.ivfStatus()
        #expect(status?.lists == 10 && status?.nprobe == 2 && status?.liveRows == 500)
        #expect(try await built.search(SearchRequest(queries: [Self.records(1, seed: 22).records[0].vector], k: 5)).plan.access == "ivf")
        #expect(try await store.retrainIVFIfNeeded(of: "c") == nil)  // balanced: nothing to do
        try await store.collection("c").upsert(Self.records(1500, from: 500, seed: 23).records)  // grown 4×
        #expect(try await store.retrainIVFIfNeeded(of: "c")?.liveRows == 2000)
        #expect(try await store.collection("c").ivfStatus()?.generation == 2)
        #expect(try await store.dropIVFIndex(of: "c"))
        #expect(try await store.dropIVFIndex(of: "c") == false)
    }

    /// Bad input gets a clear error: lists below 1 or above the vectors held, nprobe below
    /// 1 at build or below 0 per request, an unknown collection.
    @Test func badInputIsRefused() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try Store(path: dir.path)
        let c = try store.createCollection("c", dimension: Self.dim, metric: .cosine)
        try c.upsert(Self.records(50, seed: 1).records)
        let zero = #expect(throws: StoreError.self) { try store.buildIVFIndex(of: "c", lists: 0) }
        #expect(zero?.code == .invalidArgument && zero?.input == "lists")
        let many = #expect(throws: StoreError.self) { try store.buildIVFIndex(of: "c", lists: 51) }
        #expect(many?.code == .invalidArgument)
        #expect(many?.message.contains("50 vectors") == true)
        let probe = #expect(throws: StoreError.self) { try store.buildIVFIndex(of: "c", lists: 5, nprobe: 0) }
        #expect(probe?.input == "nprobe")
        let missing = #expect(throws: StoreError.self) { try store.buildIVFIndex(of: "nope") }
        #expect(missing?.code == .collectionNotFound)
        var request = SearchRequest(queries: [[Float](repeating: 1, count: Self.dim)], k: 3)
        request.nprobe = -1
        let negative = #expect(throws: StoreError.self) { try c.search(request) }
        #expect(negative?.input == "nprobe")
        // No refused build left an index behind. (The format version no longer tells: the
        // records written above already raised it past the IVF version, to sealed records.)
        #expect(try c.ivfStatus() == nil)
        #expect(try Store(path: dir.path).collection("c").info.configuration[IVFSettings.listsKey] == nil)
        #expect(try store.formatVersion() == Int(Format.sealedRecordsVersion))
    }
}

extension SearchRequest {
    fileprivate func with(nprobe: Int) -> SearchRequest {
        var r = self
        r.nprobe = nprobe
        return r
    }
}
