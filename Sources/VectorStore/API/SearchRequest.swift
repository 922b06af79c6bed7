/// One search: query vectors, how many hits each, and a filter.
///
/// ```swift
/// let response = try docs.search(SearchRequest(queries: [q1, q2], k: 5, filter: .equals("lang", "en")))
/// print(response.plan)  // e.g. "gather: 501 rows scored in 6 blocks on 1 thread(s), filter matches 501"
/// ```
public struct SearchRequest: Sendable {
    /// The query vectors; a batch is scored in one pass over the collection.
    public var queries: [[Float]]
    /// Hits per query, at least 1.
    public var k: Int
    /// Only records whose metadata matches are candidates (applied exactly).
    public var filter: Filter?

    /// Creates a request.
    public init(queries: [[Float]], k: Int, filter: Filter? = nil) {
        self.queries = queries
        self.k = k
        self.filter = filter
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
