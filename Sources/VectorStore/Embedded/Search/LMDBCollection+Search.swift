import Foundation

extension LMDBCollection {
    /// Runs a search request in one read snapshot, on the calling thread.
    public func search(_ request: SearchRequest) throws -> SearchResponse {
        let (hits, plan) = try runSearch(request.queries, k: request.k, filter: request.filter)
        return SearchResponse(hits: hits, plan: plan)
    }

    /// Runs a search request on the store's read queue.
    public func search(_ request: SearchRequest) async throws -> SearchResponse {
        try await onReadQueue { try self.search(request) }
    }

    // MARK: Engine

    func runSearch(_ queries: [[Float]], k: Int, filter: Filter?) throws -> (hits: [[SearchHit]], plan: SearchPlan) {
        guard k >= 1 else {
            throw StoreError(.invalidArgument, "k must be at least 1, got \(k)", input: "k", expected: "at least 1", actual: "\(k)")
        }
        try filter?.validate()
        let dim = info.dimension
        let b = queries.count
        guard b > 0 else { return ([], SearchPlan(access: ScanPath.name)) }
        var qbuf = [Float](repeating: 0, count: b * dim)
        var qnorm = [Float](repeating: 0, count: b)
        for (i, q) in queries.enumerated() {
            guard q.count == dim else {
                throw StoreError(
                    .dimensionMismatch,
                    "query \(i) has \(q.count) components, collection \"\(info.name)\" expects \(dim)", input: "query \(i)",
                    collection: info.name, expected: "\(dim)", actual: "\(q.count)")
            }
            var n: Float = 0
            for (j, x) in q.enumerated() {
                guard x.isFinite else {
                    throw StoreError(.invalidVector, "query \(i): component \(j) is \(x)", input: "query \(i)", actual: "\(x)")
                }
                n += x * x
            }
            var scale: Float = 1
            if info.metric == .cosine {
                guard n > 0 && n.isFinite else {
                    throw StoreError(.invalidVector, "query \(i) is a zero vector; cosine is undefined", input: "query \(i)")
                }
                scale = 1 / n.squareRoot()
                n = 1
            }
            qnorm[i] = n
            for j in 0..<dim { qbuf[i * dim + j] = q[j] * scale }
        }

        return try read { txn in
            let views = try blockViews(txn)
            let live = views.reduce(0) { $0 + $1.live }
            let rowSet = try filter.map { try evaluate($0, txn) }
            var tops = [TopK](repeating: TopK(k: k), count: b)
            let context = SearchContext(collection: self, txn: txn, views: views, live: live, rowSet: rowSet, queries: qbuf, count: b)
            let plan = try SearchPlanner.run(accessPaths, context, into: &tops)
            let hits = try materialize(tops, k: k, qnorm: qnorm, txn)
            return (hits, plan)
        }
    }

    /// Tile height.
    func tileRows(_ b: Int) -> Int {
        // Measured with OpenBLAS: 256-row tiles keep the packed panel in cache (batch 16:
        // 40 % of the sgemm rate with 256 rows, 33 % with 8192).
        b == 1 ? 8192 : 256
    }

    /// Scores every block, split over threads; returns the threads used.
    func scan(_ views: [BlockView], rowSet: RowSet?, queries: [Float], count b: Int, tops: inout [TopK]) -> Int {
        let dim = info.dimension
        let rowsPerTile = tileRows(b)
        var tiles: [(view: Int, start: Int, rows: Int)] = []
        for (i, v) in views.enumerated() where v.live > 0 {
            var s = 0
            while s < v.count {
                let n = min(rowsPerTile, v.count - s)
                tiles.append((i, s, n))
                s += n
            }
        }
        let totalRows = tiles.reduce(0) { $0 + $1.rows }
        let work = Double(totalRows) * Double(dim) * Double(b)
        let threads = max(1, min(store.options.searchThreads, tiles.count, work < 4_000_000 ? 1 : Int.max))
        let k = tops[0].k
        let l2 = info.metric == .l2
        let results = UnsafeMutableBufferPointer<[TopK]>.allocate(capacity: threads)
        results.initialize(repeating: [])
        defer {
            results.baseAddress?.deinitialize(count: threads)
            results.deallocate()
        }
        queries.withUnsafeBufferPointer { qp in
            guard let q = qp.baseAddress else { return }
            let job = ScanJob(
                views: views, tiles: tiles, queries: q, count: b, dim: dim, k: k, l2: l2,
                rowsPerTile: rowsPerTile, threads: threads, rowSet: rowSet, results: results)
            if threads == 1 {
                job.run(0)
            } else {
                DispatchQueue.concurrentPerform(iterations: threads) { job.run($0) }
            }
        }
        for w in 0..<threads {
            for qi in 0..<b { tops[qi].merge(results[w][qi]) }
        }
        return threads
    }

