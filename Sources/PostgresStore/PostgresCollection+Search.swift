import VectorStore
import QuiverCore

extension PostgresCollection {
    /// Runs a search request. Dense: exact (every candidate row scored, one statement for
    /// the whole batch, so one snapshot) or through the HNSW index, as the handle's
    /// `searchMethod` says. Keyword and hybrid: BM25 over the collection's keyword index,
    /// and for hybrid the dense ranking too, fused (see `runTextSearch`). Hits come best
    /// first, equal scores ordered by id.
    ///
    /// - Throws: `.dimensionMismatch`, `.invalidVector`, `.invalidArgument` for `k < 1`, a
    ///   malformed filter, or a keyword or hybrid search of a collection without a keyword
    ///   index.
    public func search(_ request: SearchRequest) throws -> SearchResponse {
        try request.validateShape()
        try BackendChecks.checkK(request.k)
        try BackendChecks.checkFilter(request.filter)
        guard request.mode == .dense else { return try runTextSearch(request) }
        try BackendChecks.checkQueries(request.queries, info: info)
        guard !request.queries.isEmpty else { return SearchResponse(hits: [], plan: SearchPlan(access: "exact")) }
        let queries = request.queries.map { info.metric == .cosine ? Self.unit($0) : $0 }
        let response: SearchResponse
        switch searchMethod {
        case .exact:
            response = try exactBatch(queries, k: request.k, filter: request.filter)
        case .hnsw(let ef):
            response = try indexSearch(queries, k: request.k, filter: request.filter, efSearch: ef)
        }
        guard request.fields != .all else { return response }
        return SearchResponse(hits: response.hits.map { $0.map { $0.keeping(request.fields) } }, plan: response.plan)
    }

    /// Runs a search request on the database's threads.
    public func search(_ request: SearchRequest) async throws -> SearchResponse {
        try await db.offPool { try self.search(request) }
    }

    /// The score of a row for query `q` (a SQL expression). Cosine collections store unit
    /// vectors, so cosine is their inner product. It is an expression the HNSW index cannot
    /// serve, so that an exact search scans: the bare `embedding <-> q` is the index's own
    /// ordering, and with pgvector 0.8 (PostgreSQL 18) the planner answered `ORDER BY score`
    /// from the index, which stops at `hnsw.ef_search` (40) rows: 35 of 100 came back.
    private func scoreSQL(_ q: String) -> String {
        info.metric == .l2 ? "((embedding <-> \(q)) * 1)" : "((embedding <#> \(q)) * -1)"
    }

    private var descending: Bool { info.metric != .l2 }

    /// Queries per statement below which a batch is not split.
    static let minQueriesPerPart = 8

    /// A large batch is split over several pooled connections at once (each server process
    /// scans for its share of the queries); a small one is one statement.
    private func exactBatch(_ queries: [[Float]], k: Int, filter: Filter?) throws -> SearchResponse {
        let parts = min(db.pool.capacity, db.options.batchConnections, queries.count / Self.minQueriesPerPart)
        guard parts > 1 else { return try exactSearch(queries, k: k, filter: filter) }
        let bounds = (0...parts).map { queries.count * $0 / parts }
        let results = PosixMutex<[Int: Result<SearchResponse, Error>]>([:])
        BlockingExecutor.onOwnThreads(parts) { p in
            let r = Result { try self.exactSearch(Array(queries[bounds[p]..<bounds[p + 1]]), k: k, filter: filter) }
            results.withLock { $0[p] = r }
        }
        var hits: [[SearchHit]] = []
        var plan = SearchPlan(access: "exact")
        for p in 0..<parts {
            guard let r = results.withLock({ $0[p] }) else { continue }
            let response = try r.get()
            hits += response.hits
            plan = response.plan
        }
        plan.figures = plan.figures.map { $0.name == "queries" ? SearchPlan.Figure("queries", Double(queries.count)) : $0 }
        plan.figures.append(SearchPlan.Figure("connections", Double(parts)))
        return SearchResponse(hits: hits, plan: plan)
    }

    private func exactSearch(_ queries: [[Float]], k: Int, filter: Filter?) throws -> SearchResponse {
        try run { conn in try exactSearch(on: conn, queries, k: k, filter: filter) }
    }

