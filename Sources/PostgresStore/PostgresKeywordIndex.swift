import Foundation
import VectorStore

/// The keyword (BM25) index of a PostgreSQL collection: the collection's analyzer (run in
/// Swift, the same as the embedded store's, never PostgreSQL's text search) and three
/// tables beside the records, written in the records' own transactions:
///
/// - `quiver_postings_<id>` (term, id, frequency, length): one row per distinct term of a
///   record, keyed (term, id) with the rest included, so that a term's postings are one
///   index range read in place (an index-only scan).
/// - `quiver_keyword_docs_<id>` (id, length, terms): each record's length in terms and its
///   distinct terms, so that a replaced or deleted record's postings are found by key
///   (no second index over the postings by id).
/// - `quiver_keyword_stats_<id>`: one row, the document count and total length BM25 needs,
///   moved by each write's deltas as its last statement (a relative `UPDATE` under the
///   row's lock, so concurrent writers add up exactly and wait only for each other's
///   commit).
///
/// A writer changes a record's docs row and postings only after locking the record's row
/// (its upsert or delete comes first), so two writers of one id run one after the other,
/// and the second sees the first one's postings: never a stale or a doubled posting.
struct PostgresKeywordIndex: Sendable {
    /// The analyzer the index was made with; nil when it cannot be used (see `problem`).
    let analyzer: TextAnalyzer?
    /// Metadata fields indexed with the text.
    let fields: [String]
    /// Why the index cannot be used (an unknown analyzer, another stemmer release), if so.
    let problem: String?
    let postings: String
    let docs: String
    let stats: String

    /// The index recorded in `info`'s configuration, or nil when it has none.
    init?(info: CollectionInfo, id: Int64) {
        guard let identifier = info.configuration[KeywordIndexSettings.configurationKey] else { return nil }
        (postings, docs, stats) = Self.tables(id)
        fields = info.keywordFields
        do {
            let analyzer = try KeywordIndexSettings.analyzer(try AnalyzerSettings(identifier: identifier))
            if let recorded = info.configuration[KeywordIndexSettings.stemmerKey], recorded != analyzer.stemmerFingerprint {
                problem =
                    "the keyword index of collection \"\(info.name)\" was made by another release of the Snowball stemmer "
                    + "(fingerprint \(recorded), this one \(analyzer.stemmerFingerprint)): its terms are not this analyzer's; "
                    + "rebuild it with `quiver reindex --keyword`"
                self.analyzer = nil
            } else {
                problem = nil
                self.analyzer = analyzer
            }
        } catch {
            problem =
                "collection \"\(info.name)\" has a keyword index made by analyzer \"\(identifier)\", which this version of Quiver "
                + "does not know; rebuild it with `quiver reindex --keyword`"
            analyzer = nil
        }
    }

    /// The analyzer, or `.invalidArgument` saying why the index cannot be used.
    func usableAnalyzer(_ collection: String) throws -> TextAnalyzer {
        guard let analyzer else { throw StoreError(.invalidArgument, problem ?? "the keyword index is unusable", collection: collection) }
        return analyzer
    }

    /// The postings, docs and stats tables of collection `id` (named from the catalog's
    /// integer id, never from the collection's name).
    static func tables(_ id: Int64) -> (postings: String, docs: String, stats: String) {
        ("quiver_postings_\(id)", "quiver_keyword_docs_\(id)", "quiver_keyword_stats_\(id)")
    }

    /// The statements creating collection `id`'s keyword tables, empty.
    static func createSQL(_ id: Int64) -> [String] {
        let (postings, docs, stats) = tables(id)
        return [
            """
            CREATE TABLE \(postings) (
                term text COLLATE "C" NOT NULL,
                id text COLLATE "C" NOT NULL,
                frequency integer NOT NULL,
                length integer NOT NULL,
                PRIMARY KEY (term, id) INCLUDE (frequency, length))
            """,
            "CREATE TABLE \(docs) (id text COLLATE \"C\" PRIMARY KEY, length integer NOT NULL, terms text[] NOT NULL)",
            "CREATE TABLE \(stats) (documents bigint NOT NULL, total_length bigint NOT NULL)",
            "INSERT INTO \(stats) (documents, total_length) VALUES (0, 0)",
        ]
    }

    /// The statement dropping collection `id`'s keyword tables (those that exist).
    static func dropSQL(_ id: Int64) -> String {
        let (postings, docs, stats) = tables(id)
        return "DROP TABLE IF EXISTS \(postings), \(docs), \(stats)"
    }

