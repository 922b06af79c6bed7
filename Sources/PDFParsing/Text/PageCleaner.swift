#if canImport(Glibc)
    import Glibc
#endif

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
        Array(Set(edges(of: page).map(normalize)))
    }

    /// The first and last `edgeLines` non-blank lines of a page, found from both ends
    /// without splitting the whole page.
    static func edges(of page: String) -> [String] {
        withBytes(page) { b in
            let lines = topLines(b, from: 0, count: edgeLines) + bottomLines(b, to: b.count, count: edgeLines)
            // The UTF-8 length bounds the character count: most lines skip counting.
            return lines.map { String(decoding: UnsafeBufferPointer(rebasing: b[$0]), as: UTF8.self) }
                .filter { $0.utf8.count <= maxEdgeLineLength || $0.count <= maxEdgeLineLength }
        }
    }

    /// The ranges of the first `count` non-blank lines from `start`.
    static func topLines(_ b: UnsafeBufferPointer<UInt8>, from start: Int, count: Int) -> [Range<Int>] {
        var lines: [Range<Int>] = []
        var i = start
        while lines.count < count, i < b.count {
            let end = lineEnd(b, from: i)
            if !isBlank(b, i..<end) { lines.append(i..<end) }
            i = end + 1
        }
        return lines
    }

    /// The ranges of the last `count` non-blank lines before `end`.
    static func bottomLines(_ b: UnsafeBufferPointer<UInt8>, to end: Int, count: Int) -> [Range<Int>] {
        var lines: [Range<Int>] = []
        var j = end
        while lines.count < count, j > 0 {
            let start = lineStart(b, before: j)
            if !isBlank(b, start..<j) { lines.append(start..<j) }
            j = start - 1
        }
        return lines
    }

    /// The index of the first newline at or after `i`, or the end.
    static func lineEnd(_ b: UnsafeBufferPointer<UInt8>, from i: Int) -> Int {
        guard i < b.count, let base = b.baseAddress, let hit = memchr(base + i, 0x0A, b.count - i) else { return b.count }
        return base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
    }

    /// The start of the line that ends at `j` (just after the newline before it, or 0).
    static func lineStart(_ b: UnsafeBufferPointer<UInt8>, before j: Int) -> Int {
        var k = j
        while k > 0 && b[k - 1] != 0x0A { k -= 1 }
        return k
    }

    static func isBlank(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Bool {
        for i in r where !(b[i] == 0x20 || (b[i] >= 0x09 && b[i] <= 0x0D)) { return false }
        return true
    }

    /// `body` over the string's UTF-8 bytes in one buffer.
    static func withBytes<R>(_ s: String, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        var copy = s  // shares storage; withUTF8 needs a var (it may make a native copy)
        return copy.withUTF8(body)
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

    /// One page without its running lines (those in `repeated`, at most `edgeLines` at
    /// each edge, with the blank lines around them) and, with `joinHyphenation`, with its
    /// broken words joined. A page made only of such lines keeps them.
    static func clean(page: String, repeated: Set<String>, joinHyphenation: Bool) -> String {
        var text = page
        if !repeated.isEmpty {
            text = withBytes(page) { b in
                func running(_ r: Range<Int>) -> Bool {
                    repeated.contains(normalize(String(decoding: UnsafeBufferPointer(rebasing: b[r]), as: UTF8.self)))
                }
                var start = 0
                for line in topLines(b, from: 0, count: edgeLines) {
                    guard running(line) else { break }
                    start = line.upperBound
                }
                var end = b.count
                for line in bottomLines(b, to: b.count, count: edgeLines) where line.lowerBound >= start {
                    guard running(line) else { break }
                    end = line.lowerBound
                }
                guard start < end, !isBlank(b, start..<end) else { return page }
                // Blank lines left at the cut edges go too.
                while start < end && (b[start] == 0x0A || b[start] == 0x0D || b[start] == 0x20 || b[start] == 0x09) { start += 1 }
                while end > start && (b[end - 1] == 0x0A || b[end - 1] == 0x0D || b[end - 1] == 0x20 || b[end - 1] == 0x09) { end -= 1 }
                return String(decoding: UnsafeBufferPointer(rebasing: b[start..<end]), as: UTF8.self)
            }
        }
        return joinHyphenation ? joinHyphenatedWords(text) : text
    }

    /// A line as headers are compared: whitespace collapsed, lowercased, every run of
    /// digits (a page number, a date) as `#`.
    static func normalize(_ line: String) -> String {
        asciiNormalized(line) ?? unicodeNormalized(line)
    }

    /// `normalize` of an ASCII line, byte by byte (the same result, without the Unicode
    /// properties of every character); nil when the line is not ASCII.
    static func asciiNormalized(_ line: String) -> String? {
        var line = line  // withUTF8 needs a var
        return line.withUTF8 { b -> String? in
            guard !b.contains(where: { $0 >= 0x80 }) else { return nil }
            var out: [UInt8] = []
            out.reserveCapacity(b.count)
            var inDigits = false
            var pendingSpace = false
            for var c in b {
                // Character.isWhitespace for ASCII: tab, line feed, vertical tab, form feed,
                // carriage return (CR LF is one Character, and a whitespace one), space.
                if c == 0x20 || (c >= 0x09 && c <= 0x0D) {
                    pendingSpace = !out.isEmpty
                    inDigits = false
                    continue
                }
                if pendingSpace {
                    out.append(0x20)
                    pendingSpace = false
                }
                if c >= 0x30 && c <= 0x39 {
                    if !inDigits { out.append(UInt8(ascii: "#")) }
                    inDigits = true
                } else {
                    inDigits = false
                    if c >= 0x41 && c <= 0x5A { c += 0x20 }
                    out.append(c)
                }
            }
            return String(decoding: out, as: UTF8.self)
        }
    }

    /// `normalize` for any line, character by character.
    static func unicodeNormalized(_ line: String) -> String {
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

    /// `infor-\nmation` → `information\n`: a line that ends in a letter and a hyphen (or a
    /// soft hyphen), followed by a line that starts with a lowercase letter, is joined to
    /// it; the rest of the second line stays on its own line, so line structure is kept.
    static func joinHyphenatedWords(_ text: String) -> String {
        // Only a page with a hyphen (or a soft hyphen, C2 AD) before a line break has work.
        let hasBreak = withBytes(text) { b in
            var i = lineEnd(b, from: 0)
            while i < b.count {
                if i > 0 && (b[i - 1] == UInt8(ascii: "-") || b[i - 1] == 0xAD) { return true }
                i = lineEnd(b, from: i + 1)
            }
            return false
        }
        guard hasBreak else { return text }
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
