import Foundation
import VectorStore

/// A Quiver database in PostgreSQL with pgvector: collections that several processes (on
/// several machines) ingest and search at once, behind the same `VectorDatabase` and
/// `VectorCollection` protocols as the embedded store.
///
/// Layout: a catalog table `quiver_collections` (name, dimension, metric, encoding and the
/// configuration, the embedder record included) and one table per collection,
/// `quiver_records_<id>`, holding the id, a `vector(d)` column (with an HNSW index), the
/// chunk text, and the metadata as `jsonb` with a GIN index; a collection with a keyword
/// analyzer also has its keyword (BM25) index's tables (`PostgresKeywordIndex`), written in
/// the records' own transactions.
///
/// ```swift
/// let db = try PostgresDatabase(url: "postgres://quiver@db.internal/rag")
/// let docs = try db.openOrCreateCollection("docs", dimension: 384, metric: .cosine)
/// try docs.upsert(records)
/// let hits = try docs.search(query, k: 5, filter: .equals("lang", "en"))
/// ```
///
/// Credentials come from the URL, `PGPASSWORD` or `~/.pgpass` (libpq reads them) and never
/// appear in `location`, errors or output.
///
/// Thread safety: every call is safe from any thread or task. Synchronous calls do their
/// I/O on the calling thread; `async` calls on the database's own threads, never on the
/// cooperative pool.
public final class PostgresDatabase: VectorDatabase, Sendable {
    /// The collection type.
    public typealias CollectionType = PostgresCollection

    /// The URL without credentials.
    public let location: String
    /// The settings the database was opened with.
    public let options: PostgresOptions
    let pool: ConnectionPool