    /// What the index holds of each record, as bound-parameter arrays: the docs rows (ids,
    /// lengths, term lists) and the postings (terms, ids, frequencies, lengths), each in
    /// (term, id) order so that concurrent writers take the postings' index pages in one
    /// order.
    struct Rows {
        var ids: [String] = []
        var lengths: [String] = []
        var termLists: [String] = []
        var postingTerms: [String] = []
        var postingIDs: [String] = []
        var frequencies: [String] = []
        var postingLengths: [String] = []

        var isEmpty: Bool { ids.isEmpty }
        var totalLength: Int { lengths.reduce(0) { $0 + (Int($1) ?? 0) } }
    }

    /// Analyzes `records` (their text and keyword fields) on up to `threads` threads.
    func rows(_ records: [(id: String, text: String, metadata: [String: MetadataValue])], threads: Int) throws -> Rows {
        let analyzer = try usableAnalyzer("")
        let fields = fields
        let documents = PosixMutex([KeywordDocument?](repeating: nil, count: records.count))
        let workers = max(1, min(threads, records.count / 64))
        let work: @Sendable (Int) -> Void = { w in
            let range = records.count * w / workers..<records.count * (w + 1) / workers
            let part = range.map {
                KeywordDocument(text: records[$0].text, metadata: records[$0].metadata, fields: fields, analyzer: analyzer)
            }
            documents.withLock { d in for (i, doc) in zip(range, part) { d[i] = doc } }
        }
        if workers == 1 { work(0) } else { BlockingExecutor.onOwnThreads(workers, work) }
        var rows = Rows()
        var postings: [(term: String, id: String, frequency: Int, length: Int)] = []
        for (record, document) in zip(records, documents.withLock { $0 }) {
            guard let document else { continue }
            let terms = document.frequencies.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            rows.ids.append(record.id)
            rows.lengths.append(String(document.length))
            rows.termLists.append(SQLText.array(terms))
            for t in terms { postings.append((t, record.id, document.frequencies[t] ?? 0, document.length)) }
        }
        postings.sort {
            $0.term == $1.term ? $0.id.utf8.lexicographicallyPrecedes($1.id.utf8) : $0.term.utf8.lexicographicallyPrecedes($1.term.utf8)
        }
        rows.postingTerms = postings.map(\.term)
        rows.postingIDs = postings.map(\.id)
        rows.frequencies = postings.map { String($0.frequency) }
        rows.postingLengths = postings.map { String($0.length) }
        return rows
    }

    /// Removes the docs rows and postings of `ids` (records this transaction has just
    /// locked by deleting or upserting them) and returns how many documents and terms of
    /// length they held.
    func remove(_ ids: [String], _ conn: PGConnection) throws -> (documents: Int, length: Int) {
        guard !ids.isEmpty else { return (0, 0) }
        let r = try conn.exec(
            """
            WITH d AS (DELETE FROM \(docs) WHERE id = ANY($1::text[]) RETURNING id, length, terms),
            p AS (
                DELETE FROM \(postings) p USING (SELECT d.id, unnest(d.terms) AS term FROM d) x
                WHERE p.term = x.term AND p.id = x.id)
            SELECT count(*), COALESCE(sum(length), 0) FROM d
            """, [SQLText.array(ids)])
        return (Int(r.string(0, 0) ?? "0") ?? 0, Int(r.string(0, 1) ?? "0") ?? 0)
    }

    /// Inserts the docs rows and postings of `rows` (records this transaction has just
    /// upserted, their old rows removed).
    func insert(_ rows: Rows, _ conn: PGConnection) throws {
        guard !rows.isEmpty else { return }
        try conn.exec(
            "INSERT INTO \(docs) (id, length, terms) SELECT i, l, t::text[] FROM unnest($1::text[], $2::integer[], $3::text[]) AS u(i, l, t)",
            [SQLText.array(rows.ids), SQLText.array(rows.lengths), SQLText.array(rows.termLists)])
        guard !rows.postingTerms.isEmpty else { return }
        try conn.exec(
            """
            INSERT INTO \(postings) (term, id, frequency, length)
            SELECT * FROM unnest($1::text[], $2::text[], $3::integer[], $4::integer[])
            """,
            [
                SQLText.array(rows.postingTerms), SQLText.array(rows.postingIDs), SQLText.array(rows.frequencies),
                SQLText.array(rows.postingLengths),
            ])
    }

    /// Moves the collection statistics by a write's deltas: the write's last statement, so
    /// that the stats row stays locked only until its commit.
    func updateStats(documents: Int, length: Int, _ conn: PGConnection) throws {
        guard documents != 0 || length != 0 else { return }
        try conn.exec(
            "UPDATE \(stats) SET documents = documents + $1::bigint, total_length = total_length + $2::bigint",
            [String(documents), String(length)])
    }
}
