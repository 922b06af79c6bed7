import Foundation

/// BERT's uncased WordPiece tokenizer, read from a `vocab.txt` (one piece per line, the
/// line number is the id), as `BertWordPieceTokenizer` / `tokenizer.json` of
/// all-MiniLM-L6-v2 define it:
///
/// 0. the special tokens (`[CLS]`, `[SEP]`, `[PAD]`, `[UNK]`, `[MASK]`) written in the text,
///    case and all, are matched first and become their ids;
/// 1. clean: drop NUL, U+FFFD and control/format characters; whitespace becomes a space;
/// 2. put spaces around CJK ideographs;
/// 3. strip accents (NFD, then drop nonspacing marks) and lowercase;
/// 4. split on whitespace, and isolate each punctuation character (ASCII 33–47, 58–64,
///    91–96, 123–126, and Unicode's P* categories);
/// 5. WordPiece each word: greedy longest match, continuations spelled `##…`; a word that
///    cannot be covered, or of over 100 characters, is one `[UNK]`.
///
/// "Control", "nonspacing mark", "punctuation" and "CJK" are the reference tokenizer's
/// own, older Unicode tables, not Swift's: the classes in
/// `WordPieceTokenizer+CharacterClasses.swift` are generated from Hugging Face
/// `tokenizers` by `tools/tokenizer/make_classes.py`, so that marks and punctuation
/// assigned since stay inside words as the model saw them. `WordPieceDifferentialTests`
/// compares the ids with that tokenizer's over some 4,000 sentences in 25 writing systems.
///
/// ASCII text goes through a fast path on its UTF-8 bytes; other characters cost one table
/// lookup, and only those that NFD or lowercasing change (accented letters, Hangul
/// syllables, capitals) are decomposed.
///
/// ```swift
/// let tokenizer = try WordPieceTokenizer(vocabularyPath: dir + "/vocab.txt")
/// tokenizer.encode("Hello world")  // [101, 7592, 2088, 102]
/// ```
///
/// As a `Tokenizer` it lets `TokenSplitter` count in model tokens: each word piece is one
/// token whose range covers the source bytes it came from.
///
/// Thread safety: immutable; share one instance between any number of threads.
public final class WordPieceTokenizer: Tokenizer, CustomStringConvertible, CustomDebugStringConvertible {
    /// Positions the model reads, `[CLS]` and `[SEP]` included.
    public let maxLength: Int
    /// Pieces in the vocabulary.
    public let vocabularySize: Int
    /// The id of `[CLS]` (101 in BERT's uncased vocabulary).
    public let classID: Int32
    /// The id of `[SEP]` (102).
    public let separatorID: Int32
    /// The id of `[UNK]` (100).
    public let unknownID: Int32
    /// The id of `[PAD]` (0).
    public let padID: Int32
    /// Most characters of a word before it becomes `[UNK]`.
    public static let maxWordCharacters = 100

    private let wholeWords: PieceTable
    private let continuations: PieceTable
    private let pieces: [String]
    private let classes = CharacterClasses()
    /// The special tokens the reference matches in the raw text, by UTF-8 spelling.
    private let specialTokens: [(bytes: [UInt8], id: Int32)]

    /// Loads `vocab.txt`.
    ///
    /// - Throws: `IngestError.modelNotFound` if the file is missing,
    ///   `IngestError.badModelFile` (naming it) if it lacks `[CLS]`, `[SEP]`, `[UNK]` or
    ///   `[PAD]`.
    public convenience init(vocabularyPath: String, maxLength: Int = 256) throws {
        guard let data = FileManager.default.contents(atPath: vocabularyPath) else {
            let exists = FileManager.default.fileExists(atPath: vocabularyPath)
            throw IngestError(exists ? .badModelFile : .modelNotFound, "cannot read vocabulary file \(vocabularyPath)")
        }
        var lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map {
            // As the reference tokenizer reads it: trailing whitespace (a CR) is not part of a piece.
            var line = $0[...]
            while let last = line.last, last == 0x0D || last == 0x20 || last == 0x09 { line = line.dropLast() }
            return String(decoding: line, as: UTF8.self)
        }
        if lines.last == "" { lines.removeLast() }
        try self.init(vocabulary: lines, maxLength: maxLength, source: vocabularyPath)
    }

