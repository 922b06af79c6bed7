import Foundation
import TestSupport
import Testing

@testable import VectorStore

@Suite struct TermTableTests {
    /// Random terms of 1…40 bytes over a small alphabet, so that many share prefixes and
    /// repeat.
    static func terms(_ n: Int, seed: UInt64) -> [[UInt8]] {
        var rng = SeededGenerator(seed: seed)
        return (0..<n).map { _ in
            let length = 1 + Int(rng.next() % (rng.next() % 4 == 0 ? 40 : 6))
            return (0..<length).map { _ in UInt8(ascii: "a") + UInt8(rng.next() % 4) }
        }
    }

    @Test func idsAreDenseStableAndAgreeWithADictionary() {
        var table = TermTable(expected: 4)  // grows many times
        var reference: [[UInt8]: Int] = [:]
        for term in Self.terms(20_000, seed: 7) {
            let id = term.withUnsafeBytes { table.id(of: $0) }
            if let known = reference[term] {
                #expect(id == known)
            } else {
                #expect(id == reference.count)
                reference[term] = id
            }
        }
        #expect(table.count == reference.count)
        #expect(reference.count > 1_000)
        for (term, id) in reference {
            #expect(table.withTerm(id) { Array($0) } == term)
            #expect(table.length(id) == term.count)
        }
        #expect(table.totalBytes == reference.keys.reduce(0) { $0 + $1.count })
    }

    @Test func sortedIDsFollowByteOrderWithPrefixesFirst() {
        var table = TermTable()
        let words: [[UInt8]] = [[0x62], [0x61, 0x62], [0x61], [0xFF], [0x61, 0x62, 0x00], [0x61, 0x61, 0x7A], [0x00]]
        for w in words { _ = w.withUnsafeBytes { table.id(of: $0) } }
        let sorted = table.sortedIDs().map { id in table.withTerm(id) { Array($0) } }
        #expect(sorted == words.sorted { $0.lexicographicallyPrecedes($1) })
    }

    /// Terms that share their first eight bytes (or are prefixes of each other, or hold
    /// zero bytes) sort as the bytes do.
    @Test func sortedIDsAgreeWithByteOrderPastTheFirstEightBytes() {
        var table = TermTable()
        var rng = SeededGenerator(seed: 21)
        var terms = Self.terms(3_000, seed: 13)
        for _ in 0..<500 {
            let tail = (0..<Int(rng.next() % 5)).map { _ in UInt8(rng.next() % 3) }
            terms.append([UInt8]("lighthou".utf8) + tail)
        }
        for term in terms { _ = term.withUnsafeBytes { table.id(of: $0) } }
        let sorted = table.sortedIDs().map { id in table.withTerm(id) { Array($0) } }
        #expect(sorted == Array(Set(terms)).sorted { $0.lexicographicallyPrecedes($1) })
    }

    @Test func postingGroupsKeepEachTermsPostingsInOrderAndSkipEmptyTerms() {
        var groups = PostingGroups()
        var reference: [[UInt8]: [UInt64]] = [:]
        var rng = SeededGenerator(seed: 11)
        let vocabulary = Self.terms(300, seed: 3)
        _ = [UInt8]("unused".utf8).withUnsafeBytes { groups.id(of: $0) }  // a term with no posting
        for row in UInt64(0)..<2_000 {
            for _ in 0..<(1 + rng.next() % 5) {
                let term = vocabulary[Int(rng.next() % UInt64(vocabulary.count))]
                let id = term.withUnsafeBytes { groups.id(of: $0) }
                Posting(row: row, frequency: UInt32(row % 9), length: 3).bytes.withUnsafeBytes { groups.add(id, $0.baseAddress!) }
                reference[term, default: []].append(row)
            }
        }
        let (order, first, postings) = groups.grouped()
        let terms = order.map { id in groups.terms.withTerm(id) { Array($0) } }
        #expect(terms == reference.keys.sorted { $0.lexicographicallyPrecedes($1) })
        var expectedFirst = 0
        postings.withUnsafeBytes { p in
            for (id, term) in zip(order, terms) {
                #expect(first[id] == expectedFirst)
                let rows = (0..<groups.count(of: id)).map { Posting.row(p.baseAddress! + (first[id] + $0) * Posting.size) }
                #expect(rows == reference[term])
                expectedFirst += rows.count
            }
        }
        #expect(postings.count == expectedFirst * Posting.size)
    }
}
