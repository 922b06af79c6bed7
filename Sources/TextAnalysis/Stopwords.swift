/// A language's stopwords as a set of UTF-8 byte strings, looked up without allocating.
///
/// The words are normalized the way ``TextAnalyzer`` normalizes a word before it checks
/// them (lowercase, NFC, diacritics folded when the analyzer folds), so that a word is
/// compared with the list in the same form.
///
/// `@unchecked Sendable`: the raw memory is written once in `init` and only read after.
final class Stopwords: @unchecked Sendable {
    /// Open addressing over `slotCount` (a power of two) slots: each holds 1 + the index of
    /// a word in `starts`, or 0 when empty.
    private let slots: UnsafeMutableBufferPointer<Int32>
    /// Where each word starts in `bytes`, then the end of the last.
    private let starts: UnsafeMutableBufferPointer<Int>
    private let bytes: UnsafeMutableBufferPointer<UInt8>
    /// Longest word in bytes: a longer word is not looked up.
    let maxLength: Int

    /// The list for a Snowball language ("porter" shares English's), or nil when there is
    /// none; words are normalized by `normalize`.
    init?(language: String, normalize: (String) -> String) {
        let name = language == "porter" ? "english" : language
        guard let list = Self.lists[name] else { return nil }
        var words: [[UInt8]] = []
        var seen: Set<[UInt8]> = []
        for word in list.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
            let normalized = Array(normalize(String(word)).utf8)
            if !normalized.isEmpty, seen.insert(normalized).inserted { words.append(normalized) }
        }
        var capacity = 16
        while capacity < words.count * 4 { capacity *= 2 }
        slots = .allocate(capacity: capacity)
        slots.initialize(repeating: 0)
        starts = .allocate(capacity: words.count + 1)
        bytes = .allocate(capacity: max(1, words.reduce(0) { $0 + $1.count }))
        var offset = 0
        for (index, word) in words.enumerated() {
            var slot = Int(truncatingIfNeeded: Self.hash(word)) & (capacity - 1)
            while slots[slot] != 0 { slot = (slot + 1) & (capacity - 1) }
            slots[slot] = Int32(index + 1)
            starts[index] = offset
            for byte in word {
                bytes[offset] = byte
                offset += 1
            }
        }
        starts[words.count] = offset
        maxLength = words.map(\.count).max() ?? 0
    }

    deinit {
        slots.deallocate()
        starts.deallocate()
        bytes.deallocate()
    }

    /// Whether `word` (UTF-8) is a stopword; `hash` is ``hash(_:)`` of it.
    @inline(__always)
    func contains(_ word: UnsafeRawBufferPointer, hash: UInt64) -> Bool {
        if word.count > maxLength { return false }
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let entry = Int(slots[slot])
            if entry == 0 { return false }
            let start = starts[entry - 1]
            if starts[entry] - start == word.count {
                var same = true
                for i in 0..<word.count where bytes[start + i] != word[i] {
                    same = false
                    break
                }
                if same { return true }
            }
            slot = (slot + 1) & mask
        }
    }

    /// The one hash of a word, shared by the stopword set and the stem cache: eight bytes
    /// at a time (words are short), then a final mix. Not stored anywhere, so it may differ
    /// between platforms (byte order).
    @inline(__always)
    static func hash(_ word: UnsafeRawBufferPointer) -> UInt64 {
        let k: UInt64 = 0x9E37_79B9_7F4A_7C15
        var h = UInt64(word.count) &* k
        guard let base = word.baseAddress else { return h }
        let n = word.count
        var i = 0
        while i + 8 <= n {
            h = (h ^ base.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* k
            h ^= h >> 32
            i += 8
        }
        if i < n {
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            while i < n {
                tail |= UInt64(word[i]) << shift
                shift += 8
                i += 1
            }
            h = (h ^ tail) &* k
        }
        h ^= h >> 29
        h = h &* 0xBF58_476D_1CE4_E5B9
        return h ^ (h >> 32)
    }

    static func hash(_ word: [UInt8]) -> UInt64 {
        word.withUnsafeBytes { hash($0) }
    }
}
