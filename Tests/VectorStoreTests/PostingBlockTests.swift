import Foundation
import TestSupport
import Testing

@testable import VectorStore

/// The compressed postings of the keyword index (`PostingBlock`) and the term lists built
/// of them (`KeywordIndex.addToList`, removal by row, `PostingList` walks and skips).
@Suite struct PostingBlockTests {
    /// Every posting a list gives.
    struct Collected: PostingVisitor {
        var postings: [(row: UInt64, frequency: UInt32, length: UInt32)] = []
        mutating func visit(_ row: UInt64, _ frequency: UInt32, _ length: UInt32) { postings.append((row, frequency, length)) }
    }

    /// Postings in the 16-byte form, rows strictly ascending from `start` by the gaps given.
    static func postings(_ gaps: [UInt64], start: UInt64 = 0, _ rng: inout SeededGenerator) -> [UInt8] {
        var out: [UInt8] = []
        var row = start
        for (i, gap) in gaps.enumerated() {
            if i > 0 { row += gap }
            let frequency: UInt32 = [1, 2, 127, 128, 300, UInt32.max][Int(rng.next() % 6)]
            let length: UInt32 = [1, 90, 130, 16_384, 70_000, UInt32.max][Int(rng.next() % 6)]
            out += Posting(row: row, frequency: frequency, length: length).bytes
        }
        return out
    }

