import QuiverCore

/// How a ``TextAnalyzer`` turns text into keyword terms: the language (Snowball stemmer and
/// stopword list), and which steps run.
///
/// ```swift
/// let french = AnalyzerSettings(language: "french", foldDiacritics: true)
/// print(french.identifier)  // "v1 french stem stop fold"
/// let again = try AnalyzerSettings(identifier: french.identifier)  // == french
/// ```
///
/// A collection records ``identifier`` and refuses to be searched or written with other
/// settings: terms analyzed one way are not found when looked up another way.
public struct AnalyzerSettings: Sendable, Hashable {
    /// Snowball algorithm name ("english", "french", "german", …, as `sb_stemmer_list()`
    /// gives; see ``languages``), or "none" (no stemming, no stopwords).
    ///
    /// Languages with a stopword list: english (also used by "porter"), dutch, french,
    /// german, italian, norwegian, portuguese, russian, spanish, swedish, turkish. The
    /// others have none: with them ``stopwords`` has no effect.
    public var language: String
    /// Whether words are reduced to their Snowball stem ("connections" → "connect").
    /// Ignored when ``language`` is "none".
    public var stemming: Bool
    /// Whether the language's stopwords ("the", "of", …) are left out of the index. They
    /// still take a position, so phrases keep their gaps. Ignored when ``language`` is "none".
    public var stopwords: Bool
    /// Whether diacritics are removed ("café" → "cafe", "Ærø" → "aero"), so that a query
    /// typed without accents finds accented text.
    ///
    /// The rule: canonical decomposition; the combining diacritical marks are dropped
    /// (U+0300–036F, U+1AB0–1AFF, U+1DC0–1DFF, U+20D0–20FF, U+FE20–FE2F: the accents of
    /// Latin, Greek and Cyrillic); æ œ ø đ ð ł þ ß ı ħ ŧ ſ ŀ, which do not decompose, become
    /// ae oe o d d l th ss i h t s l; the result is recomposed. Marks of other scripts
    /// (Devanagari vowel signs, Hebrew points, Arabic vowels, kana voicing) are kept, and CJK
    /// terms are not folded. Folding comes before stopwords (the list is folded too) and
    /// stemming, so "resume" and "résumé" give the same term.
    public var foldDiacritics: Bool

    /// The version of Quiver's analysis rules (segmentation, folding, lists) that
    /// ``identifier`` records: a change that alters any term gets a new version.
    public static let rulesVersion = "v1"

    /// The settings that analyze nothing away: name "none" for ``language``.
    public static let noLanguage = "none"

    /// Creates settings; ``TextAnalyzer/init(_:)`` checks the language.
    public init(language: String = "english", stemming: Bool = true, stopwords: Bool = true, foldDiacritics: Bool = false) {
        self.language = language
        self.stemming = stemming
        self.stopwords = stopwords
        self.foldDiacritics = foldDiacritics
    }

    /// English with stemming and stopwords, no diacritic folding.
    public static let english = AnalyzerSettings()

    /// Canonical one-line form recorded with a collection, including a version of Quiver's
    /// analysis rules: "v1 english stem stop", then " fold" when diacritics are folded;
    /// "v1 none" (and " fold") for ``noLanguage``, whose stemming and stopword flags do not
    /// count. Parsed back by ``init(identifier:)``. Two settings that analyze differently
    /// never share an identifier.
    public var identifier: String {
        var parts = [Self.rulesVersion, language]
        if language != Self.noLanguage {
            if stemming { parts.append("stem") }
            if stopwords { parts.append("stop") }
        }
        if foldDiacritics { parts.append("fold") }
        return parts.joined(separator: " ")
    }

    /// Parses an ``identifier``, which must be in its canonical form.
    ///
    /// - Throws: `QuiverError` `.invalidArgument` naming the bad part: another rules version,
    ///   an unknown language, an unknown, repeated or misplaced flag.
    public init(identifier: String) throws {
        let parts = identifier.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        func reject(_ why: String, expected: String? = nil) -> QuiverError {
            QuiverError(
                .invalidArgument, "analyzer identifier \"\(identifier)\": \(why)", input: identifier, expected: expected)
        }
        guard let version = parts.first, version == Self.rulesVersion else {
            throw reject(
                "analysis rules version \"\(parts.first ?? "")\" is not supported (this Quiver writes \(Self.rulesVersion))",
                expected: Self.rulesVersion)
        }
        guard parts.count >= 2 else { throw reject("no language", expected: "\(Self.rulesVersion) LANGUAGE [stem] [stop] [fold]") }
        let language = parts[1]
        guard language == Self.noLanguage || Self.languages.contains(language) else {
            throw reject(
                "unknown language \"\(language)\"; known: \((Self.languages + [Self.noLanguage]).joined(separator: ", "))",
                expected: "a language")
        }
        let flags = language == Self.noLanguage ? ["fold"] : ["stem", "stop", "fold"]
        var next = flags.startIndex
        var seen: Set<String> = []
        for flag in parts.dropFirst(2) {
            guard let at = flags.firstIndex(of: flag) else {
                throw reject(
                    "unknown flag \"\(flag)\" (\(language) takes \(flags.joined(separator: ", ")))",
                    expected: flags.joined(separator: " "))
            }
            guard !seen.contains(flag), at >= next else {
                throw reject(
                    "flag \"\(flag)\" repeated or out of order (canonical order: \(flags.joined(separator: " ")))",
                    expected: flags.joined(separator: " "))
            }
            seen.insert(flag)
            next = at + 1
        }
        self.init(
            language: language, stemming: seen.contains("stem"), stopwords: seen.contains("stop"),
            foldDiacritics: seen.contains("fold"))
    }

    /// Languages with a stemmer (`sb_stemmer_list()` of the linked libstemmer), sorted.
    /// ``noLanguage`` is accepted besides these.
    public static var languages: [String] { SnowballStemmer.algorithms }
}
