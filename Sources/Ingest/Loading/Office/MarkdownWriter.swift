import Foundation

/// Builds the Markdown-like text that office documents become: `#` headings (so the
/// Markdown splitter's heading path works), `-` and `1.` list items indented by level,
/// pipe tables, and paragraphs separated by blank lines.
struct MarkdownWriter {
    private(set) var text = ""
    /// The last block was a list item (items follow each other without a blank line).
    private var inList = false
    /// The first heading, for a document without a title of its own.
    private(set) var firstHeading: String?

    private mutating func block(_ s: String, list: Bool = false) {
        if !text.isEmpty { text += list && inList ? "\n" : "\n\n" }
        text += s
        inList = list
    }

    mutating func heading(_ level: Int, _ s: String) {
        let s = Self.oneLine(s)
        guard !s.isEmpty else { return }
        if firstHeading == nil { firstHeading = s }
        block(String(repeating: "#", count: min(6, max(1, level))) + " " + s)
    }

    mutating func paragraph(_ s: String) {
        let s = s.trimmingWhitespace
        guard !s.isEmpty else { return }
        block(s)
    }

    /// A list item at `level` (from 0): `- item`, or `3. item` when `number` is given.
    mutating func listItem(level: Int, number: Int?, _ s: String) {
        let s = Self.oneLine(s)
        guard !s.isEmpty else { return }
        let marker = number.map { "\($0)." } ?? "-"
        block(String(repeating: "  ", count: min(8, max(0, level))) + marker + " " + s, list: true)
    }

    /// A table: the first row as the header.
    mutating func table(_ rows: [[String]]) {
        let rows = rows.map { $0.map(Self.cell) }.filter { !$0.allSatisfy(\.isEmpty) }
        guard let width = rows.map(\.count).max(), width > 0 else { return }
        var lines: [String] = []
        for (i, row) in rows.enumerated() {
            let padded = row + Array(repeating: "", count: width - row.count)
            lines.append("| " + padded.joined(separator: " | ") + " |")
            if i == 0 { lines.append("|" + String(repeating: " --- |", count: width)) }
        }
        block(lines.joined(separator: "\n"))
    }

    /// Line breaks and runs of whitespace as single spaces, trimmed.
    static func oneLine(_ s: String) -> String {
        s.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
    }

    /// A table cell on one line, its pipes escaped.
    static func cell(_ s: String) -> String {
        oneLine(s).replacingOccurrences(of: "|", with: "\\|")
    }
}

extension String {
    var trimmingWhitespace: String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
