import Foundation
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

/// A segment of the keyword index: the postings of the rows one write added, as one LMDB
/// value read in place. Layout: magic u32, term count u32, last row u64; a directory of
/// (term offset u32, term length u32, postings offset u32, postings count u32) sorted by
/// term bytes; the term bytes; the postings (16 bytes each, by term, rows ascending).
///
/// Why segments: appending to every term's duplicate list in every transaction dirtied a
/// page per term per write (thousands per batch of chunks, each written and synced);
/// a segment is one sequential value, and `merge` folds many into the lists at once.
struct KeywordSegment {
    static let magic: UInt32 = 0x3153_4B51  // "QKS1"
    static let headerBytes = 16
    static let entryBytes = 16

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

    /// Directory entry `i` (below ``termCount``), checked to lie inside the segment.
    ///
    /// - Throws: `.corrupted` when its term or postings run past the segment's end.
    func entry(_ i: Int) throws -> (termOffset: Int, termLength: Int, postingsOffset: Int, count: Int) {
        let at = Self.headerBytes + i * Self.entryBytes
        func u32(_ o: Int) -> Int { Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: at + o, as: UInt32.self))) }
        let e = (termOffset: u32(0), termLength: u32(4), postingsOffset: u32(8), count: u32(12))
        guard e.termOffset + e.termLength <= bytes.count, e.postingsOffset + e.count * Posting.size <= bytes.count else {
            throw StoreError(.corrupted, "keyword segment \(first) is damaged (term \(i) points past its end)")
        }
        return e
    }

    func term(_ i: Int) throws -> UnsafeRawBufferPointer {
        let e = try entry(i)
        return UnsafeRawBufferPointer(rebasing: bytes[e.termOffset..<e.termOffset + e.termLength])
    }

    /// The postings of `term` in this segment (pointer and count), or nil.
    func postings(of term: UnsafeRawBufferPointer) throws -> (UnsafeRawPointer, Int)? {
        var lo = 0
        var hi = termCount
        while lo < hi {
            let mid = (lo + hi) >> 1
            if Self.compare(try self.term(mid), term) < 0 { lo = mid + 1 } else { hi = mid }
        }
        guard lo < termCount, Self.compare(try self.term(lo), term) == 0 else { return nil }
        let e = try entry(lo)
        return (bytes.baseAddress! + e.postingsOffset, e.count)
    }

    /// Writes a segment's header: the magic, `terms` directory entries, the last row.
    static func writeHeader(_ o: UnsafeMutableRawBufferPointer, terms: Int, last: UInt64) {
        o.storeBytes(of: magic.littleEndian, as: UInt32.self)
        o.storeBytes(of: UInt32(terms).littleEndian, toByteOffset: 4, as: UInt32.self)
        o.storeBytes(of: last.littleEndian, toByteOffset: 8, as: UInt64.self)
    }

    /// Writes directory entry `i`: where its term and its postings lie, and how many postings.
    static func writeEntry(
        _ o: UnsafeMutableRawBufferPointer, _ i: Int, termOffset: Int, termLength: Int, postingsOffset: Int, count: Int
    ) {
        let e = headerBytes + i * entryBytes
        for (j, v) in [termOffset, termLength, postingsOffset, count].enumerated() {
            o.storeBytes(of: UInt32(v).littleEndian, toByteOffset: e + j * 4, as: UInt32.self)
        }
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
    /// oldest first (so rows ascend across them): a k-way merge of the segments'
    /// directories, reading in place. Stops when `body` returns false.
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
                let e = try segments[k].entry(next[k])
                lists.append((segments[k].bytes.baseAddress! + e.postingsOffset, e.count))
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
        // First pass: the size; second: the bytes.
        var terms = 0
        var termBytes = 0
        var postings = 0
        let anyDeleted = !snapshot.deleted.isEmpty
        try forEachTerm(in: segments) { term, lists in
            var live = 0
            for (p, n) in lists {
                guard anyDeleted else {
                    live += n
                    continue
                }
                for j in 0..<n where !snapshot.isDeleted(Posting.row(p + j * Posting.size)) { live += 1 }
            }
            guard live > 0 else { return true }
            terms += 1
            termBytes += term.count
            postings += live
            return true
        }
        guard terms > 0, let last = segments.last?.last else { return nil }
        let directoryEnd = headerBytes + terms * entryBytes
        // Every byte is written below (the first pass counted them): no zero fill first,
        // which for a merge of megabytes was a pass of its own over fresh pages.
        let size = directoryEnd + termBytes + postings * Posting.size
        return try [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            let o = UnsafeMutableRawBufferPointer(buffer)
            let base = o.baseAddress!
            writeHeader(o, terms: terms, last: last)
            var i = 0
            var termAt = directoryEnd
            var postingAt = directoryEnd + termBytes
            try forEachTerm(in: segments) { term, lists in
                let start = postingAt
                for (p, n) in lists {
                    guard anyDeleted else {
                        // No row to leave out: the term's postings in this segment at once.
                        (base + postingAt).copyMemory(from: p, byteCount: n * Posting.size)
                        postingAt += n * Posting.size
                        continue
                    }
                    for j in 0..<n {
                        let posting = p + j * Posting.size
                        if snapshot.isDeleted(Posting.row(posting)) { continue }
                        (base + postingAt).copyMemory(from: posting, byteCount: Posting.size)
                        postingAt += Posting.size
                    }
                }
                guard postingAt > start else { return true }
                writeEntry(
                    o, i, termOffset: termAt, termLength: term.count, postingsOffset: start, count: (postingAt - start) / Posting.size)
                (base + termAt).copyMemory(from: term.baseAddress!, byteCount: term.count)
                termAt += term.count
                i += 1
                return true
            }
            initialized = size
        }
    }

    /// A segment's bytes from postings grouped by term (each term's rows ascending).
    static func encode(_ groups: PostingGroups, last: UInt64) -> [UInt8] {
        let (order, first, postings) = groups.grouped()
        let terms = groups.terms
        let termBytes = order.reduce(0) { $0 + terms.length($1) }
        let directoryEnd = headerBytes + order.count * entryBytes
        let postingsStart = directoryEnd + termBytes
        var out = [UInt8](repeating: 0, count: postingsStart + postings.count)
        out.withUnsafeMutableBytes { o in
            writeHeader(o, terms: order.count, last: last)
            var termAt = directoryEnd
            for (i, id) in order.enumerated() {
                let length = terms.length(id)
                writeEntry(
                    o, i, termOffset: termAt, termLength: length, postingsOffset: postingsStart + first[id] * Posting.size,
                    count: groups.count(of: id))
                terms.withTerm(id) { t in
                    if let b = t.baseAddress { (o.baseAddress! + termAt).copyMemory(from: b, byteCount: length) }
                }
                termAt += length
            }
            postings.withUnsafeBytes { p in
                if let b = p.baseAddress { (o.baseAddress! + postingsStart).copyMemory(from: b, byteCount: p.count) }
            }
        }
        return out
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
/// the write folds them all into the per-term lists (LMDB duplicates, rows ascending):
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
    let postings: Table<IndexKeyBytes>
    let stats: Table<UTF8Key>
    let segments: Table<U64Key>
    let deleted: Table<U64Key>
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
                guard term.count <= Self.maxTermBytes, !term.isEmpty else { return }
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
        var ascending = true
        for (i, row) in rows.enumerated() {
            first = min(first, row)
            last = max(last, row)
            if i > 0 && row <= rows[i - 1] { ascending = false }
        }
        if let newest = try newestSegment(txn), newest.last >= first {
            // Rows must only grow; a row below an existing segment goes straight to the lists.
            var renumbered = bytes
            try renumbered.withUnsafeMutableBytes { try Self.renumber($0, rows: rows, last: last, sorting: !ascending) }
            try renumbered.withUnsafeBytes { try putLists(KeywordSegment(first: first, bytes: UnsafeRawBufferPointer($0)), txn) }
            return
        }
        let out = try segments.reserve(txn, first, size: bytes.count)
        bytes.withUnsafeBytes { out.copyMemory(from: $0) }
        try Self.renumber(out, rows: rows, last: last, sorting: !ascending)
        try settle(txn)
    }

    /// Gives a segment made with batch positions for rows (`KeywordBatch`) the rows
    /// `rows[position]` and the last row `last`, and sorts each term's postings by row when
    /// `sorting`.
    static func renumber(_ segment: UnsafeMutableRawBufferPointer, rows: [UInt64], last: UInt64, sorting: Bool) throws {
        guard let base = segment.baseAddress else { return }
        let view = try KeywordSegment(first: 0, bytes: UnsafeRawBufferPointer(segment))
        segment.storeBytes(of: last.littleEndian, toByteOffset: 8, as: UInt64.self)
        var sorted: [(row: UInt64, rest: UInt64)] = []
        for i in 0..<view.termCount {
            let e = try view.entry(i)
            let postings = base + e.postingsOffset
            for j in 0..<e.count {
                let p = postings + j * Posting.size
                let position = Posting.row(p)
                guard position < UInt64(rows.count) else {
                    throw StoreError(.corrupted, "a keyword batch names record \(position) of \(rows.count)")
                }
                p.storeBytes(of: rows[Int(position)].bigEndian, as: UInt64.self)
            }
            guard sorting else { continue }
            sorted.removeAll(keepingCapacity: true)
            for j in 0..<e.count {
                let p = postings + j * Posting.size
                sorted.append((Posting.row(p), p.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
            }
            sorted.sort { $0.row < $1.row }
            for (j, posting) in sorted.enumerated() {
                let p = postings + j * Posting.size
                p.storeBytes(of: posting.row.bigEndian, as: UInt64.self)
                p.storeBytes(of: posting.rest, toByteOffset: 8, as: UInt64.self)
            }
        }
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

    /// Appends postings (grouped by term) to the term lists, terms in key order.
    private func putLists(_ groups: PostingGroups, _ txn: Transaction) throws {
        let (order, first, grouped) = groups.grouped()
        try grouped.withUnsafeBytes { p in
            for id in order {
                let start = first[id] * Posting.size
                let values = UnsafeRawBufferPointer(rebasing: p[start..<start + groups.count(of: id) * Posting.size])
                try groups.terms.withTerm(id) { k in
                    try txn.putMultiple(postings.dbi, k, values: values, elementSize: Posting.size)
                }
            }
        }
    }

    /// Appends a segment's postings to the term lists, terms in key order.
    private func putLists(_ segment: KeywordSegment, _ txn: Transaction) throws {
        guard let base = segment.bytes.baseAddress else { return }
        for i in 0..<segment.termCount {
            let e = try segment.entry(i)
            let values = UnsafeRawBufferPointer(start: base + e.postingsOffset, count: e.count * Posting.size)
            try txn.putMultiple(postings.dbi, try segment.term(i), values: values, elementSize: Posting.size)
        }
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
                        // straight to the lists): appended, the lists fill whole pages.
                        try txn.putMultiple(
                            postings.dbi, UnsafeRawBufferPointer(rebasing: t[term]), values: UnsafeRawBufferPointer(rebasing: v[range]),
                            elementSize: Posting.size, appending: true)
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
            for id in 0..<counts.terms.count {
                let p = Posting(row: row, frequency: counts.frequencies[id], length: length).bytes
                try counts.terms.withTerm(id) { k in
                    let removed = try p.withUnsafeBytes { try txn.delete(postings.dbi, k, value: $0) }
                    if !removed {
                        // Written by another analysis than this one: find the row's posting by id.
                        try removeAnyPosting(k, row: row, txn)
                    }
                }
            }
        }
        var s = try readStats(txn)
        s.documents = s.documents > 0 ? s.documents - 1 : 0
        s.totalLength = s.totalLength >= UInt64(length) ? s.totalLength - UInt64(length) : 0
        if s.documents == 0 {
            // Nothing left: no list, segment or deleted row either.
            for dbi in [postings.dbi, segments.dbi, deleted.dbi] { try txn.clear(dbi) }
        }
        try writeStats(s, txn)
    }

    /// Deletes the posting of `row` under `term` whatever its frequency and length.
    private func removeAnyPosting(_ term: UnsafeRawBufferPointer, row: UInt64, _ txn: Transaction) throws {
        try txn.withCursor(postings.dbi) { c in
            var probe = row.bigEndian
            let found = try withUnsafeBytes(of: &probe) { try c.get(.getBothRange, key: term, value: $0) }
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
        let snapshot = try self.snapshot(txn)
        for segment in snapshot.segments {
            for i in 0..<segment.termCount {
                let e = try segment.entry(i)
                for j in 0..<e.count {
                    let row = Posting.row(segment.bytes.baseAddress! + e.postingsOffset + j * Posting.size)
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