    /// Builds the tokenizer from the vocabulary's pieces in id order.
    ///
    /// - Throws: `IngestError.badModelFile` if a special token is missing.
    public init(vocabulary: [String], maxLength: Int = 256, source: String = "the vocabulary") throws {
        precondition(maxLength >= 2, "maxLength must leave room for [CLS] and [SEP]")
        self.maxLength = maxLength
        vocabularySize = vocabulary.count
        pieces = vocabulary
        var whole: [(bytes: [UInt8], id: Int32)] = []
        var continued: [(bytes: [UInt8], id: Int32)] = []
        var special: [String: Int32] = [:]
        for (index, piece) in vocabulary.enumerated() {
            let id = Int32(index)
            // Bytes, not Characters: in "##ा" the vowel sign joins the second "#" into one
            // grapheme, so `hasPrefix("##")` would miss the continuation.
            if piece.utf8.starts(with: "##".utf8) && piece.utf8.count > 2 {
                continued.append((Array(piece.utf8.dropFirst(2)), id))
            } else {
                whole.append((Array(piece.utf8), id))
            }
            if ["[CLS]", "[SEP]", "[UNK]", "[PAD]", "[MASK]"].contains(piece) { special[piece] = id }
        }
        guard let cls = special["[CLS]"], let sep = special["[SEP]"], let unk = special["[UNK]"], let pad = special["[PAD]"]
        else {
            let missing = ["[CLS]", "[SEP]", "[UNK]", "[PAD]"].filter { special[$0] == nil }
            throw IngestError(.badModelFile, "\(source) lacks the special tokens \(missing.joined(separator: ", "))")
        }
        (classID, separatorID, unknownID, padID) = (cls, sep, unk, pad)
        specialTokens = special.sorted { $0.value < $1.value }.map { (Array($0.key.utf8), $0.value) }
        wholeWords = PieceTable(whole)
        continuations = PieceTable(continued)
    }

    /// `WordPieceTokenizer(<pieces> pieces, max <length>)`: short, because splitters
    /// print their tokenizer into the pipeline's settings hash.
    public var description: String { "WordPieceTokenizer(\(vocabularySize) pieces, max \(maxLength))" }
    /// The same as `description`.
    public var debugDescription: String { description }

    /// The model's window less `[CLS]` and `[SEP]` (254): a `TokenSplitter` counting with
    /// this tokenizer makes chunks that fit.
    public var maxTokensPerChunk: Int? { maxLength - 2 }

    /// The piece spelled by `id` (`##…` for continuations), or nil outside the vocabulary.
    public func piece(_ id: Int32) -> String? {
        id >= 0 && Int(id) < pieces.count ? pieces[Int(id)] : nil
    }

    /// The model's input ids: `[CLS]`, the word pieces (truncated to `maxLength` − 2),
    /// `[SEP]`.
    public func encode(_ text: String) -> [Int32] {
        var ids: [Int32] = [classID]
        ids.reserveCapacity(min(maxLength, text.utf8.count / 3 + 3))
        let limit = maxLength - 1
        forEachPiece(text) { id, _, _, _ in
            guard ids.count < limit else { return false }
            ids.append(id)
            return true
        }
        ids.append(separatorID)
        return ids
    }

    /// Word pieces in `text`, without `[CLS]`/`[SEP]` and without truncation.
    public func count(_ text: String) -> Int {
        var n = 0
        forEachPiece(text) { _, _, _, _ in
            n += 1
            return true
        }
        return n
    }

    /// The word pieces as byte ranges of `text`'s UTF-8: the pieces of one word split its
    /// bytes where the pieces meet; ranges never overlap and come in order.
    public func tokenRanges(_ text: String) -> [Range<Int>] {
        var continuations: [Bool] = []
        return tokenRanges(text, continuations: &continuations)
    }

    /// The word pieces' byte ranges, and whether each continues a word (`##…`, or a later
    /// piece of a word).
    public func tokenRanges(_ text: String, continuations: inout [Bool]) -> [Range<Int>] {
        var out: [Range<Int>] = []
        continuations = []
        var last = 0
        forEachPiece(text) { _, start, end, continues in
            let lower = max(start, last)
            let upper = max(end, lower)
            continuations.append(continues)
            out.append(lower..<upper)
            last = upper
            return true
        }
        return out
    }

    // MARK: - The scan

    /// Where a word being built stands.
    private struct Word {
        /// Normalized UTF-8 of the word.
        var bytes: [UInt8] = []
        /// For each normalized byte, the source offset of the character it came from.
        var sources: [Int] = []
        /// The source offset just past the word's last character (dropped marks included).
        var sourceEnd = 0
        /// A punctuation character or CJK ideograph: a word of its own.
        var isolated = false
        var isEmpty: Bool { bytes.isEmpty }

