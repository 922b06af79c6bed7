import Foundation

/// What one thread needs to analyze text: a Snowball stemmer with a cache of recent stems,
/// and scratch memory for a word. ``TextAnalyzer`` keeps a pool of them.
///
/// `@unchecked Sendable` because it owns a C handle and raw memory that are not
/// thread-safe: a worker is only ever used by the one thread that took it from the pool,
/// and goes back to the pool when that thread is done.
final class AnalysisWorker: @unchecked Sendable {
    /// The stemmer, when the analyzer stems.
    private let stemmer: SnowballStemmer?
    /// A cache of stems: `cacheSets` sets of two slots of `slotBytes` bytes each: key
    /// length, stem length, the key (up to `cachedLength` bytes), the stem (likewise); the
    /// newer entry first. Snowball takes about 200 ns a word, more than all the rest of the
    /// analysis; word frequencies are skewed, so most words hit the cache (92% of SciFact's).
    private let cache: UnsafeMutablePointer<UInt8>?
    /// A word's bytes, lowercased (``TextAnalyzer/maxTermBytes`` at most).
    let scratch: UnsafeMutablePointer<UInt8>

    private static let cacheSets = 8192
    private static let slotBytes = 64
    private static let cachedLength = 31

    /// A worker for `language`, or one that does not stem when `language` is nil; nil when
    /// libstemmer cannot make the stemmer.
    init?(stemming language: String?) {
        if let language {
            guard let stemmer = SnowballStemmer(algorithm: language) else { return nil }
            self.stemmer = stemmer
            let cache = UnsafeMutablePointer<UInt8>.allocate(capacity: Self.cacheSets * 2 * Self.slotBytes)
            cache.initialize(repeating: 0, count: Self.cacheSets * 2 * Self.slotBytes)
            self.cache = cache
        } else {
            stemmer = nil
            cache = nil
        }
        scratch = .allocate(capacity: TextAnalyzer.maxTermBytes)
    }

    deinit {
        cache?.deallocate()
        scratch.deallocate()
    }

    /// Whether this worker stems.
    var stems: Bool { stemmer != nil }

    /// The stem of `word` (nonempty UTF-8), valid until the next call; `hash` is
    /// `Stopwords.hash(word)`. Only for a worker that ``stems``.
    @inline(__always)
    func stem(_ word: UnsafeRawBufferPointer, hash: UInt64) -> UnsafeRawBufferPointer {
        guard let stemmer, let cache else { return word }
        guard word.count <= Self.cachedLength, let base = word.baseAddress else { return stemmer.stem(word) }
        let set = cache + (Int(truncatingIfNeeded: hash) & (Self.cacheSets - 1)) * 2 * Self.slotBytes
        if Int(set[0]) == word.count && memcmp(set + 2, base, word.count) == 0 {
            return UnsafeRawBufferPointer(start: set + 2 + Self.cachedLength, count: Int(set[1]))
        }
        let older = set + Self.slotBytes
        if Int(older[0]) == word.count && memcmp(older + 2, base, word.count) == 0 {
            return UnsafeRawBufferPointer(start: older + 2 + Self.cachedLength, count: Int(older[1]))
        }
        let stem = stemmer.stem(word)
        guard stem.count <= Self.cachedLength, let stemBase = stem.baseAddress else { return stem }
        // The older entry goes; the newer moves to the second slot.
        older.update(from: set, count: Self.slotBytes)
        set[0] = UInt8(word.count)
        set[1] = UInt8(stem.count)
        UnsafeMutableRawPointer(set + 2).copyMemory(from: base, byteCount: word.count)
        let value = set + 2 + Self.cachedLength
        UnsafeMutableRawPointer(value).copyMemory(from: stemBase, byteCount: stem.count)
        return UnsafeRawBufferPointer(start: value, count: stem.count)
    }
}
