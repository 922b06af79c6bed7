import Foundation
import TestSupport
import Testing

@testable import Query

/// Near-duplicate dropping with its ASCII shortcuts keeps exactly the chunks the plain
/// Character-wise version (below) keeps; and no text stops it.
@Suite struct NearDuplicateTests {
    /// The implementation before the shortcuts (whitespace collapsed by Characters), with
    /// the Character-wise search that replaced Foundation's `contains` (which crashed).
    static func reference(_ chunks: [RetrievedChunk]) -> [RetrievedChunk] {
        var kept: [(chunk: RetrievedChunk, document: String, text: String?)] = []
        func normalized(_ text: String) -> String { text.split(whereSeparator: \.isWhitespace).joined(separator: " ") }
        for c in chunks {
            let document = c.document
            var text: String?
            var duplicate = false
            for k in kept.indices where kept[k].document == document {
                if let a = kept[k].chunk.byteRange, let b = c.byteRange {
                    let overlap = max(0, min(a.upperBound, b.upperBound) - max(a.lowerBound, b.lowerBound))
                    if overlap * 2 > min(a.count, b.count) {
                        duplicate = true
                        break
                    }
                }
                let mine = text ?? normalized(c.text)
                text = mine
                let theirs = kept[k].text ?? normalized(kept[k].chunk.text)
                kept[k].text = theirs
                func has(_ h: String, _ n: String) -> Bool { !n.isEmpty && h.firstRange(of: n) != nil }
                if theirs == mine || (!mine.isEmpty && (has(theirs, mine) || has(mine, theirs))) {
                    duplicate = true
                    break
                }
            }
            if !duplicate { kept.append((c, document, text)) }
        }
        return kept.map(\.chunk)
    }

    @Test func keepsWhatThePlainVersionKeeps() {
        var rng = SeededGenerator(seed: 8)
        func pick(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }
        let words = ["lamp", "oil", "the", "keeper", "a", "ab", "b", "Fresnel", "é", "e\u{301}", "灯台", "lamp-oil", "\0"]
        let spaces = [" ", "  ", "\t", "\n", "\r\n", "\u{0B}", "\u{0C}", "\r", "\u{A0}", "\u{2028}", "\u{85}", ""]
        func text() -> String {
            (0..<pick(7)).map { _ in spaces[pick(spaces.count)] + words[pick(words.count)] }.joined() + spaces[pick(spaces.count)]
        }
        var differing = 0
        var dropped = 0
        for round in 0..<4000 {
            var chunks: [RetrievedChunk] = []
            var pool: [String] = []
            for i in 0..<(1 + pick(12)) {
                // Repeated texts, texts inside others, and fresh ones.
                let t: String
                switch pick(4) {
                case 0 where !pool.isEmpty: t = pool[pick(pool.count)]
                case 1 where !pool.isEmpty: t = text() + pool[pick(pool.count)] + text()
                default: t = text()
                }
                pool.append(t)
                var metadata: [String: MetadataValue] = ["doc": .string("d\(pick(2))")]
                if pick(3) == 0 {
                    let start = Int64(pick(50))
                    metadata["start"] = .int(start)
                    metadata["end"] = .int(start + Int64(1 + pick(40)))
                }
                chunks.append(RetrievedChunk(id: "c\(i)", score: 1, text: t, metadata: metadata))
            }
            let expected = Self.reference(chunks).map(\.id)
            let got = Retriever.dropNearDuplicates(chunks).map(\.id)
            if got != expected { differing += 1 }
            #expect(got == expected, "round \(round): \(chunks.map { Array($0.text.unicodeScalars) })")
            dropped += chunks.count - got.count
        }
        #expect(differing == 0)
        #expect(dropped > 1000, "the rounds should drop many chunks, dropped \(dropped)")
    }

    /// The normalization and the search on their own, against the plain forms.
    @Test func normalizedTextAndSearchAgree() {
        let samples = ["", " ", "a", " a ", "a\r\nb", "a \t\n\u{0B}\u{0C}\r b", "\u{1C}x\u{1F}", "lamp oil", "oil", "lam", "p o"]
        for a in samples {
            let n = Retriever.NormalizedText(a)
            #expect(n.text == a.split(whereSeparator: \.isWhitespace).joined(separator: " "), "\(Array(a.unicodeScalars))")
            for b in samples {
                let m = Retriever.NormalizedText(b)
                let expected = !m.text.isEmpty && n.text.firstRange(of: m.text) != nil
                #expect(n.contains(m) == expected, "\(Array(a.unicodeScalars)) ⊇ \(Array(b.unicodeScalars))")
            }
        }
    }

    /// Texts of one document where one is the other with a NUL added: Foundation's
    /// `contains` stopped the process on these (on Linux); the copy is dropped now.
    @Test func aNULInATextDoesNotStopRetrieval() {
        for base in ["lamp 灯台", "the oil e\u{301} keeper lamp 灯台", "lamp oil"] {
            let chunks = [
                RetrievedChunk(id: "a#0", score: 1, text: base, metadata: ["doc": .string("a")]),
                RetrievedChunk(id: "a#1", score: 0.9, text: base + "\0", metadata: ["doc": .string("a")]),
            ]
            #expect(Retriever.dropNearDuplicates(chunks).map(\.id) == ["a#0"], "\(base)")
        }
    }
}
