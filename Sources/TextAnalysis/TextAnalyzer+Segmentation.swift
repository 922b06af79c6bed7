import Foundation

// The two paths of analysis. No word and no normalization crosses a "hard" ASCII separator
// (every ASCII byte but letters, digits, ' . , and < = >): NFC composes an ASCII character
// only for letters and for < = > followed by U+0338, and the rules for ' . , look at both
// neighbours. So each non-ASCII byte takes the general path (over Unicode scalars) for the
// piece around it, between hard separators, and the ASCII text between those pieces takes
// the fast path over bytes. Both paths give the same terms (tested on random text).
extension TextAnalyzer {
    /// Analyzes UTF-8 `bytes` (a valid string's): `emit` gets each word (lowercased,
    /// normalized, cut to ``maxTermBytes``), its position, and whether stopwords and
    /// stemming apply to it (false for a CJK bigram, which is its own term).
    func analyze(
        _ bytes: UnsafeBufferPointer<UInt8>, worker: AnalysisWorker, _ body: (UnsafeRawBufferPointer, Int, Bool) throws -> Void
    ) rethrows {
        var position = 0
        var cursor = 0
        let n = bytes.count
        while cursor < n {
            guard let nonASCII = Self.firstNonASCII(bytes, from: cursor) else {
                try analyzeASCII(bytes, cursor..<n, position: &position, worker: worker, body)
                return
            }
            // The piece around it, between hard separators (or the end of the previous piece).
            var start = nonASCII
            while start > cursor && !Self.isHardSeparator(bytes[start - 1]) { start -= 1 }
            var end = nonASCII + 1
            while end < n && !Self.isHardSeparator(bytes[end]) { end += 1 }
            if cursor < start { try analyzeASCII(bytes, cursor..<start, position: &position, worker: worker, body) }
            try analyzeUnicode(
                UnsafeBufferPointer(rebasing: bytes[start..<end]), position: &position, worker: worker, body)
            cursor = end
        }
    }

    /// The index of the first byte at or after `start` that is not ASCII, eight bytes at a
    /// time.
    @inline(__always)
    static func firstNonASCII(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        guard let base = bytes.baseAddress else { return nil }
        var i = start
        let n = bytes.count
        while i + 8 <= n {
            let word = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
            if word & 0x8080_8080_8080_8080 != 0 { break }
            i += 8
        }
        while i < n {
            if bytes[i] >= 0x80 { return i }
            i += 1
        }
        return nil
    }

    /// Every ASCII byte but letters, digits and ' , . < = >; never a byte of a multi-byte
    /// scalar.
    @inline(__always)
    static func isHardSeparator(_ b: UInt8) -> Bool {
        // Bits set for the soft bytes: ' , . 0-9 < = > (low word), A-Z a-z (high word).
        let low: UInt64 = 0x73FF_5080_0000_0000
        let high: UInt64 = 0x07FF_FFFE_07FF_FFFE
        if b >= 0x80 { return false }
        let word = b < 64 ? low : high
        return (word >> UInt64(b & 63)) & 1 == 0
    }

    @inline(__always)
    private static func isASCIILetter(_ b: UInt8) -> Bool { (b | 0x20) &- 0x61 < 26 }

    @inline(__always)
    private static func isASCIIDigit(_ b: UInt8) -> Bool { b &- 0x30 < 10 }

