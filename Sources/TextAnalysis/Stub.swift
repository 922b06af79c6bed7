// TEMPORARY stub of the TextAnalysis API (replaced by the real target from branch text-analysis).
import Foundation

public struct AnalyzerSettings: Sendable, Hashable {
    public var language: String
    public var stemming: Bool
    public var stopwords: Bool
    public var foldDiacritics: Bool
    public init(language: String = "english", stemming: Bool = true, stopwords: Bool = true, foldDiacritics: Bool = false) {
        self.language = language
        self.stemming = stemming
        self.stopwords = stopwords
        self.foldDiacritics = foldDiacritics
    }
    public static let english = AnalyzerSettings()
    public var identifier: String { "v1 \(language)" + (stemming ? " stem" : "") + (stopwords ? " stop" : "") + (foldDiacritics ? " fold" : "") }
    public init(identifier: String) throws {
        let parts = identifier.split(separator: " ").map(String.init)
        guard parts.count >= 2, parts[0] == "v1" else { throw NSError(domain: "stub", code: 1) }
        self.init(language: parts[1], stemming: parts.contains("stem"), stopwords: parts.contains("stop"), foldDiacritics: parts.contains("fold"))
    }
    public static var languages: [String] { ["english"] }
}

public final class TextAnalyzer: Sendable {
    public let settings: AnalyzerSettings
    public init(_ settings: AnalyzerSettings) throws { self.settings = settings }
    static let stop: Set<String> = ["the", "a", "an", "of", "and", "or", "to", "in", "is", "are", "was", "who", "what"]
    public func forEachTerm(in text: String, _ body: (UnsafeRawBufferPointer, Int) throws -> Void) rethrows {
        for (t, p) in termsWithPositions(text) {
            var s = t
            try s.withUTF8 { try body(UnsafeRawBufferPointer($0), p) }
        }
    }
    public func terms(_ text: String) -> [String] { termsWithPositions(text).map(\.term) }
    public func termsWithPositions(_ text: String) -> [(term: String, position: Int)] {
        var out: [(String, Int)] = []
        var pos = 0
        for w in text.lowercased().split(whereSeparator: { !$0.isLetter && !$0.isNumber }) {
            let s = String(w)
            if !(settings.stopwords && Self.stop.contains(s)) { out.append((settings.stemming && s.hasSuffix("s") && s.count > 3 ? String(s.dropLast()) : s, pos)) }
            pos += 1
        }
        return out
    }
}

public struct KeywordQuery: Sendable, Hashable {
    public struct Phrase: Sendable, Hashable {
        public var terms: [String]
        public var offsets: [Int]
    }
    public var should: [String] = []
    public var must: [String] = []
    public var mustNot: [String] = []
    public var phrases: [Phrase] = []
    public var excludedPhrases: [Phrase] = []
    public static func parse(_ text: String, analyzer: TextAnalyzer) -> KeywordQuery {
        var q = KeywordQuery()
        var rest = Substring(text)
        while let r = rest.firstIndex(of: "\"") {
            let before = rest[..<r]
            q.should += analyzer.terms(String(before))
            let after = rest[rest.index(after: r)...]
            let end = after.firstIndex(of: "\"") ?? after.endIndex
            let tp = analyzer.termsWithPositions(String(after[..<end]))
            if tp.count > 1 { q.phrases.append(Phrase(terms: tp.map(\.term), offsets: tp.map { $0.position - tp[0].position })) } else { q.must += tp.map(\.term) }
            rest = end == after.endIndex ? "" : after[after.index(after: end)...]
        }
        for w in rest.split(separator: " ") {
            if w.hasPrefix("+") { q.must += analyzer.terms(String(w.dropFirst())) }
            else if w.hasPrefix("-") { q.mustNot += analyzer.terms(String(w.dropFirst())) }
            else { q.should += analyzer.terms(String(w)) }
        }
        return q
    }
    public var isEmpty: Bool { should.isEmpty && must.isEmpty && phrases.isEmpty }
    public var scoringTerms: [String] {
        var seen = Set<String>()
        return (should + must + phrases.flatMap(\.terms)).filter { seen.insert($0).inserted }
    }
}
