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
    /// Two caches of stems. Snowball takes about 200 ns a word, more than all the rest of
    /// the analysis, and word frequencies are skewed, so most words are stemmed from a
    /// cache: of SciFact's, about three in four from the hot one and most of the rest from
    /// the large one.
    ///
    /// The hot cache (128 KB), small enough to stay in the core's L2 cache: `hotSlots` direct-mapped
    /// slots of 32 bytes: the word (up to 16 bytes, zero-padded; words hold no NUL) as two
    /// UInt64, the stem (up to 15 bytes), the stem's length.
    private let hot: UnsafeMutableRawPointer?
    /// The large cache (1 MB): `cacheSets` sets of two slots of `slotBytes` bytes each: key
    /// length, stem length, the key (up to `cachedLength` bytes), the stem (likewise); the
    /// newer entry first.
    private let cache: UnsafeMutablePointer<UInt8>?
    /// A word's bytes, lowercased (``TextAnalyzer/maxTermBytes`` at most).
    let scratch: UnsafeMutablePointer<UInt8>

    private static let hotSlots = 4096
    private static let cacheSets = 8192
    private static let slotBytes = 64
    private static let cachedLength = 31

    /// A worker for `language`, or one that does not stem when `language` is nil; nil when
    /// libstemmer cannot make the stemmer.
    init?(stemming language: String?) {
        if let language {
            guard let stemmer = SnowballStemmer(algorithm: language) else { return nil }
            self.stemmer = stemmer
            // calloc: the pages of a large zeroed block are mapped as they are first used.
            guard let cache = calloc(Self.cacheSets * 2 * Self.slotBytes, 1) else { return nil }
            guard let hot = calloc(Self.hotSlots * 32, 1) else {
                free(cache)
                return nil
            }
            self.cache = cache.assumingMemoryBound(to: UInt8.self)
            self.hot = hot
        } else {
            stemmer = nil
            cache = nil
            hot = nil
        }
        scratch = .allocate(capacity: TextAnalyzer.maxTermBytes)
    }

    deinit {
        free(cache)
        free(hot)
        scratch.deallocate()
    }

    /// Whether this worker stems.
    var stems: Bool { stemmer != nil }

    /// The stem of `word` (nonempty UTF-8), valid until the next call; `hash` is
    /// `Stopwords.hash(word)`. Only for a worker that ``stems``.
    @inline(__always)
    func stem(_ word: UnsafeRawBufferPointer, hash: UInt64) -> UnsafeRawBufferPointer {
        guard let hot, word.count <= 16 else { return stemFromLargeCache(word, hash: hash) }
        let (low, high) = Self.pack(word)
        let slot = hot + (Int(truncatingIfNeeded: hash >> 40) & (Self.hotSlots - 1)) * 32
        if slot.load(as: UInt64.self) == low && slot.load(fromByteOffset: 8, as: UInt64.self) == high {
            return UnsafeRawBufferPointer(start: slot + 16, count: Int(slot.load(fromByteOffset: 31, as: UInt8.self)))
        }
        let stem = stemFromLargeCache(word, hash: hash)
        guard stem.count <= 15, let stemBase = stem.baseAddress else { return stem }
        slot.storeBytes(of: low, as: UInt64.self)
        slot.storeBytes(of: high, toByteOffset: 8, as: UInt64.self)
        (slot + 16).copyMemory(from: stemBase, byteCount: stem.count)
        slot.storeBytes(of: UInt8(stem.count), toByteOffset: 31, as: UInt8.self)
        return UnsafeRawBufferPointer(start: slot + 16, count: stem.count)
    }

    /// A word of at most 16 bytes as two integers, zero-padded.
    @inline(__always)
    private static func pack(_ word: UnsafeRawBufferPointer) -> (UInt64, UInt64) {
        var low: UInt64 = 0
        var high: UInt64 = 0
        var shift: UInt64 = 0
        if word.count >= 8 {
            low = word.loadUnaligned(as: UInt64.self)
            for i in 8..<word.count {
                high |= UInt64(word[i]) << shift
                shift += 8
            }
        } else {
            for i in 0..<word.count {
                low |= UInt64(word[i]) << shift
                shift += 8
            }
        }
        return (low, high)
    }

    @inline(__always)
    private func stemFromLargeCache(_ word: UnsafeRawBufferPointer, hash: UInt64) -> UnsafeRawBufferPointer {
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
