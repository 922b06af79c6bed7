import Foundation

extension LMDBCollection {
    /// Runs a search request in one read snapshot, on the calling thread.
    public func search(_ request: SearchRequest) throws -> SearchResponse {
        try request.validateShape()
        switch request.mode {
        case .dense:
            let (hits, plan) = try runSearch(
                request.queries, k: request.k, filter: request.filter, oversampling: request.oversampling, nprobe: request.nprobe,
                fields: request.fields)
            return SearchResponse(hits: hits, plan: plan)
        case .keyword, .hybrid:
            return try runTextSearch(request)
        }
    }

    /// Runs a search request on the store's read queue.
    public func search(_ request: SearchRequest) async throws -> SearchResponse {
        try await onReadQueue { try self.search(request) }
    }

    // MARK: Engine

    func runSearch(
        _ queries: [[Float]], k: Int, filter: Filter?, oversampling: Int? = nil, nprobe: Int? = nil, fields: SearchHit.Fields = .all
    ) throws -> (
        hits: [[SearchHit]], plan: SearchPlan
    ) {
        try Self.checkK(k)
        try filter?.validate()
        guard !queries.isEmpty else { return ([], SearchPlan(access: ScanPath.name)) }
        let scorer = try scorer(for: queries)
        return try read { txn in
            let rowSet = try filter.map { try evaluate($0, txn) }
            let found = try denseSearch(
                scorer, count: queries.count, k: k, rowSet: rowSet, oversampling: oversampling, nprobe: nprobe, fields: fields, txn)
            return found
        }
    }

    static func checkK(_ k: Int) throws { try BackendChecks.checkK(k) }

    /// Checks the query vectors and prepares their exact scorer.
    func scorer(for queries: [[Float]]) throws -> ExactScorer {
        try BackendChecks.checkQueries(queries, info: info)
        return ExactScorer(metric: info.metric, dimension: info.dimension, queries: queries)
    }

    /// The dense top-k of a batch inside `txn`, by the cheapest access path: exact for f32,
    /// and for a compact encoding the exact top k among the `oversampling × k` best by the
    /// compact scores (nil: `StoreOptions.oversampling`).
    func denseSearch(
        _ scorer: ExactScorer, count b: Int, k: Int, rowSet: RowSet?, oversampling: Int? = nil, nprobe: Int? = nil,
        fields: SearchHit.Fields = .all, _ txn: Transaction
    ) throws -> (hits: [[SearchHit]], plan: SearchPlan) {
        let run = try denseTops(scorer, count: b, k: k, rowSet: rowSet, oversampling: oversampling, nprobe: nprobe, txn)
        return (try materialize(run.tops, k: run.k, scorer: scorer, views: run.views, fields: fields, txn), run.plan)
    }

    /// `denseSearch` as rows and reported scores, best first, equal scores in id order,
    /// without reading the records (but the ids of tied rows, into `decoded`).
    func denseRankedRows(
        _ scorer: ExactScorer, count b: Int, k: Int, rowSet: RowSet?, oversampling: Int? = nil, nprobe: Int? = nil,
        decoded: inout RowRecords, _ txn: Transaction
    ) throws -> (ranked: [[(score: Float, row: UInt64)]], plan: SearchPlan) {
        let run = try denseTops(scorer, count: b, k: k, rowSet: rowSet, oversampling: oversampling, nprobe: nprobe, txn)
        return (try rankedRows(run.tops, k: run.k, scorer: scorer, views: run.views, decoded: &decoded, txn), run.plan)
    }

