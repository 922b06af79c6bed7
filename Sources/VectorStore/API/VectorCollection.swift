/// A named set of records with a fixed dimension, metric and vector encoding, behind which
/// any backend sits: the embedded LMDB store (`LMDBCollection`) today, others later.
///
/// Ingest, Query, the embedding cache and the `quiver` command use collections only
/// through this protocol. Every call has a synchronous form, which does its work on the
/// calling thread (or threads the backend owns) and is safe from any thread or task, and an
/// `async` form of the same name that never blocks the cooperative pool. Each read sees
/// one committed snapshot; a write is one transaction.
///
/// A backend implements the requirements; the convenience forms (`get(_:)` of one id,
/// `upsert`, `search(_:k:filter:)`, `search(batch:k:filter:)`, `searchExplained`) come
/// from the extension. `CollectionConformance` (`Tests/TestSupport/Conformance`) is the
/// suite every backend must pass unchanged; `Tests/VectorStoreTests/Conformance` runs it
/// on this one.
///
/// ```swift
/// func index(_ chunks: [Record], into docs: any VectorCollection) async throws {
///     try await docs.write(upsert: chunks, deleting: [])
///     let best = try await docs.search(chunks[0].vector, k: 3)
/// }
/// ```
public protocol VectorCollection: Sendable {
    /// The collection's fixed settings: name, dimension, metric, encoding, configuration.
    var info: CollectionInfo { get }
    /// The database holding the collection.
    var database: any VectorDatabase { get }

    /// Number of live records.
    func count() throws -> Int
    /// Number of live records.
    func count() async throws -> Int

    /// The records with `ids`, in order (nil where absent), read in one snapshot. Under
    /// `.cosine` a vector comes back as the stored unit vector.
    func get(_ ids: [String]) throws -> [Record?]
    /// The records with `ids`, in order (nil where absent), read in one snapshot.
    func get(_ ids: [String]) async throws -> [Record?]

    /// Upserts `records` and deletes `ids`, and every record matching `filter`, in one
    /// transaction: all of it happens or none (an id both deleted and upserted is
    /// upserted; within `records` the last of an id wins). The filter is evaluated inside
    /// the transaction, so it sees what other writers committed before it: replacing a
    /// document's chunks with `deletingWhere: doc == D` leaves exactly the new chunks, even
    /// when another process wrote other chunks of D since this one read them. Every
    /// secondary index is updated in the same transaction.
    ///
    /// - Throws: `.dimensionMismatch`, `.invalidVector`, `.invalidID`,
    ///   `.invalidMetadata`, `.invalidArgument` for a bad filter; nothing is written when
    ///   any record is invalid.
    func write(upsert records: [Record], deleting ids: [String], deletingWhere filter: Filter?) throws
    /// Upserts and deletes in one transaction, off the cooperative pool.
    func write(upsert records: [Record], deleting ids: [String], deletingWhere filter: Filter?) async throws

    /// Checks `records` as ``write(upsert:deleting:deletingWhere:)`` would, without writing: throws the
    /// error it would throw. Cheap (no I/O), so a caller can set an invalid record aside
    /// before it joins a transaction with valid ones (the ingest pipeline fails that
    /// document alone).
    ///
    /// - Throws: `.dimensionMismatch`, `.invalidVector`, `.invalidID`, `.invalidMetadata`.
    func validate(_ records: [Record]) throws

    /// Deletes the records with `ids` in one transaction; returns how many existed.
    func delete(ids: [String]) throws -> Int
    /// Deletes the records with `ids` in one transaction; returns how many existed.
    func delete(ids: [String]) async throws -> Int
    /// Deletes every record matching `filter` in one transaction; returns how many.
    func delete(where filter: Filter) throws -> Int
    /// Deletes every record matching `filter` in one transaction; returns how many.
    func delete(where filter: Filter) async throws -> Int

