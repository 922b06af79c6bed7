import Foundation
import Testing

@testable import TextAnalysis

/// Segmentation, case, normalization, diacritics, CJK and length: the analysis rules
/// before stopwords and stemming (analyzers here neither stem nor drop stopwords, unless
/// a test says otherwise).
@Suite struct SegmentationTests {
    let plain = try! TextAnalyzer(AnalyzerSettings(language: "english", stemming: false, stopwords: false))
    let none = try! TextAnalyzer(AnalyzerSettings(language: "none"))
    let folding = try! TextAnalyzer(AnalyzerSettings(language: "none", foldDiacritics: true))

    @Test(arguments: [
        // Apostrophes between letters stay; English drops a final 's.
        ("can't won't", ["can't", "won't"]),
        ("dog's dogs' 'quoted'", ["dog", "dogs", "quoted"]),
        ("It\u{2019}s O\u{2019}Brien\u{2019}s", ["it", "o'brien"]),
        ("rock'n'roll", ["rock'n'roll"]),
        ("a''b a'1", ["a", "b", "a", "1"]),
        // Periods between letters, periods and commas between digits.
        ("e.g. U.S.A. example.com end.", ["e.g", "u.s.a", "example.com", "end"]),
        ("3.5 1,000 1,000.25 v1.2 a,b 3, a.1", ["3.5", "1,000", "1,000.25", "v1.2", "a", "b", "3", "a", "1"]),
        ("...a..b.,c", ["a", "b", "c"]),
        // Hyphens, slashes, underscores and other punctuation separate.
        ("covid-19 e-mail and/or snake_case C++ x=y", ["covid", "19", "e", "mail", "and", "or", "snake", "case", "c", "x", "y"]),
        ("https://example.org/a-b?q=1#frag", ["https", "example.org", "a", "b", "q", "1", "frag"]),
        ("  \t\n", []),
        ("", []),
        ("-", []),
        // Emoji, symbols, NUL, U+FFFD, controls separate; keycaps give their digit.
        ("go👍🏽now 🇯🇵 👨‍👩‍👧 1️⃣ ❤️x", ["go", "now", "1", "x"]),
        ("a\u{0}b\u{FFFD}c\u{7}d\u{200B}e", ["a", "b", "c", "d", "e"]),
        // Soft hyphen, joiners and variation selectors vanish inside words.
        ("co\u{AD}operate zero\u{200D}width", ["cooperate", "zerowidth"]),
        // Digits of any script, letters of any script.
        ("٣٤ αβγ Москва 한국어", ["٣٤", "αβγ", "москва", "한국어"]),
        // Case: full lowercase.
        ("HELLO World ÉCOLE ΣΟΦΊΑ", ["hello", "world", "école", "σοφία"]),
        ("STRASSE Straße İstanbul", ["strasse", "straße", "i\u{307}stanbul"]),
    ])
    func segmentation(_ text: String, _ expected: [String]) {
        #expect(plain.terms(text) == expected)
    }

    @Test func numbersAndWordsMix() {
        #expect(none.terms("h2o covid19 2x 10k") == ["h2o", "covid19", "2x", "10k"])
        #expect(none.terms("dog's") == ["dog's"], "only English drops the possessive")
    }

    @Test func marksAttachToTheWordBeforeThemAndSeparateOtherwise() {
        // A lone combining mark (after a space) is not a word.
        #expect(none.terms(" \u{301}x \u{301}") == ["x"])
        // Devanagari vowel signs are marks inside the word.
        #expect(none.terms("हिन्दी भाषा") == ["हिन्दी", "भाषा"])
    }

