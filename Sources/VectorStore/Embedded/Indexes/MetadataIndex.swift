/// The metadata index: `(field, value)` → row ids (`IndexKey` layouts, DUPSORT/DUPFIXED
/// row ids), plus `field` → rows that have it. Filters are evaluated on it
/// (`LMDBCollection.evaluate`), and it makes the gather path possible: a selective filter
/// scores only its rows.
struct MetadataIndex: SecondaryIndex {
    static let name = "metadata"
    let table: DBI

    var name: String { Self.name }

    func entries(for record: Record) -> [[UInt8]] { IndexKey.keys(for: record.metadata) }

    func insert(_ rows: [(row: UInt64, entries: [[UInt8]])], _ txn: Transaction) throws {
        var postings: [[UInt8]: [UInt64]] = [:]
        for (row, entries) in rows {
            for key in entries { postings[key, default: []].append(row) }
        }
        for (key, rows) in postings {
            let be = rows.map { $0.bigEndian }
            try key.withUnsafeBytes { k in
                try be.withUnsafeBytes { try txn.putMultiple(table, k, values: $0, elementSize: 8) }
            }
        }
    }

    func remove(row: UInt64, record: RecordCodec.Decoded, _ txn: Transaction) throws {
        var rowBE = row.bigEndian
        try withUnsafeBytes(of: &rowBE) { r in
            for key in IndexKey.keys(for: record.metadata) {
                try key.withUnsafeBytes { _ = try txn.delete(table, $0, value: r) }
            }
        }
    }

    func danglingEntries(_ txn: Transaction, rowExists: (UInt64) throws -> Bool) throws -> Int {
        var dangling = 0
        try txn.withCursor(table) { c in
            var e = try c.get(.first)
            while let entry = e {
                // An entry of the wrong size names no row either.
                if entry.value.count != 8 {
                    dangling += 1
                } else if try !rowExists(UInt64(bigEndian: entry.value.loadUnaligned(as: UInt64.self))) {
                    dangling += 1
                }
                e = try c.get(.next)
            }
        }
        return dangling
    }

    var accessPaths: [any AccessPath] { [GatherPath()] }
}
