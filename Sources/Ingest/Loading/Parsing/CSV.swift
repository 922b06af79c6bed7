/// RFC 4180 CSV: quoted fields with doubled quotes, CRLF or LF rows.
enum CSV {
    /// The rows of `text`, and the lines (1-based) of quotes that never closed: such a
    /// quote would swallow every row after it (up to the next quote, which then seems to
    /// close it but is followed by more of its field), so it is read as an ordinary
    /// character instead and reported.
    static func parseReporting(_ text: String) -> (rows: [[String]], unclosedQuoteLines: [Int]) {
        var literal: Set<Int> = []
        var lines: [Int] = []
        while true {
            let (rows, unclosed) = parse(text, literalQuotes: literal)
            guard let (offset, line) = unclosed, !literal.contains(offset) else { return (rows, lines) }
            literal.insert(offset)
            lines.append(line)
        }
    }

    /// The rows of `text` (an unclosed quote swallows the rest: see `parseReporting`).
    static func parse(_ text: String) -> [[String]] { parse(text, literalQuotes: []).rows }

    /// Parses `text`, reading the quotes at the scalar offsets in `literalQuotes` as
    /// ordinary characters; also returns where (scalar offset, line) a quote opened that
    /// never closed.
    private static func parse(_ text: String, literalQuotes: Set<Int>) -> (rows: [[String]], unclosed: (Int, Int)?) {
        var rows: [[String]] = []
        var row: [String] = []
        var field = ""
        var quoted = false
        var opened = (offset: 0, line: 0)
        var offset = 0
        var line = 1
        var it = text.unicodeScalars.makeIterator()
        var pending: Unicode.Scalar? = it.next()
        while let c = pending {
            pending = it.next()
            defer { offset += 1 }
            if c == "\n" { line += 1 }
            if quoted {
                if c == "\"" {
                    if pending == "\"" {
                        field.unicodeScalars.append("\"")
                        pending = it.next()
                        offset += 1
                    } else if pending == nil || pending == "," || pending == "\n" || pending == "\r" {
                        quoted = false
                    } else {
                        // A closing quote must end its field: this one is the opening quote
                        // of the next field, so the quote that opened this one never closed.
                        return (rows, (opened.offset, opened.line))
                    }
                } else {
                    field.unicodeScalars.append(c)
                }
            } else if c == "\"" && field.isEmpty && !literalQuotes.contains(offset) {
                quoted = true
                opened = (offset, line)
            } else if c == "," {
                row.append(field)
                field = ""
            } else if c == "\n" || c == "\r" {
                if c == "\r", pending == "\n" {
                    pending = it.next()
                    offset += 1
                    line += 1
                }
                row.append(field)
                rows.append(row)
                row = []
                field = ""
            } else {
                field.unicodeScalars.append(c)
            }
        }
        if !field.isEmpty || !row.isEmpty {
            row.append(field)
            rows.append(row)
        }
        return (rows, quoted ? (opened.offset, opened.line) : nil)
    }
}
