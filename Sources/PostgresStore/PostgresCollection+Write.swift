import Foundation
import VectorStore

extension PostgresCollection {
    /// Checks `records` as `write` would, writing nothing.
    public func validate(_ records: [Record]) throws {
        for (i, r) in records.enumerated() { _ = try BackendChecks.checkRecord(r, position: i, info: info) }
    }

    /// Upserts `records`, deletes `ids` and every record matching `filter`, in one
    /// transaction.
    ///
    /// A write with `deletingWhere` first takes the collection's advisory lock, so that two
    /// processes replacing the same document run one after the other, and the second one's
    /// delete sees the first one's chunks (under READ COMMITTED each statement sees what
    /// committed before it started): a document never ends with the chunks of two versions.
    /// Rows are written in id order, so that concurrent batches sharing ids cannot deadlock.
    /// With a keyword index, the records' texts are analyzed before the transaction, and
    /// their postings and the collection statistics change in it (`PostgresKeywordIndex`).
    ///
    /// - Throws: `.dimensionMismatch`, `.invalidVector`, `.invalidID`, `.invalidMetadata`,
    ///   `.invalidArgument` for a bad filter; nothing is written when any record is invalid.
    public func write(upsert records: [Record], deleting ids: [String], deletingWhere filter: Filter?) throws {
        try BackendChecks.checkFilter(filter)
        var last: [String: Int] = [:]
        last.reserveCapacity(records.count)
        for (i, r) in records.enumerated() { last[r.id] = i }
        var rows: [(id: String, vector: String, text: String, metadata: String, doubles: String?)] = []
        rows.reserveCapacity(last.count)
        for (i, r) in records.enumerated() {
            let (vector, _) = try BackendChecks.checkRecord(r, position: i, info: info)
            guard last[r.id] == i else { continue }
            let (json, doubles) = SQLText.metadata(r.metadata)
            rows.append((r.id, SQLText.vector(vector), r.text, json, doubles))
        }
        rows.sort { $0.id.utf8.lexicographicallyPrecedes($1.id.utf8) }
        let upserted = Set(rows.map(\.id))
        let deleted = Set(ids.filter { BackendChecks.isStorableID($0) && !upserted.contains($0) }).sorted {
            $0.utf8.lexicographicallyPrecedes($1.utf8)
        }
        var p = SQLParameters()
        let condition = filter.map { SQLFilter.condition($0, &p) }
        let insert =
            rows.isEmpty
            ? nil
            : [
                SQLText.array(rows.map(\.id)), SQLText.array(rows.map(\.vector)), SQLText.array(rows.map(\.text)),
                SQLText.array(rows.map(\.metadata)), SQLText.array(rows.map(\.doubles)),
            ]
        try checkKeywordIndexWritable()
        let keywordRows = try keywordIndex.map { index in
            try index.rows(
                records.enumerated().filter { last[$0.element.id] == $0.offset }.map {
                    ($0.element.id, $0.element.text, $0.element.metadata)
                },
                threads: ProcessInfo.processInfo.activeProcessorCount)
        }
        try commit(deleting: deleted, condition: condition.map { ($0, p.values) }, insert: insert, keywordRows: keywordRows)
    }

