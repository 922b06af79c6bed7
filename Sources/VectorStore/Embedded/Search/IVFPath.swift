/// A partitioned (IVF) search: the `nprobe` lists nearest to each query are scored, block
/// by block in place (a list's rows are whole blocks), plus every block in no list (rows
/// that writes have not filed into lists yet, written before the index, or left by an
/// interrupted retrain). A filter is a mask; the
/// probe widens by the filter's selectivity, and again (doubling) while a query finds fewer
/// than k rows, up to every list. A selective filter (under `selectiveFraction` of the rows)
/// is left to the gather path, which is exact.
struct IVFPath: AccessPath {
    static let name = "ivf"
    var name: String { Self.name }

    /// Filters admitting fewer rows than this fraction are not probed: their nearest rows
    /// scatter over many lists, and gathering them is exact and cheap.
    static let selectiveFraction = 0.05

    func estimatedCost(_ context: SearchContext) -> Double? {
        guard let model = context.ivf, context.live > 0 else { return nil }
        guard let probe = probeSize(context, model) else { return nil }
        let bytes = context.collection.codec.bytesPerVector(dimension: context.dimension)
        let rows = Double(context.live) * Double(probe) / Double(model.lists)
        // Scoring the queries against the centroids, then the probed rows like a scan.
        return Double(model.lists) * context.flopsPerRow + rows * (Double(bytes) / 20_000 + context.flopsPerRow)
    }

    /// Lists each query probes: the request's or collection's nprobe, divided by the
    /// filter's selectivity; nil when the filter is too selective for a probe.
    private func probeSize(_ context: SearchContext, _ model: IVFCentroids) -> Int? {
        let base = context.nprobe ?? context.collection.defaultNprobe(lists: model.lists)
        var fraction = 1.0
        switch context.rowSet {
        case .include(let rows)?: fraction = Double(rows.count) / Double(context.live)
        case .exclude(let rows)?: fraction = 1 - Double(rows.count) / Double(context.live)
        case nil: break
        }
        guard fraction >= Self.selectiveFraction else { return nil }
        return min(model.lists, Int((Double(max(1, base)) / max(fraction, 1e-9)).rounded(.up)))
    }

    func run(_ context: SearchContext, into tops: inout [TopK]) throws -> [SearchPlan.Figure] {
        guard let model = context.ivf, var probe = probeSize(context, model) else { return [] }
        let collection = context.collection
        var threads = 1
        var lists = [Bool]()
        var selected = [Bool](repeating: false, count: context.views.count)
        while true {
            lists = model.probe(context.queries, count: context.count, nprobe: probe)
            for i in context.views.indices {
                if let tag = context.views[i].list, tag.generation == model.generation, Int(tag.list) < lists.count {
                    selected[i] = lists[Int(tag.list)]
                } else {
                    selected[i] = true
                }
            }
            threads = collection.scan(
                context.views, selected: selected, rowSet: context.rowSet, queries: context.queries, count: context.count,
                k: context.candidates, scorer: context.scorer, tops: &tops)
            // Too few rows passed the filter for some query: probe twice as many lists.
            let short = tops.contains { $0.heap.count < min(context.k, context.live) }
            if !short || probe >= model.lists { break }
            probe = min(model.lists, probe * 2)
        }
        var scored = 0
        var blocks = 0
        var outside = 0
        for (i, v) in context.views.enumerated() where selected[i] {
            scored += v.count
            blocks += 1
            if v.list?.generation != model.generation { outside += v.live }
        }
        var figures = [
            SearchPlan.Figure(SearchPlan.Figure.rowsScored, Double(scored)),
            SearchPlan.Figure(SearchPlan.Figure.blocks, Double(blocks)),
            SearchPlan.Figure(SearchPlan.Figure.threads, Double(threads)),
            SearchPlan.Figure(SearchPlan.Figure.listsProbed, Double(lists.lazy.filter { $0 }.count)),
            SearchPlan.Figure(SearchPlan.Figure.lists, Double(model.lists)),
            SearchPlan.Figure(SearchPlan.Figure.nprobe, Double(probe)),
            SearchPlan.Figure(SearchPlan.Figure.rowsOutsideLists, Double(outside)),
        ]
        if case .include(let rows)? = context.rowSet {
            figures.append(SearchPlan.Figure(SearchPlan.Figure.filterMatches, Double(rows.count)))
        }
        if collection.codec.isCompact {
            figures.append(SearchPlan.Figure(SearchPlan.Figure.rescored, Double(context.candidates)))
        }
        return figures
    }
}
