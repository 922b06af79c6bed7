/// What the planner knows about one search, inside its read snapshot.
struct SearchContext {
    let collection: LMDBCollection
    let txn: Transaction
    /// The collection's blocks, read in place.
    let views: [BlockView]
    /// Live rows in the blocks.
    let live: Int
    /// The filter's rows (nil without a filter), from the metadata index.
    let rowSet: RowSet?
    /// `count × dim` query components (unit vectors under cosine).
    let queries: [Float]
    /// Queries in the batch.
    let count: Int
    /// Hits wanted per query.
    let k: Int
    /// Candidates a scan keeps per query: `k`, or for a compact encoding `oversampling ×
    /// k` (rescored exactly afterwards). A gather scores exact vectors and keeps `k`.
    let candidates: Int
    /// The queries in double precision, and the float kernels' error bound.
    let scorer: ExactScorer
    /// The IVF centroids when the collection has an IVF index and the search may use it.
    var ivf: IVFCentroids? = nil
    /// Lists to probe per query as the request says (nil: the collection's default).
    var nprobe: Int? = nil

    var dimension: Int { collection.info.dimension }

    /// Estimated cost of scoring one row for the whole batch (the FLOPs), in the planner's
    /// units (about a microsecond).
    var flopsPerRow: Double { Double(2 * count * dimension) / 50_000 }
}

/// One way of finding a search's top-k candidates. The collection's scan is always there;
/// each secondary index contributes the paths it makes possible (the metadata index: a
/// gather of the filter's rows). The planner runs the cheapest.
protocol AccessPath: Sendable {
    /// The path's name, reported in the plan.
    var name: String { get }
    /// Estimated cost, or nil when the path cannot answer this search.
    func estimatedCost(_ context: SearchContext) -> Double?
    /// Scores candidates into `tops`, one `TopK` per query that the path makes with the
    /// slack `context.scorer` gives for the rows it scores, and returns the plan's figures.
    func run(_ context: SearchContext, into tops: inout [TopK]) throws -> [SearchPlan.Figure]
}

/// Every live vector scored block by block on all search threads; a filter is a mask.
struct ScanPath: AccessPath {
    static let name = "scan"
    var name: String { Self.name }

    func estimatedCost(_ context: SearchContext) -> Double? {
        // Streaming the stored vectors at memory speed, plus the FLOPs.
        let bytes = context.collection.codec.bytesPerVector(dimension: context.dimension)
        return Double(context.live) * (Double(bytes) / 20_000 + context.flopsPerRow)
    }

    func run(_ context: SearchContext, into tops: inout [TopK]) throws -> [SearchPlan.Figure] {
        let threads = context.collection.scan(
            context.views, rowSet: context.rowSet, queries: context.queries, count: context.count, k: context.candidates,
            scorer: context.scorer, tops: &tops)
        var figures = [
            SearchPlan.Figure(SearchPlan.Figure.rowsScored, Double(context.views.reduce(0) { $0 + $1.count })),
            SearchPlan.Figure(SearchPlan.Figure.blocks, Double(context.views.count)),
            SearchPlan.Figure(SearchPlan.Figure.threads, Double(threads)),
        ]
        if case .include(let rows)? = context.rowSet {
            figures.append(SearchPlan.Figure(SearchPlan.Figure.filterMatches, Double(rows.count)))
        }
        if context.collection.codec.isCompact {
            figures.append(SearchPlan.Figure(SearchPlan.Figure.rescored, Double(context.candidates)))
        }
        return figures
    }
}

/// Only the filter's matching rows (from the metadata index) are scored, their vectors
/// copied into tiles.
struct GatherPath: AccessPath {
    static let name = "gather"
    var name: String { Self.name }

    func estimatedCost(_ context: SearchContext) -> Double? {
        // Per row: about 1 µs to look up its location and copy it.
        guard case .include(let rows)? = context.rowSet else { return nil }
        return Double(rows.count) * (1.0 + context.flopsPerRow)
    }

    func run(_ context: SearchContext, into tops: inout [TopK]) throws -> [SearchPlan.Figure] {
        guard case .include(let rows)? = context.rowSet else { return [] }
        try context.collection.gather(
            rows, views: context.views, queries: context.queries, count: context.count, k: context.k,
            scorer: context.scorer, tops: &tops, context.txn)
        return [
            SearchPlan.Figure(SearchPlan.Figure.rowsScored, Double(rows.count)),
            SearchPlan.Figure(SearchPlan.Figure.blocks, Double(context.views.count)),
            SearchPlan.Figure(SearchPlan.Figure.threads, 1),
            SearchPlan.Figure(SearchPlan.Figure.filterMatches, Double(rows.count)),
        ]
    }
}

/// Chooses among access paths by estimated cost and reports the plan it ran.
enum SearchPlanner {
    /// Runs the cheapest applicable path (the earlier one on a tie).
    static func run(_ paths: [any AccessPath], _ context: SearchContext, into tops: inout [TopK]) throws -> SearchPlan {
        let costed = paths.compactMap { p in p.estimatedCost(context).map { (path: p, cost: $0) } }
        guard var best = costed.first else {
            throw StoreError(.invalidArgument, "no access path of collection \"\(context.collection.info.name)\" can run this search")
        }
        for c in costed.dropFirst() where c.cost < best.cost { best = c }
        let figures = try best.path.run(context, into: &tops)
        let considered = costed.map { SearchPlan.Candidate(access: $0.path.name, cost: $0.cost) }.sorted { $0.cost < $1.cost }
        return SearchPlan(access: best.path.name, figures: figures, considered: considered)
    }
}
