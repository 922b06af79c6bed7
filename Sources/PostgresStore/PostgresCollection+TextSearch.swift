import VectorStore

extension PostgresCollection {
    /// Distinct scoring terms a keyword query uses at most; the others are dropped (the
    /// plan counts them), required terms never. The embedded store's limit.
    static let maxQueryTerms = 1024

    /// Rows fetched at a time while phrases are checked in Swift.
    static let phraseFetch = 256

    /// A keyword or hybrid search in one snapshot (a REPEATABLE READ transaction): each
    /// query's text is parsed with the collection's analyzer (in Swift, as the embedded
    /// store parses it) and ranked by BM25 in SQL over the query terms' postings only; a
    /// hybrid search also ranks the query vectors (exactly, or through the HNSW index on an
    /// approximate handle) and fuses the two rankings with `Fusion.fuse`, as the embedded
    /// store does. The filter applies to both.
    func runTextSearch(_ request: SearchRequest) throws -> SearchResponse {
        try request.bm25.validate()
        guard let keywordIndex else {
            throw StoreError(
                .invalidArgument,
                "collection \"\(info.name)\" has no keyword index; build one with `quiver reindex --keyword` "
                    + "(PostgresDatabase.buildKeywordIndex), or search in dense mode",
                collection: info.name)
        }
        let analyzer = try keywordIndex.usableAnalyzer(info.name)
        let hybrid = request.mode == .hybrid
        if hybrid { try BackendChecks.checkQueries(request.queries, info: info) }
        guard !request.texts.isEmpty else { return SearchResponse(hits: [], plan: SearchPlan(access: request.mode.rawValue)) }
        let parsed = request.texts.map { KeywordQuery.parse($0, analyzer: analyzer) }
        let k = request.k
        let pool = hybrid ? request.fusionPool : k
        // A hybrid search with operators filters the dense candidates by their text.
        let fields: SearchHit.Fields = hybrid ? .all : request.fields
        let queries = request.queries.map { info.metric == .cosine ? Self.unit($0) : $0 }
        do {
            return try textSearch(request, parsed: parsed, pool: pool, fields: fields, queries: queries, index: keywordIndex)
        } catch let error as StoreError where error.code == .collectionNotFound {
            // The collection is there but the index's tables are not: dropped after this handle was opened.
            guard let current = try? db.collection(info.name), current.id == id else { throw error }
            throw StoreError(
                .invalidArgument,
                "the keyword index of collection \"\(info.name)\" was dropped after this handle was opened; open the collection again",
                collection: info.name)
        }
    }

    private func textSearch(
        _ request: SearchRequest, parsed: [KeywordQuery], pool: Int, fields: SearchHit.Fields, queries: [[Float]],
        index keywordIndex: PostgresKeywordIndex
    ) throws -> SearchResponse {
        let analyzer = try keywordIndex.usableAnalyzer(info.name)
        let hybrid = request.mode == .hybrid
        let k = request.k
        return try run { conn in
            try conn.transaction(readOnly: true, snapshot: true) {
                var figures = PostgresKeywordFigures()
                let keywordHits = try parsed.map {
                    try keywordTop(
                        $0, k: pool, filter: request.filter, bm25: request.bm25, fields: fields, index: keywordIndex, conn, &figures)
                }
                // No count of the filter's matches (the embedded store has them from its row set):
                // here it would be a statement over every match, on every search.
                let keywordPlan = SearchPlan(access: SearchMode.keyword.rawValue, figures: figures.figures)
                guard hybrid else { return SearchResponse(hits: keywordHits, plan: keywordPlan) }
                let dense: SearchResponse
                switch searchMethod {
                case .exact: dense = try exactSearch(on: conn, queries, k: pool, filter: request.filter)
                case .hnsw(let ef): dense = try indexSearch(on: conn, queries, k: pool, filter: request.filter, efSearch: ef)
                }
                // `+term`, `-term` and phrases constrain the dense candidates too (their text, as the embedded store checks).
                let denseHits = zip(parsed, dense.hits).map { q, hits in
                    q.hasConstraints ? hits.filter { q.isSatisfied(by: analyzer.termsWithPositions($0.text)) } : hits
                }
                let fused = zip(denseHits, keywordHits).map {
                    request.fusion.fuse(dense: $0, keyword: $1, metric: info.metric, k: k).map { $0.keeping(request.fields) }
                }
                let plan = SearchPlan(
                    access: SearchMode.hybrid.rawValue, figures: request.fusion.planFigures(candidates: pool),
                    parts: [dense.plan, keywordPlan])
                return SearchResponse(hits: fused, plan: plan)
            }
        }
    }

