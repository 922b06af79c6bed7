/// A PDF of many pages of seeded prose, written directly (no PDF library): for the
/// benchmarks and the tests that need a long document (a 10,000-page file, say) that is
/// not worth committing. Each page has a running header, `lines` lines of text in
/// Helvetica and a "Page N of M" footer.
public enum SyntheticPDF {
    static let words = [
        "the", "keeper", "lit", "lamp", "at", "dusk", "and", "watched", "ships", "pass", "through", "narrow", "channel",
        "while", "storms", "rolled", "over", "rocks", "tower", "lens", "turned", "on", "mercury", "fog", "signal",
        "sounded", "twice", "a", "minute", "relief", "boat", "brought", "oil", "bread", "letters", "from", "harbour",
        "board", "logbook", "recorded", "weather", "every", "three", "hours", "birds", "struck", "lantern", "glass",
    ]

    /// The file's bytes: `pages` pages of `lines` lines each, reproducible from `seed`.
    public static func make(pages: Int, lines: Int = 40, seed: UInt64 = 7) -> [UInt8] {
        var rng = SeededGenerator(seed: seed)
        var out: [UInt8] = []
        var offsets: [Int] = [0]  // object 0 is the free-list head
        func object(_ body: String) {
            offsets.append(out.count)
            out += Array("\(offsets.count - 1) 0 obj\n\(body)\nendobj\n".utf8)
        }
        out += Array("%PDF-1.4\n%\u{E2}\u{E3}\u{CF}\u{D3}\n".utf8)
        // 1: catalog, 2: page tree, 3: font; then per page its page object and content stream.
        object("<< /Type /Catalog /Pages 2 0 R >>")
        let kids = (0..<pages).map { "\(4 + 2 * $0) 0 R" }.joined(separator: " ")
        object("<< /Type /Pages /Kids [\(kids)] /Count \(pages) >>")
        object("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
        for p in 0..<pages {
            var text = "BT /F1 9 Tf 260 815 Td (Synthetic Survey of Harbour Lights) Tj ET\n"
            text += "BT /F1 10 Tf 56 780 Td 14 TL\n"
            for _ in 0..<lines {
                let count = 10 + Int(rng.next() % 4)
                let line = (0..<count).map { _ in words[Int(rng.next() % UInt64(words.count))] }.joined(separator: " ")
                text += "(\(line)) '\n"
            }
            text += "ET\nBT /F1 9 Tf 280 30 Td (Page \(p + 1) of \(pages)) Tj ET\n"
            object(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> "
                    + "/Contents \(5 + 2 * p) 0 R >>")
            object("<< /Length \(text.utf8.count) >>\nstream\n\(text)endstream")
        }
        let xref = out.count
        out += Array("xref\n0 \(offsets.count)\n0000000000 65535 f \n".utf8)
        for offset in offsets.dropFirst() {
            let digits = String(offset)
            out += Array((String(repeating: "0", count: 10 - digits.count) + digits + " 00000 n \n").utf8)
        }
        out += Array("trailer\n<< /Size \(offsets.count) /Root 1 0 R >>\nstartxref\n\(xref)\n%%EOF\n".utf8)
        return out
    }
}
