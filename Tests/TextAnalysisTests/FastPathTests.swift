import Foundation
import Synthetic
import Testing

@testable import TextAnalysis

/// The ASCII fast path gives exactly the general path's terms.
@Suite struct FastPathTests {
    static let settings = [
        AnalyzerSettings.english, AnalyzerSettings(language: "none"), AnalyzerSettings(stemming: false),
        AnalyzerSettings(language: "french", foldDiacritics: true), AnalyzerSettings(language: "porter"),
    ]

    /// Pieces that exercise the joiners and the cut points: ASCII words, punctuation that
    /// joins or separates, < = > (which compose with U+0338), and non-ASCII neighbours.
    static let pieces = [
        "the", "Dog", "'s", "'", "S", ".", ",", "3", "14", "a", "e", "x", " ", " ", " ", "-", "/", "_", "\n", "\t",
        "<", "=", ">", "\u{338}", "\u{301}", "é", "É", "’", "ß", "東京", "は", "한", "αβ", "🙂", "\u{0}", "\u{FFFD}",
        "\u{AD}", "\u{200D}", "\u{FE0F}", "İ", "ǅ", "ﬁ", "٣", "e.g", "1,000", "can't", "U.S.", "connections",
        String(repeating: "long", count: 20), "Ærø",
    ]

    @Test(arguments: settings)
    func fastPathAgreesWithTheGeneralPath(_ settings: AnalyzerSettings) throws {
        let analyzer = try TextAnalyzer(settings)
        var rng = SeededGenerator(seed: 29)
        for round in 0..<3000 {
            let text = Self.randomText(&rng, pieces: Self.pieces, upTo: 40, scalarOneIn: 8)
            let fast = analyzer.termsWithPositions(text)
            var general: [(String, Int)] = []
            analyzer.forEachTermWithoutFastPath(in: text) { general.append((String(decoding: $0, as: UTF8.self), $1)) }
            #expect(fast.map(\.term) == general.map(\.0), "round \(round): \(Array(text.unicodeScalars))")
            #expect(fast.map(\.position) == general.map(\.1), "round \(round): \(Array(text.unicodeScalars))")
            if fast.map(\.term) != general.map(\.0) { break }
        }
    }

    /// `forEachWord` resolves its words to exactly `forEachTerm`'s terms, in order, and a
    /// stemmed word's term depends on its bytes alone (what an indexer caching terms by
    /// word relies on).
    @Test(arguments: settings)
    func wordsResolveToTheTerms(_ settings: AnalyzerSettings) throws {
        let analyzer = try TextAnalyzer(settings)
        var rng = SeededGenerator(seed: 31)
        var seen: [[UInt8]: String?] = [:]
        for round in 0..<2000 {
            let text = Self.randomText(&rng, pieces: Self.pieces, upTo: 40, scalarOneIn: 8)
            var resolved: [String] = []
            var consistent = true
            analyzer.forEachWord(in: text) { word, stemmed, term in
                let t = term().map { String(decoding: $0, as: UTF8.self) }
                if let t { resolved.append(t) }
                guard stemmed else { return }
                if let known = seen[Array(word)], known != t { consistent = false }
                seen[Array(word)] = t
            }
            #expect(resolved == analyzer.terms(text), "round \(round): \(Array(text.unicodeScalars))")
            #expect(consistent, "round \(round): \(Array(text.unicodeScalars))")
            if resolved != analyzer.terms(text) || !consistent { break }
        }
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: Fixture.scifactCorpus.path), "needs ../shared/beir"))
    func scifactTextsAgree() throws {
        let analyzer = try TextAnalyzer(.english)
        let data = try Data(contentsOf: Fixture.scifactCorpus)
        var checked = 0
        for line in data.split(separator: UInt8(ascii: "\n")).prefix(300) {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
            let text = "\(object["title"] ?? "") \(object["text"] ?? "")"
            var general: [String] = []
            analyzer.forEachTermWithoutFastPath(in: text) { term, _ in general.append(String(decoding: term, as: UTF8.self)) }
            #expect(analyzer.terms(text) == general)
            checked += 1
        }
        #expect(checked == 300)
    }

    /// Fewer than `upTo` parts, each one of `pieces` or (one in `scalarOneIn`) a random
    /// scalar.
    static func randomText(_ rng: inout SeededGenerator, pieces: [String], upTo: UInt64, scalarOneIn: UInt64) -> String {
        var text = ""
        for _ in 0..<Int(rng.next() % upTo) {
            if rng.next() % scalarOneIn == 0 {
                text.unicodeScalars.append(randomScalar(&rng))
            } else {
                text += pieces[Int(rng.next() % UInt64(pieces.count))]
            }
        }
        return text
    }

    /// Any scalar, biased towards the interesting planes.
    static func randomScalar(_ rng: inout SeededGenerator) -> Unicode.Scalar {
        let ranges: [ClosedRange<UInt32>] = [
            0...0x7F, 0x80...0x24F, 0x300...0x36F, 0x370...0x52F, 0x900...0x97F, 0x3000...0x30FF,
            0x4E00...0x4E80, 0xAC00...0xAC80, 0xFE00...0xFFFF, 0x1F300...0x1F6FF, 0...0x10FFFF,
        ]
        let range = ranges[Int(rng.next() % UInt64(ranges.count))]
        while true {
            let v = range.lowerBound + UInt32(rng.next() % UInt64(range.count))
            if let scalar = Unicode.Scalar(v) { return scalar }
        }
    }
}
