#if canImport(Glibc)
    import Glibc
#endif

/// The machinery the separator-based splitters share. Works on the UTF-8 bytes of the
/// text: lengths count scalars (bytes that are not continuation bytes), separators are
/// found by byte search, and only an oversized piece is walked by grapheme clusters.
struct SeparatorSplitting {
    let bytes: [UInt8]
    let chunkSize: Int
    let chunkOverlap: Int

    /// All bytes are ASCII: a range's length is its byte count.
    let isASCII: Bool

    init(_ text: String, chunkSize: Int, chunkOverlap: Int) {
        bytes = Array(text.utf8)
        (self.chunkSize, self.chunkOverlap) = clampedLimits(size: chunkSize, overlap: chunkOverlap)
        isASCII = bytes.withUnsafeBytes { raw in
            var i = 0
            var high: UInt64 = 0
            while i + 8 <= raw.count {
                high |= raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                i += 8
            }
            while i < raw.count {
                high |= UInt64(raw[i])
                i += 1
            }
            return high & 0x8080_8080_8080_8080 == 0
        }
    }

    /// Unicode scalars in `r`.
    func length(_ r: Range<Int>) -> Int {
        if isASCII { return r.count }
        return bytes.withUnsafeBufferPointer { b in
            var continuation = 0
            for i in r where b[i] & 0xC0 == 0x80 { continuation += 1 }
            return r.count - continuation
        }
    }

    /// Cuts `r` at each occurrence of `separator`, the separator staying with the piece
    /// before it, skipping cuts that would fall inside a grapheme cluster. The pieces tile
    /// `r` exactly.
    func cut(_ r: Range<Int>, at separator: [UInt8]) -> [Range<Int>] {
        guard !separator.isEmpty, r.count > separator.count else { return [r] }
        var out: [Range<Int>] = []
        var start = r.lowerBound
        let n = separator.count
        let ends: [Int] = bytes.withUnsafeBufferPointer { b in
            separator.withUnsafeBufferPointer { sep in
                var found: [Int] = []
                let first = sep[0]
                var i = r.lowerBound
                let last = r.upperBound - n
                guard let base = b.baseAddress else { return found }
                while i <= last {
                    // memchr finds the separator's first byte with SIMD.
                    guard let hit = memchr(base + i, Int32(first), last - i + 1) else { break }
                    i = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                    var k = 1
                    while k < n && b[i + k] == sep[k] { k += 1 }
                    if k == n {
                        found.append(i + n)
                        i += n
                    } else {
                        i += 1
                    }
                }
                return found
            }
        }
        for end in ends where end < r.upperBound && isGraphemeBoundary(end) {
            out.append(start..<end)
            start = end
        }
        out.append(start..<r.upperBound)
        return out
    }

    /// Whether a cut at byte `i` (a scalar boundary) is also a grapheme boundary: not
    /// before a combining mark, variation selector, emoji modifier or ZWJ, not after a ZWJ,
    /// not inside a regional-indicator pair.
    func isGraphemeBoundary(_ i: Int) -> Bool {
        guard i > 0, i < bytes.count else { return true }
        // ASCII on both sides (the common case): a boundary except inside CR LF.
        if bytes[i] < 0x80 && bytes[i - 1] < 0x80 { return !(bytes[i - 1] == 13 && bytes[i] == 10) }
        if let next = scalar(at: i) {
            let p = next.properties
            if p.generalCategory == .nonspacingMark || p.generalCategory == .spacingMark || p.generalCategory == .enclosingMark
                || p.isVariationSelector || p.isEmojiModifier || next.value == 0x200D || p.isGraphemeExtend
            {
                return false
            }
        }
        var j = i - 1
        while j > 0 && bytes[j] & 0xC0 == 0x80 { j -= 1 }
        guard let previous = scalar(at: j), previous.value != 0x200D else { return false }
        // Regional indicators pair up into flags: no cut after an odd run of them.
        if Self.isRegionalIndicator(previous), let next = scalar(at: i), Self.isRegionalIndicator(next) {
            var run = 0
            var k = i
            while k > 0 {
                var m = k - 1
                while m > 0 && bytes[m] & 0xC0 == 0x80 { m -= 1 }
                guard let s = scalar(at: m), Self.isRegionalIndicator(s) else { break }
                run += 1
                k = m
            }
            return run % 2 == 0
        }
        return true
    }

    static func isRegionalIndicator(_ s: Unicode.Scalar) -> Bool { (0x1F1E6...0x1F1FF).contains(s.value) }

    private func scalar(at i: Int) -> Unicode.Scalar? {
        var it = bytes[i...].makeIterator()
        var decoder = UTF8()
        if case .scalarValue(let s) = decoder.decode(&it) { return s }
        return nil
    }

