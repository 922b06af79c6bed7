/// A collection's fixed settings, persisted with it and checked on open.
public struct CollectionInfo: Sendable, Hashable, Codable {
    /// The collection's name.
    public let name: String
    /// Vector dimension.
    public let dimension: Int
    /// Scoring metric.
    public let metric: Metric
    /// How vectors are stored (`.float32` for collections written before encodings were
    /// recorded).
    public let encoding: VectorEncoding
    /// Free-form settings, e.g. which embedder produced the vectors.
    public let configuration: [String: String]
    /// Internal, never-reused number naming the collection's tables (LMDB backend).
    let cid: UInt32

    /// Whether the name is reserved for Quiver's own use (see `ReservedNames`).
    public var isReserved: Bool { ReservedNames.isReserved(name) }

    /// The settings a collection like this one is created with.
    public var settings: CollectionSettings {
        CollectionSettings(dimension: dimension, metric: metric, encoding: encoding, configuration: configuration)
    }

    /// Creates the settings record of a collection (for backends; `cid` is the LMDB
    /// backend's table number, 0 elsewhere).
    init(name: String, settings: CollectionSettings, cid: UInt32) {
        self.name = name
        dimension = settings.dimension
        metric = settings.metric
        encoding = settings.encoding
        configuration = settings.configuration
        self.cid = cid
    }

    /// Creates the settings record of a collection held by another backend.
    public init(name: String, settings: CollectionSettings) {
        self.init(name: name, settings: settings, cid: 0)
    }

    enum CodingKeys: String, CodingKey { case name, dimension, metric, encoding, configuration, cid }

    /// Decodes a record; one written before encodings were recorded is `.float32`.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        dimension = try c.decode(Int.self, forKey: .dimension)
        metric = try c.decode(Metric.self, forKey: .metric)
        encoding = try c.decodeIfPresent(VectorEncoding.self, forKey: .encoding) ?? .float32
        configuration = try c.decode([String: String].self, forKey: .configuration)
        cid = try c.decode(UInt32.self, forKey: .cid)
    }
}
