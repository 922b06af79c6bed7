import Foundation
import QuiverCore

/// Turns text into the terms of a keyword (BM25) index, with their positions.
///
/// ```swift
/// let analyzer = try TextAnalyzer(.english)
/// analyzer.termsWithPositions("The lighthouse keepers' logs")
/// // [("lighthous", 1), ("keeper", 2), ("log", 3)]: "the" is a stopword at position 0
/// ```
///
/// The rules (version "v1" of ``AnalyzerSettings/identifier``), in order:
/// 1. **Normalization**: the text is put in NFC, so that NFC and NFD spellings give the
///    same terms. Soft hyphens, zero-width (non-)joiners, word joiners, byte order marks
///    and variation selectors are dropped.
/// 2. **Segmentation**, a practical subset of UAX #29: words are runs of letters, digits
///    and the marks that follow them. An apostrophe (' or ’, which becomes ') or a period
///    between two letters stays inside a word ("can't", "e.g", "example.com"); a period or
///    a comma between two digits stays inside a number ("3.5", "1,000", "v1.2").
///    Hyphens, slashes, underscores, other punctuation, symbols, emoji, controls (NUL),
///    U+FFFD and whitespace separate: "covid-19" is "covid", "19". Hangul and other
///    scripts are letters; scripts written without spaces (Thai) give one word per run.
/// 3. **CJK**: a run of Han, Hiragana and Katakana (with ー and halfwidth Katakana) gives
///    its overlapping character bigrams ("東京タワー" → 東京, 京タ, タワ, ワー), a lone
///    character itself. A change to or from another script ends the run. Stopwords and
///    stemming do not apply to these terms.
/// 4. **Case**: full lowercase as `String.lowercased()` does it ("İ" → "i̇"; ß stays).
/// 5. **Diacritics**, when ``AnalyzerSettings/foldDiacritics`` is set (its documentation
///    gives the rule): "café" → "cafe", "Ærø" → "aero", "Straße" → "strasse".
/// 6. **English possessive**: for "english" and "porter", a final "'s" is removed
///    ("dog's" → "dog", "it's" → "it", a stopword), with or without stemming. Other
///    languages keep apostrophes ("l'homme" stays one word).
/// 7. **Length**: a word is cut to its first 64 UTF-8 bytes (at a scalar boundary), so
///    that index keys stay bounded and long compounds still match on their prefix.
/// 8. **Stopwords**, when set: a word in the language's list is dropped but keeps its
///    position, so phrases across stopwords keep their gaps (as Lucene does).
/// 9. **Stemming**, when set: the word's Snowball stem (libstemmer, UTF-8), cut again to
///    64 bytes. A term is never empty.
///
/// ASCII stretches of the text take a fast path over UTF-8 bytes that gives the same terms
/// as the general one.
///
/// Thread safety: an analyzer is used from any number of threads at once. Each call takes
/// a worker (a Snowball stemmer and its caches) from a small pool for the length of the
/// call, so no stemmer is ever shared between threads; a mutex guards only the taking and
/// the giving back.
public final class TextAnalyzer: Sendable {
    /// The settings this analyzer applies.
    public let settings: AnalyzerSettings

    /// The longest term in UTF-8 bytes.
    public static let maxTermBytes = 64

    /// A fingerprint of the linked libstemmer's stems for this analyzer's language: 16 hex
    /// digits, or "none" when the analyzer does not stem.
    ///
    /// libstemmer reports no version, and Snowball releases change stems ("adding" is "ad"
    /// in Snowball 2.2, "add" in 3.0), so ``AnalyzerSettings/identifier`` cannot tell two
    /// machines' analyzers apart. Record this beside the identifier and compare it on open:
    /// a different fingerprint means that the index's terms are not the query's. It stems a
    /// fixed list of words (some that Snowball 3 changed, and words of several languages);
    /// the same fingerprint is no proof that every stem agrees.
    public let stemmerFingerprint: String

    /// The Snowball algorithm, when stemming.
    private let stemmerLanguage: String?
    /// The stopword set, when stopwords are removed and the language has a list.
    let stopwords: Stopwords?
    /// Whether a final "'s" is removed (English).
    let stripsPossessive: Bool
    /// Idle workers. A `PosixMutex`, not a `Mutex`: a worker goes from one thread to another
    /// through it, and ThreadSanitizer must see that hand-over (see ``PosixMutex``).
    private let pool: PosixMutex<[AnalysisWorker]>
    /// How many idle workers the pool keeps (one per core; about 1.2 MB each when stemming);
    /// more threads than this still get a worker each, made for the call.
    private let idleWorkers: Int

    /// Creates an analyzer.
    ///
    /// - Throws: `QuiverError` `.invalidArgument` when the language is neither one of
    ///   ``AnalyzerSettings/languages`` nor "none" (the message lists them).
    public init(_ settings: AnalyzerSettings) throws {
        let language = settings.language
        let none = language == AnalyzerSettings.noLanguage
        guard none || AnalyzerSettings.languages.contains(language) else {
            let known = (AnalyzerSettings.languages + [AnalyzerSettings.noLanguage]).joined(separator: ", ")
            throw QuiverError(
                .invalidArgument, "unknown analyzer language \"\(language)\"; known: \(known)", input: language,
                expected: known, actual: language)
        }
        self.settings = settings
        stemmerLanguage = !none && settings.stemming ? language : nil
        let fold = settings.foldDiacritics
        stopwords = !none && settings.stopwords ? Stopwords(language: language) { Self.normalizeWord($0, fold: fold) } : nil
        stripsPossessive = language == "english" || language == "porter"
        guard let first = AnalysisWorker(stemming: stemmerLanguage) else {
            throw QuiverError(.invalidArgument, "libstemmer could not create the \"\(language)\" stemmer", input: language)
        }
        stemmerFingerprint = !none && settings.stemming ? Self.fingerprint(first) : "none"
        pool = PosixMutex([first])
        idleWorkers = max(2, ProcessInfo.processInfo.activeProcessorCount)
    }

