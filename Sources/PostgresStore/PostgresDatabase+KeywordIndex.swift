import Foundation
import VectorStore

extension PostgresDatabase {
    /// Builds (or rebuilds, with another analyzer or fields) the keyword (BM25) index of a
    /// collection from the texts it holds, without touching its vectors, in one
    /// transaction: searches see the collection without the index (or with the old one)
    /// until it commits, and writers wait for it (it holds the records table in `SHARE ROW
    /// EXCLUSIVE` mode, which excludes writers but not readers). Texts are analyzed in
    /// Swift on all cores, with the analyzer the embedded store uses. `progress` is called
    /// with (records indexed, records) from the calling thread.
    ///
    /// Handles opened before cannot write afterwards (their writes would miss the index):
    /// open the collection again.
    ///
    /// ```swift
    /// let docs = try db.buildKeywordIndex(of: "docs", analyzer: .english, fields: ["title"])
    /// let hits = try docs.search(SearchRequest(texts: ["lighthouse keeper"], k: 5, mode: .keyword))
    /// ```
    ///
    /// - Parameter fields: metadata fields whose string values are indexed with each
    ///   record's text (`KeywordIndexSettings.fieldsKey`); nil keeps the fields the
    ///   collection records.
    /// - Returns: the collection, opened again with its index.
    /// - Throws: `.collectionNotFound`; `.invalidArgument` for an unknown language or a bad
    ///   field name.
    @discardableResult
    public func buildKeywordIndex(
        of name: String, analyzer settings: AnalyzerSettings = .english, fields: [String]? = nil,
        progress: ((Int, Int) -> Void)? = nil
    ) throws -> PostgresCollection {
        let analyzer = try KeywordIndexSettings.analyzer(settings)
        if let fields { try KeywordIndexSettings.validate(fields: fields) }
        let old = try collection(name)
        let id = old.id
        let table = old.table
        try run(name) { conn in
            try conn.transaction {
                try conn.exec("LOCK TABLE \(table) IN SHARE ROW EXCLUSIVE MODE")
                // The settings as they are now, under the catalog row's lock.
                let r = try conn.exec(
                    "SELECT name, dimension, metric, encoding, configuration::text FROM \(Self.catalog) WHERE id = $1::bigint FOR UPDATE",
                    [String(id)])
                guard r.rowCount == 1 else { throw notFound(name) }
                var newSettings = try Self.info(r, 0).settings
                if let fields { newSettings.keywordFields = fields }
                newSettings.keywordAnalyzer = settings
                newSettings.configuration[KeywordIndexSettings.stemmerKey] = analyzer.stemmerFingerprint
                let info = CollectionInfo(name: name, settings: newSettings)
                let configuration = Self.configurationJSON(newSettings.configuration)
                try conn.exec(PostgresKeywordIndex.dropSQL(id))
                for sql in PostgresKeywordIndex.createSQL(id) { try conn.exec(sql) }
                guard let index = PostgresKeywordIndex(info: info, id: id) else { return }
                let total = Int(try conn.exec("SELECT count(*) FROM \(table)").string(0, 0) ?? "0") ?? 0
                progress?(0, total)
                try conn.exec(
                    "DECLARE quiver_keyword_build NO SCROLL CURSOR FOR SELECT id, text, metadata::text, double_fields::text FROM \(table)")
                var done = 0
                var documents = 0
                var length = 0
                while true {
                    let batch = try conn.exec("FETCH 4096 FROM quiver_keyword_build")
                    guard batch.rowCount > 0 else { break }
                    var records: [(id: String, text: String, metadata: [String: MetadataValue])] = []
                    records.reserveCapacity(batch.rowCount)
                    for row in 0..<batch.rowCount {
                        guard let rid = batch.string(row, 0), let text = batch.string(row, 1), let json = batch.string(row, 2) else {
                            throw StoreError(.corrupted, "a record of \"\(name)\" has NULL columns", collection: name)
                        }
                        // Only the keyword fields are needed: the rest of the metadata is not decoded.
                        let metadata = index.fields.isEmpty ? [:] : try SQLText.decodeMetadata(json, doubles: batch.string(row, 3))
                        records.append((rid, text, metadata))
                    }
                    let rows = try index.rows(records, threads: ProcessInfo.processInfo.activeProcessorCount)
                    try index.insert(rows, conn)
                    documents += rows.ids.count
                    length += rows.totalLength
                    done += batch.rowCount
                    progress?(done, total)
                }
                try conn.exec("CLOSE quiver_keyword_build")
                try index.updateStats(documents: documents, length: length, conn)
                try conn.exec("UPDATE \(Self.catalog) SET configuration = $2::jsonb WHERE id = $1::bigint", [String(id), configuration])
                // The new tables' statistics, so that the first searches plan with them.
                try conn.exec("ANALYZE \(index.postings), \(index.docs)")
            }
        }
        return try collection(name)
    }

    /// Vacuums and analyzes a collection's tables (its records and, with a keyword index,
    /// its postings and term lists): after a bulk load, so that the postings' index-only
    /// scans skip the heap (until autovacuum gets there, each posting read also visits its
    /// table page) and the planner knows the tables' sizes. Readers and writers go on
    /// meanwhile (`VACUUM` without `FULL` takes no lock they wait for).
    ///
    /// - Throws: `.collectionNotFound`.
    public func vacuum(_ name: String) throws {
        let c = try collection(name)
        var tables = [c.table]
        if let index = c.keywordIndex { tables += [index.postings, index.docs, index.stats] }
        try run(name) { conn in
            // VACUUM runs outside a transaction block, one statement.
            _ = try conn.exec("VACUUM (ANALYZE) " + tables.joined(separator: ", "))
        }
    }

    /// Removes a collection's keyword index (its tables and its analyzer record); keyword
    /// and hybrid searches of it are refused until one is built again. Returns false when
    /// it had none. Handles opened before cannot write afterwards: open the collection again.
    ///
    /// - Throws: `.collectionNotFound`.
    @discardableResult
    public func dropKeywordIndex(of name: String) throws -> Bool {
        let old = try collection(name)
        return try run(name) { conn in
            try conn.transaction {
                try conn.exec("LOCK TABLE \(old.table) IN SHARE ROW EXCLUSIVE MODE")
                let r = try conn.exec(
                    "SELECT name, dimension, metric, encoding, configuration::text FROM \(Self.catalog) WHERE id = $1::bigint FOR UPDATE",
                    [String(old.id)])
                guard r.rowCount == 1 else { throw notFound(name) }
                var settings = try Self.info(r, 0).settings
                guard settings.configuration[KeywordIndexSettings.configurationKey] != nil else { return false }
                settings.keywordAnalyzer = nil
                settings.configuration[KeywordIndexSettings.stemmerKey] = nil
                settings.keywordFields = []
                let configuration = Self.configurationJSON(settings.configuration)
                try conn.exec(PostgresKeywordIndex.dropSQL(old.id))
                try conn.exec(
                    "UPDATE \(Self.catalog) SET configuration = $2::jsonb WHERE id = $1::bigint", [String(old.id), configuration])
                return true
            }
        }
    }
}
