import Foundation
import Testing

@testable import TextAnalysis

/// Stopwords (with their positions) and Snowball stemming through the real libstemmer.
@Suite struct StopwordsAndStemmingTests {
    @Test func stopwordsAreDroppedButKeepTheirPositions() throws {
        let analyzer = try TextAnalyzer(AnalyzerSettings(stemming: false))
        let terms = analyzer.termsWithPositions("The cat in the hat is back")
        #expect(terms.map(\.term) == ["cat", "hat", "back"])
        #expect(terms.map(\.position) == [1, 4, 6])
        // The comparison is on the lowercased word, before stemming: "thing" is not "the".
        #expect(try TextAnalyzer(.english).terms("THE Things") == ["thing"])
        // The English possessive goes before the check: "it's" is "it", a stopword.
        #expect(analyzer.terms("it's the dog's") == ["dog"])
    }

    @Test func theEnglishListIsBM25s() throws {
        // bm25s's STOPWORDS_EN (Lucene's list): 33 words.
        let english = try #require(Stopwords(language: "english") { $0 })
        let words = ["a", "an", "and", "the", "with", "will", "into", "such", "their"]
        for word in words {
            #expect(Array(word.utf8).withUnsafeBytes { english.contains($0, hash: Stopwords.hash($0)) })
        }
        for word in ["about", "he", "she", "cat", "then."] {
            #expect(!Array(word.utf8).withUnsafeBytes { english.contains($0, hash: Stopwords.hash($0)) })
        }
        #expect(try TextAnalyzer(AnalyzerSettings(language: "porter")).terms("the connections") == ["connect"])
    }

    @Test func otherLanguagesHaveTheirLists() throws {
        let french = try TextAnalyzer(AnalyzerSettings(language: "french", stemming: false))
        #expect(french.terms("le chat et la souris") == ["chat", "souris"])
        let german = try TextAnalyzer(AnalyzerSettings(language: "german", stemming: false))
        #expect(german.terms("Der Hund und DIE Katze für dich") == ["hund", "katze"])
        let russian = try TextAnalyzer(AnalyzerSettings(language: "russian", stemming: false))
        #expect(russian.terms("Кошка и собака") == ["кошка", "собака"])
        // A list folds with the words: "für" and "fur" are both stopwords when folding.
        let folded = try TextAnalyzer(AnalyzerSettings(language: "german", stemming: false, foldDiacritics: true))
        #expect(folded.terms("fur für Fuß") == ["fuss"])
        // A language without a list drops nothing.
        let finnish = try TextAnalyzer(AnalyzerSettings(language: "finnish", stemming: false))
        #expect(finnish.terms("ja the") == ["ja", "the"])
        // "none" and stopwords off drop nothing.
        #expect(try TextAnalyzer(AnalyzerSettings(language: "none")).terms("the a") == ["the", "a"])
        #expect(try TextAnalyzer(AnalyzerSettings(stopwords: false)).terms("the a") == ["the", "a"])
    }

    @Test func everyListedLanguageMakesAnAnalyzer() throws {
        #expect(AnalyzerSettings.languages.contains("english"))
        #expect(AnalyzerSettings.languages == AnalyzerSettings.languages.sorted())
        for language in AnalyzerSettings.languages {
            let analyzer = try TextAnalyzer(AnalyzerSettings(language: language, foldDiacritics: true))
            #expect(analyzer.terms("Running connections 123").count == 3, "\(language)")
        }
    }

    @Test func unknownLanguagesAreRefusedByName() {
        for language in ["klingon", "English", "en", "", "english "] {
            let error = #expect(throws: QuiverError.self) { try TextAnalyzer(AnalyzerSettings(language: language)) }
            #expect(error?.code == .invalidArgument)
            #expect(error?.input == language)
            #expect(error?.message.contains("\"\(language)\"") == true)
            #expect(error?.message.contains("english, finnish") == true, "lists the languages")
        }
    }

