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
    /// Why the index cannot be used (made by another stemmer release), if so.
    var staleReason: String? = nil

    var name: String { Self.name }

    /// The record's terms with their frequencies, and its length in terms. Terms are
    /// Strings: most are short enough to be stored inline, without an allocation.
    func analyze(_ text: String) -> (terms: [String: UInt32], length: UInt32) {
        var terms: [String: UInt32] = [:]
        var length: UInt32 = 0
        analyzer.forEachTerm(in: text) { term, _ in
            length &+= 1
            guard term.count <= Self.maxTermBytes, !term.isEmpty else { return }
            terms[String(decoding: term, as: UTF8.self), default: 0] += 1
        }
        return (terms, length)
    }

    /// One entry per record: its length u32 LE, then per distinct term its frequency u32
    /// LE, its byte count u8 and its bytes (one allocation per record, not per term).
    func entries(for record: Record) -> [[UInt8]] {
        let (terms, length) = analyze(record.text)
        var out: [UInt8] = []
        out.reserveCapacity(4 + terms.count * 14)
        withUnsafeBytes(of: length.littleEndian) { out.append(contentsOf: $0) }
        for (term, frequency) in terms {
            withUnsafeBytes(of: frequency.littleEndian) { out.append(contentsOf: $0) }
            out.append(UInt8(term.utf8.count))
            out.append(contentsOf: term.utf8)
        }
        return [out]
    }

    func insert(_ rows: [(row: UInt64, entries: [[UInt8]])], _ txn: Transaction) throws {
        var byTerm: [String: [UInt8]] = [:]
        var s = try readStats(txn)
        for (row, entries) in rows {
            guard let entry = entries.first, entry.count >= 4 else { continue }
            try entry.withUnsafeBytes { e in
                let length = e.loadUnaligned(as: UInt32.self)
                s.documents += 1
                s.totalLength += UInt64(UInt32(littleEndian: length))
                var posting = [UInt8](repeating: 0, count: Posting.size)
                posting.withUnsafeMutableBytes { p in
                    p.storeBytes(of: row.bigEndian, as: UInt64.self)
                    p.storeBytes(of: length, toByteOffset: 12, as: UInt32.self)
                }
                var at = 4
                while at < e.count {
                    guard at + 5 <= e.count else { throw StoreError(.corrupted, "a keyword index entry of row \(row) is cut short") }
                    let frequency = e.loadUnaligned(fromByteOffset: at, as: UInt32.self)
                    let n = Int(e[at + 4])
                    guard at + 5 + n <= e.count else { throw StoreError(.corrupted, "a keyword index entry of row \(row) is cut short") }
                    let term = String(decoding: UnsafeRawBufferPointer(rebasing: e[at + 5..<at + 5 + n]), as: UTF8.self)
                    posting.withUnsafeMutableBytes { $0.storeBytes(of: frequency, toByteOffset: 8, as: UInt32.self) }
                    byTerm[term, default: []].append(contentsOf: posting)
                    at += 5 + n
                }
            }
        }
        for (term, values) in byTerm {
            var t = term
            try t.withUTF8 { k in
                try values.withUnsafeBytes {
                    try txn.putMultiple(postings.dbi, UnsafeRawBufferPointer(k), values: $0, elementSize: Posting.size)
                }
            }
        }
        try writeStats(s, txn)
    }

    func remove(row: UInt64, record: RecordCodec.Decoded, _ txn: Transaction) throws {
        let (terms, length) = analyze(record.text)
        for (term, frequency) in terms {
            let p = Posting(row: row, frequency: frequency, length: length).bytes
            var t = term
            let removed = try t.withUTF8 { k in try p.withUnsafeBytes { try txn.delete(postings.dbi, UnsafeRawBufferPointer(k), value: $0) }
            }
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
    private func removeAnyPosting(_ term: String, row: UInt64, _ txn: Transaction) throws {
        try txn.withCursor(postings.dbi) { c in
            var probe = row.bigEndian
            let found = try Array(term.utf8).withUnsafeBytes { k in
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