    /// One write transaction: checks that the collection's indexes are still the ones this
    /// handle knows, deletes `ids` and the rows matching `condition`, upserts `insert`
    /// (the arrays of the upsert statement), then keeps the keyword index in step (the
    /// postings of every deleted or replaced record out, `keywordRows` in, the statistics
    /// moved last). Returns how many records the deletes removed.
    @discardableResult
    func commit(
        deleting ids: [String], condition: (sql: String, values: [String?])?, insert: [String?]?,
        keywordRows: PostgresKeywordIndex.Rows?
    ) throws -> Int {
        try checkKeywordIndexWritable()
        return try run { conn in
            try conn.transaction {
                try lockForWriting(conn)
                if condition != nil {
                    try conn.exec(
                        "SELECT pg_advisory_xact_lock(\(PostgresDatabase.lockSpace), $1::integer)", [String(id % Int64(Int32.max))])
                }
                var gone: [String] = []
                if !ids.isEmpty {
                    let r = try conn.exec("DELETE FROM \(table) WHERE id = ANY($1::text[]) RETURNING id", [SQLText.array(ids)])
                    gone += (0..<r.rowCount).compactMap { r.string($0, 0) }
                }
                if let condition {
                    let r = try conn.exec("DELETE FROM \(table) WHERE \(condition.sql) RETURNING id", condition.values)
                    gone += (0..<r.rowCount).compactMap { r.string($0, 0) }
                }
                if let insert {
                    try conn.exec(
                        """
                        INSERT INTO \(table) (id, embedding, text, metadata, double_fields)
                        SELECT * FROM unnest($1::text[], $2::vector[], $3::text[], $4::jsonb[], $5::jsonb[])
                        ON CONFLICT (id) DO UPDATE SET embedding = excluded.embedding, text = excluded.text,
                            metadata = excluded.metadata, double_fields = excluded.double_fields
                        """, insert)
                }
                if let keywordIndex, let keywordRows {
                    // The records' rows are locked now: no other writer touches their postings until this commits.
                    let removed = try keywordIndex.remove(gone + keywordRows.ids, conn)
                    try keywordIndex.insert(keywordRows, conn)
                    try keywordIndex.updateStats(
                        documents: keywordRows.ids.count - removed.documents, length: keywordRows.totalLength - removed.length, conn)
                }
                return gone.count
            }
        }
    }

    /// Throws `.invalidArgument` when the keyword index cannot be used: new postings would
    /// be another analyzer's terms.
    func checkKeywordIndexWritable() throws {
        if let problem = keywordIndex?.problem { throw StoreError(.invalidArgument, problem, collection: info.name) }
    }

    /// Takes the lock every write holds on the records table (`ROW EXCLUSIVE`, which
    /// building or dropping the keyword index waits for and excludes), then checks that the
    /// collection still exists and that its keyword index is the one this handle was
    /// opened with: a handle from before a build would write records without postings.
    ///
    /// - Throws: `.collectionNotFound`; `.invalidArgument` when the index changed.
    func lockForWriting(_ conn: PGConnection) throws {
        try conn.exec("LOCK TABLE \(table) IN ROW EXCLUSIVE MODE")
        let keys = [KeywordIndexSettings.configurationKey, KeywordIndexSettings.fieldsKey, KeywordIndexSettings.stemmerKey]
        let r = try conn.exec(
            "SELECT configuration->>$2::text, configuration->>$3::text, configuration->>$4::text FROM \(PostgresDatabase.catalog) WHERE id = $1::bigint",
            [String(id)] + keys)
        guard r.rowCount == 1 else { throw db.notFound(info.name) }
        for (i, key) in keys.enumerated() where r.string(0, i) != info.configuration[key] {
            throw StoreError(
                .invalidArgument,
                "the keyword index of collection \"\(info.name)\" was "
                    + (r.string(0, 0) == nil ? "dropped" : "built or changed")
                    + " after this handle was opened; open the collection again to write",
                collection: info.name)
        }
    }

    /// Upserts and deletes in one transaction, off the cooperative pool.
    public func write(upsert records: [Record], deleting ids: [String], deletingWhere filter: Filter?) async throws {
        try await db.offPool { try self.write(upsert: records, deleting: ids, deletingWhere: filter) }
    }

    /// Deletes the records with `ids` (and their keyword postings); returns how many
    /// existed.
    public func delete(ids: [String]) throws -> Int {
        let wanted = Array(Set(ids.filter(BackendChecks.isStorableID))).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        return try commit(deleting: wanted, condition: nil, insert: nil, keywordRows: keywordIndex.map { _ in .init() })
    }

    /// Deletes the records with `ids`, off the cooperative pool.
    public func delete(ids: [String]) async throws -> Int { try await db.offPool { try self.delete(ids: ids) } }

    /// Deletes every record matching `filter` (and their keyword postings); returns how
    /// many.
    public func delete(where filter: Filter) throws -> Int {
        try BackendChecks.checkFilter(filter)
        var p = SQLParameters()
        let condition = SQLFilter.condition(filter, &p)
        return try commit(deleting: [], condition: (condition, p.values), insert: nil, keywordRows: keywordIndex.map { _ in .init() })
    }

    /// Deletes every record matching `filter`, off the cooperative pool.
    public func delete(where filter: Filter) async throws -> Int { try await db.offPool { try self.delete(where: filter) } }
}
