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
        try run { conn in
            try conn.transaction {
                if condition != nil {
                    try conn.exec(
                        "SELECT pg_advisory_xact_lock(\(PostgresDatabase.lockSpace), $1::integer)", [String(id % Int64(Int32.max))])
                }
                if !deleted.isEmpty {
                    try conn.exec("DELETE FROM \(table) WHERE id = ANY($1::text[])", [SQLText.array(deleted)])
                }
                if let condition {
                    try conn.exec("DELETE FROM \(table) WHERE \(condition)", p.values)
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
                if deleted.isEmpty && condition == nil && insert == nil {
                    // Nothing to write; a dropped collection still says so.
                    try conn.exec("SELECT 1 FROM \(table) LIMIT 0")
                }
            }
        }
    }

    /// Upserts and deletes in one transaction, off the cooperative pool.
    public func write(upsert records: [Record], deleting ids: [String], deletingWhere filter: Filter?) async throws {
        try await db.offPool { try self.write(upsert: records, deleting: ids, deletingWhere: filter) }
    }

    /// Deletes the records with `ids`; returns how many existed.
    public func delete(ids: [String]) throws -> Int {
        let wanted = Array(Set(ids.filter(BackendChecks.isStorableID))).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        return try run { conn in
            try conn.exec("DELETE FROM \(table) WHERE id = ANY($1::text[])", [SQLText.array(wanted)]).affectedRows
        }
    }

    /// Deletes the records with `ids`, off the cooperative pool.
    public func delete(ids: [String]) async throws -> Int { try await db.offPool { try self.delete(ids: ids) } }

    /// Deletes every record matching `filter`; returns how many.
    public func delete(where filter: Filter) throws -> Int {
        try BackendChecks.checkFilter(filter)
        var p = SQLParameters()
        let condition = SQLFilter.condition(filter, &p)
        return try run { conn in try conn.exec("DELETE FROM \(table) WHERE \(condition)", p.values).affectedRows }
    }

    /// Deletes every record matching `filter`, off the cooperative pool.
    public func delete(where filter: Filter) async throws -> Int { try await db.offPool { try self.delete(where: filter) } }
}
