import Testing
import TextAnalysis

/// Identifiers: canonical form, round trip, rejection of bad ones.
@Suite struct AnalyzerSettingsTests {
    @Test func defaults() {
        let english = AnalyzerSettings.english
        #expect(english == AnalyzerSettings(language: "english", stemming: true, stopwords: true, foldDiacritics: false))
        #expect(english.identifier == "v1 english stem stop")
        #expect(AnalyzerSettings(language: "french", foldDiacritics: true).identifier == "v1 french stem stop fold")
        #expect(AnalyzerSettings(stemming: false).identifier == "v1 english stop")
        #expect(AnalyzerSettings(stemming: false, stopwords: false).identifier == "v1 english")
        #expect(AnalyzerSettings(language: "none").identifier == "v1 none")
        #expect(AnalyzerSettings(language: "none", stemming: false, foldDiacritics: true).identifier == "v1 none fold")
    }

    @Test func everyCombinationRoundTrips() throws {
        var identifiers: Set<String> = []
        for language in AnalyzerSettings.languages {
            for stemming in [false, true] {
                for stopwords in [false, true] {
                    for fold in [false, true] {
                        let settings = AnalyzerSettings(
                            language: language, stemming: stemming, stopwords: stopwords, foldDiacritics: fold)
                        #expect(try AnalyzerSettings(identifier: settings.identifier) == settings)
                        #expect(identifiers.insert(settings.identifier).inserted)
                    }
                }
            }
        }
        for fold in [false, true] {
            let none = AnalyzerSettings(language: "none", stemming: false, stopwords: false, foldDiacritics: fold)
            #expect(try AnalyzerSettings(identifier: none.identifier) == none)
        }
    }

    @Test(arguments: [
        ("", "version"), ("v2 english stem stop", "v2"), ("V1 english", "V1"), ("v1", "no language"),
        ("v1 klingon stem", "klingon"), ("v1 English stem", "English"), ("v1 english stem stop shout", "shout"),
        ("v1 english stop stem", "\"stem\""), ("v1 english stem stem", "\"stem\""), ("v1 none stem", "\"stem\""),
        ("v1  english", "\"\""), ("v1 english ", "\"\""), ("v1 english\tstem", "english\tstem"),
    ])
    func badIdentifiersAreRefusedByTheirBadPart(_ identifier: String, _ named: String) {
        let error = #expect(throws: QuiverError.self) { try AnalyzerSettings(identifier: identifier) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.input == identifier)
        #expect(error?.message.contains(named) == true, "\(error?.message ?? "")")
    }
}