        mutating func reset() {
            bytes.removeAll(keepingCapacity: true)
            sources.removeAll(keepingCapacity: true)
            isolated = false
        }
    }

    /// Bytes of a word kept for WordPiece: whole scalars up to at least this many bytes
    /// hold more than 100 scalars, which is already one [UNK], so a 10 MB word costs no
    /// more memory than a short one.
    static let storedWordBytes = 404

    /// The class of an ASCII byte: 0 dropped (control), 1 whitespace, 2 punctuation,
    /// 3 word. Comparisons rather than a table: a static array's access costs more here.
    @inline(__always)
    private static func asciiClass(_ b: UInt8) -> UInt8 {
        if b >= 0x61 && b <= 0x7A || b >= 0x41 && b <= 0x5A || b >= 0x30 && b <= 0x39 { return 3 }
        if b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D { return 1 }
        if b < 0x20 || b == 0x7F { return 0 }
        return 2  // the rest of 0x21...0x7E: 33–47, 58–64, 91–96, 123–126
    }

    /// Calls `sink(id, sourceStart, sourceEnd, continuesWord)` for each word piece in
    /// order, until it returns false.
    private func forEachPiece(_ text: String, _ sink: (Int32, Int, Int, Bool) -> Bool) {
        var text = text
        var word = Word()
        word.bytes.reserveCapacity(64)
        word.sources.reserveCapacity(64)
        var stopped = false
        var pieceStarts: [Int] = []
        var pieceIDs: [Int32] = []
        pieceStarts.reserveCapacity(16)
        pieceIDs.reserveCapacity(16)

        func flush() {
            guard !word.isEmpty, !stopped else {
                word.reset()
                return
            }
            wordPiece(word.bytes, starts: &pieceStarts, ids: &pieceIDs)
            for k in 0..<pieceIDs.count {
                let start = word.sources[pieceStarts[k]]
                let end = k + 1 < pieceIDs.count ? word.sources[pieceStarts[k + 1]] : word.sourceEnd
                if !sink(pieceIDs[k], start, end, k > 0) {
                    stopped = true
                    break
                }
            }
            word.reset()
        }

        /// Appends one normalized scalar of class `kind` that came from source bytes
        /// `start..<end`; an isolated one (punctuation, a CJK ideograph) is a word of its
        /// own. An isolated word stays open until the next kept character, so marks
        /// dropped right after it still count as its source bytes.
        func append(_ v: Unicode.Scalar, _ kind: UInt8, start: Int, end: Int) {
            if kind == CharacterClasses.space {
                flush()
                return
            }
            let isolate = kind == CharacterClasses.isolate
            if isolate || word.isolated { flush() }
            if word.bytes.count >= Self.storedWordBytes {  // already one [UNK]: keep only its extent
                word.sourceEnd = end
                return
            }
            // UTF-8 of the scalar, byte by byte (no temporary array).
            let c = v.value
            if c < 0x80 {
                word.bytes.append(UInt8(c))
            } else {
                let count = c < 0x800 ? 2 : c < 0x10000 ? 3 : 4
                let lead: UInt32 = count == 2 ? 0xC0 : count == 3 ? 0xE0 : 0xF0
                word.bytes.append(UInt8(lead | c >> UInt32(6 * (count - 1))))
                for k in stride(from: count - 2, through: 0, by: -1) { word.bytes.append(UInt8(0x80 | (c >> UInt32(6 * k)) & 0x3F)) }
            }
            while word.sources.count < word.bytes.count { word.sources.append(start) }
            word.sourceEnd = end
            word.isolated = isolate
        }

        text.withUTF8 { utf8 in
            var i = 0
            let n = utf8.count
            while i < n && !stopped {
                let b = utf8[i]
                if b < 0x80 {
                    if b == 0x5B, let (id, length) = specialToken(utf8, at: i) {
                        flush()
                        if !stopped && !sink(id, i, i + length, false) { stopped = true }
                        i += length
                        continue
                    }
                    switch Self.asciiClass(b) {
                    case 0:
                        if !word.isEmpty { word.sourceEnd = i + 1 }
                    case 1:
                        flush()
                    case 2:
                        flush()
                        word.bytes.append(b)
                        word.sources.append(i)
                        word.sourceEnd = i + 1
                        word.isolated = true
                    default:
                        if word.isolated { flush() }
                        if word.bytes.count < Self.storedWordBytes {
                            word.bytes.append(b >= 0x41 && b <= 0x5A ? b | 0x20 : b)
                            word.sources.append(i)
                        }
                        word.sourceEnd = i + 1
                    }
                    i += 1
                    continue
                }
                // One non-ASCII scalar (the String's UTF-8 is valid).
                let length = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2
                var value = UInt32(b) & (length == 2 ? 0x1F : length == 3 ? 0x0F : 0x07)
                for k in 1..<length where i + k < n { value = value << 6 | UInt32(utf8[i + k] & 0x3F) }
                let start = i
                i += length
                guard let scalar = Unicode.Scalar(value) else { continue }
                let entry = classes[value]
                let kind = entry & CharacterClasses.kindMask
                if kind == CharacterClasses.drop {
                    if !word.isEmpty { word.sourceEnd = i }
                    continue
                }
                if entry & CharacterClasses.mapped == 0 {
                    append(scalar, kind, start: start, end: i)
                    continue
                }
                if kind == CharacterClasses.space {
                    flush()
                    continue
                }
                // NFD, nonspacing marks dropped, then lowercase, each piece classed anew.
                var kept = false
                Self.forEachDecomposed(scalar) { v in
                    let part = classes[v.value]
                    guard part & CharacterClasses.kindMask != CharacterClasses.drop else { return }
                    kept = true
                    if part & CharacterClasses.mapped != 0 && v.properties.changesWhenLowercased {
                        for l in v.properties.lowercaseMapping.unicodeScalars {
                            append(l, classes[l.value] & CharacterClasses.kindMask, start: start, end: i)
                        }
                    } else {
                        append(v, part & CharacterClasses.kindMask, start: start, end: i)
                    }
                }
                if !kept && !word.isEmpty { word.sourceEnd = i }
            }
        }
        flush()
    }