    static func decodeAll(_ encoded: [UInt8], count: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count * Posting.size)
        try encoded.withUnsafeBytes { e in
            try out.withUnsafeMutableBytes { o in
                try PostingBlock.decodeRun(e.baseAddress!, bytes: e.count, count: count, into: o.baseAddress!)
            }
        }
        return out
    }

    static func encode(_ postings: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        postings.withUnsafeBytes { _ = PostingBlock.append($0.baseAddress!, count: $0.count / Posting.size, to: &out) }
        return out
    }

    /// Every gap size a varint spans (1 byte to 10), every frequency and length up to
    /// u32 max, runs that end exactly at a block boundary and past it: decoded exactly,
    /// in blocks of at most 128 postings and the body limit, and the same bytes each time.
    @Test(arguments: [1, 2, 127, 128, 129, 256, 1000])
    func postingsRoundTripInBoundedBlocks(count: Int) throws {
        var rng = SeededGenerator(seed: UInt64(count))
        let choices: [UInt64] = [1, 2, 127, 128, 16_383, 16_384, 1 << 35, 1 << 49]
        let gaps = (0..<count).map { _ in choices[Int(rng.next() % UInt64(choices.count))] }
        let postings = Self.postings(gaps, start: UInt64(rng.next() % 1000), &rng)
        let encoded = Self.encode(postings)
        #expect(try Self.decodeAll(encoded, count: count) == postings)
        #expect(Self.encode(postings) == encoded)
        var at = 0
        var blocks = 0
        try encoded.withUnsafeBytes { e in
            while at < e.count {
                let h = try PostingBlock.header(e.baseAddress! + at, available: e.count - at)
                #expect(h.count <= PostingBlock.maxPostings)
                #expect(h.bodyBytes < PostingBlock.bodyLimit + 30)
                at += h.bytes
                blocks += 1
            }
        }
        #expect(blocks >= (count + PostingBlock.maxPostings - 1) / PostingBlock.maxPostings)
    }

    /// A common term in short chunks: rows one apart, small counts — 4 bytes a posting,
    /// not 16.
    @Test func commonTermsTakeAboutFourBytesAPosting() {
        var out: [UInt8] = []
        for row in 0..<UInt64(10_000) { out += Posting(row: row, frequency: 1 + UInt32(row % 3), length: 128 + UInt32(row % 50)).bytes }
        let encoded = Self.encode(out)
        #expect(encoded.count < 10_000 * 4 + 79 * PostingBlock.headerBytes, "\(encoded.count) bytes")
    }

    /// Renumbering a segment made with batch positions moves block headers only: the
    /// result is the encoding of the shifted rows.
    @Test func shiftingRowsEqualsEncodingShiftedRows() throws {
        var rng = SeededGenerator(seed: 3)
        let postings = Self.postings((0..<300).map { _ in 1 + rng.next() % 5 }, &rng)
        var encoded = Self.encode(postings)
        var shifted: [UInt8] = []
        for j in 0..<300 {
            let p = Array(postings[j * 16..<(j + 1) * 16])
            let row = p.withUnsafeBytes { Posting.row($0.baseAddress!) }
            shifted += [UInt8](withUnsafeBytes(of: (row + 5_000_000).bigEndian) { Array($0) }) + p[8...]
        }
        try encoded.withUnsafeMutableBytes { e in
            var at = 0
            while at < e.count {
                let h = try PostingBlock.header(e.baseAddress! + at, available: e.count - at)
                PostingBlock.shiftRows(e.baseAddress! + at, by: 5_000_000)
                at += h.bytes
            }
        }
        #expect(encoded == Self.encode(shifted))
    }

    /// Damaged blocks — cut short anywhere, any byte replaced, a header claiming more
    /// postings than a block holds — decode to postings or fail with `.corrupted`, never
    /// read outside the bytes given or trap.
    @Test func damagedBlocksAreCorruptionNotACrash() throws {
        var rng = SeededGenerator(seed: 11)
        let postings = Self.postings((0..<100).map { _ in 1 + rng.next() % 300 }, &rng)
        let block = Self.encode(postings)
        var out = [UInt8](repeating: 0, count: PostingBlock.maxPostings * Posting.size)
        func decode(_ bytes: [UInt8]) -> Result<Int, StoreError> {
            // Exactly the bytes given, on the heap, so that a read past them is caught by ASan.
            let copy = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 1)
            defer { copy.deallocate() }
            bytes.withUnsafeBytes { if let b = $0.baseAddress { copy.copyMemory(from: b, byteCount: $0.count) } }
            return out.withUnsafeMutableBytes { o in
                do {
                    return .success(try PostingBlock.decode(copy, available: bytes.count, into: o.baseAddress!).count)
                } catch let e as StoreError {
                    return .failure(e)
                } catch {
                    Issue.record("unexpected \(error)")
                    return .success(-1)
                }
            }
        }
        #expect((try? decode(block).get()) == 100)
        for cut in 0..<block.count {
            guard case .failure(let e) = decode(Array(block[0..<cut])) else {
                Issue.record("a block cut to \(cut) bytes decoded")
                continue
            }
            #expect(e.code == .corrupted && e.message.contains("keyword postings block is damaged"), "\(e)")
        }
        for i in 0..<block.count {
            for value: UInt8 in [0x00, 0x7F, 0x80, 0xFF] where block[i] != value {
                var damaged = block
                damaged[i] = value
                if case .failure(let e) = decode(damaged) { #expect(e.code == .corrupted) }
            }
        }
        var claims = block
        claims[16] = 200
        guard case .failure = decode(claims) else {
            Issue.record("a header of 200 postings decoded")
            return
        }
    }

    /// A term list changed at random — postings added above its rows, below them and in
    /// between (splitting full blocks), rows added again (replaced), rows removed —
    /// reads back as a model of it after every change: walked whole, skipped to any row,
    /// counted, in blocks of at most 128 postings, and `check` finds nothing dangling.
    @Test func termListsFollowAModelThroughAddsAndRemoves() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (store, c) = try keywordCollection(dir)
        let index = try #require(c.keywordIndex)
        var rng = SeededGenerator(seed: 21)
        let terms: [[UInt8]] = [Array("light".utf8), Array("lighthouse".utf8), Array("l".utf8)]
        var model: [[UInt64: (UInt32, UInt32)]] = terms.map { _ in [:] }
        let scratch = PostingScratch()
        for step in 0..<60 {
            let t = Int(rng.next() % UInt64(terms.count))
            try store.env.write { txn in
                if step % 4 == 3, !model[t].isEmpty {
                    let victims = model[t].keys.sorted().filter { _ in rng.next() % 4 == 0 } + [UInt64.max - 1]
                    for row in victims {
                        let removed = try terms[t].withUnsafeBytes { try index.removeFromList($0, row: row, txn, scratch) }
                        #expect(removed == (model[t][row] != nil))
                        model[t][row] = nil
                    }
                } else {
                    // Rows anywhere in 0..<4000: above, below and among the list's.
                    let lo = rng.next() % 4000
                    let rows = Set((0..<(1 + rng.next() % 300)).map { _ in lo + rng.next() % 600 }).sorted()
                    var bytes: [UInt8] = []
                    for row in rows {
                        let posting = (UInt32(1 + rng.next() % 9), UInt32(10 + rng.next() % 200))
                        model[t][row] = posting
                        bytes += Posting(row: row, frequency: posting.0, length: posting.1).bytes
                    }
                    try terms[t].withUnsafeBytes { k in
                        try bytes.withUnsafeBytes { try index.addToList(k, $0.baseAddress!, count: rows.count, txn, scratch) }
                    }
                }
            }
            try store.env.read { txn in
                let snapshot = KeywordSnapshot(segments: [], deleted: [])
                for (i, term) in terms.enumerated() {
                    let expected = model[i].keys.sorted()
                    #expect(try term.withUnsafeBytes { try index.listFrequency($0, txn) } == expected.count, "step \(step)")
                    guard var list = try PostingList(term: term, txn, index, snapshot) else {
                        #expect(expected.isEmpty, "step \(step)")
                        continue
                    }
                    defer { list.close() }
                    var seen = Collected()
                    try list.drain(&seen)
                    #expect(seen.postings.map(\.row) == expected, "step \(step) term \(i)")
                    for p in seen.postings { #expect(model[i][p.row].map { $0 == (p.frequency, p.length) } ?? false) }
                    for _ in 0..<20 {
                        guard var probe = try PostingList(term: term, txn, index, snapshot) else { continue }
                        defer { probe.close() }
                        let first = rng.next() % 4700
                        let second = first + rng.next() % 300
                        try probe.seek(first)
                        #expect(probe.row == (expected.first { $0 >= first } ?? .max), "seek \(first)")
                        try probe.seek(second)
                        #expect(probe.row == (expected.first { $0 >= second } ?? .max), "seek \(first) then \(second)")
                    }
                }
                try txn.withCursor(index.postings.dbi) { cursor in
                    var e = try cursor.get(.first)
                    while let entry = e {
                        let h = try PostingBlock.header(entry.value.baseAddress!, available: entry.value.count)
                        #expect(h.count <= PostingBlock.maxPostings)
                        #expect(TermRowKey.split(entry.key)?.row == h.first)
                        e = try cursor.get(.next)
                    }
                }
                // Every row taken to exist: blocks, keys and frequencies agree, nothing dangles.
                let dangling = try index.danglingEntries(txn) { _ in true }
                #expect(dangling == 0, "step \(step)")
            }
        }
        #expect(model.allSatisfy { $0.count > 300 })
    }

    /// The bounded heap keeps exactly the best `k` (score descending, equal scores by
    /// ascending row) of rows pushed in ascending order, as searches push them, whatever
    /// the ties.
    @Test func scoreHeapKeepsTheBestK() {
        var rng = SeededGenerator(seed: 23)
        for round in 0..<300 {
            let n = Int(rng.next() % 400)
            let k = 1 + Int(rng.next() % 120)
            let items = (0..<n).map { i in (score: Double(rng.next() % 50) / 7, row: UInt64(i) * 3 + rng.next() % 3) }
            var heap = ScoreHeap(k: k)
            for item in items { heap.push(item.score, item.row) }
            let expected = items.sorted { $0.score > $1.score || ($0.score == $1.score && $0.row < $1.row) }.prefix(k)
            #expect(heap.sorted.map(\.row) == expected.map(\.row), "round \(round): n \(n), k \(k)")
            #expect(heap.threshold == (n >= k ? expected.last!.score : -.infinity))
        }
    }
}