    /// Pieces of at most `chunkSize` units: `r` itself if it fits, else cut at the first
    /// separator that occurs, recursively, and at grapheme clusters as the last resort.
    func pieces(_ r: Range<Int>, separators: ArraySlice<[UInt8]>) -> [Range<Int>] {
        // Bytes bound scalars from above: a short range needs no count.
        if r.count <= chunkSize || length(r) <= chunkSize { return [r] }
        guard let separator = separators.first else { return graphemeCuts(r) }
        let parts = cut(r, at: separator)
        if parts.count == 1 { return pieces(r, separators: separators.dropFirst()) }
        return parts.flatMap { pieces($0, separators: separators.dropFirst()) }
    }

    /// `r` cut into runs of whole grapheme clusters of at most `chunkSize` units; a single
    /// cluster longer than that is cut between scalars.
    func graphemeCuts(_ r: Range<Int>) -> [Range<Int>] {
        let text = String(decoding: bytes[r], as: UTF8.self)
        var out: [Range<Int>] = []
        var start = r.lowerBound
        var offset = r.lowerBound
        var units = 0
        for character in text {
            let size = character.utf8.count
            let scalars = character.unicodeScalars.count
            if units + scalars > chunkSize && offset > start {
                out.append(start..<offset)
                start = offset
                units = 0
            }
            if scalars > chunkSize {
                var o = offset
                for s in character.unicodeScalars {
                    let n = String(s).utf8.count
                    if units == chunkSize {
                        out.append(start..<o)
                        start = o
                        units = 0
                    }
                    units += 1
                    o += n
                }
            } else {
                units += scalars
            }
            offset += size
        }
        if offset > start { out.append(start..<offset) }
        return out
    }

    /// Joins consecutive pieces into chunks of at most `chunkSize` units; each new chunk
    /// starts with the previous chunk's trailing pieces that fit in `chunkOverlap` (and
    /// leave room for the next piece).
    func merge(_ pieces: [Range<Int>]) -> [TextChunk] {
        var chunks: [TextChunk] = []
        var current: [(range: Range<Int>, units: Int)] = []
        var units = 0
        func emit() {
            guard let first = current.first, let last = current.last else { return }
            let r = first.range.lowerBound..<last.range.upperBound
            let text = bytes.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[r]), as: UTF8.self) }
            chunks.append(TextChunk(text: text, range: r))
        }
        for piece in pieces {
            let n = length(piece)
            if units + n > chunkSize && !current.isEmpty {
                emit()
                var kept: [(range: Range<Int>, units: Int)] = []
                var keptUnits = 0
                for p in current.reversed() {
                    guard keptUnits + p.units <= chunkOverlap, keptUnits + p.units + n <= chunkSize else { break }
                    kept.insert(p, at: 0)
                    keptUnits += p.units
                }
                current = kept
                units = keptUnits
            }
            current.append((piece, n))
            units += n
        }
        emit()
        return chunks
    }
}

/// Splits at one separator (default a blank line), then at grapheme clusters where a
/// piece is still too long.
public struct CharacterSplitter: TextSplitter {
    /// Most units (scalars) in a chunk.
    public let chunkSize: Int
    /// Most units shared by consecutive chunks.
    public let chunkOverlap: Int
    /// The separator.
    public let separator: String

    /// Creates a splitter. The overlap is clamped below the chunk size.
    public init(chunkSize: Int = 1000, chunkOverlap: Int = 0, separator: String = "\n\n") {
        (self.chunkSize, self.chunkOverlap) = clampedLimits(size: chunkSize, overlap: chunkOverlap)
        self.separator = separator
    }

    /// The chunks of `text`.
    public func split(_ text: String) -> [TextChunk] {
        let s = SeparatorSplitting(text, chunkSize: chunkSize, chunkOverlap: chunkOverlap)
        guard !s.bytes.isEmpty else { return [] }
        return s.merge(s.pieces(0..<s.bytes.count, separators: [Array(separator.utf8)]))
    }
}

/// Splits at the largest unit that makes pieces fit: paragraphs, then lines, then
/// sentence ends, then words, then grapheme clusters.
public struct RecursiveSplitter: TextSplitter {
    /// Most units (scalars) in a chunk.
    public let chunkSize: Int
    /// Most units shared by consecutive chunks.
    public let chunkOverlap: Int
    /// Separators from largest to smallest.
    public let separators: [String]

    /// Creates a splitter. The overlap is clamped below the chunk size.
    public init(
        chunkSize: Int = 1000, chunkOverlap: Int = 200,
        separators: [String] = ["\n\n", "\n", ". ", "? ", "! ", "。", " "]
    ) {
        (self.chunkSize, self.chunkOverlap) = clampedLimits(size: chunkSize, overlap: chunkOverlap)
        self.separators = separators
    }

    /// The chunks of `text`.
    public func split(_ text: String) -> [TextChunk] {
        let s = SeparatorSplitting(text, chunkSize: chunkSize, chunkOverlap: chunkOverlap)
        guard !s.bytes.isEmpty else { return [] }
        return s.merge(s.pieces(0..<s.bytes.count, separators: ArraySlice(separators.map { Array($0.utf8) })))
    }
}