    /// Greedy longest-match WordPiece of one normalized word: fills `ids` and the byte
    /// offset where each piece starts; one `[UNK]` if the word cannot be covered.
    private func wordPiece(_ word: [UInt8], starts: inout [Int], ids: inout [Int32]) {
        starts.removeAll(keepingCapacity: true)
        ids.removeAll(keepingCapacity: true)
        var characters = 0
        for b in word where b & 0xC0 != 0x80 { characters += 1 }
        guard characters <= Self.maxWordCharacters else {
            starts.append(0)
            ids.append(unknownID)
            return
        }
        word.withUnsafeBufferPointer { w in
            let n = w.count
            var start = 0
            while start < n {
                let whole = start == 0
                var end = min(n, start + (whole ? wholeWords.longest : continuations.longest))
                var found: Int32 = -1
                while end > start {
                    if end == n || w[end] & 0xC0 != 0x80 {
                        let key = UnsafeBufferPointer(rebasing: w[start..<end])
                        found = whole ? wholeWords.lookup(key) : continuations.lookup(key)
                        if found >= 0 { break }
                    }
                    end -= 1
                }
                guard found >= 0 else {
                    starts.removeAll(keepingCapacity: true)
                    ids.removeAll(keepingCapacity: true)
                    starts.append(0)
                    ids.append(unknownID)
                    return
                }
                starts.append(start)
                ids.append(found)
                start = end
            }
        }
    }

    /// The special token spelled at `utf8[i...]`, with its length in bytes.
    private func specialToken(_ utf8: UnsafeBufferPointer<UInt8>, at i: Int) -> (Int32, Int)? {
        for (bytes, id) in specialTokens where i + bytes.count <= utf8.count {
            var equal = true
            for k in 0..<bytes.count where utf8[i + k] != bytes[k] {
                equal = false
                break
            }
            if equal { return (id, bytes.count) }
        }
        return nil
    }

    /// Calls `body` with each scalar of the canonical decomposition (NFD) of `scalar`.
    private static func forEachDecomposed(_ scalar: Unicode.Scalar, _ body: (Unicode.Scalar) -> Void) {
        let c = scalar.value
        if c >= 0xAC00 && c <= 0xD7A3 {
            // A Hangul syllable: leading consonant, vowel and optional trailing consonant,
            // by arithmetic (Unicode §3.12) rather than through Foundation.
            let s = c - 0xAC00
            body(Unicode.Scalar(0x1100 + s / 588) ?? scalar)
            body(Unicode.Scalar(0x1161 + s % 588 / 28) ?? scalar)
            if s % 28 != 0 { body(Unicode.Scalar(0x11A7 + s % 28) ?? scalar) }
            return
        }
        // Latin-1 below U+00C0 has no canonical decomposition: skip Foundation there.
        if c < 0xC0 {
            body(scalar)
            return
        }
        for v in String(Character(scalar)).decomposedStringWithCanonicalMapping.unicodeScalars { body(v) }
    }
}