    /// The candidates of a dense search by the access path the planner chooses, before the
    /// exact rescoring; `k` is the search's, cut to the rows the collection holds.
    private func denseTops(
        _ scorer: ExactScorer, count b: Int, k: Int, rowSet: RowSet?, oversampling: Int?, nprobe: Int?, _ txn: Transaction
    ) throws -> (tops: [TopK], k: Int, views: [BlockView], plan: SearchPlan) {
        let views = try blockViews(txn)
        let live = views.reduce(0) { $0 + $1.live }
        // No search returns more than the collection holds: a huge k costs nothing.
        let k = min(k, max(1, live))
        let factor = codec.isCompact ? max(1, oversampling ?? store.options.oversampling) : 1
        let candidates = min(max(1, live), k.multipliedReportingOverflow(by: factor).overflow ? Int.max : k * factor)
        // Replaced by the path that runs, with the slack for the rows it scores.
        var tops = [TopK](repeating: TopK(k: k), count: b)
        let context = SearchContext(
            collection: self, txn: txn, views: views, live: live, rowSet: rowSet, queries: scorer.floatQueries, count: b, k: k,
            candidates: candidates, scorer: scorer, ivf: nprobe == 0 ? nil : try ivfCentroids(txn), nprobe: nprobe)
        let plan = try SearchPlanner.run(accessPaths, context, into: &tops)
        return (tops, k, views, plan)
    }

    /// Tile height.
    func tileRows(_ b: Int) -> Int {
        // Measured with OpenBLAS: 256-row tiles keep the packed panel in cache (batch 16:
        // 40 % of the sgemm rate with 256 rows, 33 % with 8192).
        b == 1 ? 8192 : 256
    }

    /// Scores every block, split over threads, into `tops` (one per query, made here);
    /// returns the threads used.
    /// With `selected`, only the views it marks are scored (an IVF probe).
    func scan(
        _ views: [BlockView], selected: [Bool]? = nil, rowSet: RowSet?, queries: [Float], count b: Int, k: Int, scorer: ExactScorer,
        tops: inout [TopK]
    ) -> Int {
        let dim = info.dimension
        let rowsPerTile = tileRows(b)
        var tiles: [(view: Int, start: Int, rows: Int)] = []
        // Under cosine every stored vector is a unit vector (its stored |x|² is 1); otherwise
        // the slack needs the longest vector: all slots, dead ones too (an upper bound is
        // all it needs), in a pass over 1/d of what the scan reads.
        let cosine = info.metric == .cosine
        var maxNormSquared: Float = cosine ? 1 : 0
        for (i, v) in views.enumerated() where v.live > 0 && selected?[i] ?? true {
            var s = 0
            while s < v.count {
                let n = min(rowsPerTile, v.count - s)
                tiles.append((i, s, n))
                s += n
            }
            if !cosine { maxNormSquared = max(maxNormSquared, Self.maxNormSquared(v.normsSquared, count: v.count)) }
        }
        let totalRows = tiles.reduce(0) { $0 + $1.rows }
        let work = Double(totalRows) * Double(dim) * Double(b)
        let threads = max(1, min(store.options.searchThreads, tiles.count, work < 4_000_000 ? 1 : Int.max))
        // Compact scores are approximations with no useful bound: the scan keeps the k
        // best of them (k already oversampled) and rescoring decides.
        let slacks = codec.isCompact ? [Float](repeating: 0, count: b) : scorer.slacks(maxNormSquared: maxNormSquared)
        tops = slacks.map { TopK(k: k, slack: $0) }
        let l2 = info.metric == .l2
        let results = UnsafeMutableBufferPointer<[TopK]>.allocate(capacity: threads)
        results.initialize(repeating: [])
        defer {
            results.baseAddress?.deinitialize(count: threads)
            results.deallocate()
        }
        let prepared = PreparedQueries(queries, count: b, dimension: dim, quantize: info.encoding == .int8)
        let job = ScanJob(
            views: views, tiles: tiles, queries: prepared, count: b, dim: dim, k: k, slacks: slacks, l2: l2,
            rowsPerTile: rowsPerTile, threads: threads, rowSet: rowSet, results: results)
        if threads == 1 {
            job.run(0)
        } else {
            DispatchQueue.concurrentPerform(iterations: threads) { job.run($0) }
        }
        for w in 0..<threads {
            for qi in 0..<b { tops[qi].merge(results[w][qi]) }
        }
        return threads
    }