    /// The exact top `k` of each query (unit vectors for cosine) on `conn`, in one statement.
    func exactSearch(on conn: PGConnection, _ queries: [[Float]], k: Int, filter: Filter?) throws -> SearchResponse {
        var p = SQLParameters()
        let condition = filter.map { SQLFilter.condition($0, &p) } ?? "TRUE"
        let vectors = p.bind(SQLText.array(queries.map { SQLText.vector($0) }), as: "vector[]")
        let limit = p.bind(String(k), as: "integer")
        let order = descending ? "DESC" : "ASC"
        // The score is an expression the HNSW index cannot serve: the scan is exact. The
        // top-k of each query are found from (id, score) alone, then joined to their texts
        // and metadata; the candidates are counted once, for the plan.
        let sql = """
            SELECT q.i, r.id, r.score, d.text, d.metadata::text, d.double_fields::text,
                (SELECT count(*) FROM \(table) WHERE \(condition)) AS n
            FROM unnest(\(vectors)) WITH ORDINALITY AS q(v, i)
            CROSS JOIN LATERAL (
                SELECT id, \(scoreSQL("q.v")) AS score FROM \(table) WHERE \(condition)
                ORDER BY score \(order), id LIMIT \(limit)) r
            JOIN \(table) d ON d.id = r.id
            ORDER BY q.i, r.score \(order), r.id
            """
        let r = try conn.exec(sql, p.values)
        var hits = [[SearchHit]](repeating: [], count: queries.count)
        var candidates = 0
        for row in 0..<r.rowCount {
            guard let i = r.string(row, 0).flatMap({ Int($0) }), (1...queries.count).contains(i) else { continue }
            hits[i - 1].append(try hit(r, row))
            candidates = Int(r.string(row, 6) ?? "0") ?? 0
        }
        var figures = [
            SearchPlan.Figure(SearchPlan.Figure.rowsScored, Double(candidates)), SearchPlan.Figure("queries", Double(queries.count)),
        ]
        if filter != nil { figures.append(SearchPlan.Figure(SearchPlan.Figure.filterMatches, Double(candidates))) }
        return SearchResponse(hits: hits, plan: SearchPlan(access: "exact", figures: figures))
    }

    private func indexSearch(_ queries: [[Float]], k: Int, filter: Filter?, efSearch: Int) throws -> SearchResponse {
        try run { conn in
            try conn.transaction(readOnly: true) { try indexSearch(on: conn, queries, k: k, filter: filter, efSearch: efSearch) }
        }
    }

    /// The top `k` of each query through the HNSW index, on `conn` inside a transaction
    /// (its settings are the transaction's).
    func indexSearch(on conn: PGConnection, _ queries: [[Float]], k: Int, filter: Filter?, efSearch: Int) throws -> SearchResponse {
        var p = SQLParameters()
        let condition = filter.map { SQLFilter.condition($0, &p) } ?? "TRUE"
        let q = p.bind(nil, as: "vector")
        let limit = p.bind(String(k), as: "integer")
        let distance = info.metric == .l2 ? "embedding <-> \(q)" : "embedding <#> \(q)"
        let sql = """
            SELECT id, \(scoreSQL(q)) AS score, text, metadata::text, double_fields::text
            FROM \(table) WHERE \(condition) ORDER BY \(distance) LIMIT \(limit)
            """
        let vectorSlot = p.values.count - 2
        try conn.exec("SELECT set_config('hnsw.ef_search', $1, true)", [String(min(1000, efSearch))])
        if db.hasIterativeScan {
            // With a filter, keep scanning the index until k rows match (pgvector 0.8).
            try conn.exec("SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true)")
        }
        var hits: [[SearchHit]] = []
        var values = p.values
        for query in queries {
            values[vectorSlot] = SQLText.vector(query)
            let r = try conn.exec(sql, values)
            var list = try (0..<r.rowCount).map { try hit(r, $0, offset: -1) }
            list.sort {
                descending
                    ? ($0.score > $1.score || ($0.score == $1.score && $0.id < $1.id))
                    : ($0.score < $1.score || ($0.score == $1.score && $0.id < $1.id))
            }
            hits.append(list)
        }
        return SearchResponse(
            hits: hits,
            plan: SearchPlan(
                access: "hnsw",
                figures: [SearchPlan.Figure("ef search", Double(efSearch)), SearchPlan.Figure("queries", Double(queries.count))]))
    }

    /// A hit from columns (id, score, text, metadata, double_fields) starting at
    /// `offset + 1`.
    func hit(_ r: PGResult, _ row: Int, offset: Int = 0) throws -> SearchHit {
        guard let id = r.string(row, offset + 1), let score = r.string(row, offset + 2).flatMap({ Double($0) }),
            let text = r.string(row, offset + 3), let json = r.string(row, offset + 4)
        else {
            throw StoreError(.corrupted, "a search of \"\(info.name)\" returned a malformed row", collection: info.name)
        }
        return SearchHit(
            id: id, score: Float(score), text: text, metadata: try SQLText.decodeMetadata(json, doubles: r.string(row, offset + 5)))
    }

    static func unit(_ v: [Float]) -> [Float] {
        var s: Float = 0
        for x in v { s += x * x }
        let inv = 1 / s.squareRoot()
        return v.map { $0 * inv }
    }
}
