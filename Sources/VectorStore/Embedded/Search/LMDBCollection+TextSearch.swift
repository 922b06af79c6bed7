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
            // A hybrid search fuses the candidates by id and reads the records of the k fused
            // hits alone; with operators it filters the dense candidates by their text, so
            // it reads theirs.
            let constrained = hybrid && parsed.contains(where: Self.hasConstraints)
            let fields: SearchHit.Fields = hybrid ? (constrained ? .all : []) : request.fields
            let keywordRanked = try ranked.map { try hits($0, fields: fields, txn) }
            let keywordHits = keywordRanked.map { $0.map(\.hit) }
            guard hybrid, let scorer else { return SearchResponse(hits: keywordHits, plan: keywordPlan) }
            let dense = try denseSearch(
                scorer, count: parsed.count, k: pool, rowSet: rowSet, oversampling: request.oversampling, nprobe: request.nprobe,
                fields: fields, txn)
            // `+term`, `-term` and phrases constrain the dense candidates too.
            let denseHits = zip(parsed, dense.hits).map { q, hits in
                Self.hasConstraints(q) ? hits.filter { Self.satisfies(q, index.analyzer.termsWithPositions($0.text)) } : hits
            }
            var decoded = RowRecords(collection: self, txn: txn)  // across the batch
            let fused = try denseHits.indices.map { i in
                let top = Self.fuse(dense: denseHits[i], keyword: keywordHits[i], request.fusion, metric: info.metric, k: k)
                guard !constrained, !request.fields.isEmpty else { return top.map { $0.keeping(request.fields) } }
                var rows: [String: UInt64] = [:]
                for (hit, row) in zip(dense.hits[i], dense.rows[i]) { rows[hit.id] = row }
                for r in keywordRanked[i] { rows[r.hit.id] = r.row }
                return try top.map { hit in
                    guard let row = rows[hit.id] else { throw StoreError(.corrupted, "hit \"\(hit.id)\" of \"\(info.name)\" has no row") }
                    return try decoded.hit(row, score: hit.score, fields: request.fields)
                }
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
    private func hits(_ ranked: [(score: Double, row: UInt64)], fields: SearchHit.Fields, _ txn: Transaction) throws
        -> [(hit: SearchHit, row: UInt64)]
    {
        try ranked.map { r -> (hit: SearchHit, row: UInt64) in
            guard let bytes = try records.get(txn, r.row) else {
                throw StoreError(
                    .corrupted, "the keyword index of \"\(info.name)\" names row \(r.row), which has no record; `quiver check` reports it",
                    collection: info.name)
            }
            if fields.isEmpty {
                return (SearchHit(id: try RecordCodec.decodeID(bytes, rowID: r.row), score: Float(r.score), text: "", metadata: [:]), r.row)
            }
            let d = try RecordCodec.decode(bytes, rowID: r.row, collection: info.name)
            return (SearchHit(id: d.id, score: Float(r.score), text: d.text, metadata: d.metadata).keeping(fields), r.row)
        }.sorted { $0.hit.score > $1.hit.score || ($0.hit.score == $1.hit.score && $0.hit.id < $1.hit.id) }
    }

    /// The fused ranking of one query, best first (equal scores by id), cut to `k`.
    static func fuse(dense: [SearchHit], keyword: [SearchHit], _ fusion: Fusion, metric: Metric, k: Int) -> [SearchHit] {
        fusion.fuse(dense: dense, keyword: keyword, metric: metric, k: k)
    }
}