    /// Scores only `rows` (sorted live row ids) into `tops` (one per query, made here),
    /// copying their vectors into tiles: exact vectors (a compact collection's float32
    /// copies), so the float kernels' error bound holds as for an f32 scan.
    func gather(
        _ rows: [UInt64], views: [BlockView], queries: [Float], count b: Int, k: Int, scorer: ExactScorer, tops: inout [TopK],
        _ txn: Transaction
    ) throws {
        let dim = info.dimension
        var byBlock: [UInt64: Int] = [:]
        for (i, v) in views.enumerated() { byBlock[v.blockNo] = i }
        // Where each live row is, first: the slack needs the longest vector among them.
        var found: [(row: UInt64, view: Int, slot: Int, vector: UnsafeRawPointer, normSquared: Float)] = []
        found.reserveCapacity(rows.count)
        var maxNormSquared: Float = 0
        for row in rows {
            guard let loc = try location(of: row, txn), let vi = byBlock[loc.block] else {
                throw StoreError(.corrupted, "row \(row) of \"\(info.name)\" is indexed but has no block")
            }
            let v = views[vi]
            let slot = Int(loc.slot)
            guard slot < v.count, !v.isDeleted(slot) else { continue }
            found.append((row, vi, slot, v.vector(slot), v.normsSquared[slot]))
            maxNormSquared = max(maxNormSquared, v.normsSquared[slot])
        }
        tops = scorer.slacks(maxNormSquared: maxNormSquared).map { TopK(k: k, slack: $0) }
        guard !found.isEmpty else { return }
        let tile = tileRows(b)
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: tile * dim)
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: tile * b)
        defer {
            buffer.deallocate()
            scores.deallocate()
        }
        let l2 = info.metric == .l2
        var start = 0
        while start < found.count {
            let rowsInTile = min(tile, found.count - start)
            for r in 0..<rowsInTile {
                try exactVector(views[found[start + r].view], slot: found[start + r].slot, into: buffer + r * dim, txn)
            }
            queries.withUnsafeBufferPointer { qp in
                guard let q = qp.baseAddress else { return }
                BLASKernels.scoreTile(buffer, rows: rowsInTile, dim: dim, queries: q, count: b, alpha: l2 ? 2 : 1, scores: scores)
            }
            for r in 0..<rowsInTile {
                let f = found[start + r]
                let s = scores + r * b
                let sub = l2 ? f.normSquared : 0
                for qi in 0..<b {
                    let score = s[qi] - sub
                    if score >= tops[qi].threshold {
                        tops[qi].push(TopK.Entry(score: score, view: UInt32(f.view), row: f.row, slot: UInt32(f.slot)))
                    }
                }
            }
            start += rowsInTile
        }
    }

    /// The largest of `count` stored squared norms.
    static func maxNormSquared(_ norms: UnsafePointer<Float>, count: Int) -> Float {
        // Stored squared norms are finite and not negative, so their bit patterns order as
        // their values do: an integer maximum, which the compiler vectorizes (SIMD8's
        // pointwiseMax was a per-lane loop).
        let bits = UnsafeRawPointer(norms)
        var m: UInt32 = 0
        for i in 0..<count { m = max(m, bits.load(fromByteOffset: i * 4, as: UInt32.self)) }
        return Float(bitPattern: m)
    }

    /// Resolves candidates to hits: each candidate is rescored exactly (`ExactScorer`) from
    /// its stored vector, read in place through the collection's codec, and the k best by
    /// that score are returned with it, ties ordered by id. Only the ids of rows tied at the
    /// k-th exact score are decoded (there may be many: every row ties for a zero query);
    /// full records only for the k returned, once per row across the batch (without
    /// `fields`, only their ids).
    private func materialize(
        _ tops: [TopK], k: Int, scorer: ExactScorer, views: [BlockView], fields: SearchHit.Fields, _ txn: Transaction
    ) throws -> [[SearchHit]] {
        var decoded = RowRecords(collection: self, txn: txn)
        return try rankedRows(tops, k: k, scorer: scorer, views: views, decoded: &decoded, txn).map { ranked in
            try ranked.map { try decoded.hit($0.row, score: $0.score, fields: fields) }
        }
    }

    /// Each query's k best rows by exact score, best first, equal scores in id order: the
    /// order of the hits `materialize` makes, with only the ids of tied rows decoded.
    /// `score` is the score a hit reports.
    func rankedRows(
        _ tops: [TopK], k: Int, scorer: ExactScorer, views: [BlockView], decoded: inout RowRecords, _ txn: Transaction
    ) throws -> [[(score: Float, row: UInt64)]] {
        let dim = info.dimension
        let vector = UnsafeMutablePointer<Float>.allocate(capacity: dim)
        defer { vector.deallocate() }
        return try tops.enumerated().map { qi, top in
            let candidates = try top.candidates().map { e -> RankedRow in
                let v = views[Int(e.view)]
                try exactVector(v, slot: Int(e.slot), into: vector, txn)
                let exact = scorer.score(qi, vector)
                return (scorer.rank(exact), e.row, exact)
            }
            return try Self.best(candidates, k: k, &decoded).map { (scorer.reported($0.value), $0.row) }
        }
    }

    /// A row with its rank (higher is better) and a value its caller carries along.
    typealias RankedRow = (rank: Double, row: UInt64, value: Double)

    /// The `k` best of `entries` by rank, best first, equal ranks in record-id order
    /// (which also decides among rows tied at the k-th rank): the first k of sorting by
    /// rank, then id, decoding only the ids of tied rows.
    static func best(_ entries: [RankedRow], k: Int, _ decoded: inout RowRecords) throws -> [RankedRow] {
        // Best first; row order among equal ranks only to be definite.
        let sorted = entries.sorted { $0.rank > $1.rank || ($0.rank == $1.rank && $0.row < $1.row) }
        guard sorted.count > k else { return try tiesByID(sorted, &decoded) }
        let kth = sorted[k - 1].rank
        var chosen = Array(sorted.prefix { $0.rank > kth })
        let tied = try sorted.filter { $0.rank == kth }.map { (entry: $0, id: try decoded.id($0.row)) }.sorted { $0.id < $1.id }
        chosen += tied.prefix(k - chosen.count).map(\.entry)
        return try tiesByID(chosen, &decoded)
    }

    /// `entries` (best first by rank) with each run of equal ranks in record-id order:
    /// the order of sorting by rank, then id, decoding only the ids of tied rows.
    static func tiesByID(_ entries: [RankedRow], _ decoded: inout RowRecords) throws -> [RankedRow] {
        var out = entries
        var start = 0
        while start < out.count {
            var end = start + 1
            while end < out.count && out[end].rank == out[start].rank { end += 1 }
            if end - start > 1 {
                let run = try out[start..<end].map { (entry: $0, id: try decoded.id($0.row)) }.sorted { $0.id < $1.id }
                out.replaceSubrange(start..<end, with: run.map(\.entry))
            }
            start = end
        }
        return out
    }
}