    /// Calls `body` for each indexed term of `text` in order: the term's UTF-8 bytes (valid
    /// only during the call) and its position. Positions count tokens; a removed stopword
    /// still takes a position (so phrases across stopwords keep their gaps, as Lucene does).
    ///
    /// This is the form to index with: it allocates nothing for ASCII words.
    public func forEachTerm(in text: String, _ body: (UnsafeRawBufferPointer, Int) throws -> Void) rethrows {
        try withWorker { worker in
            var text = text
            try text.withUTF8 { bytes in
                try analyze(bytes, worker: worker) { word, position, stemmed in
                    if stemmed { try emitWord(word, position: position, worker: worker, body) } else { try body(word, position) }
                }
            }
        }
    }

    /// Calls `body` for each word of `text` in order, before stopwords and stemming: the
    /// word (lowercased, normalized, folded if set, cut to ``maxTermBytes``; valid only
    /// during the call), whether stopwords and stemming apply to it (false for a CJK bigram,
    /// which is its own term), and a function that gives the word's term as
    /// ``forEachTerm(in:_:)`` gives it (nil for a stopword; valid only during the call).
    ///
    /// The terms are ``forEachTerm(in:_:)``'s. A word's term depends on its bytes alone, so
    /// an indexer may remember it by them and ask for the term of a new word only: what a
    /// batch's keyword index does (one lookup per word instead of the stopword set, the stem
    /// cache and its own term table).
    public func forEachWord(
        in text: String, _ body: (UnsafeRawBufferPointer, Bool, () -> UnsafeRawBufferPointer?) throws -> Void
    ) rethrows {
        try withWorker { worker in
            var text = text
            try text.withUTF8 { bytes in
                try analyze(bytes, worker: worker) { word, _, stemmed in
                    try body(word, stemmed) {
                        guard stemmed else { return word }
                        var term: UnsafeRawBufferPointer? = nil
                        emitWord(word, position: 0, worker: worker) { t, _ in term = t }
                        return term
                    }
                }
            }
        }
    }

    /// The terms of `text` as strings, in order (convenience; tests, query side).
    public func terms(_ text: String) -> [String] {
        var terms: [String] = []
        forEachTerm(in: text) { term, _ in terms.append(String(decoding: term, as: UTF8.self)) }
        return terms
    }

    /// Terms with positions.
    public func termsWithPositions(_ text: String) -> [(term: String, position: Int)] {
        var terms: [(term: String, position: Int)] = []
        forEachTerm(in: text) { term, position in terms.append((String(decoding: term, as: UTF8.self), position)) }
        return terms
    }

    /// The general path alone over the whole text, without the ASCII fast path: what the
    /// fast path must agree with (tests).
    func forEachTermWithoutFastPath(in text: String, _ body: (UnsafeRawBufferPointer, Int) throws -> Void) rethrows {
        try withWorker { worker in
            var position = 0
            var text = text
            try text.withUTF8 {
                try analyzeUnicode($0, position: &position, worker: worker) { word, position, stemmed in
                    if stemmed { try emitWord(word, position: position, worker: worker, body) } else { try body(word, position) }
                }
            }
        }
    }

    /// Runs `body` with a worker taken from the pool (or a new one) and gives it back.
    private func withWorker<R>(_ body: (AnalysisWorker) throws -> R) rethrows -> R {
        let worker = pool.withLock { $0.popLast() } ?? makeWorker()
        defer {
            pool.withLock { idle in
                if idle.count < idleWorkers { idle.append(worker) }
            }
        }
        return try body(worker)
    }

    private func makeWorker() -> AnalysisWorker {
        // The same call succeeded in init: failing now means that memory ran out.
        guard let worker = AnalysisWorker(stemming: stemmerLanguage) else {
            fatalError("libstemmer could not create a \(settings.language) stemmer (out of memory)")
        }
        return worker
    }

    /// Words whose stems make ``stemmerFingerprint``.
    private static let canaries = """
        adding interval internal international organization organisms hematologist generously communication
        running connections lighthouse keepers universities emergency past later arsenal news skies dying
        continuellement nationalité maisons Häuser Freundschaften schönsten casas nacionalidades corriendo
        библиотеках говорила kitaplarımızdan evlerde υπολογιστές kirjoittaisivat házakban вредности
        """

    private static func fingerprint(_ worker: AnalysisWorker) -> String {
        var bytes: [UInt8] = []
        for word in canaries.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
            var word = normalizeWord(String(word), fold: false)
            word.withUTF8 { utf8 in
                let stem = worker.stem(UnsafeRawBufferPointer(utf8), hash: Stopwords.hash(UnsafeRawBufferPointer(utf8)))
                bytes += stem
                bytes.append(0)
            }
        }
        // FNV-1a, byte by byte: the same on every platform, since it is stored.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// A word as the stopword list is compared with it: lowercase, NFC, folded if asked.
    static func normalizeWord(_ word: String, fold: Bool) -> String {
        var word = word.lowercased()
        if word.utf8.contains(where: { $0 >= 0x80 }) {
            if word.unicodeScalars.contains("\u{2019}") { word = word.replacingOccurrences(of: "\u{2019}", with: "'") }
            word = word.precomposedStringWithCanonicalMapping
            if fold { word = DiacriticFolding.fold(word) }
        }
        return word
    }
}
