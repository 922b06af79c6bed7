/// Splits into sentences and packs whole sentences into chunks; a sentence longer than
/// the chunk size falls back to words, then grapheme clusters.
///
/// A sentence ends after `.`, `!`, `?` or `…` (and any closing quotes or brackets) followed
/// by whitespace, or after `。`, `！`, `？` — except after a known abbreviation ("Dr.",
/// "e.g."), a single-letter initial ("J. Smith"), or inside a number ("3.14").
public struct SentenceSplitter: TextSplitter {
    /// Most units (scalars) in a chunk.
    public let chunkSize: Int
    /// Most units shared by consecutive chunks (whole sentences).
    public let chunkOverlap: Int
    /// Lowercased abbreviations without their final period.
    public let abbreviations: Set<String>

    /// Common English abbreviations.
    public static let englishAbbreviations: Set<String> = [
        "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "etc", "e.g", "i.e", "inc", "ltd", "co", "corp", "no",
        "fig", "eq", "approx", "dept", "est", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct",
        "nov", "dec", "mt", "u.s", "u.k", "a.m", "p.m", "cf", "al", "vol", "pp", "ed",
    ]

    /// Creates a splitter. The overlap is clamped below the chunk size.
    public init(chunkSize: Int = 1000, chunkOverlap: Int = 0, abbreviations: Set<String> = SentenceSplitter.englishAbbreviations) {
        (self.chunkSize, self.chunkOverlap) = clampedLimits(size: chunkSize, overlap: chunkOverlap)
        self.abbreviations = abbreviations
    }

    /// The chunks of `text`.
    public func split(_ text: String) -> [TextChunk] {
        let s = SeparatorSplitting(text, chunkSize: chunkSize, chunkOverlap: chunkOverlap)
        guard !s.bytes.isEmpty else { return [] }
        let pieces = sentences(s.bytes).flatMap { s.pieces($0, separators: [Array(" ".utf8)]) }
        return s.merge(pieces)
    }

    /// The sentences of `text`, each with its trailing whitespace, tiling the text.
    public func sentences(in text: String) -> [Substring] {
        let utf8 = text.utf8
        return sentences(Array(utf8)).map { r in
            let start = utf8.index(utf8.startIndex, offsetBy: r.lowerBound)
            return text[start..<utf8.index(start, offsetBy: r.count)]
        }
    }

    /// Sentence ranges tiling the whole text (trailing whitespace stays with its sentence).
    func sentences(_ bytes: [UInt8]) -> [Range<Int>] {
        let scalars = ScalarIndex(bytes)
        var out: [Range<Int>] = []
        var start = 0
        var k = 0
        while k < scalars.count {
            let c = scalars[k]
            var end: Int?
            if c == "。" || c == "！" || c == "？" {
                end = k + 1
            } else if c == "." || c == "!" || c == "?" || c == "…" {
                var j = k + 1
                while j < scalars.count, Self.closers.contains(scalars[j]) { j += 1 }
                if j < scalars.count, Self.isSpace(scalars[j]), !(c == "." && isAbbreviation(scalars, before: k)) {
                    end = j
                }
            }
            if var e = end {
                while e < scalars.count, Self.isSpace(scalars[e]) { e += 1 }
                let byteEnd = scalars.offset(e)
                if byteEnd > scalars.offset(start) {
                    out.append(scalars.offset(start)..<byteEnd)
                    start = e
                }
                k = max(e, k + 1)
            } else {
                k += 1
            }
        }
        if scalars.offset(start) < bytes.count { out.append(scalars.offset(start)..<bytes.count) }
        return out
    }

    static let closers: Set<Unicode.Scalar> = ["\"", "'", ")", "]", "”", "’", "»", "」", "』"]

    /// Whitespace, without a property lookup for ASCII.
    @inline(__always)
    static func isSpace(_ s: Unicode.Scalar) -> Bool {
        s.value < 0x80 ? (s.value == 32 || (s.value >= 9 && s.value <= 13)) : s.properties.isWhitespace
    }

    /// Whether the word ending at scalar `k` (a period) is an abbreviation or an initial.
    private func isAbbreviation(_ s: ScalarIndex, before k: Int) -> Bool {
        var j = k
        while j > 0, !Self.isSpace(s[j - 1]), !Self.closers.contains(s[j - 1]), s[j - 1] != "(" { j -= 1 }
        let word = String(String.UnicodeScalarView((j..<k).map { s[$0] }))
        if word.count == 1, word.unicodeScalars.first?.properties.isUppercase == true { return true }
        return abbreviations.contains(word.lowercased())
    }
}

/// The scalars of UTF-8 bytes with their byte offsets.
struct ScalarIndex {
    private var scalars: [Unicode.Scalar] = []
    private var offsets: [Int] = []
    private let total: Int

    init(_ bytes: [UInt8]) {
        total = bytes.count
        var offset = 0
        var it = bytes.makeIterator()
        var decoder = UTF8()
        while case .scalarValue(let s) = decoder.decode(&it) {
            scalars.append(s)
            offsets.append(offset)
            offset += UTF8.width(s)
        }
    }

    var count: Int { scalars.count }
    subscript(i: Int) -> Unicode.Scalar { scalars[i] }
    /// Byte offset of scalar `i` (the end of the text for `count`).
    func offset(_ i: Int) -> Int { i < offsets.count ? offsets[i] : total }
}