/// One scan's shared, read-only inputs and per-worker output slots.
///
/// `@unchecked Sendable`: the block pointers point into the LMDB map and stay valid for
/// the read transaction, which outlives `concurrentPerform`; the query buffer is read
/// only; each worker writes only `results[w]` for its own `w`.
private struct ScanJob: @unchecked Sendable {
    let views: [BlockView]
    let tiles: [(view: Int, start: Int, rows: Int)]
    let queries: PreparedQueries
    let count: Int
    let dim: Int
    let k: Int
    let slacks: [Float]
    let l2: Bool
    let rowsPerTile: Int
    let threads: Int
    let rowSet: RowSet?
    let results: UnsafeMutableBufferPointer<[TopK]>

    func run(_ w: Int) {
        let b = count
        var local = slacks.map { TopK(k: k, slack: $0) }
        var thresholds = [Float](repeating: -.infinity, count: b)
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: rowsPerTile * b)
        let candidates = UnsafeMutablePointer<UInt32>.allocate(capacity: rowsPerTile * b)
        defer {
            scores.deallocate()
            candidates.deallocate()
        }
        // Contiguous ranges of tiles per worker.
        var t = tiles.count * w / threads
        let tEnd = tiles.count * (w + 1) / threads
        while t < tEnd {
            let tile = tiles[t]
            let v = views[tile.view]
            v.codec.scoreTile(v.vector(tile.start), rows: tile.rows, dimension: dim, queries: queries, alpha: l2 ? 2 : 1, scores: scores)
            // On the buffers: no uniqueness check of `local` per candidate.
            local.withUnsafeMutableBufferPointer { tops in
                thresholds.withUnsafeMutableBufferPointer { th in
                    // Scores at or above their query's threshold as the tile starts; thresholds
                    // only rise, so each is checked again before it enters.
                    let found = BLASKernels.select(
                        scores, rows: tile.rows, count: b, normsSquared: l2 ? v.normsSquared + tile.start : nil,
                        thresholds: th.baseAddress!, into: candidates)
                    for i in 0..<found {
                        let flat = Int(candidates[i])
                        let r = flat / b
                        let qi = flat - r * b
                        let score = scores[flat] - (l2 ? v.normsSquared[tile.start + r] : 0)
                        guard score >= th[qi] else { continue }
                        let slot = tile.start + r
                        if v.isDeleted(slot) { continue }
                        let id = v.rowID(slot)
                        if let rowSet, !rowSet.contains(id) { continue }
                        tops[qi].push(TopK.Entry(score: score, view: UInt32(tile.view), row: id, slot: UInt32(slot)))
                        th[qi] = tops[qi].threshold
                    }
                }
            }
            t += 1
        }
        results[w] = local
    }
}

