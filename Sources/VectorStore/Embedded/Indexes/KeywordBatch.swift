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

        /// The postings grouped by term: the terms in byte order, where each term's
        /// postings start (counted in postings) and the postings (16-byte form, each
        /// term's positions ascending).
        func grouped() -> (order: [Int], start: [Int], postings: PostingScratch) {
            let order = terms.sortedIDs()
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
            return (order, start, grouped)
        }

        /// Runs `body` with the bytes of term `id`.
        func withTerm<R>(_ id: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R { try terms.withTerm(id, body) }

        /// Postings of term `id`.
        func count(of id: Int) -> Int { Int(counts[id]) }

        /// Last position added.
        var lastPosition: Int { firstPosition + lengths.count - 1 }

        /// Lengths of the positions added, added up.
        var totalLength: UInt64 { lengths.reduce(0) { $0 + UInt64($1) } }
    }

    /// The batch from the builders of consecutive position ranges, in position order: one
    /// segment, each term's postings those of the builders one after another (a k-way
    /// merge of their terms in byte order), encoded once.
    init(_ builders: [Builder]) {
        let builders = builders.filter { $0.count > 0 }
        documents = builders.reduce(0) { $0 + $1.count }
        totalLength = builders.reduce(0) { $0 + $1.totalLength }
        guard let last = builders.last?.lastPosition else {
            segment = nil
            return
        }
        let parts = builders.map { $0.grouped() }
        var next = [Int](repeating: 0, count: parts.count)
        var writer = SegmentWriter()
        let joined = PostingScratch()
        while true {
            // The smallest next term among the builders.
            var smallest = -1
            for k in parts.indices where next[k] < parts[k].order.count {
                if smallest < 0 {
                    smallest = k
                    continue
                }
                let c = builders[k].withTerm(parts[k].order[next[k]]) { a in
                    builders[smallest].withTerm(parts[smallest].order[next[smallest]]) { b in KeywordSegment.compare(a, b) }
                }
                if c < 0 { smallest = k }
            }
            guard smallest >= 0 else { break }
            builders[smallest].withTerm(parts[smallest].order[next[smallest]]) { term in
                var n = 0
                var sources: [(UnsafeRawPointer, Int)] = []
                for k in parts.indices where next[k] < parts[k].order.count {
                    let id = parts[k].order[next[k]]
                    guard builders[k].withTerm(id, { KeywordSegment.compare($0, term) }) == 0 else { continue }
                    sources.append(
                        (UnsafeRawPointer(parts[k].postings.pointer + parts[k].start[id] * Posting.size), builders[k].count(of: id)))
                    n += builders[k].count(of: id)
                    next[k] += 1
                }
                if sources.count == 1 {
                    writer.add(term: term, postings: sources[0].0, count: n)
                    return
                }
                let out = joined.reserve(n)
                var at = 0
                for (p, count) in sources {
                    (out + at * Posting.size).copyMemory(from: p, byteCount: count * Posting.size)
                    at += count
                }
                writer.add(term: term, postings: out, count: n)
            }
        }
        // Records without terms still make a segment (of no terms), as they always have.
        segment = writer.isEmpty ? KeywordSegment.empty(last: UInt64(last)) : writer.finish(last: UInt64(last))
    }
}
