import Foundation
import VectorStore

/// A collection in PostgreSQL: one table of records (id, `vector(d)`, text, `jsonb`
/// metadata). Reads see one committed snapshot per statement; a write is one transaction.
///
/// ```swift
/// let docs = try db.collection("docs")
/// let exact = try docs.search(q, k: 10)                                   // exact (a scan)
/// let fast = try docs.approximate(efSearch: 100).search(q, k: 10)         // pgvector's HNSW index
/// ```
///
/// Thread safety: a value type holding only immutable state; every call is safe from any
/// thread or task.
public struct PostgresCollection: VectorCollection {
    /// How a handle searches: exactly (the default), or through the HNSW index.
    public enum SearchMethod: Sendable, Hashable {
        /// Scores every candidate row (the filter's matches): the true top-k.
        case exact
        /// pgvector's HNSW index with this `hnsw.ef_search` (candidate list; more is slower
        /// and closer to exact). With a filter the index is scanned iteratively until `k`
        /// matches are found.
        case hnsw(efSearch: Int)
    }

    /// The collection's settings.
    public let info: CollectionInfo
    /// The catalog id; names the table.
    let id: Int64
    let db: PostgresDatabase
    /// How this handle searches.
    public let searchMethod: SearchMethod
    /// The keyword (BM25) index the collection had when this handle was opened.
    let keywordIndex: PostgresKeywordIndex?

    init(database: PostgresDatabase, info: CollectionInfo, id: Int64, searchMethod: SearchMethod = .exact) {
        db = database
        self.info = info
        self.id = id
        self.searchMethod = searchMethod
        keywordIndex = PostgresKeywordIndex(info: info, id: id)
    }

    /// Why the collection's keyword index cannot be used as it is (made by an analyzer or
    /// a Snowball stemmer release this build does not have), or nil. Keyword and hybrid
    /// searches and writes are refused until `PostgresDatabase.buildKeywordIndex`
    /// rebuilds it.
    public var keywordIndexProblem: String? { keywordIndex?.problem }

    /// The database holding the collection.
    public var database: any VectorDatabase { db }

    /// The same collection, searched through the HNSW index with `ef_search` candidates
    /// (approximate: a hit may be missed). Without an index (dimension over 2000, or
    /// `PostgresOptions.hnswIndex` off when it was created) searches stay exact.
    public func approximate(efSearch: Int = 100) -> PostgresCollection {
        PostgresCollection(database: db, info: info, id: id, searchMethod: .hnsw(efSearch: max(1, efSearch)))
    }

    /// The same collection, searched exactly.
    public func exact() -> PostgresCollection {
        PostgresCollection(database: db, info: info, id: id, searchMethod: .exact)
    }

    /// The record table's name: built from the catalog's integer id, never from the
    /// collection's name.
    static func tableName(_ id: Int64) -> String { "quiver_records_\(id)" }
    var table: String { Self.tableName(id) }

    func run<T>(_ body: (PGConnection) throws -> T) throws -> T { try db.run(info.name, body) }

    // MARK: Reads

    /// Number of records.
    public func count() throws -> Int {
        try run { conn in Int(try conn.exec("SELECT count(*) FROM \(table)").string(0, 0) ?? "0") ?? 0 }
    }

    /// Number of records, off the cooperative pool.
    public func count() async throws -> Int { try await db.offPool { try self.count() } }

    /// The records with `ids`, in order (nil where absent), read in one statement.
    public func get(_ ids: [String]) throws -> [Record?] {
        let wanted = Array(Set(ids.filter(BackendChecks.isStorableID)))
        var found: [String: Record] = [:]
        if !wanted.isEmpty {
            try run { conn in
                let r = try conn.exec(
                    "SELECT id, embedding::text, text, metadata::text, double_fields::text FROM \(table) WHERE id = ANY($1::text[])",
                    [SQLText.array(wanted)])
                for row in 0..<r.rowCount {
                    let record = try decodeRecord(r, row)
                    found[record.id] = record
                }
            }
        } else {
            // A dropped collection still says so.
            _ = try count()
        }
        return ids.map { found[$0] }
    }

    /// The records with `ids`, off the cooperative pool.
    public func get(_ ids: [String]) async throws -> [Record?] { try await db.offPool { try self.get(ids) } }

    /// Ids and metadata of the records matching `filter`.
    public func metadata(where filter: Filter) throws -> [String: [String: MetadataValue]] {
        try BackendChecks.checkFilter(filter)
        var p = SQLParameters()
        let condition = SQLFilter.condition(filter, &p)
        return try run { conn in
            let r = try conn.exec("SELECT id, metadata::text, double_fields::text FROM \(table) WHERE \(condition)", p.values)
            var out: [String: [String: MetadataValue]] = [:]
            out.reserveCapacity(r.rowCount)
            for row in 0..<r.rowCount {
                guard let id = r.string(row, 0), let json = r.string(row, 1) else { continue }
                out[id] = try SQLText.decodeMetadata(json, doubles: r.string(row, 2))
            }
            return out
        }
    }

    /// Ids and metadata of the records matching `filter`, off the cooperative pool.
    public func metadata(where filter: Filter) async throws -> [String: [String: MetadataValue]] {
        try await db.offPool { try self.metadata(where: filter) }
    }

    /// How many distinct string values `field` has (each element of a list counts).
    public func distinctStringValueCount(of field: String) throws -> Int {
        try run { conn in
            let r = try conn.exec(
                """
                SELECT count(DISTINCT v) FROM (
                    SELECT metadata->>$1::text AS v FROM \(table)
                    WHERE jsonb_typeof(metadata->$1::text) = 'string' AND NOT COALESCE(double_fields ? $1::text, FALSE)
                    UNION ALL
                    SELECT jsonb_array_elements_text(metadata->$1::text) FROM \(table) WHERE jsonb_typeof(metadata->$1::text) = 'array'
                ) s
                """, [field])
            return Int(r.string(0, 0) ?? "0") ?? 0
        }
    }

    /// How many distinct string values `field` has, off the cooperative pool.
    public func distinctStringValueCount(of field: String) async throws -> Int {
        try await db.offPool { try self.distinctStringValueCount(of: field) }
    }

    /// Decodes a row of (id, embedding, text, metadata, double_fields).
    func decodeRecord(_ r: PGResult, _ row: Int, offset: Int = 0) throws -> Record {
        guard let id = r.string(row, offset), let text = r.string(row, offset + 2), let json = r.string(row, offset + 3) else {
            throw StoreError(.corrupted, "a record of \"\(info.name)\" has NULL columns", collection: info.name)
        }
        guard let vector = r.withBytes(row, offset + 1, { SQLText.parseVector($0, dimension: info.dimension) }) else {
            throw StoreError(.corrupted, "record \"\(id)\" of \"\(info.name)\" has a malformed vector", collection: info.name, recordID: id)
        }
        return Record(id: id, vector: vector, text: text, metadata: try SQLText.decodeMetadata(json, doubles: r.string(row, offset + 4)))
    }
}
