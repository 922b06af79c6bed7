import VectorStore

/// A plain reference implementation of exact top-k, independent of the store's code:
/// double-precision scores over an in-memory dictionary of records.
public struct BruteForce {
    /// The metric to score with.
    public let metric: Metric
    /// The live records by id.
    public var records: [String: Record] = [:]

    /// Creates an empty reference.
    public init(metric: Metric) { self.metric = metric }

    /// Records as the store keeps them (unit vectors under cosine).
    public mutating func upsert(_ batch: [Record]) {
        for r in batch { records[r.id] = r }
    }

    /// Removes ids.
    public mutating func delete(_ ids: [String]) {
        for id in ids { records[id] = nil }
    }

    /// Score of `query` against `v`: similarity for cosine/dot, distance for l2.
    public func score(_ query: [Float], _ v: [Float]) -> Double {
        let q = query.map(Double.init)
        let x = v.map(Double.init)
        switch metric {
        case .dot:
            return zip(q, x).reduce(0) { $0 + $1.0 * $1.1 }
        case .cosine:
            let dot = zip(q, x).reduce(0) { $0 + $1.0 * $1.1 }
            let nq = q.reduce(0) { $0 + $1 * $1 }.squareRoot()
            let nx = x.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return dot / (nq * nx)
        case .l2:
            return zip(q, x).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
        }
    }

    /// The exact top-k ids with scores, best first, ties by id.
    public func search(_ query: [Float], k: Int, where predicate: ([String: MetadataValue]) -> Bool = { _ in true })
        -> [(id: String, score: Double)]
    {
        let scored = records.values.filter { predicate($0.metadata) }.map { ($0.id, score(query, $0.vector)) }
        let sorted = scored.sorted { a, b in
            if a.1 != b.1 { return metric == .l2 ? a.1 < b.1 : a.1 > b.1 }
            return a.0 < b.0
        }
        return Array(sorted.prefix(k)).map { (id: $0.0, score: $0.1) }
    }
}
