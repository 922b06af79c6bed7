/// The metadata index: `(field, value)` → row ids (`IndexKey` layouts, DUPSORT/DUPFIXED
/// row ids), plus `field` → rows that have it. Filters are evaluated on it
/// (`LMDBCollection.evaluate`), and it makes the gather path possible: a selective filter
/// scores only its rows.
struct MetadataIndex: SecondaryIndex {
    static let name = "metadata"
    let table: Table<IndexKeyBytes>

    var name: String { Self.name }

    func entries(for record: Record) -> [[UInt8]] { IndexKey.keys(for: record.metadata) }

    func insert(_ rows: [(row: UInt64, entries: [[UInt8]])], _ txn: Transaction) throws {
        var postings: [[UInt8]: [UInt64]] = [:]
        for (row, entries) in rows {
            for key in entries { postings[key, default: []].append(row) }
        }
        for (key, rows) in postings { try table.putRows(txn, key, rows) }
    }

    func remove(row: UInt64, record: RecordCodec.Decoded, _ txn: Transaction) throws {
        for key in IndexKey.keys(for: record.metadata) { try table.deleteRow(txn, key, row) }
    }

    func danglingEntries(_ txn: Transaction, rowExists: (UInt64) throws -> Bool) throws -> Int {
        var dangling = 0
        try txn.withCursor(table.dbi) { c in
            var e = try c.get(.first)
            while let entry = e {
                // An entry of the wrong size names no row either.
                if entry.value.count != 8 {
                    dangling += 1
                } else if try !rowExists(try RowIDValue.decode(entry.value, "a metadata index entry")) {
                    dangling += 1
                }
                e = try c.get(.next)
            }
        }
        return dangling
    }

    var accessPaths: [any AccessPath] { [GatherPath()] }
}
