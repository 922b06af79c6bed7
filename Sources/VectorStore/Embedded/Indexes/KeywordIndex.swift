import Foundation
import TextAnalysis

/// One posting of the keyword index: a row that holds a term, how often, and the row's
/// length in terms. 16 bytes: the form postings are grouped, merged and scored in; the
/// store keeps them compressed (`PostingBlock`, about 4 bytes each).
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

/// A segment of the keyword index: the postings of the rows one write added, as one LMDB
/// value read in place. Layout: magic u32, term count u32, last row u64; a directory of
/// (term offset u32, term length u32, postings offset u32, postings bytes u32, postings
/// count u32) sorted by term bytes; the term bytes; each term's postings as a run of
/// `PostingBlock`s, in directory order.
///
/// Why segments: appending to every term's list in every transaction dirtied a page per
/// term per write (thousands per batch of chunks, each written and synced); a segment is
/// one sequential value, and `fold` moves many into the lists at once.
struct KeywordSegment {
    static let magic: UInt32 = 0x3253_4B51  // "QKS2" (format 1 segments, "QKS1", held 16-byte postings)
    static let headerBytes = 16
    static let entryBytes = 20

    let first: UInt64
    let bytes: UnsafeRawBufferPointer

    init(first: UInt64, bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count >= Self.headerBytes, bytes.loadUnaligned(as: UInt32.self) == Self.magic else {
            throw StoreError(.corrupted, "keyword segment \(first) is damaged (bad header)")
        }
        self.first = first
        self.bytes = bytes
        let n = termCount
        guard Self.headerBytes + n * Self.entryBytes <= bytes.count else {
            throw StoreError(.corrupted, "keyword segment \(first) is damaged (its directory runs past its end)")
        }
        // Entries are checked as they are read (`entry`): a search reads a few of the
        // thousands a segment holds, and checking them all here cost a tenth of a query.
    }

