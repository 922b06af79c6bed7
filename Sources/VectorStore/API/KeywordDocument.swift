import TextAnalysis

/// What a keyword (BM25) index holds of one record: its distinct terms with their
/// frequencies and its length in terms, over its text and the string values of the
/// collection's keyword fields, as the collection's analyzer makes them. Every backend
/// indexes records with this, so that the same texts make the same terms, lengths and
/// scores on each.
///
/// ```swift
/// let analyzer = try KeywordIndexSettings.analyzer(.english)
/// let doc = KeywordDocument(text: "The keeper rowed out", metadata: [:], fields: [], analyzer: analyzer)
/// // doc.frequencies == ["keeper": 1, "row": 1], doc.length == 3 ("out" is a stopword)
/// ```
///
/// Thread safety: a value.
public struct KeywordDocument: Sendable, Hashable {
    /// Terms longer than this (UTF-8 bytes) count towards the length but are not indexed.
    public static let maxTermBytes = 255

    /// Each distinct indexed term and how often it occurs.
    public var frequencies: [String: Int]
    /// The number of terms the analyzer made (stopwords are not terms).
    public var length: Int

    /// Analyzes a record's text and the string values of its `fields`.
    public init(text: String, metadata: [String: MetadataValue], fields: [String], analyzer: TextAnalyzer) {
        var frequencies: [String: Int] = [:]
        var length = 0
        for t in Self.indexedTexts(text, metadata, fields: fields) {
            analyzer.forEachTerm(in: t) { term, _ in
                length += 1
                guard term.count <= Self.maxTermBytes, !term.isEmpty else { return }
                frequencies[String(decoding: term, as: UTF8.self), default: 0] += 1
            }
        }
        self.frequencies = frequencies
        self.length = length
    }

    /// The texts a keyword index analyzes for a record: its own, then the string values
    /// of the `fields` it has (a list's each).
    public static func indexedTexts(_ text: String, _ metadata: [String: MetadataValue], fields: [String]) -> [String] {
        var out = [text]
        for field in fields {
            switch metadata[field] {
            case .string(let s)?: out.append(s)
            case .strings(let l)?: out += l
            default: break
            }
        }
        return out
    }

    /// A record's indexed texts as one, each after a blank line, for phrase checks: the
    /// terms a keyword index counts, with positions.
    public static func indexedText(_ text: String, _ metadata: [String: MetadataValue], fields: [String]) -> String {
        fields.isEmpty ? text : indexedTexts(text, metadata, fields: fields).joined(separator: "\n\n")
    }
}

extension KeywordIndexSettings {
    /// The process's analyzer for `settings` (one per settings, shared: each holds a pool
    /// of stemmers).
    ///
    /// - Throws: `.invalidArgument` for an unknown language.
    public static func analyzer(_ settings: AnalyzerSettings) throws -> TextAnalyzer {
        try AnalyzerCache.analyzer(settings)
    }

    /// `settings` of a collection `name` about to be created, checked and completed for
    /// its keyword index (either backend): the analyzer must exist here and now (a known
    /// language, a known version), its stemmer's fingerprint is recorded, and keyword
    /// fields are valid and come with an analyzer.
    ///
    /// - Throws: `.invalidArgument` naming the setting.
    public static func preparedForCreate(_ settings: CollectionSettings, name: String) throws -> CollectionSettings {
        var settings = settings
        if let identifier = settings.configuration[configurationKey] {
            let analyzer = try analyzer(try AnalyzerSettings(identifier: identifier))
            settings.configuration[stemmerKey] = analyzer.stemmerFingerprint
            try validate(fields: settings.keywordFields)
        } else if settings.configuration[fieldsKey] != nil {
            throw StoreError(
                .invalidArgument, "collection \"\(name)\": keyword fields need a keyword index (an analyzer)", input: fieldsKey,
                collection: name)
        }
        return settings
    }
}