    /// The top `k` hits of one keyword query by BM25, best first (equal scores by id), on
    /// `conn` inside the search's transaction.
    ///
    /// One statement: the query terms' document frequencies (a count over each term's
    /// index range), then their postings only, summed per record into BM25 scores with the
    /// collection statistics; records missing a required term or holding an excluded one
    /// are dropped in SQL; the filter is joined before the cut to `k`. Phrases need
    /// positions, which the index does not store: the ranked rows are then read through a
    /// cursor a batch at a time and their texts analyzed again, until `k` hold.
    /// Every value is a bound parameter.
    func keywordTop(
        _ query: KeywordQuery, k: Int, filter: Filter?, bm25: BM25Parameters, fields: SearchHit.Fields, index: PostgresKeywordIndex,
        _ conn: PGConnection, _ figures: inout PostgresKeywordFigures
    ) throws -> [SearchHit] {
        guard !query.isEmpty else { return [] }
        let statement = keywordStatement(query, k: k, filter: filter, bm25: bm25, fields: fields, index: index, &figures)
        let sql = statement.sql
        guard statement.phrases else {
            let r = try conn.exec(sql, statement.values)
            figures.add(r)
            return try (0..<r.rowCount).map { try hit(r, $0, offset: -1).keeping(fields) }
        }
        // The cursor's statement has no LIMIT: its placeholder (bound last) is left out.
        try conn.exec("DECLARE quiver_phrases NO SCROLL CURSOR FOR \(sql)", Array(statement.values.dropLast()))
        defer { _ = try? conn.exec("CLOSE quiver_phrases") }
        var hits: [SearchHit] = []
        var first = true
        while hits.count < k {
            let r = try conn.exec("FETCH \(Self.phraseFetch) FROM quiver_phrases")
            guard r.rowCount > 0 else { break }
            if first { figures.add(r) }
            first = false
            for row in 0..<r.rowCount {
                let h = try hit(r, row, offset: -1)
                figures.phraseChecks += 1
                let positions = index.analyzerTerms(KeywordDocument.indexedText(h.text, h.metadata, fields: index.fields))
                guard query.phrases.allSatisfy({ $0.occurs(in: positions) }),
                    !query.excludedPhrases.contains(where: { $0.occurs(in: positions) })
                else { continue }
                hits.append(h.keeping(fields))
                if hits.count == k { break }
            }
        }
        return hits
    }

