import TextAnalysis

extension LMDBCollection {
    /// A keyword or hybrid search in one read snapshot: each query's text is parsed with
    /// the collection's analyzer and ranked by BM25; a hybrid search also ranks the query
    /// vectors exactly and fuses the two rankings. The filter applies to both.
    func runTextSearch(_ request: SearchRequest) throws -> SearchResponse {
        try Self.checkK(request.k)
        try request.filter?.validate()
        try request.bm25.validate()
        let index = try requireKeywordIndex()
        let hybrid = request.mode == .hybrid
        guard !request.texts.isEmpty else { return SearchResponse(hits: [], plan: SearchPlan(access: request.mode.rawValue)) }
        let parsed = request.texts.map { KeywordQuery.parse($0, analyzer: index.analyzer) }
        let scorer = hybrid ? try scorer(for: request.queries) : nil
        return try read { txn in
            let rowSet = try request.filter.map { try evaluate($0, txn) }
            let counters = try counters(txn)
            let live = Int(counters.live)
            let rowBound = Int(clamping: counters.nextRowID)
            let k = min(request.k, max(1, live))
            let pool = hybrid ? min(request.fusionPool, max(1, live)) : k
            var figures = KeywordFigures()
            let snapshot = try index.snapshot(txn)
            figures.segments = snapshot.segments.count
            let ranked = try parsed.map {
                try keywordTop(
                    $0, k: pool, rowSet: rowSet, bm25: request.bm25, index: index, snapshot: snapshot, rowBound: rowBound, txn,
                    figures: &figures)
            }
            var matches: Int?
            if case .include(let rows)? = rowSet { matches = rows.count }
            let keywordPlan = SearchPlan(access: SearchMode.keyword.rawValue, figures: figures.figures(filterMatches: matches))
            guard hybrid, let scorer else {
                return SearchResponse(hits: try ranked.map { try hits($0, fields: request.fields, txn) }, plan: keywordPlan)
            }
            // Fused by row: the candidates' records are not read, only the ids of rows whose
            // order among equal scores decides a rank, the texts of the dense candidates of a
            // query with operators, and the k fused hits.
            var decoded = RowRecords(collection: self, txn: txn)  // across the batch
            let keywordRows = try ranked.map { list in
                // Ranked as the hits' Float scores rank (exactly representable as Double).
                var byScore: [RankedRow] = list.map { r -> RankedRow in (Double(Float(r.score)), r.row, 0) }
                byScore.sort { $0.rank > $1.rank || ($0.rank == $1.rank && $0.row < $1.row) }
                return try Self.tiesByID(byScore, &decoded)
            }
            let dense = try denseRankedRows(
                scorer, count: parsed.count, k: pool, rowSet: rowSet, oversampling: request.oversampling, nprobe: request.nprobe,
                decoded: &decoded, txn)
            let fused = try zip(parsed, dense.ranked).enumerated().map { i, pair in
                let (q, denseRows) = pair
                // `+term`, `-term` and phrases constrain the dense candidates too.
                let candidates =
                    Self.hasConstraints(q)
                    ? try denseRows.filter { Self.satisfies(q, index.analyzer.termsWithPositions(try decoded.record($0.row).text)) }
                    : denseRows
                let scores = request.fusion.fusedScores(
                    dense: candidates.map { ($0.row, $0.score) }, keyword: keywordRows[i].map { ($0.row, Float($0.rank)) },
                    metric: info.metric)
                let best = try Self.best(scores.map { e -> RankedRow in (e.value, e.key, 0) }, k: k, &decoded)
                return try best.map { try decoded.hit($0.row, score: Float($0.rank), fields: request.fields) }
            }
            let fusionFigures = request.fusion.planFigures(candidates: pool)
            let plan = SearchPlan(access: SearchMode.hybrid.rawValue, figures: fusionFigures, parts: [dense.plan, keywordPlan])
            return SearchResponse(hits: fused, plan: plan)
        }
    }

    /// Whether a query has operators that every hit must satisfy.
    static func hasConstraints(_ q: KeywordQuery) -> Bool { q.hasConstraints }

    /// Whether a text (its analyzed terms) has every required term and phrase and no
    /// excluded one.
    static func satisfies(_ q: KeywordQuery, _ terms: [(term: String, position: Int)]) -> Bool { q.isSatisfied(by: terms) }

    /// Records of ranked rows as hits with `fields`, best first, equal scores ordered by id
    /// (without fields, only the ids are decoded).
    private func hits(_ ranked: [(score: Double, row: UInt64)], fields: SearchHit.Fields, _ txn: Transaction) throws -> [SearchHit] {
        try ranked.map { r -> SearchHit in
            guard let bytes = try records.get(txn, r.row) else {
                throw StoreError(
                    .corrupted, "the keyword index of \"\(info.name)\" names row \(r.row), which has no record; `quiver check` reports it",
                    collection: info.name)
            }
            if fields.isEmpty {
                return SearchHit(id: try RecordCodec.decodeID(bytes, rowID: r.row), score: Float(r.score), text: "", metadata: [:])
            }
            let d = try RecordCodec.decode(bytes, rowID: r.row, collection: info.name)
            return SearchHit(id: d.id, score: Float(r.score), text: d.text, metadata: d.metadata).keeping(fields)
        }.sorted { $0.score > $1.score || ($0.score == $1.score && $0.id < $1.id) }
    }
}