/// The records of one read transaction's rows, each decoded once however many queries of
/// a batch hit it: whole, or only its id when no other field is wanted.
struct RowRecords {
    let collection: LMDBCollection
    let txn: Transaction
    private var whole: [UInt64: RecordCodec.Decoded] = [:]
    private var ids: [UInt64: String] = [:]

    init(collection: LMDBCollection, txn: Transaction) {
        self.collection = collection
        self.txn = txn
    }

    private func bytes(_ row: UInt64) throws -> UnsafeRawBufferPointer {
        guard let bytes = try collection.records.get(txn, row) else {
            throw StoreError(
                .corrupted, "row \(row) of \"\(collection.info.name)\" has no record; `quiver check` reports it",
                collection: collection.info.name)
        }
        return bytes
    }

    /// The row's record id.
    mutating func id(_ row: UInt64) throws -> String {
        if let d = whole[row] { return d.id }
        if let id = ids[row] { return id }
        let id = try RecordCodec.decodeID(try bytes(row), rowID: row)
        ids[row] = id
        return id
    }

    /// The row's whole record.
    mutating func record(_ row: UInt64) throws -> RecordCodec.Decoded {
        if let d = whole[row] { return d }
        let d = try RecordCodec.decode(try bytes(row), rowID: row, collection: collection.info.name)
        whole[row] = d
        return d
    }

    /// The row as a hit with `score` and `fields` (without fields, only the id is decoded).
    mutating func hit(_ row: UInt64, score: Float, fields: SearchHit.Fields) throws -> SearchHit {
        if fields.isEmpty { return SearchHit(id: try id(row), score: score, text: "", metadata: [:]) }
        let d = try record(row)
        return SearchHit(id: d.id, score: score, text: d.text, metadata: d.metadata).keeping(fields)
    }
}
