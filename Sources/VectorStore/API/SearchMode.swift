import TextAnalysis

/// How a search finds its hits: by embedding, by keywords, or by both, fused.
///
/// ```swift
/// let request = SearchRequest(texts: ["who rowed out to the wreck?"], vectors: [q], k: 5, mode: .hybrid)
/// ```
public enum SearchMode: String, Sendable, Hashable, CaseIterable, Codable {
    /// Nearest vectors to the query vector (exact).
    case dense
    /// BM25 over the collection's keyword index: words, `"exact phrases"`, `+required`,
    /// `-excluded`.
    case keyword
    /// Both rankings, fused (`Fusion`); a record found by either can be a hit.
    case hybrid
}

/// How a hybrid search merges the dense and the keyword ranking of each query.
public enum Fusion: Sendable, Hashable {
    /// Reciprocal-rank fusion: a record scores Σ 1/(k + rank) over the rankings that
    /// hold it (rank from 1). Needs no score calibration; `k` = 60 is the usual choice.
    case reciprocalRank(k: Double)
    /// Weighted score fusion: each ranking's scores are scaled to 0…1 over its own
    /// candidates (min–max), and a record scores `keywordWeight · keyword + (1 −
    /// keywordWeight) · dense` (a ranking that misses it contributes 0).
    case weighted(keywordWeight: Double)

    /// Weighted score fusion with equal weights: on the SciFact dev set (809 queries, local
    /// model) it ranked best — nDCG@10 0.735 against 0.716 for reciprocal-rank fusion
    /// (k = 60), 0.670 dense and 0.692 keyword (`quiver-bench retrieval`).
    public static let `default` = Fusion.weighted(keywordWeight: 0.5)

    func validate() throws {
        switch self {
        case .reciprocalRank(let k):
            guard k.isFinite, k >= 0 else {
                throw StoreError(.invalidArgument, "the reciprocal-rank constant must be a finite number ≥ 0, got \(k)", input: "fusion")
            }
        case .weighted(let w):
            guard w.isFinite, (0...1).contains(w) else {
                throw StoreError(.invalidArgument, "the keyword weight must be between 0 and 1, got \(w)", input: "fusion")
            }
        }
    }
}

/// The keyword index of a collection: which analyzer made its terms. Recorded in the
/// collection's configuration under ``configurationKey``, so that opening a collection
/// with another analyzer is refused like another embedder is.
public enum KeywordIndexSettings {
    /// The configuration key holding the analyzer's identifier
    /// (`AnalyzerSettings.identifier`).
    public static let configurationKey = "keyword.analyzer"
    /// The configuration key holding the fingerprint of the Snowball stemmer that made the
    /// index's terms (`TextAnalyzer.stemmerFingerprint`): libstemmer has no version, and
    /// releases stem some words differently, so an index made by another release is
    /// refused until it is rebuilt.
    public static let stemmerKey = "keyword.stemmer"
    /// The configuration key listing the metadata fields whose text is indexed with each
    /// record's own text (comma-separated, e.g. "title"): a chunk then matches the words
    /// of its document's title too, which only its first chunk holds. Absent: text only.
    public static let fieldsKey = "keyword.fields"

    /// Parses a ``fieldsKey`` value: field names, empty ones dropped.
    public static func fields(_ value: String?) -> [String] {
        (value ?? "").split(separator: ",").map(String.init).filter { !$0.isEmpty }
    }

    /// The ``fieldsKey`` value of `fields`, or nil for none.
    public static func fieldsValue(_ fields: [String]) -> String? {
        fields.isEmpty ? nil : fields.joined(separator: ",")
    }

    /// Throws `.invalidArgument` for a field name that is empty, holds a comma, or repeats.
    public static func validate(fields: [String]) throws {
        var seen: Set<String> = []
        for f in fields {
            guard !f.isEmpty, !f.contains(","), f.utf8.count <= 255 else {
                throw StoreError(
                    .invalidArgument, "a keyword field name must be 1 to 255 bytes without a comma, got \"\(f)\"",
                    input: "keyword fields")
            }
            guard seen.insert(f).inserted else {
                throw StoreError(.invalidArgument, "keyword field \"\(f)\" is named twice", input: "keyword fields")
            }
        }
    }
}

extension CollectionSettings {
    /// The analyzer of the collection's keyword (BM25) index, or nil for none. Stored in
    /// `configuration` under `KeywordIndexSettings.configurationKey`.
    public var keywordAnalyzer: AnalyzerSettings? {
        get { configuration[KeywordIndexSettings.configurationKey].flatMap { try? AnalyzerSettings(identifier: $0) } }
        set { configuration[KeywordIndexSettings.configurationKey] = newValue?.identifier }
    }
}

extension CollectionSettings {
    /// The metadata fields indexed with the text by the collection's keyword index
    /// (`KeywordIndexSettings.fieldsKey`); empty for text only.
    public var keywordFields: [String] {
        get { KeywordIndexSettings.fields(configuration[KeywordIndexSettings.fieldsKey]) }
        set { configuration[KeywordIndexSettings.fieldsKey] = KeywordIndexSettings.fieldsValue(newValue) }
    }
}

extension CollectionInfo {
    /// The metadata fields indexed with the text by the collection's keyword index; empty
    /// for text only.
    public var keywordFields: [String] { KeywordIndexSettings.fields(configuration[KeywordIndexSettings.fieldsKey]) }

    /// The analyzer of the collection's keyword (BM25) index, or nil when it has none.
    public var keywordAnalyzer: AnalyzerSettings? {
        configuration[KeywordIndexSettings.configurationKey].flatMap { try? AnalyzerSettings(identifier: $0) }
    }
}

extension SearchMode {
    /// The mode used when a caller names none and the collection has a keyword index.
    public static let preferred = SearchMode.hybrid
}
