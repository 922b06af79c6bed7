/// One search: queries, how many hits each, a filter, and how to search.
///
/// ```swift
/// let response = try docs.search(SearchRequest(queries: [q1, q2], k: 5, filter: .equals("lang", "en")))
/// print(response.plan)  // e.g. "gather: 501 rows scored in 6 blocks on 1 thread(s), filter matches 501"
/// let hybrid = try docs.search(SearchRequest(texts: ["lighthouse keeper"], vectors: [q], k: 5, mode: .hybrid))
/// ```
public struct SearchRequest: Sendable {
    /// The query vectors (`.dense` and `.hybrid`); a batch is scored in one pass over the
    /// collection.
    public var queries: [[Float]]
    /// The query texts (`.keyword` and `.hybrid`), one per query: words, `"exact
    /// phrases"`, `+required` and `-excluded` terms, analyzed like the collection's texts.
    public var texts: [String]
    /// Hits per query, at least 1.
    public var k: Int
    /// Only records whose metadata matches are candidates (applied exactly, in every mode).
    public var filter: Filter?
    /// Dense, keyword or hybrid.
    public var mode: SearchMode
    /// How `.hybrid` fuses the two rankings.
    public var fusion: Fusion
    /// Candidates each ranking contributes to a hybrid fusion (nil: `max(2k, 100)`; see
    /// ``fusionPool``).
    public var fusionCandidates: Int?
    /// BM25's constants for `.keyword` and `.hybrid`.
    public var bm25 = BM25Parameters()
    /// For a collection of a compact encoding (f16, int8): how many candidates per hit the
    /// scan keeps for exact rescoring from the float32 vectors (nil: the store's default,
    /// `StoreOptions.oversampling` for the embedded store). Higher finds more of the exact
    /// top k, at the cost of reading more float32 vectors. Ignored by f32 collections,
    /// whose search is exact.
    public var oversampling: Int?
    /// For a collection with a partitioned (IVF) index: how many lists each query probes
    /// (nil: the store's or collection's default). More finds more of the exact top k at
    /// the cost of scoring more rows; `0` searches exactly (a scan, no lists). Backends
    /// without such an index ignore it.
    public var nprobe: Int?
    /// What each hit carries besides its id and score: fields left out come back empty
    /// ("" and no metadata). Asking for `.none` when only ids are needed (an evaluation, a
    /// reranker that has the texts) saves reading them: the embedded store's keyword
    /// search then reads only each hit's id. Default `.all`.
    public var fields: SearchHit.Fields = .all

    /// Creates a dense request.
    public init(queries: [[Float]], k: Int, filter: Filter? = nil) {
        self.queries = queries
        texts = []
        self.k = k
        self.filter = filter
        mode = .dense
        fusion = .default
    }

    /// Creates a request in any mode: `texts` for `.keyword`, `vectors` for `.dense`, both
    /// (one of each per query) for `.hybrid`.
    public init(
        texts: [String], vectors: [[Float]] = [], k: Int, filter: Filter? = nil, mode: SearchMode, fusion: Fusion = .default,
        fusionCandidates: Int? = nil
    ) {
        queries = vectors
        self.texts = texts
        self.k = k
        self.filter = filter
        self.mode = mode
        self.fusion = fusion
        self.fusionCandidates = fusionCandidates
    }

    /// Throws `.invalidArgument` when the request lacks what its mode needs.
    public func validateShape() throws {
        switch mode {
        case .dense: break
        case .keyword:
            if !queries.isEmpty && queries.count != texts.count {
                throw StoreError(
                    .invalidArgument, "a keyword search has \(texts.count) texts but \(queries.count) vectors", input: "texts")
            }
        case .hybrid:
            guard texts.count == queries.count else {
                throw StoreError(
                    .invalidArgument, "a hybrid search needs one text per query vector: \(texts.count) texts, \(queries.count) vectors",
                    input: "texts", expected: "\(queries.count)", actual: "\(texts.count)")
            }
            try fusion.validate()
        }
        if let o = oversampling, o < 1 {
            throw StoreError(.invalidArgument, "oversampling must be at least 1, got \(o)", input: "oversampling")
        }
        if let n = nprobe, n < 0 {
            throw StoreError(.invalidArgument, "nprobe must be 0 (exact) or more, got \(n)", input: "nprobe")
        }
        if let c = fusionCandidates, c < 1 {
            throw StoreError(.invalidArgument, "fusion candidates must be at least 1, got \(c)", input: "fusionCandidates")
        }
    }
}

/// The hits of a search, per query in request order, and the plan that ran.
public struct SearchResponse: Sendable {
    /// Top-k hits per query, best first, ties ordered by id.
    public var hits: [[SearchHit]]
    /// How the backend found them.
    public var plan: SearchPlan

    /// Creates a response.
    public init(hits: [[SearchHit]], plan: SearchPlan) {
        self.hits = hits
        self.plan = plan
    }
}

extension SearchRequest {
    /// Candidates each ranking contributes to a hybrid fusion: ``fusionCandidates``, else
    /// `max(2k, 100)`, never fewer than `k`. Twice `k` so that a record just below the top
    /// `k` of both rankings, which fusion can rank above records that only one ranking
    /// found, is a candidate at all (on SciFact, fusing 800 rather than 400 candidates for
    /// a top 400 raised hybrid Recall@100 from 0.949 to 0.951; `quiver-bench retrieval`).
    public var fusionPool: Int { max(fusionCandidates ?? max(min(k, Int.max / 2) * 2, 100), k) }
}
