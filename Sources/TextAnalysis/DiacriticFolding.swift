import Foundation

/// Diacritic folding (``AnalyzerSettings/foldDiacritics``): canonical decomposition, then
/// the combining diacritical marks are dropped and a few letters that carry their
/// diacritic without decomposing are spelled out; the result is recomposed (NFC).
///
/// "café" → "cafe", "Ærø" → "aero", "straße" → "strasse", "ł" → "l". Only the combining
/// diacritical mark blocks are dropped (U+0300–036F, U+1AB0–1AFF, U+1DC0–1DFF,
/// U+20D0–20FF, U+FE20–FE2F): these are the accents of Latin, Greek and Cyrillic. The
/// marks of other scripts (Devanagari vowel signs, Hebrew points, Arabic vowels, the kana
/// voicing marks) are part of their letters and are kept.
enum DiacriticFolding {
    /// `lowercased` folded; the input is already lowercase and NFC.
    static func fold(_ lowercased: String) -> String {
        if lowercased.utf8.allSatisfy({ $0 < 0x80 }) { return lowercased }
        var folded = String.UnicodeScalarView()
        for scalar in lowercased.decomposedStringWithCanonicalMapping.unicodeScalars {
            if isDiacritic(scalar.value) { continue }
            if let spelled = spelledOut[scalar] {
                folded.append(contentsOf: spelled.unicodeScalars)
            } else {
                folded.append(scalar)
            }
        }
        return String(folded).precomposedStringWithCanonicalMapping
    }

    /// Whether `v` is in a combining diacritical marks block.
    static func isDiacritic(_ v: UInt32) -> Bool {
        switch v {
        case 0x300...0x36F, 0x1AB0...0x1AFF, 0x1DC0...0x1DFF, 0x20D0...0x20FF, 0xFE20...0xFE2F: true
        default: false
        }
    }

    /// Lowercase letters whose diacritic is part of the letter (no canonical decomposition).
    private static let spelledOut: [Unicode.Scalar: String] = [
        "æ": "ae", "œ": "oe", "ø": "o", "đ": "d", "ð": "d", "ł": "l", "þ": "th", "ß": "ss", "ı": "i", "ħ": "h",
        "ŧ": "t", "ſ": "s", "ŀ": "l",
    ]
}