/// The reference tokenizer's class of every code point, from the generated ranges: a
/// direct table for the Basic Multilingual Plane, a binary search above it.
private struct CharacterClasses: Sendable {
    static let kindMask: UInt8 = 3
    static let word: UInt8 = 0
    static let drop: UInt8 = 1
    static let space: UInt8 = 2
    static let isolate: UInt8 = 3
    /// NFD or lowercasing changes the code point.
    static let mapped: UInt8 = 4

    private let basic: [UInt8]
    private let starts: [UInt32]
    private let values: [UInt8]

    init() {
        starts = WordPieceTokenizer.classRangeStarts
        values = WordPieceTokenizer.classRangeValues
        var basic = [UInt8](repeating: 0, count: 0x10000)
        for k in starts.indices where starts[k] < 0x10000 {
            let end = k + 1 < starts.count ? min(Int(starts[k + 1]), 0x10000) : 0x10000
            for c in Int(starts[k])..<end { basic[c] = values[k] }
        }
        self.basic = basic
    }

    @inline(__always)
    subscript(_ c: UInt32) -> UInt8 {
        if c < 0x10000 { return basic.withUnsafeBufferPointer { $0[Int(c)] } }
        var low = 0
        var high = starts.count  // the last start <= c is in low..<high
        while high - low > 1 {
            let mid = (low + high) / 2
            if starts[mid] <= c { low = mid } else { high = mid }
        }
        return values[low]
    }
}

/// An open-addressing hash table from a piece's UTF-8 bytes to its id, so lookups read
/// the word's bytes in place instead of building a `String` per candidate piece. (A
/// `Dictionary<String, Int32>` would allocate a String for every candidate.)
private struct PieceTable: Sendable {
    private let bytes: [UInt8]
    private let offsets: [Int32]
    private let lengths: [Int32]
    private let ids: [Int32]
    private let slots: [Int32]
    private let mask: Int
    /// Bytes of the longest piece.
    let longest: Int

    init(_ entries: [(bytes: [UInt8], id: Int32)]) {
        var capacity = 16
        while capacity < entries.count * 2 { capacity <<= 1 }
        var bytes: [UInt8] = []
        var offsets: [Int32] = []
        var lengths: [Int32] = []
        var ids: [Int32] = []
        var slots = [Int32](repeating: -1, count: capacity)
        var longest = 0
        for entry in entries {
            var slot = Int(Self.hash(entry.bytes) & UInt64(capacity - 1))
            var replaced = false
            while slots[slot] >= 0 {
                let e = Int(slots[slot])
                if bytes[Int(offsets[e])..<Int(offsets[e] + lengths[e])].elementsEqual(entry.bytes) {
                    ids[e] = entry.id  // a repeated piece: the later line wins, as in the reference
                    replaced = true
                    break
                }
                slot = (slot + 1) & (capacity - 1)
            }
            if replaced { continue }
            slots[slot] = Int32(ids.count)
            offsets.append(Int32(bytes.count))
            lengths.append(Int32(entry.bytes.count))
            ids.append(entry.id)
            bytes += entry.bytes
            longest = max(longest, entry.bytes.count)
        }
        (self.bytes, self.offsets, self.lengths, self.ids, self.slots) = (bytes, offsets, lengths, ids, slots)
        mask = capacity - 1
        self.longest = longest
    }

    /// The id of the piece spelled by `key`, or -1.
    @inline(__always)
    func lookup(_ key: UnsafeBufferPointer<UInt8>) -> Int32 {
        var slot = Int(Self.hash(key) & UInt64(mask))
        return bytes.withUnsafeBufferPointer { all in
            while true {
                let e = Int(slots[slot])
                if e < 0 { return -1 }
                if Int(lengths[e]) == key.count {
                    let start = Int(offsets[e])
                    var equal = true
                    for k in 0..<key.count where all[start + k] != key[k] {
                        equal = false
                        break
                    }
                    if equal { return ids[e] }
                }
                slot = (slot + 1) & mask
            }
        }
    }

    /// FNV-1a.
    @inline(__always)
    static func hash<C: Collection<UInt8>>(_ key: C) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in key { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }
}
