/// A collection's fixed settings, persisted in the store and checked on open.
public struct CollectionInfo: Sendable, Hashable, Codable {
    /// The collection's name.
    public let name: String
    /// Vector dimension.
    public let dimension: Int
    /// Scoring metric.
    public let metric: Metric
    /// Free-form settings, e.g. which embedder produced the vectors.
    public let configuration: [String: String]
    /// Internal, never-reused number naming the collection's tables.
    let cid: UInt32

    enum CodingKeys: String, CodingKey { case name, dimension, metric, configuration, cid }
}