    /// The statement ranking one (non-empty) keyword query's records, its bound values
    /// (the LIMIT's last), and whether phrases must be checked on its rows (then it has no
    /// LIMIT and the last value is not used). Columns: id, score, text, metadata,
    /// double_fields, the query terms' postings.
    func keywordStatement(
        _ query: KeywordQuery, k: Int, filter: Filter?, bm25: BM25Parameters, fields: SearchHit.Fields, index: PostgresKeywordIndex,
        _ figures: inout PostgresKeywordFigures
    ) -> (sql: String, values: [String?], phrases: Bool) {
        let (order, weightOf, dropped) = query.scoringTerms(limit: Self.maxQueryTerms)
        figures.termsDropped += dropped
        figures.terms += order.count
        let required = Array(Set(query.must + query.phrases.flatMap(\.terms)))
        let excluded = Array(Set(query.mustNot))
        let phrases = !query.phrases.isEmpty || !query.excludedPhrases.isEmpty

        var p = SQLParameters()
        let terms = p.bind(SQLText.array(order), as: "text[]")
        let weights = p.bind(SQLText.array(order.map { String(weightOf[$0] ?? 1) }), as: "float8[]")
        let requiredTerms = p.bind(SQLText.array(required), as: "text[]")
        let requiredCount = p.bind(String(required.count), as: "integer")
        let excludedTerms = p.bind(SQLText.array(excluded), as: "text[]")
        let k1 = p.bind(String(bm25.k1), as: "float8")
        let b = p.bind(String(bm25.b), as: "float8")
        let condition = filter.map { SQLFilter.condition($0, &p) }
        let limit = p.bind(String(k), as: "integer")
        let postings = index.postings
        // Texts are read for the hits that need them, and for phrase checks.
        let wantsText = phrases || !fields.isEmpty
        // Each term's postings are read through a LATERAL index lookup (never a scan or a
        // merge over the whole postings index, which the planner picks for a plain join), the
        // statistics row once as a scalar.
        let ranked = """
            WITH s AS (
                SELECT documents::float8 AS n,
                    CASE WHEN documents = 0 OR total_length = 0 THEN 1 ELSE total_length::float8 / documents END AS avgdl
                FROM \(index.stats) LIMIT 1),
            w AS (
                SELECT q.term, q.weight * ln(1 + ((SELECT n FROM s) - d.df + 0.5) / (d.df + 0.5)) AS weight, d.df
                FROM unnest(\(terms), \(weights)) AS q(term, weight)
                CROSS JOIN LATERAL (SELECT count(*)::float8 AS df FROM \(postings) c WHERE c.term = q.term) d
                WHERE d.df > 0),
            scored AS (
                SELECT p.id,
                    sum(w.weight * p.frequency / (p.frequency + \(k1) * (1 - \(b) + \(b) * p.length / (SELECT avgdl FROM s)))) AS score
                FROM w CROSS JOIN LATERAL (SELECT id, frequency, length FROM \(postings) p WHERE p.term = w.term) p
                GROUP BY p.id
                HAVING count(*) FILTER (WHERE w.term = ANY(\(requiredTerms))) = \(requiredCount)),
            kept AS (
                SELECT c.id, c.score FROM scored c
                WHERE NOT EXISTS (SELECT 1 FROM \(postings) x WHERE x.term = ANY(\(excludedTerms)) AND x.id = c.id))
            """
        // No count of the rows scored: it would materialize them all (a third of a query over
        // common terms); the postings count comes from the small per-term table.
        let counts = "(SELECT sum(df) FROM w) AS postings"
        let columns = wantsText ? "r.text, r.metadata::text, r.double_fields::text" : "'', '{}', NULL::text"
        let sql: String
        if condition == nil && !phrases {
            // The cut to k first, then the k records' texts.
            sql = """
                \(ranked)
                SELECT t.id, t.score, \(columns), \(counts)
                FROM (SELECT id, score FROM kept ORDER BY score DESC, id LIMIT \(limit)) t
                \(wantsText ? "JOIN \(table) r ON r.id = t.id" : "")
                ORDER BY t.score DESC, t.id
                """
        } else {
            sql = """
                \(ranked)
                SELECT t.id, t.score, \(columns), \(counts)
                FROM kept t JOIN \(table) r ON r.id = t.id
                \(condition.map { "WHERE \($0)" } ?? "")
                ORDER BY t.score DESC, t.id
                \(phrases ? "" : "LIMIT \(limit)")
                """
        }
        return (sql, p.values, phrases)
    }
}

extension PostgresKeywordIndex {
    /// A text's analyzed terms with positions (for phrase checks).
    func analyzerTerms(_ text: String) -> [(term: String, position: Int)] {
        analyzer?.termsWithPositions(text) ?? []
    }
}

/// What the keyword searches of one request did, for the plan.
struct PostgresKeywordFigures {
    var terms = 0
    var postings = 0
    var phraseChecks = 0
    var termsDropped = 0

    /// Takes the postings count from a result's last column (once per
    /// statement: a cursor's batches repeat them).
    mutating func add(_ r: PGResult) {
        guard r.rowCount > 0 else { return }
        postings += Int(r.string(0, 5) ?? "0") ?? 0
    }

    /// The plan's figures: terms, postings, and phrase checks and dropped
    /// terms when there were any.
    var figures: [SearchPlan.Figure] {
        var f = [
            SearchPlan.Figure("terms", Double(terms)),
            SearchPlan.Figure("postings", Double(postings)),
        ]
        if phraseChecks > 0 { f.append(SearchPlan.Figure("phrase checks", Double(phraseChecks))) }
        if termsDropped > 0 { f.append(SearchPlan.Figure("terms dropped", Double(termsDropped))) }
        return f
    }
}
