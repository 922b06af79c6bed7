/// One stored item: a caller-chosen id, its vector, the chunk text, and metadata.
public struct Record: Sendable, Hashable {
    /// Unique within the collection; 1 to 256 bytes of UTF-8.
    public var id: String
    /// Exactly the collection's dimension, finite components.
    public var vector: [Float]
    /// The chunk text (may be empty).
    public var text: String
    /// Filterable metadata; field names are 1 to 128 bytes without NUL; no double is NaN.
    public var metadata: [String: MetadataValue]

    /// Creates a record.
    public init(id: String, vector: [Float], text: String = "", metadata: [String: MetadataValue] = [:]) {
        self.id = id
        self.vector = vector
        self.text = text
        self.metadata = metadata
    }
}

/// One search result.
public struct SearchHit: Sendable, Hashable {
    /// The record id.
    public var id: String
    /// Cosine similarity or inner product (higher is better), or Euclidean distance for
    /// `.l2` (lower is better). Hits come best first; equal scores are ordered by id.
    public var score: Float
    /// The record's text.
    public var text: String
    /// The record's metadata.
    public var metadata: [String: MetadataValue]

    /// Creates a hit (for backends).
    public init(id: String, score: Float, text: String, metadata: [String: MetadataValue]) {
        self.id = id
        self.score = score
        self.text = text
        self.metadata = metadata
    }
}
