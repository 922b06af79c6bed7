/// A place that holds named collections: the embedded LMDB `Store` today, a server-backed
/// database later. Code that creates, lists or drops collections (the ingest pipeline's
/// embedding cache, the `quiver` command) takes this protocol.
///
/// Collection names that start with `_` are reserved for Quiver's own use (the embedding
/// cache keeps `_cache.*` collections); listings leave them out unless asked.
///
/// Every call has a synchronous form, safe from any thread or task, and an `async` form of
/// the same name that never blocks the cooperative pool.
public protocol VectorDatabase: Sendable {
    /// The backend's collection type.
    associatedtype CollectionType: VectorCollection

    /// Where the database lives, for messages: a directory, or a URL without credentials.
    var location: String { get }

    /// Settings of the collections, sorted by name; reserved ones only when asked.
    func collections(includingReserved: Bool) throws -> [CollectionInfo]
    /// Settings of the collections, sorted by name; reserved ones only when asked.
    func collections(includingReserved: Bool) async throws -> [CollectionInfo]

    /// Opens an existing collection.
    ///
    /// - Throws: `.collectionNotFound` when there is none of that name.
    func collection(_ name: String) throws -> CollectionType
    /// Opens an existing collection.
    func collection(_ name: String) async throws -> CollectionType

    /// Creates a collection.
    ///
    /// - Throws: `.collectionExists` if the name is taken, `.invalidArgument` for a bad
    ///   name, dimension or encoding.
    func createCollection(_ name: String, settings: CollectionSettings) throws -> CollectionType
    /// Creates a collection.
    func createCollection(_ name: String, settings: CollectionSettings) async throws -> CollectionType

    /// Opens the collection if it exists, checking that its dimension, metric, encoding and
    /// the given configuration keys match; creates it otherwise.
    ///
    /// - Throws: `.collectionExists` naming the first setting that differs.
    func openOrCreateCollection(_ name: String, settings: CollectionSettings) throws -> CollectionType
    /// Opens or creates the collection.
    func openOrCreateCollection(_ name: String, settings: CollectionSettings) async throws -> CollectionType

    /// Drops a collection and its records; false if it did not exist.
    @discardableResult func dropCollection(_ name: String) throws -> Bool
    /// Drops a collection and its records; false if it did not exist.
    @discardableResult func dropCollection(_ name: String) async throws -> Bool

    /// Sets (or, with nil, removes) keys of a collection's free-form configuration in one
    /// transaction, and returns the collection's settings as they now are. Dimension,
    /// metric and encoding never change. Handles opened before keep the settings they
    /// were opened with; open the collection again to see the new ones.
    ///
    /// - Throws: `.collectionNotFound`, `.invalidArgument` for an empty key.
    @discardableResult func updateConfiguration(of name: String, _ changes: [String: String?]) throws -> CollectionInfo
    /// Sets or removes configuration keys of a collection, off the cooperative pool.
    @discardableResult func updateConfiguration(of name: String, _ changes: [String: String?]) async throws -> CollectionInfo
}

extension VectorDatabase {
    /// Settings of the collections an application created, sorted by name.
    public func collections() throws -> [CollectionInfo] { try collections(includingReserved: false) }
    /// Settings of the collections an application created, sorted by name.
    public func collections() async throws -> [CollectionInfo] { try await collections(includingReserved: false) }

    /// Creates a collection.
    public func createCollection(
        _ name: String, dimension: Int, metric: Metric, encoding: VectorEncoding = .float32,
        configuration: [String: String] = [:]
    ) throws -> CollectionType {
        try createCollection(
            name, settings: CollectionSettings(dimension: dimension, metric: metric, encoding: encoding, configuration: configuration))
    }
    /// Creates a collection.
    public func createCollection(
        _ name: String, dimension: Int, metric: Metric, encoding: VectorEncoding = .float32,
        configuration: [String: String] = [:]
    ) async throws -> CollectionType {
        try await createCollection(
            name, settings: CollectionSettings(dimension: dimension, metric: metric, encoding: encoding, configuration: configuration))
    }

    /// Opens the collection if it exists (checking its settings), creates it otherwise.
    public func openOrCreateCollection(
        _ name: String, dimension: Int, metric: Metric, encoding: VectorEncoding = .float32,
        configuration: [String: String] = [:]
    ) throws -> CollectionType {
        try openOrCreateCollection(
            name, settings: CollectionSettings(dimension: dimension, metric: metric, encoding: encoding, configuration: configuration))
    }
    /// Opens the collection if it exists (checking its settings), creates it otherwise.
    public func openOrCreateCollection(
        _ name: String, dimension: Int, metric: Metric, encoding: VectorEncoding = .float32,
        configuration: [String: String] = [:]
    ) async throws -> CollectionType {
        try await openOrCreateCollection(
            name, settings: CollectionSettings(dimension: dimension, metric: metric, encoding: encoding, configuration: configuration))
    }
}

/// What a new collection is created with, and what opening one checks.
public struct CollectionSettings: Sendable, Hashable {
    /// Vector dimension, 1...65536.
    public var dimension: Int
    /// Scoring metric.
    public var metric: Metric
    /// How vectors are stored.
    public var encoding: VectorEncoding
    /// Free-form settings (which embedder made the vectors). On open, only the keys given
    /// here are compared.
    public var configuration: [String: String]

    /// Creates settings.
    public init(dimension: Int, metric: Metric, encoding: VectorEncoding = .float32, configuration: [String: String] = [:]) {
        self.dimension = dimension
        self.metric = metric
        self.encoding = encoding
        self.configuration = configuration
    }
}

/// Reserved collection names.
public enum ReservedNames {
    /// Names starting with this are Quiver's own (hidden from listings unless asked).
    public static let prefix = "_"
    /// The embedding cache's collections: `_cache.<hash of the embedder>`.
    public static let embeddingCachePrefix = "_cache."

    /// Whether `name` is reserved.
    public static func isReserved(_ name: String) -> Bool { name.hasPrefix(prefix) }
}
