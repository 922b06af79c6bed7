import Synthetic

/// Random text for splitter and ingest tests, reproducible from a seed.
public enum GeneratedText {
    /// Building blocks of generated text: ASCII words, CJK, emoji with ZWJ, modifiers and
    /// flags, combining marks (including after a space), line and paragraph breaks.
    public static let pieces = [
        "the", "quick", "vector", "store", "LMDB", "3.14", "Dr.", "e\u{301}", "n\u{303}o", " \u{301}x",
        "漢字", "テキスト", "한국어", "👨‍👩‍👧", "👍🏽", "🇯🇵", "é", "ß", "\u{1F600}",
        String(repeating: "x", count: 37),  // a word longer than small chunk sizes
        " ", " ", " ", " ", ". ", "? ", "\n", "\n\n", "\r\n", "。",
    ]

    /// `length` pieces drawn from `rng`.
    public static func text(_ rng: inout SeededGenerator, length: Int) -> String {
        var s = ""
        for _ in 0..<length { s += pieces[Int(rng.next() % UInt64(pieces.count))] }
        return s
    }
}
