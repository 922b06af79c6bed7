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

    /// What a hit carries besides its id and score (`SearchRequest.fields`).
    public struct Fields: OptionSet, Sendable, Hashable {
        /// The option's bits.
        public let rawValue: Int
        /// Creates fields from their bits.
        public init(rawValue: Int) { self.rawValue = rawValue }
        /// The record's text.
        public static let text = Fields(rawValue: 1)
        /// The record's metadata.
        public static let metadata = Fields(rawValue: 2)
        /// Text and metadata (the default).
        public static let all: Fields = [.text, .metadata]
        /// Ids and scores only.
        public static let none: Fields = []
    }

    /// This hit with the fields not in `fields` emptied ("" and no metadata).
    public func keeping(_ fields: Fields) -> SearchHit {
        guard fields != .all else { return self }
        var hit = self
        if !fields.contains(.text) { hit.text = "" }
        if !fields.contains(.metadata) { hit.metadata = [:] }
        return hit
    }
}
