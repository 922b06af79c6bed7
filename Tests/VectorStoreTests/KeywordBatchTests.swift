import Foundation
import TestSupport
import Testing
import TextAnalysis

@testable import VectorStore

/// The keyword index's share of a batch, analyzed and grouped while the batch is prepared
/// (`KeywordBatch`), writes the very segment that analyzing record by record and grouping
/// in the transaction wrote.
@Suite struct KeywordBatchTests {
    /// Records with texts, empty texts and stopwords alone, and titles (an indexed field).
    static func records(_ n: Int, seed: UInt64) -> [Record] {
        var rng = SeededGenerator(seed: seed)
        return KeywordIndexTests.records(n, seed: seed).enumerated().map { i, r in
            var r = r
            switch rng.next() % 8 {
            case 0: r.text = ""
            case 1: r.text = "the of and a"
            case 2: r.text = GeneratedText.text(&rng, length: 30) + " Straße café's 東京タワー " + String(repeating: "long", count: 20)
            default: break
            }
            if i % 3 == 0 { r.metadata["title"] = .string(KeywordIndexTests.text(&rng, words: 3)) }
            return r
        }
    }

    /// The bytes of the one segment `write` leaves in a fresh keyword collection.
    static func segment(_ write: (KeywordIndex, Transaction) throws -> Void) throws -> [UInt8] {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (store, c) = try keywordCollection(dir)
        var index = try #require(c.keywordIndex)
        index.fields = ["title"]
        return try store.env.write { txn in
            try write(index, txn)
            let segments = try index.snapshot(txn).segments
            try #require(segments.count == 1)
            return Array(segments[0].bytes)
        }
    }

    /// The batch of `records` built by workers that start at `cuts` (positions).
    static func batch(_ records: [Record], cuts: [Int], _ index: KeywordIndex) throws -> KeywordBatch {
        let bounds = [0] + cuts + [records.count]
        let builders = (0..<bounds.count - 1).map { w in
            var builder = KeywordBatch.Builder(firstPosition: bounds[w])
            for i in bounds[w]..<bounds[w + 1] { builder.add(records[i], index) }
            return builder
        }
        return KeywordBatch(builders)
    }

    /// One worker or several, rows ascending with the positions or in another order (an
    /// IVF batch is written list by list), records without terms among them.
    @Test(arguments: [[], [1], [37, 38, 200], [150]], [false, true])
    func theBatchSegmentIsTheRecordByRecordSegment(cuts: [Int], permuted: Bool) throws {
        let records = Self.records(300, seed: 5)
        var rows = (0..<UInt64(records.count)).map { 1_000 + $0 }
        if permuted {
            var rng = SeededGenerator(seed: 9)
            rows.shuffle(using: &rng)
        }
        let reference = try Self.segment { index, txn in
            let pairs = zip(rows, records).map { (row: $0, entries: index.entries(for: $1)) }
            try index.insert(pairs.sorted { $0.row < $1.row }, txn)
        }
        let batched = try Self.segment { index, txn in
            try index.insert(try Self.batch(records, cuts: cuts, index), rows: rows, txn)
        }
        #expect(batched == reference)
    }

    /// Rows below the newest segment's go straight to the term lists, as they did.
    @Test func rowsBelowTheNewestSegmentGoToTheLists() throws {
        let records = Self.records(120, seed: 8)
        let high = (0..<UInt64(60)).map { 5_000 + $0 }
        let low = (0..<UInt64(60)).map { 100 + $0 }
        func contents(_ index: KeywordIndex, _ txn: Transaction) throws -> [[UInt8]] {
            var out: [[UInt8]] = []
            try txn.withCursor(index.postings.dbi) { c in
                var e = try c.get(.first)
                while let entry = e {
                    out.append(Array(entry.key) + [0xFF] + Array(entry.value))
                    e = try c.get(.next)
                }
            }
            return out + (try index.snapshot(txn).segments.map { Array($0.bytes) })
        }
        var reference: [[UInt8]] = []
        _ = try Self.segment { index, txn in
            for (rows, part) in [(high, records[0..<60]), (low, records[60..<120])] {
                try index.insert(zip(rows, part).map { (row: $0, entries: index.entries(for: $1)) }, txn)
            }
            reference = try contents(index, txn)
        }
        var batched: [[UInt8]] = []
        _ = try Self.segment { index, txn in
            for (rows, part) in [(high, records[0..<60]), (low, records[60..<120])] {
                try index.insert(try Self.batch(Array(part), cuts: [20], index), rows: rows, txn)
            }
            batched = try contents(index, txn)
        }
        #expect(reference.count > 60)
        #expect(batched == reference)
    }

    /// Records none of which has a term still count as documents and make an empty segment.
    @Test(arguments: [[], [2]]) func recordsWithoutTermsMakeAnEmptySegment(cuts: [Int]) throws {
        let records = (0..<5).map { Record(id: "e\($0)", vector: [1, 0, 0], text: $0 % 2 == 0 ? "" : "the of") }
        let rows = (0..<UInt64(5)).map { 10 + $0 }
        let reference = try Self.segment { index, txn in
            try index.insert(zip(rows, records).map { (row: $0, entries: index.entries(for: $1)) }, txn)
        }
        var documents: UInt64 = 0
        let batched = try Self.segment { index, txn in
            try index.insert(try Self.batch(records, cuts: cuts, index), rows: rows, txn)
            documents = try index.readStats(txn).documents
        }
        #expect(batched == reference)
        #expect(documents == 5)
    }

    /// A collection with an IVF index moves a batch's rows into their lists in the same
    /// transaction (`ivfPendingRows` 0): the rows keep their ids, and keyword searches
    /// still rank exactly as the reference does.
    @Test func ivfBatchesRankAsTheReference() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        var options = StoreOptions()
        options.ivfPendingRows = 0
        let (store, first) = try keywordCollection(dir, options: options)
        try first.upsert(KeywordIndexTests.records(600, seed: 3))
        let c = try store.buildIVFIndex(of: "docs", lists: 8)
        let more = KeywordIndexTests.records(700, seed: 4, from: 600)
        try c.upsert(more)
        #expect(try c.ivfStatus()?.rowsOutsideLists == 0)
        let all = KeywordIndexTests.records(600, seed: 3) + more
        let reference = ReferenceBM25(try TextAnalyzer(.english), all)
        for q in KeywordIndexTests.queries {
            let hits = try c.search(SearchRequest(texts: [q], k: 20, mode: .keyword)).hits[0]
            expectMatches(hits, reference.search(q, k: 20), q)
        }
        #expect(try store.check().isHealthy)
    }
}
