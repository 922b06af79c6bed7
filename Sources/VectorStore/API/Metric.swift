/// How a collection scores a query against its vectors.
public enum Metric: String, Sendable, Codable, CaseIterable {
    /// Cosine similarity. Vectors are normalized when stored (so `get` returns the unit
    /// vector) and queries when searched. Higher is better.
    case cosine
    /// Inner product of the raw vectors. Higher is better.
    case dot
    /// Euclidean distance, from stored squared norms. Lower is better.
    case l2
}