    /// Ids and metadata (no texts, no vectors) of the records matching `filter`.
    func metadata(where filter: Filter) throws -> [String: [String: MetadataValue]]
    /// Ids and metadata (no texts, no vectors) of the records matching `filter`.
    func metadata(where filter: Filter) async throws -> [String: [String: MetadataValue]]
    /// How many distinct string values `field` has among live records (each element of a
    /// string list counts).
    func distinctStringValueCount(of field: String) throws -> Int
    /// How many distinct string values `field` has among live records.
    func distinctStringValueCount(of field: String) async throws -> Int

    /// Runs a search request: top-k for each query, best first, ties ordered by id, with
    /// the plan that ran.
    ///
    /// - Throws: `.dimensionMismatch`, `.invalidVector` (non-finite, or zero under
    ///   cosine), `.invalidArgument` for `k < 1` or a malformed filter.
    func search(_ request: SearchRequest) throws -> SearchResponse
    /// Runs a search request off the cooperative pool.
    func search(_ request: SearchRequest) async throws -> SearchResponse
}

extension VectorCollection {
    /// The collection's name.
    public var name: String { info.name }
    /// The vector dimension.
    public var dimension: Int { info.dimension }
    /// The metric.
    public var metric: Metric { info.metric }

    /// The record with `id`, or nil.
    public func get(_ id: String) throws -> Record? { try get([id])[0] }
    /// The record with `id`, or nil.
    public func get(_ id: String) async throws -> Record? { try await get([id])[0] }

    /// Upserts `records` and deletes `ids` in one transaction: both happen or neither (an
    /// id in both is upserted; within `records` the last of an id wins).
    public func write(upsert records: [Record], deleting ids: [String]) throws {
        try write(upsert: records, deleting: ids, deletingWhere: nil)
    }
    /// Upserts and deletes in one transaction, off the cooperative pool.
    public func write(upsert records: [Record], deleting ids: [String]) async throws {
        try await write(upsert: records, deleting: ids, deletingWhere: nil)
    }

    /// Inserts or replaces records in one transaction: either all are stored or none.
    public func upsert(_ records: [Record]) throws { try write(upsert: records, deleting: []) }
    /// Inserts or replaces records in one transaction, off the cooperative pool.
    public func upsert(_ records: [Record]) async throws { try await write(upsert: records, deleting: []) }

    /// The `k` records most similar to `query`, best first (ties ordered by id). With a
    /// filter only matching records are candidates; if at least `k` match, `k` come back.
    public func search(_ query: [Float], k: Int, filter: Filter? = nil) throws -> [SearchHit] {
        try search(SearchRequest(queries: [query], k: k, filter: filter)).hits[0]
    }
    /// The `k` records most similar to `query`, off the cooperative pool.
    public func search(_ query: [Float], k: Int, filter: Filter? = nil) async throws -> [SearchHit] {
        try await search(SearchRequest(queries: [query], k: k, filter: filter)).hits[0]
    }

    /// Top-k for many queries at once (one pass over the vectors for the batch), in query
    /// order.
    public func search(batch queries: [[Float]], k: Int, filter: Filter? = nil) throws -> [[SearchHit]] {
        try search(SearchRequest(queries: queries, k: k, filter: filter)).hits
    }
    /// Top-k for many queries at once, off the cooperative pool.
    public func search(batch queries: [[Float]], k: Int, filter: Filter? = nil) async throws -> [[SearchHit]] {
        try await search(SearchRequest(queries: queries, k: k, filter: filter)).hits
    }

    /// Searches and also reports the plan that ran.
    public func searchExplained(batch queries: [[Float]], k: Int, filter: Filter? = nil) throws -> SearchResponse {
        try search(SearchRequest(queries: queries, k: k, filter: filter))
    }
    /// Searches and also reports the plan that ran, off the cooperative pool.
    public func searchExplained(batch queries: [[Float]], k: Int, filter: Filter? = nil) async throws -> SearchResponse {
        try await search(SearchRequest(queries: queries, k: k, filter: filter))
    }
}