    /// Scores only `rows` (sorted live row ids), copying their vectors into tiles.
    func gather(_ rows: [UInt64], views: [BlockView], queries: [Float], count b: Int, tops: inout [TopK], _ txn: Transaction) throws {
        let dim = info.dimension
        var byBlock: [UInt64: Int] = [:]
        for (i, v) in views.enumerated() { byBlock[v.blockNo] = i }
        let tile = tileRows(b)
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: tile * dim)
        let norms = UnsafeMutablePointer<Float>.allocate(capacity: tile)
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: tile * b)
        defer {
            buffer.deallocate()
            norms.deallocate()
            scores.deallocate()
        }
        var ids = [UInt64](repeating: 0, count: tile)
        let l2 = info.metric == .l2
        var filled = 0
        func flush() {
            guard filled > 0 else { return }
            queries.withUnsafeBufferPointer { q in
                BLASKernels.scoreTile(buffer, rows: filled, dim: dim, queries: q.baseAddress!, count: b, alpha: l2 ? 2 : 1, scores: scores)
            }
            for r in 0..<filled {
                let s = scores + r * b
                let sub = l2 ? norms[r] : 0
                for qi in 0..<b {
                    let score = s[qi] - sub
                    if score >= tops[qi].threshold { tops[qi].push(score, ids[r]) }
                }
            }
            filled = 0
        }
        for row in rows {
            guard let loc = try location(of: row, txn), let vi = byBlock[loc.block] else {
                throw StoreError(.corrupted, "row \(row) of \"\(info.name)\" is indexed but has no block")
            }
            let v = views[vi]
            let slot = Int(loc.slot)
            guard slot < v.count, !v.isDeleted(slot) else { continue }
            v.codec.decode(v.vector(slot), dimension: dim, into: buffer + filled * dim)
            norms[filled] = v.normsSquared[slot]
            ids[filled] = row
            filled += 1
            if filled == tile { flush() }
        }
        flush()
    }

    /// Resolves candidates to hits, ties at the k-th score ordered by id. Only the ids of
    /// tied rows are decoded (there may be many: every row ties for a zero query); full
    /// records only for the k returned, once per row across the batch.
    private func materialize(_ tops: [TopK], k: Int, qnorm: [Float], _ txn: Transaction) throws -> [[SearchHit]] {
        var cache: [UInt64: RecordCodec.Decoded] = [:]
        let l2 = info.metric == .l2
        func recordBytes(_ row: UInt64) throws -> UnsafeRawBufferPointer {
            guard let bytes = try records.get(txn, row) else {
                throw StoreError(.corrupted, "row \(row) of \"\(info.name)\" is in a block but has no record")
            }
            return bytes
        }
        return try tops.enumerated().map { qi, top in
            let candidates = top.candidates()  // best first
            var chosen: [TopK.Entry]
            if candidates.count <= k {
                chosen = candidates
            } else {
                let kth = candidates[k - 1].score
                chosen = candidates.prefix { $0.score > kth }
                let tied = try candidates.filter { $0.score == kth }
                    .map { (entry: $0, id: try RecordCodec.decodeID(try recordBytes($0.row), rowID: $0.row)) }
                    .sorted { $0.id < $1.id }
                chosen += tied.prefix(k - chosen.count).map(\.entry)
            }
            var hits: [(score: Float, hit: SearchHit)] = []
            for e in chosen {
                let decoded: RecordCodec.Decoded
                if let d = cache[e.row] {
                    decoded = d
                } else {
                    decoded = try RecordCodec.decode(try recordBytes(e.row), rowID: e.row)
                    cache[e.row] = decoded
                }
                let score = l2 ? max(0, qnorm[qi] - e.score).squareRoot() : e.score
                hits.append((e.score, SearchHit(id: decoded.id, score: score, text: decoded.text, metadata: decoded.metadata)))
            }
            hits.sort { $0.score > $1.score || ($0.score == $1.score && $0.hit.id < $1.hit.id) }
            return hits.map(\.hit)
        }
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
    let queries: UnsafePointer<Float>
    let count: Int
    let dim: Int
    let k: Int
    let l2: Bool
    let rowsPerTile: Int
    let threads: Int
    let rowSet: RowSet?
    let results: UnsafeMutableBufferPointer<[TopK]>

    func run(_ w: Int) {
        let b = count
        var local = [TopK](repeating: TopK(k: k), count: b)
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
            v.codec.scoreTile(
                v.vector(tile.start), rows: tile.rows, dimension: dim, queries: queries, count: b,
                alpha: l2 ? 2 : 1, scores: scores)
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
                    local[qi].push(score, id)
                    th[qi] = local[qi].threshold
                }
            }
            t += 1
        }
        results[w] = local
    }
}
