import Foundation
import Testing
import VectorStore

/// BM25 computed the slow, obvious way over the live records, for comparison.
public struct ReferenceBM25: Sendable {
    /// The analyzer (the collection's).
    public let analyzer: TextAnalyzer
    /// Each live record's terms, length, positions and metadata, by id.
    public var docs:
        [String: (terms: [String: Int], length: Int, positions: [(term: String, position: Int)], metadata: [String: MetadataValue])] = [:]
    /// BM25 constants.
    public var k1 = 0.9
    /// BM25 length normalization.
    public var b = 0.4

    /// Analyzes `records` (the live ones).
    public init(_ analyzer: TextAnalyzer, _ records: [Record]) {
        self.analyzer = analyzer
        for r in records {
            let p = analyzer.termsWithPositions(r.text)
            var tf: [String: Int] = [:]
            for t in p { tf[t.term, default: 0] += 1 }
            docs[r.id] = (tf, p.count, p, r.metadata)
        }
    }

    /// The top `k` by BM25 (Lucene form), ties by id, with the keyword operators.
    public func search(_ text: String, k: Int, filter: Filter? = nil) -> [(id: String, score: Double)] {
        let q = KeywordQuery.parse(text, analyzer: analyzer)
        if q.isEmpty { return [] }
        let n = Double(docs.count)
        let avgdl = docs.isEmpty ? 1 : max(1, Double(docs.values.reduce(0) { $0 + $1.length })) / n
        var qtf: [String: Double] = [:]
        for t in q.should + q.must + q.phrases.flatMap(\.terms) { qtf[t, default: 0] += 1 }
        var df: [String: Double] = [:]
        for t in qtf.keys { df[t] = Double(docs.values.filter { $0.terms[t] != nil }.count) }
        let required = Set(q.must + q.phrases.flatMap(\.terms))
        var out: [(id: String, score: Double)] = []
        for (id, d) in docs {
            if let filter, !filter.matches(d.metadata) { continue }
            if required.contains(where: { d.terms[$0] == nil }) { continue }
            if q.mustNot.contains(where: { d.terms[$0] != nil }) { continue }
            if q.phrases.contains(where: { !Self.contains($0, in: d.positions) }) { continue }
            if q.excludedPhrases.contains(where: { Self.contains($0, in: d.positions) }) { continue }
            var score = 0.0
            var any = false
            for (t, w) in qtf {
                guard let tf = d.terms[t].map(Double.init), let f = df[t] else { continue }
                any = true
                let idf = log(1 + (n - f + 0.5) / (f + 0.5))
                score += w * idf * tf / (tf + k1 * (1 - b + b * Double(d.length) / avgdl))
            }
            if any { out.append((id, score)) }
        }
        out.sort { $0.score > $1.score || ($0.score == $1.score && $0.id < $1.id) }
        return Array(out.prefix(k))
    }

    /// Whether the phrase's terms occur at its offsets from some position.
    public static func contains(_ phrase: KeywordQuery.Phrase, in positions: [(term: String, position: Int)]) -> Bool {
        guard let first = phrase.terms.first else { return true }
        var at: [Int: String] = [:]
        for p in positions { at[p.position] = p.term }
        return positions.contains { p in
            p.term == first && zip(phrase.terms, phrase.offsets).dropFirst().allSatisfy { at[p.position + $0.1] == $0.0 }
        }
    }

    /// Whether analyzed text has every required term and phrase of `q` and no excluded one.
    public static func satisfies(_ q: KeywordQuery, _ terms: [(term: String, position: Int)]) -> Bool {
        let present = Set(terms.map(\.term))
        return q.must.allSatisfy(present.contains) && !q.mustNot.contains(where: present.contains)
            && q.phrases.allSatisfy { contains($0, in: terms) } && !q.excludedPhrases.contains { contains($0, in: terms) }
    }
}

/// Checks `hits` against the reference: the same scores in order, and the same ids among
/// each run of equal scores (compared as sets: the order of exact ties differs in the last
/// bits of the sums), except the run tied with the k-th, where which rows make the cut is
/// the engine's choice.
public func expectMatches(_ hits: [SearchHit], _ reference: [(id: String, score: Double)], _ label: String) {
    #expect(hits.count == reference.count, "\(label): \(hits.count) hits, reference \(reference.count)")
    guard hits.count == reference.count, let last = reference.last else { return }
    func same(_ a: Double, _ b: Double) -> Bool { abs(a - b) <= 1e-4 * max(1, abs(b)) }
    for (h, r) in zip(hits, reference) {
        #expect(same(Double(h.score), r.score), "\(label): score \(h.score) vs \(r.score)")
    }
    var i = 0
    while i < reference.count {
        var j = i
        while j < reference.count && same(reference[j].score, reference[i].score) { j += 1 }
        if !same(reference[i].score, last.score) {
            #expect(Set(hits[i..<j].map(\.id)) == Set(reference[i..<j].map(\.id)), "\(label): ranks \(i)..<\(j)")
        }
        i = j
    }
}