    @Test func nfcAndNFDGiveTheSameTerms() {
        let texts = [
            "Café crème brûlée, naïve résumé", "Ångström Ωmega ñandú", "ḱṓṕ Việt Nam tiếng Việt",
            "한국어 텍스트", "が ぱ ガ パ", "a=\u{338}b <\u{338}", "e\u{301}\u{323} e\u{323}\u{301}",
        ]
        for text in texts {
            let nfc = text.precomposedStringWithCanonicalMapping
            let nfd = text.decomposedStringWithCanonicalMapping
            #expect(nfc.unicodeScalars.count != nfd.unicodeScalars.count || text.allSatisfy(\.isASCII))
            for analyzer in [plain, none, folding] {
                #expect(analyzer.terms(nfc) == analyzer.terms(nfd), "\(text)")
            }
            let terms = plain.terms(nfd)
            #expect(terms.allSatisfy { $0 == $0.precomposedStringWithCanonicalMapping }, "terms are NFC")
        }
        #expect(plain.terms("Cafe\u{301}") == ["café"])
    }

    @Test func diacriticFolding() {
        #expect(folding.terms("Café Ærø Straße ŁÓDŹ Œuvre Þór naïve") == ["cafe", "aero", "strasse", "lodz", "oeuvre", "thor", "naive"])
        #expect(folding.terms("Ελληνικά Ёлка й") == ["ελληνικα", "елка", "и"])
        // Marks of other scripts are part of their letters.
        #expect(folding.terms("हिन्दी") == ["हिन्दी"])
        #expect(none.terms("Café Ærø") == ["café", "ærø"], "off by default")
        // Folded and unfolded spellings meet.
        #expect(folding.terms("resume") == folding.terms("RÉSUMÉ"))
    }

    @Test func cjkRunsBecomeBigrams() {
        #expect(none.terms("東京タワー") == ["東京", "京タ", "タワ", "ワー"])
        #expect(none.terms("日") == ["日"])
        #expect(none.terms("日 本") == ["日", "本"])
        // Script changes end a run; CJK punctuation separates.
        #expect(none.terms("東京タワーはabc") == ["東京", "京タ", "タワ", "ワー", "ーは", "abc"])
        #expect(none.terms("abc東京123") == ["abc", "東京", "123"])
        #expect(none.terms("東京、大阪。") == ["東京", "大阪"])
        // Halfwidth Katakana; Hangul is written with spaces and stays whole.
        #expect(none.terms("ｶﾀｶﾅ") == ["ｶﾀ", "ﾀｶ", "ｶﾅ"])
        #expect(none.terms("한국어 텍스트") == ["한국어", "텍스트"])
        // Positions: one per bigram.
        #expect(none.termsWithPositions("a 東京都 b").map(\.position) == [0, 1, 2, 3])
        // A combining voicing mark stays with its kana (NFD か+゛ is NFC が).
        #expect(none.terms("か\u{3099}き") == ["がき"])
    }

    @Test func cjkTermsAreNotStemmedNorStopped() throws {
        let english = try TextAnalyzer(.english)
        #expect(english.terms("東京 running") == ["東京", "run"])
    }

    @Test func longWordsAreCutTo64BytesAtAScalarBoundary() {
        let long = String(repeating: "a", count: 100)
        #expect(none.terms(long) == [String(repeating: "a", count: 64)])
        let accented = String(repeating: "é", count: 40)  // 80 bytes
        #expect(none.terms(accented) == [String(repeating: "é", count: 32)])
        let mixed = "a" + String(repeating: "é", count: 40)  // 81 bytes: cut at 63
        let cut = none.terms(mixed)
        #expect(cut.count == 1 && cut[0].utf8.count == 63)
        let emojiSeparated = (0..<20).map { _ in String(repeating: "x", count: 70) }.joined(separator: "🙂")
        #expect(none.terms(emojiSeparated).allSatisfy { $0.utf8.count == 64 })
        for analyzer in [plain, none, folding] {
            for term in analyzer.terms(String(repeating: "ß", count: 50) + " " + String(repeating: "Ǆ", count: 40)) {
                #expect(!term.isEmpty && term.utf8.count <= TextAnalyzer.maxTermBytes)
            }
        }
    }
}
