/// A parsed keyword query: `word`, `"exact phrase"`, `+required`, `-excluded`,
/// `+"phrase"`, `-"phrase"`.
///
/// ```swift
/// let analyzer = try TextAnalyzer(.english)
/// let q = KeywordQuery.parse(#"lighthouse +keeper -"fog horn" covid-19"#, analyzer: analyzer)
/// // q.should == ["lighthous", "covid", "19"], q.must == ["keeper"],
/// // q.excludedPhrases == [Phrase(terms: ["fog", "horn"], offsets: [0, 1])]
/// ```
///
/// The syntax, read by ``parse(_:analyzer:)`` (which never fails: any text is a query):
/// - Tokens are separated by whitespace. Each is analyzed by the collection's analyzer, so
///   a token can give several terms ("covid-19" → "covid", "19") or none (a stopword,
///   punctuation).
/// - `+` and `-` are operators only at the start of a token (start of text or after
///   whitespace) and before something: `covid-19`, `e-mail`, `C++` and a lone `-` are text.
/// - `"…"` is a phrase; “…” works too. A quote ends the token before it (`foo"bar baz"`
///   is `foo` and the phrase `"bar baz"`). An unclosed quote makes the rest of the text the
///   phrase. Inside a phrase `+` and `-` are text.
/// - A phrase (with or without `+`) is required: its terms in order, with the gaps that
///   stopwords left (`"cat in the hat"` → terms cat, hat at offsets 0, 3). A phrase that
///   analyzes to one term is a ``must`` term; to none, it is dropped.
/// - `+word` giving one term is a ``must`` term; giving several (`+covid-19`, CJK
///   bigrams) it is a required phrase of them, since they were written together.
/// - `-word` and `-"…"` exclude: one term goes to ``mustNot``, several to
///   ``excludedPhrases``.
/// - A `+stopword` (`+the`), like any token that analyzes to nothing, is dropped:
///   stopwords are not in the index, so nothing could be required of them. The rest of
///   the query stands; a query left with nothing positive ``isEmpty``.
public struct KeywordQuery: Sendable, Hashable {
    /// A phrase: analyzed terms and their positions relative to the first (gaps where
    /// stopwords were).
    public struct Phrase: Sendable, Hashable {
        /// The terms, in order (at least two when made by ``KeywordQuery/parse(_:analyzer:)``).
        public var terms: [String]
        /// Each term's position relative to the first term: 0, then increasing.
        public var offsets: [Int]

        /// Creates a phrase; `offsets` has one entry per term.
        public init(terms: [String], offsets: [Int]) {
            self.terms = terms
            self.offsets = offsets
        }
    }

    /// Plain terms: score, not required (analyzed; duplicates kept in order).
    public var should: [String]
    /// `+term`: every document must contain each (they also score).
    public var must: [String]
    /// `-term`: no document may contain any.
    public var mustNot: [String]
    /// `"…"` and `+"…"`: required, in order with the gaps; their terms also score.
    public var phrases: [Phrase]
    /// `-"…"`: no document may contain any of these phrases.
    public var excludedPhrases: [Phrase]

    /// Creates a query from its parts (``parse(_:analyzer:)`` is the usual way).
    public init(
        should: [String] = [], must: [String] = [], mustNot: [String] = [], phrases: [Phrase] = [],
        excludedPhrases: [Phrase] = []
    ) {
        self.should = should
        self.must = must
        self.mustNot = mustNot
        self.phrases = phrases
        self.excludedPhrases = excludedPhrases
    }

    /// True when nothing positive remains (e.g. only stopwords or only exclusions): the
    /// search returns no hits.
    public var isEmpty: Bool { should.isEmpty && must.isEmpty && phrases.isEmpty }

    /// Every distinct term that scores (should + must + phrase terms), in first-seen order
    /// (should, then must, then the phrases').
    public var scoringTerms: [String] {
        var seen: Set<String> = []
        var terms: [String] = []
        for term in should + must + phrases.flatMap(\.terms) where seen.insert(term).inserted { terms.append(term) }
        return terms
    }

    /// Parses `text` with the analyzer the keyword index was built with. Never fails and
    /// never traps, whatever the input; see ``KeywordQuery`` for the syntax.
    public static func parse(_ text: String, analyzer: TextAnalyzer) -> KeywordQuery {
        // Without quotes or operators every token's terms are `should` terms, in order:
        // one pass of the analyzer over the whole text gives them (whitespace ends a word
        // either way), without a string and an analysis per token.
        if !hasOperators(text) { return KeywordQuery(should: analyzer.terms(text)) }
        return parseTokens(text, analyzer: analyzer)
    }

    /// Whether `text` has a quote, or a `+` or `-` that starts a token and is followed by
    /// something: what makes ``parse(_:analyzer:)`` read it token by token.
    static func hasOperators(_ text: String) -> Bool {
        var previous: Unicode.Scalar? = nil
        var operatorBefore = false
        for scalar in text.unicodeScalars {
            if isQuote(scalar) { return true }
            if operatorBefore && !isSpace(scalar) { return true }
            operatorBefore = (scalar == "+" || scalar == "-") && (previous.map(isSpace) ?? true)
            previous = scalar
        }
        return false
    }

    /// The general parser: token by token, each analyzed on its own.
    static func parseTokens(_ text: String, analyzer: TextAnalyzer) -> KeywordQuery {
        var query = KeywordQuery()
        let scalars = Array(text.unicodeScalars)
        let n = scalars.count
        var i = 0
        while i < n {
            if isSpace(scalars[i]) {
                i += 1
                continue
            }
            var occur = Occur.should
            let atTokenStart = i == 0 || isSpace(scalars[i - 1])
            if atTokenStart, i + 1 < n, !isSpace(scalars[i + 1]) {
                if scalars[i] == "+" {
                    occur = .must
                    i += 1
                } else if scalars[i] == "-" {
                    occur = .mustNot
                    i += 1
                }
            }
            if isQuote(scalars[i]) {
                i += 1
                let start = i
                while i < n && !isQuote(scalars[i]) { i += 1 }
                query.add(analyzer.termsWithPositions(string(scalars[start..<i])), occur, quoted: true)
                if i < n { i += 1 }
            } else {
                let start = i
                while i < n && !isSpace(scalars[i]) && !isQuote(scalars[i]) { i += 1 }
                query.add(analyzer.termsWithPositions(string(scalars[start..<i])), occur, quoted: false)
            }
        }
        return query
    }

    private enum Occur {
        case should, must, mustNot
    }

    /// Unicode White_Space, without the property lookup for ASCII.
    @inline(__always)
    private static func isSpace(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x80 ? scalar.value == 0x20 || (0x09...0x0D).contains(scalar.value) : scalar.properties.isWhitespace
    }

    private static func isQuote(_ scalar: Unicode.Scalar) -> Bool {
        scalar == "\"" || scalar == "\u{201C}" || scalar == "\u{201D}"
    }

    private static func string(_ scalars: ArraySlice<Unicode.Scalar>) -> String {
        String(String.UnicodeScalarView(scalars))
    }

    private mutating func add(_ terms: [(term: String, position: Int)], _ occur: Occur, quoted: Bool) {
        guard let first = terms.first else { return }
        if occur == .should && !quoted {
            should += terms.map(\.term)
            return
        }
        if terms.count == 1 {
            if occur == .mustNot { mustNot.append(first.term) } else { must.append(first.term) }
            return
        }
        let phrase = Phrase(terms: terms.map(\.term), offsets: terms.map { $0.position - first.position })
        if occur == .mustNot { excludedPhrases.append(phrase) } else { phrases.append(phrase) }
    }
}
