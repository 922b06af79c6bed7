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
        var first: [String: SearchHit] = [:]
        for h in dense + keyword where first[h.id] == nil { first[h.id] = h }
        let scores = fusedScores(dense: dense.map { ($0.id, $0.score) }, keyword: keyword.map { ($0.id, $0.score) }, metric: metric)
        return scores.sorted { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }
            .prefix(k).compactMap { e in
                guard var h = first[e.key] else { return nil }
                h.score = Float(e.value)
                return h
            }
    }

    /// Each candidate's fused score from its places in the dense and the keyword ranking
    /// (each best first, equal scores in id order), by whatever identifies a candidate
    /// (a record id; the embedded store fuses by row): what `fuse` ranks by.
    func fusedScores<Key: Hashable>(dense: [(key: Key, score: Float)], keyword: [(key: Key, score: Float)], metric: Metric)
        -> [Key: Double]
    {
        var fused: [Key: Double] = [:]
        fused.reserveCapacity(dense.count + keyword.count)
        func add(_ list: [(key: Key, score: Float)], _ value: (Int, Float) -> Double) {
            for (i, h) in list.enumerated() { fused[h.key, default: 0] += value(i, h.score) }
        }
        switch self {
        case .reciprocalRank(let c):
            add(dense) { i, _ in 1 / (c + Double(i + 1)) }
            add(keyword) { i, _ in 1 / (c + Double(i + 1)) }
        case .weighted(let w):
            // Each list scaled to 0…1 over its own candidates; under L2 a smaller distance is better.
            func scaled(_ list: [(key: Key, score: Float)], higherIsBetter: Bool) -> (Int, Float) -> Double {
                let scores = list.map { Double($0.score) }
                let lo = scores.min() ?? 0
                let hi = scores.max() ?? 0
                return { _, score in
                    guard hi > lo else { return 1 }
                    let x = (Double(score) - lo) / (hi - lo)
                    return higherIsBetter ? x : 1 - x
                }
            }
            let d = scaled(dense, higherIsBetter: metric != .l2)
            let kw = scaled(keyword, higherIsBetter: true)
            add(dense) { i, score in (1 - w) * d(i, score) }
            add(keyword) { i, score in w * kw(i, score) }
        }
        return fused
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