    var termCount: Int { Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4, as: UInt32.self))) }
    var last: UInt64 { UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self)) }

    /// One term's postings in a segment: a run of `PostingBlock`s.
    struct Run {
        let start: UnsafeRawPointer
        let bytes: Int
        let count: Int
    }

    /// Directory entry `i` (below ``termCount``), checked to lie inside the segment.
    ///
    /// - Throws: `.corrupted` when its term or postings run past the segment's end.
    func entry(_ i: Int) throws -> (termOffset: Int, termLength: Int, postingsOffset: Int, bytes: Int, count: Int) {
        let at = Self.headerBytes + i * Self.entryBytes
        func u32(_ o: Int) -> Int { Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: at + o, as: UInt32.self))) }
        let e = (termOffset: u32(0), termLength: u32(4), postingsOffset: u32(8), bytes: u32(12), count: u32(16))
        guard e.termOffset + e.termLength <= bytes.count, e.postingsOffset + e.bytes <= bytes.count else {
            throw StoreError(.corrupted, "keyword segment \(first) is damaged (term \(i) points past its end)")
        }
        guard e.count > 0, e.bytes >= PostingBlock.headerBytes else {
            throw StoreError(.corrupted, "keyword segment \(first) is damaged (term \(i) has \(e.count) postings in \(e.bytes) bytes)")
        }
        return e
    }

    /// The term of directory entry `i`, checked to lie inside the segment. Reads the
    /// entry's term offset and length alone (a binary search reads a term at every step;
    /// `run` checks the rest of the entry).
    ///
    /// - Throws: `.corrupted` when the term runs past the segment's end.
    @inline(__always)
    func term(_ i: Int) throws -> UnsafeRawBufferPointer {
        let at = Self.headerBytes + i * Self.entryBytes
        let offset = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
        let length = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: at + 4, as: UInt32.self)))
        guard offset + length <= bytes.count else {
            throw StoreError(.corrupted, "keyword segment \(first) is damaged (term \(i) points past its end)")
        }
        return UnsafeRawBufferPointer(start: bytes.baseAddress! + offset, count: length)
    }

    /// The postings of directory entry `i`.
    func run(_ i: Int) throws -> Run {
        let e = try entry(i)
        return Run(start: bytes.baseAddress! + e.postingsOffset, bytes: e.bytes, count: e.count)
    }

    /// The postings of `term` in this segment, or nil.
    func postings(of term: UnsafeRawBufferPointer) throws -> Run? {
        var lo = 0
        var hi = termCount
        while lo < hi {
            let mid = (lo + hi) >> 1
            if Self.compare(try self.term(mid), term) < 0 { lo = mid + 1 } else { hi = mid }
        }
        guard lo < termCount, Self.compare(try self.term(lo), term) == 0 else { return nil }
        return try run(lo)
    }

    /// Writes a segment's header: the magic, `terms` directory entries, the last row.
    static func writeHeader(_ o: UnsafeMutableRawBufferPointer, terms: Int, last: UInt64) {
        o.storeBytes(of: magic.littleEndian, as: UInt32.self)
        o.storeBytes(of: UInt32(terms).littleEndian, toByteOffset: 4, as: UInt32.self)
        o.storeBytes(of: last.littleEndian, toByteOffset: 8, as: UInt64.self)
    }

    /// Writes directory entry `i`: where its term and its postings lie, and how many postings.
    static func writeEntry(
        _ o: UnsafeMutableRawBufferPointer, _ i: Int, termOffset: Int, termLength: Int, postingsOffset: Int, bytes: Int, count: Int
    ) {
        let e = headerBytes + i * entryBytes
        for (j, v) in [termOffset, termLength, postingsOffset, bytes, count].enumerated() {
            o.storeBytes(of: UInt32(v).littleEndian, toByteOffset: e + j * 4, as: UInt32.self)
        }
    }

    /// A segment of no terms, its last row `last` (a batch of records none of which has a term).
    static func empty(last: UInt64) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: headerBytes)
        out.withUnsafeMutableBytes { writeHeader($0, terms: 0, last: last) }
        return out
    }

    /// Byte order of two terms (memcmp, then the shorter first).
    @inline(__always)
    static func compare(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int32 {
        let n = min(a.count, b.count)
        if n > 0, let x = a.baseAddress, let y = b.baseAddress {
            let c = memcmp(x, y, n)
            if c != 0 { return c }
        }
        return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
    }

    /// Calls `body` for every term of `segments` (oldest first) in byte order, after
    /// `after` when given, with the term and its postings in each segment that has it,
    /// oldest first (so rows ascend across them), decoded into the 16-byte form: a k-way
    /// merge of the segments' directories. Stops when `body` returns false.
    static func forEachTerm(
        in segments: [KeywordSegment], after: [UInt8]? = nil,
        _ body: (UnsafeRawBufferPointer, [(UnsafeRawPointer, Int)]) throws -> Bool
    ) throws {
        // Per segment, its next directory entry: the first term after `after`.
        var next = try segments.map { segment -> Int in
            guard let after else { return 0 }
            return try after.withUnsafeBytes { a in
                var lo = 0
                var hi = segment.termCount
                while lo < hi {
                    let mid = (lo + hi) >> 1
                    if compare(try segment.term(mid), a) <= 0 { lo = mid + 1 } else { hi = mid }
                }
                return lo
            }
        }
        var heads: [UnsafeRawBufferPointer?] = try segments.indices.map {
            next[$0] < segments[$0].termCount ? try segments[$0].term(next[$0]) : nil
        }
        let scratch = segments.map { _ in PostingScratch() }
        var lists: [(UnsafeRawPointer, Int)] = []
        while true {
            var smallest: UnsafeRawBufferPointer? = nil
            for head in heads {
                guard let head else { continue }
                if let s = smallest, compare(head, s) >= 0 { continue }
                smallest = head
            }
            guard let term = smallest else { return }
            lists.removeAll(keepingCapacity: true)
            for k in segments.indices {
                guard let head = heads[k], compare(head, term) == 0 else { continue }
                let run = try segments[k].run(next[k])
                let out = scratch[k].reserve(run.count)
                try PostingBlock.decodeRun(run.start, bytes: run.bytes, count: run.count, into: out)
                lists.append((UnsafeRawPointer(out), run.count))
            }
            guard try body(term, lists) else { return }
            for k in segments.indices {
                guard let head = heads[k], compare(head, term) == 0 else { continue }
                next[k] += 1
                heads[k] = next[k] < segments[k].termCount ? try segments[k].term(next[k]) : nil
            }
        }
    }

    /// One segment with the postings of `segments` (consecutive, oldest first) but those of
    /// deleted rows; nil when none is left.
    static func merged(_ segments: [KeywordSegment], _ snapshot: KeywordSnapshot) throws -> [UInt8]? {
        var writer = SegmentWriter()
        let live = PostingScratch()
        let anyDeleted = !snapshot.deleted.isEmpty
        try forEachTerm(in: segments) { term, lists in
            let out = live.reserve(lists.reduce(0) { $0 + $1.1 })
            var n = 0
            for (p, count) in lists {
                guard anyDeleted else {
                    (out + n * Posting.size).copyMemory(from: p, byteCount: count * Posting.size)
                    n += count
                    continue
                }
                for j in 0..<count where !snapshot.isDeleted(Posting.row(p + j * Posting.size)) {
                    (out + n * Posting.size).copyMemory(from: p + j * Posting.size, byteCount: Posting.size)
                    n += 1
                }
            }
            writer.add(term: term, postings: out, count: n)
            return true
        }
        guard !writer.isEmpty, let last = segments.last?.last else { return nil }
        return writer.finish(last: last)
    }

    /// A segment's bytes from postings grouped by term (each term's rows ascending).
    static func encode(_ groups: PostingGroups, last: UInt64) -> [UInt8] {
        let (order, first, postings) = groups.grouped()
        var writer = SegmentWriter()
        postings.withUnsafeBytes { p in
            for id in order {
                groups.terms.withTerm(id) { t in
                    writer.add(term: t, postings: p.baseAddress! + first[id] * Posting.size, count: groups.count(of: id))
                }
            }
        }
        return writer.isEmpty ? empty(last: last) : writer.finish(last: last)
    }

    /// The segment `segment` (made with batch positions for rows, `KeywordBatch`) with row
    /// `rows[position]` for each position and last row `last`. When the rows are
    /// consecutive the blocks keep their bodies (which hold distances only) and only
    /// their headers move, in place; otherwise each term's postings are renumbered,
    /// sorted and encoded again, into the bytes returned.
    ///
    /// - Throws: `.corrupted` when a posting names a position past `rows`.
    static func renumber(_ segment: UnsafeMutableRawBufferPointer, rows: [UInt64], last: UInt64) throws -> [UInt8]? {
        let view = try KeywordSegment(first: 0, bytes: UnsafeRawBufferPointer(segment))
        var consecutive = true
        for (i, row) in rows.enumerated() where row != rows[0] &+ UInt64(i) {
            consecutive = false
            break
        }
        if consecutive, let base = rows.first {
            for i in 0..<view.termCount {
                let run = try view.run(i)
                var at = 0
                while at < run.bytes {
                    let h = try PostingBlock.header(run.start + at, available: run.bytes - at)
                    guard h.last < UInt64(rows.count) else {
                        throw StoreError(.corrupted, "a keyword batch names record \(h.last) of \(rows.count)")
                    }
                    PostingBlock.shiftRows(UnsafeMutableRawPointer(mutating: run.start + at), by: base)
                    at += h.bytes
                }
            }
            segment.storeBytes(of: last.littleEndian, toByteOffset: 8, as: UInt64.self)
            return nil
        }
        var writer = SegmentWriter()
        let scratch = PostingScratch()
        var sorted: [(row: UInt64, rest: UInt64)] = []
        for i in 0..<view.termCount {
            let run = try view.run(i)
            let p = scratch.reserve(run.count)
            try PostingBlock.decodeRun(run.start, bytes: run.bytes, count: run.count, into: p)
            sorted.removeAll(keepingCapacity: true)
            for j in 0..<run.count {
                let posting = p + j * Posting.size
                let position = Posting.row(posting)
                guard position < UInt64(rows.count) else {
                    throw StoreError(.corrupted, "a keyword batch names record \(position) of \(rows.count)")
                }
                sorted.append((rows[Int(position)], posting.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
            }
            sorted.sort { $0.row < $1.row }
            for (j, posting) in sorted.enumerated() {
                let o = p + j * Posting.size
                o.storeBytes(of: posting.row.bigEndian, as: UInt64.self)
                o.storeBytes(of: posting.rest, toByteOffset: 8, as: UInt64.self)
            }
            writer.add(term: try view.term(i), postings: p, count: run.count)
        }
        return writer.isEmpty ? empty(last: last) : writer.finish(last: last)
    }
}

/// What a keyword search reads besides the term lists, once per search: the segments and
/// the rows deleted from them.
struct KeywordSnapshot {
    let segments: [KeywordSegment]
    /// Rows deleted since their segment was written, ascending.
    let deleted: [UInt64]

    func isDeleted(_ row: UInt64) -> Bool { !deleted.isEmpty && SortedRows.contains(deleted, row) }
}

/// The keyword (BM25) index: term → postings (row, term frequency, row length), and the
/// collection statistics; maintained in the records' own write transactions like the
/// metadata index, from each record's text as the collection's analyzer splits it.
///
/// A write adds one segment (`KeywordSegment`). Segments merge by size class, as in a
/// log-structured index: when the newest `mergeFactor` segments are of one class, they
/// become one segment (sequential writes; each posting is rewritten once per class).
/// When `segmentsBeforeFold` segments, or `bytesBeforeFold` bytes of them (`KeywordSegmentPolicy`), have piled up,
/// the write folds them all into the per-term lists (blocks keyed by term and first row,
/// `TermRowKey`, rows ascending, and each term's document frequency):
/// folding dirties a page per term, so it is done rarely and in bulk (folding every 24
/// writes was most of an ingest's keyword-index cost). Rows only grow and segments hold
/// consecutive row ranges, so a term's postings are its list followed by its postings in
/// each segment, in row order. A delete removes a row's postings from the lists, or, for
/// a row still in a segment, records the row as deleted (dropped by the next merge of
/// that segment).
struct KeywordIndex: SecondaryIndex {
    static let name = "keyword"
    /// Terms longer than this are not indexed (LMDB keys are at most 511 bytes; the
    /// analyzer bounds its terms well below).
    static let maxTermBytes = 255

    /// Whether a term is indexed: not empty, at most `maxTermBytes`, no NUL byte (the
    /// separator of `TermRowKey`). Others still count towards the record's length.
    @inline(__always)
    static func indexable(_ term: UnsafeRawBufferPointer) -> Bool {
        !term.isEmpty && term.count <= maxTermBytes && memchr(term.baseAddress!, 0, term.count) == nil
    }
    /// Term lists: `TermRowKey` (term, first row) → `PostingBlock`.
    let postings: Table<IndexKeyBytes>
    let stats: Table<UTF8Key>
    let segments: Table<U64Key>
    let deleted: Table<U64Key>
    /// Per term, the postings in its list (u64 LE): its document frequency there.
    let frequencies: Table<IndexKeyBytes>
    let analyzer: TextAnalyzer
    /// Metadata fields whose text is indexed with the record's (`KeywordIndexSettings.fieldsKey`).
    var fields: [String] = []
    /// Why the index cannot be used (made by another stemmer release), if so.
    var staleReason: String? = nil
    /// When segments merge and fold (`StoreOptions.keywordSegments`).
    var policy = KeywordSegmentPolicy()

    var name: String { Self.name }

    /// The texts the index analyzes for a record: its own, then the string values of the
    /// ``fields`` it has.
    func indexedTexts(_ text: String, _ metadata: [String: MetadataValue]) -> [String] {
        KeywordDocument.indexedTexts(text, metadata, fields: fields)
    }

    /// The record's texts as one, each after a blank line, for phrase checks: the terms
    /// ``analyze`` counts, with positions.
    func indexedText(_ text: String, _ metadata: [String: MetadataValue]) -> String {
        KeywordDocument.indexedText(text, metadata, fields: fields)
    }

    /// A record's distinct terms and their frequencies, and its length in terms.
    struct TermCounts {
        var terms = TermTable(expected: 128)
        /// Per term id, how often it occurs.
        var frequencies: [UInt32] = []
        var length: UInt32 = 0
    }

    /// The record's terms with their frequencies, and its length in terms, over all its
    /// indexed texts (no copy of the text is made, no allocation per term).
    func analyze(_ texts: [String]) -> TermCounts {
        var out = TermCounts()
        for text in texts {
            analyzer.forEachTerm(in: text) { term, _ in
                out.length &+= 1
                guard Self.indexable(term) else { return }
                let id = out.terms.id(of: term)
                if id == out.frequencies.count { out.frequencies.append(1) } else { out.frequencies[id] &+= 1 }
            }
        }
        return out
    }

    /// One entry per record: its length u32 LE, then per distinct term its frequency u32
    /// LE, its byte count u8 and its bytes (one allocation per record, not per term).
    func entries(for record: Record) -> [[UInt8]] {
        let counts = analyze(indexedTexts(record.text, record.metadata))
        var out: [UInt8] = []
        out.reserveCapacity(4 + counts.terms.count * 5 + counts.terms.totalBytes)
        withUnsafeBytes(of: counts.length.littleEndian) { out.append(contentsOf: $0) }
        for id in 0..<counts.terms.count {
            withUnsafeBytes(of: counts.frequencies[id].littleEndian) { out.append(contentsOf: $0) }
            out.append(UInt8(counts.terms.length(id)))
            counts.terms.withTerm(id) { out.append(contentsOf: $0) }
        }
        return [out]
    }

    /// Writes the rows' postings as one segment (rows ascending, above every row indexed
    /// before), and merges when enough segments have piled up.
    func insert(_ rows: [(row: UInt64, entries: [[UInt8]])], _ txn: Transaction) throws {
        var groups = PostingGroups()
        var s = try readStats(txn)
        var first = UInt64.max
        var last: UInt64 = 0
        for (row, entries) in rows {
            guard let entry = entries.first, entry.count >= 4 else { continue }
            first = min(first, row)
            last = max(last, row)
            try entry.withUnsafeBytes { e in
                let length = e.loadUnaligned(as: UInt32.self)
                s.documents += 1
                s.totalLength += UInt64(UInt32(littleEndian: length))
                try withUnsafeTemporaryAllocation(byteCount: Posting.size, alignment: 8) { p in
                    p.storeBytes(of: row.bigEndian, as: UInt64.self)
                    p.storeBytes(of: length, toByteOffset: 12, as: UInt32.self)
                    var at = 4
                    while at < e.count {
                        guard at + 5 <= e.count else { throw StoreError(.corrupted, "a keyword index entry of row \(row) is cut short") }
                        let frequency = e.loadUnaligned(fromByteOffset: at, as: UInt32.self)
                        let n = Int(e[at + 4])
                        guard at + 5 + n <= e.count else {
                            throw StoreError(.corrupted, "a keyword index entry of row \(row) is cut short")
                        }
                        p.storeBytes(of: frequency, toByteOffset: 8, as: UInt32.self)
                        let id = groups.id(of: UnsafeRawBufferPointer(rebasing: e[at + 5..<at + 5 + n]))
                        groups.add(id, UnsafeRawPointer(p.baseAddress!))
                        at += 5 + n
                    }
                }
            }
        }
        try writeStats(s, txn)
        guard first != .max else { return }
        if let newest = try newestSegment(txn), newest.last >= first {
            // Rows must only grow; a row below an existing segment goes straight to the lists.
            try putLists(groups, txn)
            return
        }
        try segments.put(txn, first, bytes: KeywordSegment.encode(groups, last: last))
        try settle(txn)
    }

    /// Writes a batch analyzed and grouped ahead of the transaction (`KeywordBatch`): its
    /// statistics, and its segment with row `rows[i]` for the record at position `i`; then
    /// merges as ``insert(_:_:)`` does. The rows need not ascend with the positions (an IVF
    /// batch is written list by list): each term's postings are sorted by row then.
    ///
    /// - Throws: `.corrupted` when `rows` does not have a row per record of the batch.
    func insert(_ batch: KeywordBatch, rows: [UInt64], _ txn: Transaction) throws {
        guard batch.documents > 0, let bytes = batch.segment else { return }
        guard rows.count == batch.documents else {
            throw StoreError(.corrupted, "a keyword batch of \(batch.documents) records was given \(rows.count) rows")
        }
        var s = try readStats(txn)
        s.documents += UInt64(batch.documents)
        s.totalLength += batch.totalLength
        try writeStats(s, txn)
        var first = UInt64.max
        var last: UInt64 = 0
        for row in rows {
            first = min(first, row)
            last = max(last, row)
        }
        if let newest = try newestSegment(txn), newest.last >= first {
            // Rows must only grow; a row below an existing segment goes straight to the lists.
            var copy = bytes
            let renumbered = try copy.withUnsafeMutableBytes { try KeywordSegment.renumber($0, rows: rows, last: last) } ?? copy
            try renumbered.withUnsafeBytes { try putLists(KeywordSegment(first: first, bytes: UnsafeRawBufferPointer($0)), txn) }
            return
        }
        let out = try segments.reserve(txn, first, size: bytes.count)
        bytes.withUnsafeBytes { out.copyMemory(from: $0) }
        if let renumbered = try KeywordSegment.renumber(out, rows: rows, last: last) {
            try segments.put(txn, first, bytes: renumbered)
        }
        try settle(txn)
    }

    /// Merges the newest segments while `mergeFactor` of one size class end the list, and
    /// folds them all into the lists when too many have piled up.
    func settle(_ txn: Transaction) throws {
        while true {
            var sizes: [(first: UInt64, bytes: Int)] = []
            try txn.withCursor(segments.dbi) { c in
                var e = try c.get(.first)
                while let entry = e {
                    sizes.append((try U64Key.decode(entry.key), entry.value.count))
                    e = try c.get(.next)
                }
            }
            let total = sizes.reduce(0) { $0 + $1.bytes }
            if sizes.count >= policy.segmentsBeforeFold || total >= policy.bytesBeforeFold {
                try fold(txn)
                return
            }
            let tail = sizes.suffix(policy.mergeFactor)
            guard tail.count == policy.mergeFactor, let oldest = tail.first else { return }
            let level = policy.sizeClass(oldest.bytes)
            guard tail.allSatisfy({ policy.sizeClass($0.bytes) == level }) else { return }
            guard tail.reduce(0, { $0 + $1.bytes }) <= policy.maxMergedBytes else { return }
            try mergeNewest(policy.mergeFactor, txn)
        }
    }

    /// Merges the newest `count` segments into one, leaving out (and forgetting) the rows
    /// deleted from them.
    func mergeNewest(_ count: Int, _ txn: Transaction) throws {
        let snapshot = try self.snapshot(txn)
        let merging = Array(snapshot.segments.suffix(count))
        guard merging.count >= 2, let oldest = merging.first, let newest = merging.last else { return }
        // Everything read from the inputs is read before they are deleted: a segment
        // written by this transaction is freed, not kept, when it is deleted (its last row
        // read after the delete was a use after free, a crash under ThreadSanitizer).
        let bytes = try KeywordSegment.merged(merging, snapshot)
        let rows = oldest.first...newest.last
        for segment in merging { _ = try segments.delete(txn, segment.first) }
        for row in snapshot.deleted where rows.contains(row) { _ = try deleted.delete(txn, row) }
        if let bytes { try segments.put(txn, rows.lowerBound, bytes: bytes) }
    }

    /// Adds postings (grouped by term) to the term lists, terms in key order.
    private func putLists(_ groups: PostingGroups, _ txn: Transaction) throws {
        let (order, first, grouped) = groups.grouped()
        let scratch = PostingScratch()
        try grouped.withUnsafeBytes { p in
            for id in order {
                try groups.terms.withTerm(id) { k in
                    try addToList(k, p.baseAddress! + first[id] * Posting.size, count: groups.count(of: id), txn, scratch)
                }
            }
        }
    }

    /// Adds a segment's postings to the term lists, terms in key order.
    private func putLists(_ segment: KeywordSegment, _ txn: Transaction) throws {
        let scratch = PostingScratch()
        try KeywordSegment.forEachTerm(in: [segment]) { term, lists in
            for (p, n) in lists { try addToList(term, p, count: n, txn, scratch) }
            return true
        }
    }

    /// Adds `count` postings of `term` (16-byte form at `p`, rows ascending) to its list.
    /// Postings above the list's last row start new blocks after a full last block, or
    /// fill a partial one; postings among the list's rows are merged into the block that
    /// covers them (a posting of a row already there replaces it). Blocks of up to
    /// `PostingBlock.maxPostings` are written; the term's document frequency follows.
    func addToList(
        _ term: UnsafeRawBufferPointer, _ p: UnsafeRawPointer, count: Int, _ txn: Transaction, _ scratch: PostingScratch
    ) throws {
        guard count > 0 else { return }
        var added = 0
        var encoded: [UInt8] = []
        var merged: [UInt8] = []
        try txn.withCursor(postings.dbi) { c in
            var i = 0
            while i < count {
                let row = Posting.row(p + i * Posting.size)
                let (target, nextFirst) = try coveringBlock(term, row, c)
                var j = i + 1
                while j < count && Posting.row(p + j * Posting.size) < nextFirst { j += 1 }
                let group = p + i * Posting.size
                let n = j - i
                encoded.removeAll(keepingCapacity: true)
                if let t = target {
                    let h = t.header
                    if h.count >= PostingBlock.maxPostings && h.last < row {
                        // A full block before them: new blocks after it.
                        PostingBlock.append(group, count: n, to: &encoded)
                        added += n
                    } else {
                        let old = scratch.reserve(h.count)
                        _ = try PostingBlock.decode(t.value.baseAddress!, available: t.value.count, into: old)
                        merged.removeAll(keepingCapacity: true)
                        var a = 0
                        var b = 0
                        while a < h.count || b < n {
                            let ra = a < h.count ? Posting.row(old + a * Posting.size) : .max
                            let rb = b < n ? Posting.row(group + b * Posting.size) : .max
                            if rb <= ra {
                                merged.append(contentsOf: UnsafeRawBufferPointer(start: group + b * Posting.size, count: Posting.size))
                                if rb == ra { a += 1 } else { added += 1 }
                                b += 1
                            } else {
                                merged.append(contentsOf: UnsafeRawBufferPointer(start: old + a * Posting.size, count: Posting.size))
                                a += 1
                            }
                        }
                        _ = try TermRowKey.withBytes(term, t.row) { try txn.delete(postings.dbi, $0) }
                        merged.withUnsafeBytes { m in
                            _ = PostingBlock.append(m.baseAddress!, count: m.count / Posting.size, to: &encoded)
                        }
                    }
                } else {
                    PostingBlock.append(group, count: n, to: &encoded)
                    added += n
                }
                try putBlocks(term, encoded, txn)
                i = j
            }
        }
        try addFrequency(term, added, txn)
    }

    /// `term`'s block that covers `row` — its last block whose first row is at most `row`,
    /// checked against its header — and the first row of the term's block after it
    /// (`UInt64.max` when none), which bounds the rows that belong in this one.
    private func coveringBlock(_ term: UnsafeRawBufferPointer, _ row: UInt64, _ c: Cursor) throws -> (
        block: (row: UInt64, value: UnsafeRawBufferPointer, header: PostingBlock.Header)?, nextFirst: UInt64
    ) {
        let found = try TermRowKey.withBytes(term, row) { try c.get(.setRange, key: $0) }
        let foundRow = found.flatMap { TermRowKey.row($0.key, of: term) }
        var block: (row: UInt64, value: UnsafeRawBufferPointer)? = nil
        var nextFirst = UInt64.max
        if let found, foundRow == row {
            block = (row, found.value)
            if let after = try c.get(.next), let r = TermRowKey.row(after.key, of: term) { nextFirst = r }
        } else {
            nextFirst = foundRow ?? .max
            if let before = try (found == nil ? c.get(.last) : c.get(.prev)), let r = TermRowKey.row(before.key, of: term) {
                block = (r, before.value)
            }
        }
        guard let block else { return (nil, nextFirst) }
        let h = try PostingBlock.header(block.value.baseAddress!, available: block.value.count)
        guard block.value.count == h.bytes, h.first == block.row else {
            throw PostingBlock.damaged(
                "a block of term \(Transaction.describe(term)) keyed at row \(block.row) is \(block.value.count) bytes, rows from \(h.first)"
            )
        }
        return ((block.row, block.value, h), nextFirst)
    }

    /// Puts the blocks `encoded` (one after another) into `term`'s list.
    private func putBlocks(_ term: UnsafeRawBufferPointer, _ encoded: [UInt8], _ txn: Transaction) throws {
        try encoded.withUnsafeBytes { e in
            var at = 0
            while at < e.count {
                let h = try PostingBlock.header(e.baseAddress! + at, available: e.count - at)
                try TermRowKey.withBytes(term, h.first) { k in
                    try txn.put(postings.dbi, k, UnsafeRawBufferPointer(rebasing: e[at..<at + h.bytes]))
                }
                at += h.bytes
            }
        }
    }

    /// The postings in `term`'s list (its document frequency there).
    func listFrequency(_ term: UnsafeRawBufferPointer, _ txn: Transaction) throws -> Int {
        guard let v = try txn.get(frequencies.dbi, term) else { return 0 }
        guard v.count == 8 else {
            throw StoreError(.corrupted, "the keyword document frequency of \(Transaction.describe(term)) is \(v.count) bytes, expected 8")
        }
        return Int(UInt64(littleEndian: v.loadUnaligned(as: UInt64.self)))
    }

    /// Adds `delta` to `term`'s list frequency (removing it at 0).
    private func addFrequency(_ term: UnsafeRawBufferPointer, _ delta: Int, _ txn: Transaction) throws {
        guard delta != 0 else { return }
        let n = max(0, try listFrequency(term, txn) + delta)
        if n == 0 {
            _ = try txn.delete(frequencies.dbi, term)
        } else {
            try withUnsafeBytes(of: UInt64(n).littleEndian) { try txn.put(frequencies.dbi, term, $0) }
        }
    }

    /// Removes `row`'s posting from `term`'s list; false when the list has none.
    func removeFromList(_ term: UnsafeRawBufferPointer, row: UInt64, _ txn: Transaction, _ scratch: PostingScratch) throws -> Bool {
        let removed: Bool = try txn.withCursor(postings.dbi) { c in
            guard let block = try coveringBlock(term, row, c).block, row <= block.header.last else { return false }
            let decoded = scratch.reserve(PostingBlock.maxPostings)
            let h = try PostingBlock.decode(block.value.baseAddress!, available: block.value.count, into: decoded)
            var at = -1
            for j in 0..<h.count where Posting.row(decoded + j * Posting.size) == row { at = j }
            guard at >= 0 else { return false }
            _ = try TermRowKey.withBytes(term, block.row) { try txn.delete(postings.dbi, $0) }
            guard h.count > 1 else { return true }
            (decoded + at * Posting.size).copyMemory(from: decoded + (at + 1) * Posting.size, byteCount: (h.count - at - 1) * Posting.size)
            var encoded: [UInt8] = []
            PostingBlock.append(decoded, count: h.count - 1, to: &encoded)
            try putBlocks(term, encoded, txn)
            return true
        }
        if removed { try addFrequency(term, -1, txn) }
        return removed
    }

    /// Folds every segment into the term lists, leaving out deleted rows, and clears the
    /// segments and the deleted rows. Term by term in key order, `foldChunkBytes` of
    /// postings at a time: each round reads the segments afresh, because LMDB may spill
    /// (write out and free) pages this transaction dirtied, a segment's among them, while
    /// the lists are written.
    func fold(_ txn: Transaction) throws {
        var after: [UInt8]? = nil
        var terms: [UInt8] = []  // the round's terms, one after another
        var ranges: [(term: Range<Int>, values: Range<Int>)] = []
        var values: [UInt8] = []
        let scratch = PostingScratch()
        while true {
            let snapshot = try self.snapshot(txn)
            guard !snapshot.segments.isEmpty else { return }
            terms.removeAll(keepingCapacity: true)
            ranges.removeAll(keepingCapacity: true)
            values.removeAll(keepingCapacity: true)
            var stoppedAt: [UInt8]? = nil
            try KeywordSegment.forEachTerm(in: snapshot.segments, after: after) { term, lists in
                let start = values.count
                for (p, n) in lists {
                    for j in 0..<n {
                        let posting = p + j * Posting.size
                        if snapshot.isDeleted(Posting.row(posting)) { continue }
                        values.append(contentsOf: UnsafeRawBufferPointer(start: posting, count: Posting.size))
                    }
                }
                if values.count > start {
                    ranges.append((terms.count..<terms.count + term.count, start..<values.count))
                    terms.append(contentsOf: term)
                }
                guard values.count < policy.foldChunkBytes else {
                    stoppedAt = Array(term)
                    return false
                }
                return true
            }
            try terms.withUnsafeBytes { t in
                try values.withUnsafeBytes { v in
                    for (term, range) in ranges {
                        // Segments hold rows above the lists' (unless a write went
                        // straight to the lists): they fill the last block and start new ones.
                        try addToList(
                            UnsafeRawBufferPointer(rebasing: t[term]), v.baseAddress! + range.lowerBound, count: range.count / Posting.size,
                            txn, scratch)
                    }
                }
            }
            guard let stoppedAt else { break }
            after = stoppedAt
        }
        try txn.clear(segments.dbi)
        try txn.clear(deleted.dbi)
    }

    /// The segments (oldest first) and the rows deleted from them.
    func snapshot(_ txn: Transaction) throws -> KeywordSnapshot {
        var list: [KeywordSegment] = []
        try txn.withCursor(segments.dbi) { c in
            var e = try c.get(.first)
            while let entry = e {
                list.append(try KeywordSegment(first: try U64Key.decode(entry.key), bytes: entry.value))
                e = try c.get(.next)
            }
        }
        var rows: [UInt64] = []
        if !list.isEmpty {
            try txn.withCursor(deleted.dbi) { c in
                var e = try c.get(.first)
                while let entry = e {
                    rows.append(try U64Key.decode(entry.key))
                    e = try c.get(.next)
                }
            }
        }
        return KeywordSnapshot(segments: list, deleted: rows)
    }

    private func newestSegment(_ txn: Transaction) throws -> KeywordSegment? {
        try txn.withCursor(segments.dbi) { c in
            guard let e = try c.get(.last) else { return nil }
            return try KeywordSegment(first: try U64Key.decode(e.key), bytes: e.value)
        }
    }

    /// The segment holding `row`'s postings, if one does.
    private func segment(holding row: UInt64, _ txn: Transaction) throws -> KeywordSegment? {
        try txn.withCursor(segments.dbi) { c in
            var found = try U64Key.withBytes(row) { try c.get(.setRange, key: $0) }
            if let f = found, try U64Key.decode(f.key) == row {
                return try KeywordSegment(first: row, bytes: f.value)
            }
            found = found == nil ? try c.get(.last) : try c.get(.prev)
            guard let f = found else { return nil }
            let segment = try KeywordSegment(first: try U64Key.decode(f.key), bytes: f.value)
            return segment.first <= row && row <= segment.last ? segment : nil
        }
    }

    func remove(row: UInt64, record: RecordCodec.Decoded, _ txn: Transaction) throws {
        let counts = analyze(indexedTexts(record.text, record.metadata))
        let length = counts.length
        if try segment(holding: row, txn) != nil {
            try deleted.put(txn, row, bytes: [1])
        } else {
            // By row: a posting written by another analysis (frequency, length) goes too.
            let scratch = PostingScratch()
            for id in 0..<counts.terms.count {
                try counts.terms.withTerm(id) { k in _ = try removeFromList(k, row: row, txn, scratch) }
            }
        }
        var s = try readStats(txn)
        s.documents = s.documents > 0 ? s.documents - 1 : 0
        s.totalLength = s.totalLength >= UInt64(length) ? s.totalLength - UInt64(length) : 0
        if s.documents == 0 {
            // Nothing left: no list, segment or deleted row either.
            for dbi in [postings.dbi, frequencies.dbi, segments.dbi, deleted.dbi] { try txn.clear(dbi) }
        }
        try writeStats(s, txn)
    }

    func readStats(_ txn: Transaction) throws -> KeywordStats {
        guard let v = try stats.get(txn, KeywordStats.key) else { return KeywordStats() }
        return try KeywordStats(bytes: v)
    }

    private func writeStats(_ s: KeywordStats, _ txn: Transaction) throws {
        try stats.put(txn, KeywordStats.key, bytes: s.bytes)
    }

    /// Postings (in the lists and the segments) whose row is gone, and list blocks that
    /// cannot be read or whose term's frequency disagrees with them, each counted once.
    func danglingEntries(_ txn: Transaction, rowExists: (UInt64) throws -> Bool) throws -> Int {
        var dangling = 0
        let decoded = PostingScratch()
        var counted: [[UInt8]: Int] = [:]
        try txn.withCursor(postings.dbi) { c in
            var e = try c.get(.first)
            while let entry = e {
                e = try c.get(.next)
                guard let (term, row) = TermRowKey.split(entry.key),
                    let h = try? PostingBlock.decode(entry.value.baseAddress!, available: entry.value.count, into: decoded.pointer),
                    h.bytes == entry.value.count, h.first == row
                else {
                    dangling += 1
                    continue
                }
                counted[Array(term), default: 0] += h.count
                for j in 0..<h.count where try !rowExists(Posting.row(decoded.pointer + j * Posting.size)) { dangling += 1 }
            }
        }
        for (term, n) in counted where try term.withUnsafeBytes({ try listFrequency($0, txn) }) != n { dangling += 1 }
        if try txn.count(frequencies.dbi) != counted.count { dangling += 1 }
        let snapshot = try self.snapshot(txn)
        for segment in snapshot.segments {
            for i in 0..<segment.termCount {
                let run = try segment.run(i)
                let p = decoded.reserve(run.count)
                try PostingBlock.decodeRun(run.start, bytes: run.bytes, count: run.count, into: p)
                for j in 0..<run.count {
                    let row = Posting.row(p + j * Posting.size)
                    if !snapshot.isDeleted(row), try !rowExists(row) { dangling += 1 }
                }
            }
        }
        return dangling
    }

    var accessPaths: [any AccessPath] { [] }

    var preparesBatches: Bool { true }
}

/// When a keyword index's segments merge and fold into its term lists (`KeywordIndex`);
/// `StoreOptions.keywordSegments`, which tests set small to exercise every path.
struct KeywordSegmentPolicy: Sendable, Equatable {
    /// Segments that make the write that adds the next fold them all into the term lists.
    var segmentsBeforeFold = 40
    /// Bytes of segments that make the write that adds the next fold them all into the lists.
    var bytesBeforeFold = 256 << 20
    /// How many segments of one size class merge into one.
    var mergeFactor = 8
    /// Size class 0 is segments below this many bytes; each class above is `mergeFactor`
    /// times larger.
    var classBaseBytes = 64 << 10
    /// Segments whose merge would be larger than this wait for the fold (a merge builds
    /// its result in memory).
    var maxMergedBytes = 32 << 20
    /// Postings a fold holds in memory at a time.
    var foldChunkBytes = 16 << 20

    /// The size class of a segment of `bytes` bytes.
    func sizeClass(_ bytes: Int) -> Int {
        var level = 0
        var bound = classBaseBytes
        while bytes >= bound {
            level += 1
            bound *= mergeFactor
        }
        return level
    }
}