    /// Runs blocking libpq work for an `async` caller on a thread of its own. Not on a
    /// dispatch queue: libpq waits on its socket for as long as the server takes, and
    /// blocked dispatch threads starve every other queue of the process (libdispatch on
    /// Linux runs about one worker per core and cannot tell a thread waiting in `poll`
    /// from a busy one).
    func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await BlockingExecutor.onNewThread(body)
    }

    /// The catalog table.
    static let catalog = "quiver_collections"
    /// pgvector indexes vectors of at most this many dimensions (HNSW).
    static let maxIndexedDimension = 2000
    /// pgvector's `vector` type holds at most this many dimensions.
    static let maxDimension = 16000

    /// Connects to the database at `url` (`postgres://user@host:port/db`, or with
    /// `?host=/socket/dir`), creating the `vector` extension and the catalog when missing.
    ///
    /// - Throws: `.invalidArgument` for a URL that is not `postgres://`; `.storage` when the
    ///   server cannot be reached or the extension cannot be created (the message names the
    ///   URL without credentials).
    public init(url: String, options: PostgresOptions = PostgresOptions()) throws {
        guard PostgresURL.isPostgres(url) else {
            throw StoreError(.invalidArgument, "\(PostgresURL.redacted(url)) is not a postgres:// URL", input: "store")
        }
        let location = PostgresURL.redacted(url)
        self.location = location
        self.options = options
        let pool = ConnectionPool(conninfo: url, location: location, capacity: options.maxConnections, reconnect: options.reconnect)
        self.pool = pool
        do {
            pgvectorVersion = try pool.with { conn in
                try conn.transaction {
                    // One process at a time creates the schema (CREATE … IF NOT EXISTS races otherwise).
                    try conn.exec("SELECT pg_advisory_xact_lock(\(Self.lockSpace), 0)")
                    try conn.exec("CREATE EXTENSION IF NOT EXISTS vector")
                    try conn.exec(
                        """
                        CREATE TABLE IF NOT EXISTS \(Self.catalog) (
                            id bigserial PRIMARY KEY,
                            name text COLLATE "C" NOT NULL UNIQUE,
                            dimension integer NOT NULL,
                            metric text NOT NULL,
                            encoding text NOT NULL,
                            configuration jsonb NOT NULL,
                            format integer NOT NULL DEFAULT 1)
                        """)
                    return try conn.exec("SELECT extversion FROM pg_extension WHERE extname = 'vector'").string(0, 0) ?? ""
                }
            }
        } catch let error as PGError {
            throw Self.storeError(error, location: location, collection: nil)
        }
    }

    /// The server's pgvector version, e.g. `0.8.2`.
    public let pgvectorVersion: String

    /// Whether pgvector scans the HNSW index iteratively under a filter (0.8 and later).
    var hasIterativeScan: Bool {
        let parts = pgvectorVersion.split(separator: ".").compactMap { Int($0) }
        return parts.count >= 2 && (parts[0], parts[1]) >= (0, 8)
    }

    /// The first key of Quiver's advisory locks (`pg_advisory_xact_lock(space, id)`).
    static let lockSpace: Int32 = 0x5156_4552  // "QVER"

    // MARK: Collections

    /// Settings of the collections, sorted by name; reserved ones only when asked.
    public func collections(includingReserved: Bool) throws -> [CollectionInfo] {
        try run(nil) { conn in
            let r = try conn.exec("SELECT name, dimension, metric, encoding, configuration::text FROM \(Self.catalog) ORDER BY name")
            return try (0..<r.rowCount).map { try Self.info(r, $0) }.filter { includingReserved || !$0.isReserved }
        }
    }

    /// Settings of the collections, off the cooperative pool.
    public func collections(includingReserved: Bool) async throws -> [CollectionInfo] {
        try await offPool { try self.collections(includingReserved: includingReserved) }
    }

    /// Opens an existing collection.
    ///
    /// - Throws: `.collectionNotFound` when there is none of that name.
    public func collection(_ name: String) throws -> PostgresCollection {
        guard BackendChecks.isPossibleName(name) else { throw notFound(name) }
        return try run(name) { conn in
            let r = try conn.exec(
                "SELECT name, dimension, metric, encoding, configuration::text, id FROM \(Self.catalog) WHERE name = $1", [name])
            guard r.rowCount == 1, let id = r.string(0, 5).flatMap({ Int64($0) }) else { throw notFound(name) }
            return PostgresCollection(database: self, info: try Self.info(r, 0), id: id)
        }
    }

    /// Opens an existing collection, off the cooperative pool.
    public func collection(_ name: String) async throws -> PostgresCollection {
        try await offPool { try self.collection(name) }
    }

    /// Creates a collection: its catalog row, its table and its indexes, in one transaction.
    ///
    /// With a keyword analyzer in the settings (`CollectionSettings.keywordAnalyzer`) the
    /// collection gets a keyword (BM25) index (`PostgresKeywordIndex`), and records the
    /// Snowball stemmer's fingerprint as the embedded store does.
    ///
    /// - Throws: `.collectionExists` if the name is taken; `.invalidArgument` for a bad
    ///   name or dimension, an unknown analyzer, or keyword fields without an analyzer.
    public func createCollection(_ name: String, settings: CollectionSettings) throws -> PostgresCollection {
        try BackendChecks.checkNewCollection(name, settings)
        guard settings.dimension <= Self.maxDimension else {
            throw StoreError(
                .invalidArgument,
                "collection \"\(name)\": pgvector stores at most \(Self.maxDimension) dimensions, got \(settings.dimension)",
                input: "dimension", collection: name, expected: "at most \(Self.maxDimension)", actual: "\(settings.dimension)")
        }
        let settings = try KeywordIndexSettings.preparedForCreate(settings, name: name)
        // Its `vector(d)` column holds float32; the compact encodings are the embedded store's.
        guard settings.encoding == .float32 else {
            throw StoreError(
                .invalidArgument,
                "collection \"\(name)\": the PostgreSQL backend stores f32 vectors, not \(settings.encoding.rawValue)",
                input: "encoding", collection: name, expected: VectorEncoding.float32.rawValue, actual: settings.encoding.rawValue)
        }
        let configuration = Self.configurationJSON(settings.configuration)
        let options = options
        let id: Int64 = try run(name) { conn in
            try conn.transaction {
                let r: PGResult
                do {
                    r = try conn.exec(
                        """
                        INSERT INTO \(Self.catalog) (name, dimension, metric, encoding, configuration)
                        VALUES ($1, $2::integer, $3, $4, $5::jsonb) RETURNING id
                        """,
                        [name, String(settings.dimension), settings.metric.rawValue, settings.encoding.rawValue, configuration])
                } catch let error as PGError where error.sqlState == PGError.uniqueViolation {
                    throw StoreError(.collectionExists, "collection \"\(name)\" already exists", collection: name)
                }
                guard let id = r.string(0, 0).flatMap({ Int64($0) }) else {
                    throw StoreError(.storage, "creating collection \"\(name)\" returned no id", collection: name)
                }
                let table = PostgresCollection.tableName(id)
                try conn.exec(
                    """
                    CREATE TABLE \(table) (
                        id text COLLATE "C" PRIMARY KEY,
                        embedding vector(\(settings.dimension)) NOT NULL,
                        text text NOT NULL,
                        metadata jsonb NOT NULL,
                        double_fields jsonb)
                    """)
                try conn.exec("CREATE INDEX \(table)_metadata ON \(table) USING gin (metadata)")
                if options.hnswIndex && settings.dimension <= Self.maxIndexedDimension {
                    try conn.exec(Self.hnswIndexSQL(table: table, metric: settings.metric, options: options))
                }
                if settings.keywordAnalyzer != nil {
                    for sql in PostgresKeywordIndex.createSQL(id) { try conn.exec(sql) }
                }
                return id
            }
        }
        return PostgresCollection(database: self, info: CollectionInfo(name: name, settings: settings), id: id)
    }

    /// Creates a collection, off the cooperative pool.
    public func createCollection(_ name: String, settings: CollectionSettings) async throws -> PostgresCollection {
        try await offPool { try self.createCollection(name, settings: settings) }
    }

    /// Opens the collection if it exists (checking its settings), creates it otherwise.
    ///
    /// - Throws: `.collectionExists` naming the first setting that differs.
    public func openOrCreateCollection(_ name: String, settings: CollectionSettings) throws -> PostgresCollection {
        do {
            let existing = try collection(name)
            try BackendChecks.check(existing.info, against: settings)
            return existing
        } catch let error as StoreError where error.code == .collectionNotFound {
            if !BackendChecks.isPossibleName(name) { try BackendChecks.checkNewCollection(name, settings) }
            do {
                return try createCollection(name, settings: settings)
            } catch let error as StoreError where error.code == .collectionExists {
                // Another process created it between our check and our create.
                return try openOrCreateCollection(name, settings: settings)
            }
        }
    }

    /// Opens or creates the collection, off the cooperative pool.
    public func openOrCreateCollection(_ name: String, settings: CollectionSettings) async throws -> PostgresCollection {
        try await offPool { try self.openOrCreateCollection(name, settings: settings) }
    }

    /// Drops a collection and its table; false if it did not exist.
    @discardableResult
    public func dropCollection(_ name: String) throws -> Bool {
        guard BackendChecks.isPossibleName(name) else { return false }
        return try run(name) { conn in
            try conn.transaction {
                let r = try conn.exec("DELETE FROM \(Self.catalog) WHERE name = $1 RETURNING id", [name])
                guard r.rowCount == 1, let id = r.string(0, 0).flatMap({ Int64($0) }) else { return false }
                try conn.exec("DROP TABLE IF EXISTS \(PostgresCollection.tableName(id))")
                try conn.exec(PostgresKeywordIndex.dropSQL(id))
                return true
            }
        }
    }

    /// Drops a collection, off the cooperative pool.
    @discardableResult
    public func dropCollection(_ name: String) async throws -> Bool {
        try await offPool { try self.dropCollection(name) }
    }

    /// Sets or removes keys of a collection's configuration in one transaction.
    ///
    /// - Throws: `.collectionNotFound`, `.invalidArgument` for an empty key or a key of the
    ///   keyword index (`buildKeywordIndex` and `dropKeywordIndex` change those).
    @discardableResult
    public func updateConfiguration(of name: String, _ changes: [String: String?]) throws -> CollectionInfo {
        try BackendChecks.checkConfigurationChange(changes, collection: name)
        guard BackendChecks.isPossibleName(name) else { throw notFound(name) }
        return try run(name) { conn in
            try conn.transaction {
                let r = try conn.exec(
                    "SELECT name, dimension, metric, encoding, configuration::text FROM \(Self.catalog) WHERE name = $1 FOR UPDATE", [name])
                guard r.rowCount == 1 else { throw notFound(name) }
                var settings = try Self.info(r, 0).settings
                for (key, value) in changes { settings.configuration[key] = value }
                try conn.exec(
                    "UPDATE \(Self.catalog) SET configuration = $2::jsonb WHERE name = $1",
                    [name, Self.configurationJSON(settings.configuration)])
                return CollectionInfo(name: name, settings: settings)
            }
        }
    }

    /// Sets or removes configuration keys, off the cooperative pool.
    @discardableResult
    public func updateConfiguration(of name: String, _ changes: [String: String?]) async throws -> CollectionInfo {
        try await offPool { try self.updateConfiguration(of: name, changes) }
    }

    /// Builds the HNSW index of a collection created without one
    /// (`PostgresOptions.hnswIndex` off: loading first and indexing once is much faster
    /// than keeping the index up to date row by row). Does nothing when it exists.
    ///
    /// - Parameter memory: `maintenance_work_mem` for the build; the graph builds fastest
    ///   when it fits.
    /// - Throws: `.collectionNotFound`, `.invalidArgument` above 2000 dimensions.
    public func buildHNSWIndex(of name: String, memory: String = "1GB") throws {
        let c = try collection(name)
        guard c.info.dimension <= Self.maxIndexedDimension else {
            throw StoreError(
                .invalidArgument, "pgvector's HNSW index holds at most \(Self.maxIndexedDimension) dimensions", input: "dimension",
                collection: name, expected: "at most \(Self.maxIndexedDimension)", actual: "\(c.info.dimension)")
        }
        let sql = Self.hnswIndexSQL(table: c.table, metric: c.info.metric, options: options).replacingOccurrences(
            of: "CREATE INDEX", with: "CREATE INDEX IF NOT EXISTS")
        try run(name) { conn in
            try conn.exec("SELECT set_config('maintenance_work_mem', $1, false)", [memory])
            defer { _ = try? conn.exec("RESET maintenance_work_mem") }
            try conn.exec(sql)
        }
    }

    static func hnswIndexSQL(table: String, metric: Metric, options: PostgresOptions) -> String {
        // Cosine collections hold unit vectors: their inner product is the cosine.
        let ops = metric == .l2 ? "vector_l2_ops" : "vector_ip_ops"
        return """
            CREATE INDEX \(table)_hnsw ON \(table) USING hnsw (embedding \(ops))
            WITH (m = \(max(2, options.hnswM)), ef_construction = \(max(4, options.hnswEfConstruction)))
            """
    }

    // MARK: Plumbing

    /// Runs `body` with a pooled connection, retrying on a lost connection (the work must be
    /// safe to repeat: a read, or one whole transaction) and on a deadlock, and turns libpq's
    /// errors into `StoreError`s.
    func run<T>(_ collection: String?, _ body: (PGConnection) throws -> T) throws -> T {
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try pool.with(body)
            } catch let error as PGError
                where (error.sqlState == PGError.deadlockDetected || error.sqlState == PGError.serializationFailure) && attempt < 4
            {
                continue
            } catch let error as PGError {
                throw storeError(error, collection: collection)
            }
        }
    }

    func storeError(_ error: PGError, collection: String?) -> StoreError {
        Self.storeError(error, location: location, collection: collection)
    }

    static func storeError(_ error: PGError, location: String, collection: String?) -> StoreError {
        if error.sqlState == PGError.undefinedTable, let collection {
            return StoreError(
                .collectionNotFound, "no collection named \"\(collection)\" in \(location)", path: location, collection: collection)
        }
        if error.connecting {
            return StoreError(.storage, "cannot connect to PostgreSQL at \(location)", underlying: error.message, path: location)
        }
        let state = error.sqlState.map { "SQLSTATE \($0): " } ?? ""
        return StoreError(
            .storage, "PostgreSQL at \(location) failed\(collection.map { " on collection \"\($0)\"" } ?? "")",
            underlying: state + error.message, path: location, collection: collection)
    }

    func notFound(_ name: String) -> StoreError {
        StoreError(.collectionNotFound, "no collection named \"\(name)\" in \(location)", path: location, collection: name)
    }

    static func info(_ r: PGResult, _ row: Int) throws -> CollectionInfo {
        guard let name = r.string(row, 0), let dimension = r.string(row, 1).flatMap({ Int($0) }),
            let metric = r.string(row, 2).flatMap({ Metric(rawValue: $0) }),
            let encoding = r.string(row, 3).flatMap({ VectorEncoding(rawValue: $0) }), let json = r.string(row, 4)
        else {
            throw StoreError(.corrupted, "a row of \(catalog) does not decode (an unknown metric or encoding?)")
        }
        let configuration: [String: String]
        do {
            configuration = try JSONDecoder().decode([String: String].self, from: Data(json.utf8))
        } catch {
            throw StoreError(.corrupted, "the configuration of collection \"\(name)\" does not decode", collection: name)
        }
        let settings = CollectionSettings(dimension: dimension, metric: metric, encoding: encoding, configuration: configuration)
        return CollectionInfo(name: name, settings: settings)
    }

    static func configurationJSON(_ c: [String: String]) -> String {
        "{" + c.sorted { $0.key < $1.key }.map { SQLText.json($0.key) + ":" + SQLText.json($0.value) }.joined(separator: ",") + "}"
    }
}
