import VectorStore

/// Reads OpenDocument text (`.odt`, LibreOffice Writer) as Markdown: headings by their
/// outline level as `#` lines, lists (bulleted; nested by depth), tables as pipe tables,
/// paragraphs; the title and author from meta.xml. One document per file.
public struct ODTParser: DocumentParser {
    /// A parser.
    public init() {}

    /// "odt".
    public var name: String { "odt" }

    /// `odt`.
    public var extensions: Set<String> { ["odt"] }

    /// The document.
    ///
    /// - Throws: a `LoadIssue` naming the file: `.tooLarge` (a zip bomb), `.unreadable`
    ///   (damaged, not an ODT, malformed XML, a DTD).
    public func parse(_ input: ParseInput) throws -> DocumentLoader.Result {
        let container = try OfficeContainer(input, format: "ODT") { $0 == "content.xml" || $0 == "meta.xml" }
        let bytes = try container.required("content.xml")
        var writer = MarkdownWriter()
        var paragraph = ""
        var heading: Int?
        var depth = 0  // of text:p and text:h (a note's paragraph inside a paragraph)
        var listDepth = 0
        var inItem = false
        var skip = 0  // inside a note citation, an annotation, a table of contents' title…
        var tables: [[[String]]] = []
        var inBody = false
        func flush(_ writer: inout MarkdownWriter) {
            defer {
                paragraph = ""
                heading = nil
            }
            if !tables.isEmpty {
                let t = paragraph.trimmingWhitespace
                guard !t.isEmpty, var row = tables[tables.count - 1].popLast(), !row.isEmpty else { return }
                row[row.count - 1] += (row[row.count - 1].isEmpty ? "" : " ") + t
                tables[tables.count - 1].append(row)
            } else if let level = heading {
                writer.heading(level, paragraph)
            } else if inItem {
                writer.listItem(level: max(0, listDepth - 1), number: nil, paragraph)
            } else {
                writer.paragraph(paragraph)
            }
        }
        try container.xml("content.xml", bytes) { event throws(LoadIssue) in
            switch event {
            case .start("text", _, false): inBody = true  // office:text
            case .start(let n, _, false) where skip > 0:
                if ["note-citation", "annotation", "tracked-changes"].contains(n) { skip += 1 }
            case .end(let n) where skip > 0:
                if ["note-citation", "annotation", "tracked-changes"].contains(n) { skip -= 1 }
            case .start("note-citation", _, false), .start("annotation", _, false), .start("tracked-changes", _, false): skip = 1
            case .start("h", let a, let empty) where inBody:
                if depth == 0 { paragraph = "" }
                depth += 1
                heading = a["outline-level"].flatMap(Int.init) ?? 1
                if empty {
                    depth -= 1
                    if depth == 0 { flush(&writer) }
                }
            case .start("p", _, let empty) where inBody:
                // A note's paragraph inside a paragraph: a space between them.
                if depth == 0 { paragraph = "" } else { paragraph += " " }
                depth += 1
                if empty {
                    depth -= 1
                    if depth == 0 { flush(&writer) }
                }
            case .end("h"), .end("p"):
                depth -= 1
                if depth == 0 { flush(&writer) }
            case .start("list", _, false): listDepth += 1
            case .end("list"): listDepth -= 1
            case .start("list-item", _, false): inItem = true
            case .end("list-item"): inItem = listDepth > 1
            case .start("s", let a, _): paragraph += String(repeating: " ", count: min(64, a["c"].flatMap(Int.init) ?? 1))
            case .start("tab", _, _): paragraph += "\t"
            case .start("line-break", _, _): paragraph += "\n"
            case .start("table", _, false): tables.append([])
            case .end("table"):
                guard let table = tables.popLast() else { break }
                if tables.isEmpty {
                    writer.table(table)
                } else {
                    paragraph = table.map { $0.joined(separator: " ") }.joined(separator: " ")
                    flush(&writer)
                }
            case .start("table-row", _, _): if !tables.isEmpty { tables[tables.count - 1].append([]) }
            case .start("table-cell", _, _), .start("covered-table-cell", _, _):
                if !tables.isEmpty, var row = tables[tables.count - 1].popLast() {
                    row.append("")
                    tables[tables.count - 1].append(row)
                }
            case .text(let s) where depth > 0 && skip == 0: paragraph += s
            default: break
            }
        }
        var metadata = input.metadata
        let (title, author) = try Self.meta(container)
        if let title = title ?? writer.firstHeading { metadata[ChunkSchema.Key.title] = .string(title) }
        if let author { metadata[ChunkSchema.Key.author] = .string(author) }
        return DocumentLoader.Result(documents: [Document(id: input.id, text: writer.text, metadata: metadata)])
    }

    /// Title and author (dc:creator, else meta:initial-creator) from meta.xml.
    static func meta(_ container: OfficeContainer) throws(LoadIssue) -> (title: String?, author: String?) {
        guard let bytes = container.entry("meta.xml") else { return (nil, nil) }
        var title: String?
        var creator: String?
        var initial: String?
        var field: String?
        try container.xml("meta.xml", bytes) { event throws(LoadIssue) in
            switch event {
            case .start(let n, _, false): field = n
            case .end: field = nil
            case .text(let s):
                let s = MarkdownWriter.oneLine(s)
                guard !s.isEmpty else { break }
                switch field {
                case "title": title = s
                case "creator": creator = s
                case "initial-creator": initial = s
                default: break
                }
            default: break
            }
        }
        return (title, creator ?? initial)
    }
}
