/// Turns the raw text of a document's pages into the text Quiver indexes: words hyphenated
/// at line ends joined again, and the running headers and footers (lines that repeat at
/// the top or bottom of most pages, page numbers included) dropped.
///
/// Pure and deterministic; works on the pages of one document at once.
enum PageCleaner {
    /// Lines at each edge of a page that may be a header or footer.
    static let edgeLines = 2
    /// A header or footer repeats on at least this share of the pages…
    static let repeatShare = 0.5
    /// …and on at least this many pages.
    static let minimumRepeats = 3
    /// Longer lines are body text, never a header or footer.
    static let maxEdgeLineLength = 120

    /// The pages cleaned, in order (`edgeKeys`, `repeated` and `clean(page:)` in one go).
    static func clean(_ pages: [String], dropRepeatedLines: Bool = true, joinHyphenation: Bool = true) -> [String] {
        let repeated = dropRepeatedLines ? repeated(pages.map(edgeKeys)) : []
        return pages.map { clean(page: $0, repeated: repeated, joinHyphenation: joinHyphenation) }
    }

    /// The normalized lines at a page's edges, each once: what `repeated` counts. Taken as
    /// each page arrives, so that only these, not every page's lines, wait for the last page.
    static func edgeKeys(of page: String) -> [String] {
        let lines = page.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        return Array(Set(edges(of: lines).map(normalize)))
    }

    /// The normalized lines that are at the edges of enough pages (`minimumRepeats`, and
    /// `repeatShare` of them) to be running headers or footers.
    static func repeated(_ edgeKeys: [[String]]) -> Set<String> {
        guard edgeKeys.count >= minimumRepeats else { return [] }
        var counts: [String: Int] = [:]
        for keys in edgeKeys {
            for key in keys where !key.isEmpty { counts[key, default: 0] += 1 }
        }
        let needed = max(minimumRepeats, Int((Double(edgeKeys.count) * repeatShare).rounded(.up)))
        return Set(counts.filter { $0.value >= needed }.keys)
    }

    /// One page without its running lines (those in `repeated`) and, with
    /// `joinHyphenation`, with its broken words joined.
    static func clean(page: String, repeated: Set<String>, joinHyphenation: Bool) -> String {
        var text = page
        if !repeated.isEmpty {
            let lines = page.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            text = strip(lines, repeated).joined(separator: "\n")
        }
        return joinHyphenation ? joinHyphenatedWords(text) : text
    }

    /// The first and last `edgeLines` non-blank lines of a page.
    static func edges(of page: [String]) -> [String] {
        let top = page.lazy.filter { !isBlank($0) }.prefix(edgeLines)
        let bottom = page.reversed().lazy.filter { !isBlank($0) }.prefix(edgeLines)
        return (Array(top) + Array(bottom)).filter { $0.count <= maxEdgeLineLength }
    }

    /// A page without its leading and trailing lines that are in `repeated` (blank lines
    /// between them go too).
    static func strip(_ page: [String], _ repeated: Set<String>) -> [String] {
        var start = page.startIndex
        var end = page.endIndex
        var dropped = 0
        while start < end, dropped < edgeLines, isBlank(page[start]) || repeated.contains(normalize(page[start])) {
            if !isBlank(page[start]) { dropped += 1 }
            start += 1
        }
        dropped = 0
        while end > start, dropped < edgeLines, isBlank(page[end - 1]) || repeated.contains(normalize(page[end - 1])) {
            if !isBlank(page[end - 1]) { dropped += 1 }
            end -= 1
        }
        // A page that would lose every line had nothing but such lines: it keeps them.
        guard page[start..<end].contains(where: { !isBlank($0) }) else { return page }
        return Array(page[start..<end])
    }

    /// A line as headers are compared: whitespace collapsed, lowercased, every run of
    /// digits (a page number, a date) as `#`.
    static func normalize(_ line: String) -> String {
        var out = ""
        var inDigits = false
        var pendingSpace = false
        for c in line.lowercased() {
            if c.isWhitespace {
                pendingSpace = !out.isEmpty
                inDigits = false
                continue
            }
            if pendingSpace {
                out.append(" ")
                pendingSpace = false
            }
            if c.isNumber && c.isASCII {
                if !inDigits { out.append("#") }
                inDigits = true
            } else {
                inDigits = false
                out.append(c)
            }
        }
        return out
    }

    static func isBlank(_ line: String) -> Bool { line.allSatisfy(\.isWhitespace) }

    /// `infor-\nmation` → `information\n`: a line that ends in a letter and a hyphen (or a
    /// soft hyphen), followed by a line that starts with a lowercase letter, is joined to
    /// it; the rest of the second line stays on its own line, so line structure is kept.
    static func joinHyphenatedWords(_ text: String) -> String {
        guard text.contains("-\n") || text.contains("\u{AD}\n") else { return text }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var i = 0
        while i + 1 < lines.count {
            var line = lines[i]
            let next = lines[i + 1]
            guard let last = line.last, last == "-" || last == "\u{AD}",
                line.dropLast().last?.isLetter == true,
                let first = next.first, first.isLetter, first.isLowercase
            else {
                i += 1
                continue
            }
            // The next line's first word joins this line; the rest of it stays.
            let wordEnd = next.firstIndex(where: { $0.isWhitespace }) ?? next.endIndex
            line.removeLast()
            line += next[..<wordEnd]
            lines[i] = line
            lines[i + 1] = String(next[wordEnd...].drop(while: { $0 == " " }))
            if lines[i + 1].isEmpty {
                lines.remove(at: i + 1)
            } else {
                i += 1
            }
        }
        return lines.joined(separator: "\n")
    }
}
