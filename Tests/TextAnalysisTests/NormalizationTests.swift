import Foundation
import Synthetic
import Testing

@testable import TextAnalysis

/// The shortcuts of the general path against what they stand for: the NFC quick check
/// against Foundation's normalizer, lowercasing scalar by scalar against
/// `String.lowercased()`.
@Suite struct NormalizationTests {
    @Test func inertScalarsAreLeftAloneByNFC() {
        var inert: [Unicode.Scalar] = []
        for v in stride(from: UInt32(0), to: 0x3_0000, by: 1) {
            guard let scalar = Unicode.Scalar(v), NFCQuickCheck.isInert(v) else { continue }
            #expect(scalar.properties.canonicalCombiningClass == .notReordered, "U+\(String(v, radix: 16))")
            inert.append(scalar)
        }
        #expect(inert.count > 100_000)
        #expect(!NFCQuickCheck.isInert(0x301) && !NFCQuickCheck.isInert(0x338) && !NFCQuickCheck.isInert(0x1161))
        #expect(!NFCQuickCheck.isInert(0x212B), "Å (Angstrom sign) is not NFC")
        #expect(NFCQuickCheck.isInert(0xE9) && NFCQuickCheck.isInert(0x3B1) && NFCQuickCheck.isInert(0x4E00))
        // Strings of inert scalars are in NFC.
        var rng = SeededGenerator(seed: 3)
        for _ in 0..<2000 {
            var s = String.UnicodeScalarView()
            for _ in 0..<(1 + rng.next() % 12) { s.append(inert[Int(rng.next() % UInt64(inert.count))]) }
            let text = String(s)
            #expect(Array(text.precomposedStringWithCanonicalMapping.unicodeScalars) == Array(text.unicodeScalars))
        }
    }

    @Test func wordsAreNormalizedAsStringsWouldBe() throws {
        // Letters of many scripts, capitals, composed and decomposed: the general path's
        // bytes against lowercased() + NFC (+ folding) on Strings.
        let letters = Array(
            "AaÉéEe\u{301}İIıiΣσςǄǅǆẞßÆæØøŁłĞğΆάΪΐЁёЙйԱաႠⴀᏸᏰＡａ𐐀𐐨ǰJ\u{30C}ﬁḱṓṕ한국はカ"
                .unicodeScalars)
        var rng = SeededGenerator(seed: 5)
        for fold in [false, true] {
            let analyzer = try TextAnalyzer(AnalyzerSettings(language: "none", foldDiacritics: fold))
            for _ in 0..<2000 {
                var s = String.UnicodeScalarView()
                s.append("x")
                for _ in 0..<(rng.next() % 10) { s.append(letters[Int(rng.next() % UInt64(letters.count))]) }
                let word = String(s)
                let terms = analyzer.terms(word)
                // Kana make bigrams and Hangul next to kana splits: compare only single words.
                guard terms.count == 1, !word.unicodeScalars.contains(where: { ScalarClass($0) == .cjk }) else { continue }
                let expected = TextAnalyzer.normalizeWord(word, fold: fold)
                #expect(terms == [expected], "\(Array(word.unicodeScalars))")
            }
        }
    }
}
