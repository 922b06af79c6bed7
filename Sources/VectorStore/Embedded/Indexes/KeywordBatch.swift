import Foundation

/// The keyword index's share of a batch of records, analyzed and grouped by term while the
/// batch is prepared (on all cores, outside the write transaction): a segment
/// (`KeywordSegment` layout) whose rows are the records' positions in the batch, and the
/// statistics the batch adds. The writer only copies the segment into the store, with the
/// rows the records were given (`KeywordIndex.insert(_:rows:_:)`).
///
/// Grouping a batch's postings by term inside the write transaction (a hash per posting,
/// on the one writer thread) was most of what the keyword index added to a transaction.
struct KeywordBatch {
    /// A segment whose row ids are positions in the batch; nil for an empty batch.
    let segment: [UInt8]?
    /// Records in the batch (each is a document of the index, even without terms).
    let documents: Int
    /// Their lengths in terms, added up.
    let totalLength: UInt64

    /// Postings of consecutive positions of a batch, built as one worker analyzes its
    /// records in order: one table lookup per word (no table per record), each term's
    /// postings in position order.
    struct Builder {
        private var terms = TermTable(expected: 4096)
        /// The words seen (before stopwords and stemming), and per word id its term id,
        /// `stopword`, or `unindexed` (a term too long or empty: counted, not indexed).
        /// A word's term depends on its bytes alone (`TextAnalyzer.forEachWord`), so each
        /// new word is stemmed once: the stopword set, the stem cache and the term table
        /// cost more per word than this one lookup.
        private var words = TermTable(expected: 4096)
        private var wordTerm: [Int32] = []
        private static let stopword: Int32 = -1
        private static let unindexed: Int32 = -2
        /// Per term id: how many postings it has, and the index of its newest posting.
        private var counts: [Int32] = []
        private var newest: [Int32] = []
        /// Per posting, in the order made: term id, position, frequency.
        private var postingTerm: [Int32] = []
        private var postingRow: [UInt32] = []
        private var postingFrequency: [UInt32] = []
        /// Per position added (from `firstPosition`), its length in terms.
        private var lengths: [UInt32] = []
        private let firstPosition: Int

        /// A builder for positions `firstPosition`, `firstPosition + 1`, … in that order.
        init(firstPosition: Int) { self.firstPosition = firstPosition }

        /// Analyzes the record at the next position (the index's texts of it, as
        /// `KeywordIndex.analyze` counts them).
        mutating func add(_ record: Record, _ index: KeywordIndex) {
            let row = UInt32(firstPosition + lengths.count)
            var length: UInt32 = 0
            for text in index.indexedTexts(record.text, record.metadata) {
                index.analyzer.forEachWord(in: text) { word, stemmed, term in
                    let id: Int
                    if stemmed {
                        let w = words.id(of: word)
                        if w == wordTerm.count { wordTerm.append(termID(term())) }
                        let t = wordTerm[w]
                        if t == Self.stopword { return }
                        length &+= 1
                        if t == Self.unindexed { return }
                        id = Int(t)
                    } else {
                        length &+= 1
                        let t = termID(word)
                        if t == Self.unindexed { return }
                        id = Int(t)
                    }
                    let last = Int(newest[id])
                    if last >= 0 && postingRow[last] == row {
                        postingFrequency[last] &+= 1
                        return
                    }
                    newest[id] = Int32(postingTerm.count)
                    counts[id] += 1
                    postingTerm.append(Int32(id))
                    postingRow.append(row)
                    postingFrequency.append(1)
                }
            }
            lengths.append(length)
        }

        /// The id of `term` (added when new), `stopword` for nil, or `unindexed`.
        private mutating func termID(_ term: UnsafeRawBufferPointer?) -> Int32 {
            guard let term else { return Self.stopword }
            guard KeywordIndex.indexable(term) else { return Self.unindexed }
            let id = terms.id(of: term)
            if id == counts.count {
                counts.append(0)
                newest.append(-1)
            }
            return Int32(id)
        }

        /// Positions added.
        var count: Int { lengths.count }

        /// The postings as a segment (terms in byte order, each term's positions
        /// ascending), nil when no position was added.
        func segment() -> [UInt8]? {
            guard !lengths.isEmpty else { return nil }
            let order = terms.sortedIDs()
            // Where each term's postings go, counted in postings.
            var next = [Int](repeating: 0, count: counts.count)
            var at = 0
            for id in order {
                next[id] = at
                at += Int(counts[id])
            }
            let start = next
            let grouped = PostingScratch(postings: postingTerm.count)
            let postings = grouped.pointer
            for i in postingTerm.indices {
                let id = Int(postingTerm[i])
                let row = postingRow[i]
                Posting(row: UInt64(row), frequency: postingFrequency[i], length: lengths[Int(row) - firstPosition])
                    .write(to: postings + next[id] * Posting.size)
                next[id] += 1
            }
            var writer = SegmentWriter()
            for id in order {
                terms.withTerm(id) { t in writer.add(term: t, postings: postings + start[id] * Posting.size, count: Int(counts[id])) }
            }
            let last = UInt64(firstPosition + lengths.count - 1)
            return writer.isEmpty ? KeywordSegment.empty(last: last) : writer.finish(last: last)
        }

        /// Lengths of the positions added, added up.
        var totalLength: UInt64 { lengths.reduce(0) { $0 + UInt64($1) } }
    }

    /// The batch from the builders of consecutive position ranges, in position order.
    ///
    /// - Throws: `.corrupted` only if a builder's segment were malformed (a bug).
    init(_ builders: [Builder]) throws {
        let documents = builders.reduce(0) { $0 + $1.count }
        self.documents = documents
        totalLength = builders.reduce(0) { $0 + $1.totalLength }
        let parts = builders.compactMap { $0.segment() }
        guard parts.count > 1 else {
            segment = parts.first
            return
        }
        // One buffer holds the parts, so that one closure reads them all.
        var starts: [Int] = []
        var joined: [UInt8] = []
        joined.reserveCapacity(parts.reduce(0) { $0 + $1.count })
        for part in parts {
            starts.append(joined.count)
            joined += part
        }
        let merged = try joined.withUnsafeBytes { all in
            let segments = try parts.indices.map { i in
                try KeywordSegment(
                    first: UInt64(i), bytes: UnsafeRawBufferPointer(rebasing: all[starts[i]..<starts[i] + parts[i].count]))
            }
            return try KeywordSegment.merged(segments, KeywordSnapshot(segments: [], deleted: []))
        }
        if let merged {
            segment = merged
        } else {
            // Records without terms still make a segment (of no terms), as they always have.
            segment = KeywordSegment.empty(last: UInt64(documents - 1))
        }
    }
}
