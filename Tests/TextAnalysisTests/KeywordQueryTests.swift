import Synthetic
import Testing

@testable import TextAnalysis

/// The keyword query parser: every operator, quotes, operators inside words, empty and
/// hostile input.
@Suite struct KeywordQueryTests {
    let english = try! TextAnalyzer(.english)
    typealias Phrase = KeywordQuery.Phrase

    func parse(_ text: String) -> KeywordQuery { KeywordQuery.parse(text, analyzer: english) }

    @Test func plainTermsScoreInOrderWithDuplicates() {
        let q = parse("Lighthouse keepers lighthouse")
        #expect(q.should == ["lighthous", "keeper", "lighthous"])
        #expect(q.must.isEmpty && q.mustNot.isEmpty && q.phrases.isEmpty && q.excludedPhrases.isEmpty)
        #expect(q.scoringTerms == ["lighthous", "keeper"])
        #expect(!q.isEmpty)
    }

    @Test func theDocumentedExample() {
        let q = parse(#"lighthouse +keeper -"fog horn" covid-19"#)
        #expect(q.should == ["lighthous", "covid", "19"])
        #expect(q.must == ["keeper"])
        #expect(q.excludedPhrases == [Phrase(terms: ["fog", "horn"], offsets: [0, 1])])
    }

    @Test func everyOperator() {
        let q = parse(#"lighthouse +keeper -fog "bell rock" +"north sea" -"fog horn""#)
        #expect(q.should == ["lighthous"])
        #expect(q.must == ["keeper"])
        #expect(q.mustNot == ["fog"])
        #expect(q.phrases == [Phrase(terms: ["bell", "rock"], offsets: [0, 1]), Phrase(terms: ["north", "sea"], offsets: [0, 1])])
        #expect(q.excludedPhrases == [Phrase(terms: ["fog", "horn"], offsets: [0, 1])])
        #expect(q.scoringTerms == ["lighthous", "keeper", "bell", "rock", "north", "sea"])
    }

    @Test func phrasesKeepStopwordGaps() {
        let q = parse(#""The Cat in the Hat""#)
        #expect(q.phrases == [Phrase(terms: ["cat", "hat"], offsets: [0, 3])])
        #expect(parse(#""cat""#).must == ["cat"], "a one-term phrase is a must term")
        #expect(parse(#""the of""#) == KeywordQuery(), "a phrase of stopwords is dropped")
        #expect(parse(#"-"the cat""#).mustNot == ["cat"])
    }

    @Test func unclosedQuoteTakesTheRest() {
        let q = parse(#"lighthouse "bell rock -fog +sea"#)
        #expect(q.should == ["lighthous"])
        #expect(q.phrases == [Phrase(terms: ["bell", "rock", "fog", "sea"], offsets: [0, 1, 2, 3])])
        #expect(q.mustNot.isEmpty && q.must.isEmpty)
        #expect(parse(#"""#) == KeywordQuery())
        #expect(parse(#"+""#) == KeywordQuery())
    }

    @Test func curlyQuotesAndQuotesInsideTokens() {
        #expect(parse("“bell rock”").phrases == [Phrase(terms: ["bell", "rock"], offsets: [0, 1])])
        let q = parse(#"keeper"bell rock"sea"#)
        #expect(q.should == ["keeper", "sea"])
        #expect(q.phrases == [Phrase(terms: ["bell", "rock"], offsets: [0, 1])])
        // After a closing quote, + is not at a token start.
        #expect(parse(#""bell rock"+sea"#).should == ["sea"])
    }

    @Test func operatorsInsideWordsAreText() {
        #expect(parse("covid-19").should == ["covid", "19"])
        #expect(parse("e-mail C++ x+y").should == ["e", "mail", "c", "x", "y"])
        #expect(parse("- + -- ++") == KeywordQuery())
        #expect(parse("--fog").mustNot == ["fog"])
        #expect(parse("+-fog").must == ["fog"])
    }

    @Test func requiredWordsOfSeveralTermsArePhrases() {
        #expect(parse("+covid-19").phrases == [Phrase(terms: ["covid", "19"], offsets: [0, 1])])
        #expect(parse("-covid-19").excludedPhrases == [Phrase(terms: ["covid", "19"], offsets: [0, 1])])
        #expect(parse("+東京タワー").phrases == [Phrase(terms: ["東京", "京タ", "タワ", "ワー"], offsets: [0, 1, 2, 3])])
        #expect(parse("+東").must == ["東"])
    }

    @Test func requiredStopwordsAreDropped() {
        let q = parse("+the lighthouse")
        #expect(q.must.isEmpty)
        #expect(q.should == ["lighthous"])
        #expect(parse("+the").isEmpty)
        #expect(parse("-the lighthouse").mustNot.isEmpty)
    }

    @Test func emptyQueries() {
        for text in ["", "   ", "\n\t ", "the of and", "!!! ???", "-fog", "-fog -\"horn blast\"", "+the +a"] {
            #expect(parse(text).isEmpty, "\(text)")
        }
        #expect(parse("-fog").mustNot == ["fog"])
        #expect(!parse("+keeper").isEmpty)
        #expect(!parse(#""bell rock""#).isEmpty)
    }

    @Test func hostileInputNeverTraps() {
        var rng = SeededGenerator(seed: 41)
        let pieces = ["\"", "+", "-", " ", "“", "”", "the", "a", "東京", "\u{0}", "\u{FFFD}", "\u{301}", "é", "-\"", "+\"", "\n"]
        for _ in 0..<3000 {
            var text = ""
            for _ in 0..<Int(rng.next() % 30) {
                switch rng.next() % 3 {
                case 0: text += pieces[Int(rng.next() % UInt64(pieces.count))]
                case 1:
                    let bytes = (0..<Int(rng.next() % 8)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                    text += String(decoding: bytes, as: UTF8.self)
                default:
                    if let scalar = Unicode.Scalar(UInt32(rng.next() % 0x11_0000)) { text.unicodeScalars.append(scalar) }
                }
            }
            let q = parse(text)
            for phrase in q.phrases + q.excludedPhrases {
                #expect(phrase.terms.count >= 2 && phrase.terms.count == phrase.offsets.count && phrase.offsets.first == 0)
                #expect(phrase.offsets == phrase.offsets.sorted())
            }
            for term in q.should + q.must + q.mustNot { #expect(!term.isEmpty && term.utf8.count <= TextAnalyzer.maxTermBytes) }
            #expect(q.isEmpty == q.scoringTerms.isEmpty)
        }
    }

    /// A query without quotes or operators is analyzed in one pass over the whole text:
    /// that must give exactly what analyzing it token by token gives, whatever the
    /// whitespace, joiners, marks and scripts around the tokens.
    @Test(arguments: [
        AnalyzerSettings.english, AnalyzerSettings(language: "none"), AnalyzerSettings(language: "french", foldDiacritics: true),
    ])
    func wholeTextAnalysisAgreesWithTokenByToken(_ settings: AnalyzerSettings) throws {
        let analyzer = try TextAnalyzer(settings)
        var rng = SeededGenerator(seed: 43)
        let pieces = [
            "lighthouse", "Keeper's", "the", "covid-19", "e-mail", "C++", "x+y", "3.14", "U.S.", "東京", "タワー", "한국", "é",
            "\u{301}", "\u{200D}", "\u{AD}", "\u{FE0F}", "🙂", " ", "  ", "\n", "\t", "\u{A0}", "\u{3000}", "\u{2028}", "\u{85}",
            "\u{1680}", "\u{200B}", "\u{1C}", "-", "+", "- ", "+ ", ".", "'", "\u{0}",
        ]
        var fastPaths = 0
        for round in 0..<4000 {
            let text = FastPathTests.randomText(&rng, pieces: pieces, upTo: 24, scalarOneIn: 10)
            if !KeywordQuery.hasOperators(text) { fastPaths += 1 }
            let parsed = KeywordQuery.parse(text, analyzer: analyzer)
            let tokenByToken = KeywordQuery.parseTokens(text, analyzer: analyzer)
            #expect(parsed == tokenByToken, "round \(round): \(Array(text.unicodeScalars))")
            if parsed != tokenByToken { break }
        }
        #expect(fastPaths > 1000, "the texts exercise the one-pass path")
        #expect(KeywordQuery.hasOperators("a -b") && KeywordQuery.hasOperators("+b") && KeywordQuery.hasOperators("a \"b"))
        #expect(!KeywordQuery.hasOperators("a - b + c covid-19 C++ -"))
    }
}
