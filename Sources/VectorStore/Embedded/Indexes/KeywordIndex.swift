import TextAnalysis

/// One posting of the keyword index: a row that holds a term, how often, and the row's
/// length in terms. 16 bytes, stored as a duplicate of the term's key (DUPFIXED), so a
/// term's postings sort by row id and are read in place a page at a time.
struct Posting {
    static let size = 16
    var row: UInt64
    var frequency: UInt32
    var length: UInt32

    /// Row id big-endian (so that duplicates sort by row), then frequency and length little-endian.
    func write(to out: UnsafeMutableRawPointer) {
        out.storeBytes(of: row.bigEndian, as: UInt64.self)
        out.storeBytes(of: frequency.littleEndian, toByteOffset: 8, as: UInt32.self)
        out.storeBytes(of: length.littleEndian, toByteOffset: 12, as: UInt32.self)
    }

    var bytes: [UInt8] {
        var out = [UInt8](repeating: 0, count: Self.size)
        out.withUnsafeMutableBytes { write(to: $0.baseAddress!) }
        return out
    }

    @inline(__always) static func row(_ p: UnsafeRawPointer) -> UInt64 { UInt64(bigEndian: p.loadUnaligned(as: UInt64.self)) }
    @inline(__always) static func frequency(_ p: UnsafeRawPointer) -> UInt32 {
        UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
    }
    @inline(__always) static func length(_ p: UnsafeRawPointer) -> UInt32 {
        UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 12, as: UInt32.self))
    }
}

/// The collection-wide figures BM25 needs, kept current by every write: documents
/// indexed and their total length in terms.
struct KeywordStats: Equatable {
    static let key = "docs"
    var documents: UInt64 = 0
    var totalLength: UInt64 = 0

    init() {}

    init(bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count == 16 else {
            throw StoreError(.corrupted, "the keyword index statistics are \(bytes.count) bytes, expected 16")
        }
        documents = UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self))
        totalLength = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
    }

    var bytes: [UInt8] {
        withUnsafeBytes(of: documents.littleEndian) { Array($0) } + withUnsafeBytes(of: totalLength.littleEndian) { Array($0) }
    }

    /// Average length in terms (1 for an empty index, so that BM25 stays defined).
    var averageLength: Double { documents == 0 || totalLength == 0 ? 1 : Double(totalLength) / Double(documents) }
}

/// The keyword (BM25) index: term → postings (row, term frequency, row length), and the
/// collection statistics; maintained in the records' own write transactions like the
/// metadata index, from each record's text as the collection's analyzer splits it.
struct KeywordIndex: SecondaryIndex {
    static let name = "keyword"
    /// Terms longer than this are not indexed (LMDB keys are at most 511 bytes; the
    /// analyzer bounds its terms well below).
    static let maxTermBytes = 255

    let postings: Table<IndexKeyBytes>
    let stats: Table<UTF8Key>
    let analyzer: TextAnalyzer

    var name: String { Self.name }

    /// The record's terms with their frequencies, and its length in terms.
    func analyze(_ text: String) -> (terms: [[UInt8]: UInt32], length: UInt32) {
        var terms: [[UInt8]: UInt32] = [:]
        var length: UInt32 = 0
        analyzer.forEachTerm(in: text) { term, _ in
            length &+= 1
            guard term.count <= Self.maxTermBytes, !term.isEmpty else { return }
            terms[Array(term), default: 0] += 1
        }
        return (terms, length)
    }

    /// One entry per distinct term: frequency u32 LE, length u32 LE, then the term. A
    /// record with no terms still gets one entry (an empty term) so that it counts as a
    /// document in the statistics.
    func entries(for record: Record) -> [[UInt8]] {
        let (terms, length) = analyze(record.text)
        func entry(_ term: [UInt8], _ frequency: UInt32) -> [UInt8] {
            withUnsafeBytes(of: frequency.littleEndian) { Array($0) } + withUnsafeBytes(of: length.littleEndian) { Array($0) } + term
        }
        if terms.isEmpty { return [entry([], 0)] }
        return terms.map { entry($0.key, $0.value) }
    }

    func insert(_ rows: [(row: UInt64, entries: [[UInt8]])], _ txn: Transaction) throws {
        var byTerm: [[UInt8]: [UInt8]] = [:]
        var s = try readStats(txn)
        for (row, entries) in rows {
            guard let first = entries.first, first.count >= 8 else { continue }
            s.documents += 1
            s.totalLength += UInt64(UInt32(littleEndian: first.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 4, as: UInt32.self) }))
            for e in entries where e.count > 8 {
                let term = Array(e[8...])
                // Row id big-endian, then frequency and length as the entry has them.
                byTerm[term, default: []].append(contentsOf: withUnsafeBytes(of: row.bigEndian) { Array($0) } + e[0..<8])
            }
        }
        for (term, values) in byTerm {
            try term.withUnsafeBytes { k in try values.withUnsafeBytes { try txn.putMultiple(postings.dbi, k, values: $0, elementSize: Posting.size) } }
        }
        try writeStats(s, txn)
    }

    func remove(row: UInt64, record: RecordCodec.Decoded, _ txn: Transaction) throws {
        let (terms, length) = analyze(record.text)
        for (term, frequency) in terms {
            let p = Posting(row: row, frequency: frequency, length: length).bytes
            let removed = try term.withUnsafeBytes { k in try p.withUnsafeBytes { try txn.delete(postings.dbi, k, value: $0) } }
            if !removed {
                // Written by another analysis than this one: find the row's posting by id.
                try removeAnyPosting(term, row: row, txn)
            }
        }
        var s = try readStats(txn)
        s.documents = s.documents > 0 ? s.documents - 1 : 0
        s.totalLength = s.totalLength >= UInt64(length) ? s.totalLength - UInt64(length) : 0
        try writeStats(s, txn)
    }

    /// Deletes the posting of `row` under `term` whatever its frequency and length.
    private func removeAnyPosting(_ term: [UInt8], row: UInt64, _ txn: Transaction) throws {
        try txn.withCursor(postings.dbi) { c in
            var probe = row.bigEndian
            let found = try term.withUnsafeBytes { k in
                try withUnsafeBytes(of: &probe) { try c.get(.getBothRange, key: k, value: $0) }
            }
            if let found, found.value.count == Posting.size, Posting.row(found.value.baseAddress!) == row {
                try c.deleteCurrent()
            }
        }
    }

    func readStats(_ txn: Transaction) throws -> KeywordStats {
        guard let v = try stats.get(txn, KeywordStats.key) else { return KeywordStats() }
        return try KeywordStats(bytes: v)
    }

    private func writeStats(_ s: KeywordStats, _ txn: Transaction) throws {
        try stats.put(txn, KeywordStats.key, bytes: s.bytes)
    }

    func danglingEntries(_ txn: Transaction, rowExists: (UInt64) throws -> Bool) throws -> Int {
        var dangling = 0
        try txn.withCursor(postings.dbi) { c in
            var e = try c.get(.first)
            while let entry = e {
                if entry.value.count != Posting.size {
                    dangling += 1
                } else if try !rowExists(Posting.row(entry.value.baseAddress!)) {
                    dangling += 1
                }
                e = try c.get(.next)
            }
        }
        return dangling
    }

    var accessPaths: [any AccessPath] { [] }
}
