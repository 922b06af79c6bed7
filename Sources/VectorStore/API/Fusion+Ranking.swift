extension Fusion {
    /// The fused ranking of one query from its dense and its keyword ranking (each best
    /// first), best first, equal scores ordered by id, cut to `k`. Each hit keeps the
    /// fields of its first appearance (dense before keyword) and takes the fused score.
    ///
    /// Every backend fuses with this, so a hybrid search ranks alike on each.
    ///
    /// ```swift
    /// let hits = Fusion.reciprocalRank(k: 60).fuse(dense: dense, keyword: keyword, metric: .cosine, k: 10)
    /// ```
    ///
    /// - Parameter metric: the collection's metric: under `.l2` a smaller dense score is
    ///   better (weighted fusion scales it so).
    public func fuse(dense: [SearchHit], keyword: [SearchHit], metric: Metric, k: Int) -> [SearchHit] {
        var byID: [String: (hit: SearchHit, score: Double)] = [:]
        func add(_ list: [SearchHit], _ value: (Int, SearchHit) -> Double) {
            for (i, h) in list.enumerated() {
                let v = value(i, h)
                if let e = byID[h.id] { byID[h.id] = (e.hit, e.score + v) } else { byID[h.id] = (h, v) }
            }
        }
        switch self {
        case .reciprocalRank(let c):
            add(dense) { i, _ in 1 / (c + Double(i + 1)) }
            add(keyword) { i, _ in 1 / (c + Double(i + 1)) }
        case .weighted(let w):
            // Each list scaled to 0…1 over its own candidates; under L2 a smaller distance is better.
            func scaled(_ list: [SearchHit], higherIsBetter: Bool) -> (Int, SearchHit) -> Double {
                let scores = list.map { Double($0.score) }
                let lo = scores.min() ?? 0
                let hi = scores.max() ?? 0
                return { _, h in
                    guard hi > lo else { return 1 }
                    let x = (Double(h.score) - lo) / (hi - lo)
                    return higherIsBetter ? x : 1 - x
                }
            }
            let d = scaled(dense, higherIsBetter: metric != .l2)
            let kw = scaled(keyword, higherIsBetter: true)
            add(dense) { i, h in (1 - w) * d(i, h) }
            add(keyword) { i, h in w * kw(i, h) }
        }
        return byID.values.sorted { $0.score > $1.score || ($0.score == $1.score && $0.hit.id < $1.hit.id) }
            .prefix(k).map { e in
                var h = e.hit
                h.score = Float(e.score)
                return h
            }
    }

    /// The plan figures of a hybrid search fusing `candidates` per ranking with this
    /// fusion, as every backend reports them.
    public func planFigures(candidates: Int) -> [SearchPlan.Figure] {
        switch self {
        case .reciprocalRank(let c): return [SearchPlan.Figure("rrf k", c), SearchPlan.Figure("candidates", Double(candidates))]
        case .weighted(let w): return [SearchPlan.Figure("keyword weight", w), SearchPlan.Figure("candidates", Double(candidates))]
        }
    }
}
