extension KeywordQuery {
    /// The distinct terms the query scores (its optional, required and phrase terms), in
    /// the order first met, each weighted by how often it occurs in the query. Past `limit`
    /// terms (a pasted page as a query) only the first `limit` are kept, and every required
    /// or phrase term; `dropped` counts the rest. Both backends rank with these.
    public func scoringTerms(limit: Int) -> (terms: [String], weights: [String: Double], dropped: Int) {
        var weights: [String: Double] = [:]
        var order: [String] = []
        for t in should + must + phrases.flatMap(\.terms) {
            if weights[t] == nil { order.append(t) }
            weights[t, default: 0] += 1
        }
        guard order.count > limit else { return (order, weights, 0) }
        let keep = Set(order.prefix(limit)).union(must).union(phrases.flatMap(\.terms))
        let kept = order.filter(keep.contains)
        return (kept, weights, order.count - kept.count)
    }

    /// Whether the query has operators that every hit must satisfy (`+term`, `-term`,
    /// phrases), which a ranking that ignores them (a dense one, in a hybrid search) must
    /// then be checked against.
    public var hasConstraints: Bool {
        !must.isEmpty || !mustNot.isEmpty || !phrases.isEmpty || !excludedPhrases.isEmpty
    }

    /// Whether analyzed text (its terms with positions, as
    /// `TextAnalyzer.termsWithPositions` gives them) has every required term and phrase of
    /// the query and no excluded one.
    public func isSatisfied(by terms: [(term: String, position: Int)]) -> Bool {
        let present = Set(terms.map(\.term))
        return must.allSatisfy(present.contains) && !mustNot.contains(where: present.contains)
            && phrases.allSatisfy { $0.occurs(in: terms) } && !excludedPhrases.contains { $0.occurs(in: terms) }
    }
}

extension KeywordQuery.Phrase {
    /// Whether the phrase's terms occur at its offsets from some position of `positions`
    /// (analyzed terms with their positions).
    public func occurs(in positions: [(term: String, position: Int)]) -> Bool {
        guard let first = terms.first else { return true }
        var at: [Int: String] = [:]
        for p in positions { at[p.position] = p.term }
        for p in positions where p.term == first {
            var all = true
            for (t, o) in zip(terms, offsets).dropFirst() where at[p.position + o] != t {
                all = false
                break
            }
            if all { return true }
        }
        return false
    }
}
