/// Settings of a `PostgresDatabase`: the pool, reconnection, and the HNSW index that new
/// collections get.
///
/// ```swift
/// let db = try PostgresDatabase(url: "postgres://quiver@db.internal/rag", options: PostgresOptions(maxConnections: 8))
/// ```
public struct PostgresOptions: Sendable, Hashable {
    /// Connections open at most (each serves one call at a time).
    public var maxConnections: Int
    /// How a lost connection is retried (a server restart, a dropped network).
    public var reconnect: ReconnectPolicy
    /// Whether new collections get a pgvector HNSW index on their vectors (dimensions up
    /// to 2000, pgvector's limit). Searches are exact unless a handle asks for the index
    /// (`PostgresCollection.approximate(efSearch:)`).
    public var hnswIndex: Bool
    /// HNSW's `m`: links per node.
    public var hnswM: Int
    /// HNSW's `ef_construction`: the candidate list while building.
    public var hnswEfConstruction: Int
    /// Connections one large search batch is split over (each scans for its share of the
    /// queries at once; at most `maxConnections`).
    public var batchConnections: Int

    /// Creates options; the defaults suit a few concurrent ingesters and readers.
    public init(
        maxConnections: Int = 8, reconnect: ReconnectPolicy = ReconnectPolicy(), hnswIndex: Bool = true, hnswM: Int = 16,
        hnswEfConstruction: Int = 64, batchConnections: Int = 2
    ) {
        self.maxConnections = maxConnections
        self.reconnect = reconnect
        self.hnswIndex = hnswIndex
        self.hnswM = hnswM
        self.hnswEfConstruction = hnswEfConstruction
        self.batchConnections = batchConnections
    }
}