    /// The fast path: an all-ASCII piece `range` of `bytes`. One pass: each word is
    /// lowercased into the worker's scratch while it is scanned.
    private func analyzeASCII(
        _ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, position: inout Int, worker: AnalysisWorker,
        _ body: (UnsafeRawBufferPointer, Int, Bool) throws -> Void
    ) rethrows {
        let scratch = worker.scratch
        var i = range.lowerBound
        let end = range.upperBound
        while i < end {
            let b = bytes[i]
            guard Self.isASCIILetter(b) || Self.isASCIIDigit(b) else {
                i += 1
                continue
            }
            let start = i
            scratch[0] = b | (b &- 0x41 < 26 ? 0x20 : 0)
            var length = 1
            i += 1
            while i < end {
                let c = bytes[i]
                if Self.isASCIILetter(c) || Self.isASCIIDigit(c) {
                    if length < Self.maxTermBytes {
                        scratch[length] = c | (c &- 0x41 < 26 ? 0x20 : 0)
                        length += 1
                    }
                    i += 1
                    continue
                }
                guard i + 1 < end else { break }
                let before = bytes[i - 1]
                let after = bytes[i + 1]
                let joins: Bool
                switch c {
                case UInt8(ascii: "'"): joins = Self.isASCIILetter(before) && Self.isASCIILetter(after)
                case UInt8(ascii: "."):
                    joins =
                        (Self.isASCIILetter(before) && Self.isASCIILetter(after))
                        || (Self.isASCIIDigit(before) && Self.isASCIIDigit(after))
                case UInt8(ascii: ","): joins = Self.isASCIIDigit(before) && Self.isASCIIDigit(after)
                default: joins = false
                }
                guard joins else { break }
                // The joiner and the letter or digit after it.
                for byte in [c, after | (after &- 0x41 < 26 ? 0x20 : 0)] where length < Self.maxTermBytes {
                    scratch[length] = byte
                    length += 1
                }
                i += 2
            }
            // A final "'s" (English) goes before the cut to 64 bytes, as on the general path.
            if stripsPossessive && i - start >= 3 && bytes[i - 2] == UInt8(ascii: "'") && bytes[i - 1] | 0x20 == UInt8(ascii: "s") {
                length = min(length, i - start - 2)
            }
            try body(UnsafeRawBufferPointer(start: scratch, count: length), position, true)
            position += 1
        }
    }

