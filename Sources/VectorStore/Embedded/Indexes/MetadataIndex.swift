import Foundation

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
        // Grouped by key under a hash of the key's bytes at once (`[UInt8]`'s own hashing
        // takes them one at a time: a fifth of the CPU of writing a chunk), then put in key
        // order, so that neighbouring keys' puts find their pages already touched.
        var postings: [KeyBytes: [UInt64]] = [:]
        postings.reserveCapacity(rows.count * 4)
        for (row, entries) in rows {
            for key in entries { postings[KeyBytes(bytes: key), default: []].append(row) }
        }
        for (key, rows) in postings.sorted(by: { $0.key < $1.key }) { try table.putRows(txn, key.bytes, rows) }
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

/// An index key's bytes as a dictionary key: hashed in one call, ordered as LMDB orders keys
/// (byte-wise, a prefix first).
struct KeyBytes: Hashable, Comparable {
    let bytes: [UInt8]

    func hash(into hasher: inout Hasher) { bytes.withUnsafeBytes { hasher.combine(bytes: $0) } }

    static func == (a: KeyBytes, b: KeyBytes) -> Bool {
        a.bytes.count == b.bytes.count
            && a.bytes.withUnsafeBytes { x in
                b.bytes.withUnsafeBytes { y in x.isEmpty || memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0 }
            }
    }

    static func < (a: KeyBytes, b: KeyBytes) -> Bool {
        a.bytes.withUnsafeBytes { x in
            b.bytes.withUnsafeBytes { y in
                let n = min(x.count, y.count)
                let c = n == 0 ? 0 : memcmp(x.baseAddress!, y.baseAddress!, n)
                return c != 0 ? c < 0 : x.count < y.count
            }
        }
    }
}