    /// Snowball's reference English stemmer (PyPI snowballstemmer 2.2.0) on 4,005 SciFact
    /// words: tools/analysis/make_stem_fixture.py.
    @Test func englishStemsAgreeWithSnowballsReference() throws {
        let fixture = try String(contentsOf: Fixture.url("english-stems.tsv"), encoding: .utf8)
        let analyzer = try TextAnalyzer(AnalyzerSettings(stopwords: false))
        var pairs = 0
        var disagreements: [String] = []
        for line in fixture.split(separator: "\n") {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            try #require(fields.count == 2)
            let word = String(fields[0])
            var expected = String(fields[1])
            // Quiver drops the possessive before Snowball sees the word; Snowball drops it too.
            if word.hasSuffix("'s") { expected = analyzer.terms(String(word.dropLast(2))).first ?? "" }
            let terms = analyzer.terms(word)
            if terms != [expected] { disagreements.append("\(word): \(terms) vs \(expected)") }
            pairs += 1
        }
        #expect(pairs > 4000)
        #expect(disagreements.isEmpty, "\(disagreements.prefix(20))")
    }

    @Test func stemmerFingerprints() throws {
        let english = try TextAnalyzer(.english)
        #expect(english.stemmerFingerprint.count == 16 && english.stemmerFingerprint.allSatisfy(\.isHexDigit))
        #expect(try TextAnalyzer(AnalyzerSettings(stopwords: false, foldDiacritics: true)).stemmerFingerprint == english.stemmerFingerprint)
        #expect(try TextAnalyzer(AnalyzerSettings(language: "porter")).stemmerFingerprint != english.stemmerFingerprint)
        #expect(try TextAnalyzer(AnalyzerSettings(language: "french")).stemmerFingerprint != english.stemmerFingerprint)
        #expect(try TextAnalyzer(AnalyzerSettings(stemming: false)).stemmerFingerprint == "none")
        #expect(try TextAnalyzer(AnalyzerSettings(language: "none")).stemmerFingerprint == "none")
        // Debian's libstemmer 2.2 (what the fixture's stems come from): "adding" is "ad".
        #expect(english.terms("adding") == ["ad"])
    }

    @Test func stemmingExamples() throws {
        let english = try TextAnalyzer(.english)
        #expect(english.terms("The lighthouse keepers' logs") == ["lighthous", "keeper", "log"])
        #expect(english.termsWithPositions("The lighthouse keepers' logs").map(\.position) == [1, 2, 3])
        #expect(english.terms("generously connected connections") == ["generous", "connect", "connect"])
        let french = try TextAnalyzer(AnalyzerSettings(language: "french"))
        #expect(french.terms("continuation continuellement") == ["continu", "continuel"])
    }

    @Test func theStemCachesGiveWhatSnowballGives() throws {
        // Words of every length around the caches' limits (16 bytes for the hot one, 31 for
        // the large one), many enough to overwrite slots, twice: the second time from the
        // caches where they kept them.
        let analyzer = try TextAnalyzer(AnalyzerSettings(stopwords: false))
        let reference = try #require(SnowballStemmer(algorithm: "english"))
        let suffixes = ["ing", "ational", "ousness", "s", "ies", "ed", "fulness", "ly"]
        var words: [String] = []
        for n in 0..<12_000 {
            let stemLength = 1 + n % 34
            let base = String(repeating: "abcdefghij", count: 4).prefix(stemLength)
            words.append("\(base)\(n % 97 == 0 ? "" : "x\(n)")\(suffixes[n % suffixes.count])")
        }
        let expected = words.map { word in
            Array(word.utf8).withUnsafeBytes { String(decoding: reference.stem($0), as: UTF8.self) }
        }
        let text = words.joined(separator: " ")
        #expect(analyzer.terms(text) == expected)
        #expect(analyzer.terms(text) == expected)
        #expect(analyzer.terms("running runs ran") == ["run", "run", "ran"])
    }
}