    /// The general path: `utf8` (a valid string's) in NFC, segmented over Unicode scalars.
    func analyzeUnicode(
        _ utf8: UnsafeBufferPointer<UInt8>, position: inout Int, worker: AnalysisWorker,
        _ body: (UnsafeRawBufferPointer, Int, Bool) throws -> Void
    ) rethrows {
        var scalars: [Unicode.Scalar] = []
        scalars.reserveCapacity(utf8.count)
        var inert = true
        var decoder = UTF8()
        var iterator = utf8.makeIterator()
        decoding: while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar):
                if ScalarClass.isIgnorable(scalar.value) { continue }
                if inert && !NFCQuickCheck.isInert(scalar.value) { inert = false }
                scalars.append(scalar)
            case .emptyInput: break decoding
            case .error: scalars.append("\u{FFFD}")  // not reached: the bytes are a String's
            }
        }
        if !inert {
            scalars = Array(String(String.UnicodeScalarView(scalars)).precomposedStringWithCanonicalMapping.unicodeScalars)
        }
        let classes = scalars.map(ScalarClass.init)
        var term: [UInt8] = []
        let n = scalars.count
        var i = 0
        while i < n {
            switch classes[i] {
            case .letter, .digit:
                let start = i
                var lastBase = classes[i]
                i += 1
                scan: while i < n {
                    switch classes[i] {
                    case .letter, .digit:
                        lastBase = classes[i]
                        i += 1
                    case .mark:
                        i += 1
                    case .apostrophe, .period, .comma:
                        guard i + 1 < n, Self.joins(classes[i], before: lastBase, after: classes[i + 1]) else { break scan }
                        lastBase = classes[i + 1]
                        i += 2
                    case .separator, .cjk:
                        break scan
                    }
                }
                normalizedWord(scalars[start..<i], into: &term)
                try term.withUnsafeBytes { word in
                    var count = word.count
                    if stripsPossessive && count >= 3 && word[count - 2] == UInt8(ascii: "'") && word[count - 1] == UInt8(ascii: "s") {
                        count -= 2
                    }
                    let cut = Self.truncated(UnsafeRawBufferPointer(rebasing: word[0..<count]))
                    try body(cut, position, true)
                }
                position += 1
            case .cjk:
                // Characters: a CJK scalar with the marks after it.
                var characters: [Range<Int>] = []
                while i < n && classes[i] == .cjk {
                    let start = i
                    i += 1
                    while i < n && classes[i] == .mark { i += 1 }
                    characters.append(start..<i)
                }
                let pairs =
                    characters.count == 1
                    ? [characters[0]]
                    : (0..<(characters.count - 1)).map { characters[$0].lowerBound..<characters[$0 + 1].upperBound }
                for pair in pairs {
                    term.removeAll(keepingCapacity: true)
                    for scalar in scalars[pair] { UTF8.encode(scalar) { term.append($0) } }
                    try term.withUnsafeBytes { try body(Self.truncated($0), position, false) }
                    position += 1
                }
            case .mark, .separator, .apostrophe, .period, .comma:
                i += 1
            }
        }
    }

    /// The UTF-8 of a word of the general path into `term`: lowercase (as
    /// `String.lowercased()`, scalar by scalar), ’ as ', NFC, diacritics folded if asked.
    /// The same steps as ``normalizeWord(_:fold:)``, without a String when it can.
    private func normalizedWord(_ scalars: ArraySlice<Unicode.Scalar>, into term: inout [UInt8]) {
        term.removeAll(keepingCapacity: true)
        var inert = true
        var ascii = true
        for scalar in scalars {
            let v = scalar.value
            if v < 0x80 {
                term.append(UInt8(v) | (v &- 0x41 < 26 ? 0x20 : 0))
            } else if v == 0x2019 {
                term.append(UInt8(ascii: "'"))
            } else {
                ascii = false
                if scalar.properties.changesWhenLowercased {
                    for lower in scalar.properties.lowercaseMapping.unicodeScalars {
                        if inert && !NFCQuickCheck.isInert(lower.value) { inert = false }
                        UTF8.encode(lower) { term.append($0) }
                    }
                } else {
                    if inert && !NFCQuickCheck.isInert(v) { inert = false }
                    UTF8.encode(scalar) { term.append($0) }
                }
            }
        }
        if ascii || (inert && !settings.foldDiacritics) { return }
        var word = String(decoding: term, as: UTF8.self)
        if !inert { word = word.precomposedStringWithCanonicalMapping }
        if settings.foldDiacritics { word = DiacriticFolding.fold(word) }
        term = Array(word.utf8)
    }

    /// Whether a joiner stays inside the word, between its last letter or digit `before`
    /// and the scalar `after` it.
    @inline(__always)
    private static func joins(_ joiner: ScalarClass, before: ScalarClass, after: ScalarClass) -> Bool {
        switch joiner {
        case .apostrophe: before == .letter && after == .letter
        case .period: before == after && (after == .letter || after == .digit)
        case .comma: before == .digit && after == .digit
        default: false
        }
    }

    /// `term` cut to ``maxTermBytes`` at a scalar boundary.
    @inline(__always)
    static func truncated(_ term: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        guard term.count > maxTermBytes else { return term }
        var cut = maxTermBytes
        while cut > 0 && term[cut] & 0xC0 == 0x80 { cut -= 1 }
        return UnsafeRawBufferPointer(rebasing: term[0..<cut])
    }

    /// A word (lowercased, folded, at most ``maxTermBytes``): dropped if a stopword, else
    /// stemmed and given to `body`.
    @inline(__always)
    func emitWord(
        _ word: UnsafeRawBufferPointer, position: Int, worker: AnalysisWorker,
        _ body: (UnsafeRawBufferPointer, Int) throws -> Void
    ) rethrows {
        let stems = worker.stems
        guard stems || stopwords != nil else { return try body(word, position) }
        let hash = Stopwords.hash(word)
        if let stopwords, stopwords.contains(word, hash: hash) { return }
        guard stems else { return try body(word, position) }
        let stem = worker.stem(word, hash: hash)
        try body(stem.isEmpty ? word : Self.truncated(stem), position)
    }
}
