/// What a Unicode scalar is to word segmentation: a practical subset of UAX #29 word
/// boundaries.
///
/// Words are runs of letters, digits and the marks that follow them. An apostrophe (' or
/// ’) or a period between two letters stays inside a word ("can't", "e.g"); a period or a
/// comma between two digits stays inside a number ("3.5", "1,000"). Han, Hiragana and
/// Katakana form runs of their own, which become bigrams. Everything else separates.
enum ScalarClass: UInt8 {
    /// Whitespace, punctuation, symbols, emoji, controls, U+FFFD, enclosing marks.
    case separator
    /// Alphabetic (letters of every script but CJK, including Hangul).
    case letter
    /// A decimal digit of any script.
    case digit
    /// A nonspacing or spacing combining mark: part of the word or CJK character before it,
    /// a separator when nothing precedes it.
    case mark
    /// Han, Hiragana, Katakana (also halfwidth), and the marks used inside those runs (ー, 々).
    case cjk
    /// ' or ’.
    case apostrophe
    /// '.'
    case period
    /// ','
    case comma

    /// The class of `scalar`.
    init(_ scalar: Unicode.Scalar) {
        let v = scalar.value
        if v < 0x80 {
            switch v {
            case 0x41...0x5A, 0x61...0x7A: self = .letter
            case 0x30...0x39: self = .digit
            case 0x27: self = .apostrophe
            case 0x2E: self = .period
            case 0x2C: self = .comma
            default: self = .separator
            }
            return
        }
        if v == 0x2019 {
            self = .apostrophe
            return
        }
        if Self.isCJK(v) {
            self = .cjk
            return
        }
        let properties = scalar.properties
        switch properties.generalCategory {
        case .nonspacingMark, .spacingMark: self = .mark
        case .enclosingMark: self = .separator
        case .decimalNumber: self = .digit
        default: self = properties.isAlphabetic ? .letter : .separator
        }
    }

    /// Han ideographs (and 々 〇 and the Hangzhou numerals), Hiragana, Katakana with the
    /// prolonged sound mark ー, halfwidth Katakana, and the Kana supplements. CJK
    /// punctuation (、。「」・) is not among them.
    static func isCJK(_ v: UInt32) -> Bool {
        switch v {
        case 0x3005, 0x3007, 0x3021...0x3029, 0x3038...0x303B: true  // 々 〇 Hangzhou numerals
        case 0x3041...0x3096, 0x3099...0x309A, 0x309D...0x309F: true  // Hiragana
        case 0x30A1...0x30FA, 0x30FC...0x30FF, 0x31F0...0x31FF: true  // Katakana
        case 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xF900...0xFAFF: true  // Han
        case 0xFF66...0xFF9F: true  // halfwidth Katakana
        case 0x1AFF0...0x1B16F: true  // Kana supplements
        case 0x20000...0x2FA1F, 0x30000...0x323AF: true  // Han extensions B–I
        default: false
        }
    }

    /// Format characters that are dropped wherever they are, so that they neither split nor
    /// show in a word: soft hyphen, zero-width (non-)joiner, word joiner, byte order mark,
    /// variation selectors.
    static func isIgnorable(_ v: UInt32) -> Bool {
        switch v {
        case 0xAD, 0x200C, 0x200D, 0x2060, 0xFEFF, 0xFE00...0xFE0F, 0xE0100...0xE01EF: true
        default: false
        }
    }
}
