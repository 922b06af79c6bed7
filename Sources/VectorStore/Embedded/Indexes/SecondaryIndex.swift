/// A secondary index of an LMDB collection, maintained inside the same write transaction
/// as the records it indexes: an upsert, a delete, a replaced document or a merge never
/// leaves it stale. Today the metadata index; a keyword (BM25) or a partition (IVF) index
/// plugs in here, and contributes the access paths it makes possible to the planner.
///
/// Rows keep their row ids when blocks are merged or compacted, so an index keyed by row
/// id is untouched by maintenance.
protocol SecondaryIndex: Sendable {
    /// The index's name, for plans and check reports.
    var name: String { get }
    /// The entries of one record (opaque to the collection), computed while a batch is
    /// prepared: on all cores, outside the write transaction.
    func entries(for record: Record) -> [[UInt8]]
    /// Adds the entries of rows just written.
    func insert(_ rows: [(row: UInt64, entries: [[UInt8]])], _ txn: Transaction) throws
    /// Removes the entries of a row about to be deleted, given its stored record.
    func remove(row: UInt64, record: RecordCodec.Decoded, _ txn: Transaction) throws
    /// Entries that name rows which do not exist (a check).
    func danglingEntries(_ txn: Transaction, rowExists: (UInt64) throws -> Bool) throws -> Int
    /// Access paths this index makes possible.
    var accessPaths: [any AccessPath] { get }
    /// Whether a write prepares this index's share of a whole batch at once (the keyword
    /// index's `KeywordBatch`) instead of ``entries(for:)`` per record and ``insert(_:_:)``.
    var preparesBatches: Bool { get }
}

extension SecondaryIndex {
    var preparesBatches: Bool { false }
}
