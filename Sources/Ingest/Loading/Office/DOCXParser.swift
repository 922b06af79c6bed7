import VectorStore

/// Reads Word documents (`.docx`): the body's text in order, as Markdown — headings as `#`
/// lines (Word's heading styles, whatever their language, and outline levels), bulleted
/// and numbered lists, tables as pipe tables; the title and author from the document's
/// properties (else the first heading is the title). One document per file.
///
/// The ZIP container is read with libarchive under `DocumentLoader.Options.zipLimits`, the
/// XML with libxml2 with no DTDs allowed (so no external entities and no entity expansion).
public struct DOCXParser: DocumentParser {
    /// A parser.
    public init() {}

    /// "docx".
    public var name: String { "docx" }

    /// `docx`.
    public var extensions: Set<String> { ["docx"] }

    /// The document.
    ///
    /// - Throws: a `LoadIssue` naming the file: `.tooLarge` (a zip bomb), `.unreadable`
    ///   (damaged, not a DOCX, malformed XML, a DTD).
    public func parse(_ input: ParseInput) throws -> DocumentLoader.Result {
        let container = try OfficeContainer(input, format: "DOCX") { name in
            name == "word/document.xml" || name == "word/styles.xml" || name == "word/numbering.xml" || name == "docProps/core.xml"
        }
        let styles = try paragraphStyles(container)
        let numbering = try listFormats(container)
        var writer = MarkdownWriter()
        try body(container, styles: styles, numbering: numbering, into: &writer)
        var metadata = input.metadata
        let (title, author) = try CoreProperties.read(container, "docProps/core.xml")
        if let title = title ?? writer.firstHeading { metadata[ChunkSchema.Key.title] = .string(title) }
        if let author { metadata[ChunkSchema.Key.author] = .string(author) }
        return DocumentLoader.Result(documents: [Document(id: input.id, text: writer.text, metadata: metadata)])
    }

    /// What a paragraph style makes of its paragraphs: a heading level, a list.
    struct ParagraphStyle {
        var heading: Int?
        var list: (id: String, level: Int)?
        var basedOn: String?
    }

    /// Paragraph styles by id, from styles.xml, with what they inherit (`basedOn`)
    /// resolved: a heading level for styles named "heading N" or "Title" or with an
    /// outline level; a list for styles with numbering ("List Bullet").
    func paragraphStyles(_ container: OfficeContainer) throws(LoadIssue) -> [String: ParagraphStyle] {
        guard let bytes = container.entry("word/styles.xml") else { return [:] }
        var styles: [String: ParagraphStyle] = [:]
        var current: String?
        try container.xml("word/styles.xml", bytes) { event throws(LoadIssue) in
            switch event {
            case .start("style", let a, _):
                current = a["styleId"]
                if let id = current { styles[id] = ParagraphStyle() }
            case .end("style"): current = nil
            case .start("name", let a, _):
                guard let id = current, let name = a["val"]?.lowercased() else { break }
                if name == "title" { styles[id]?.heading = 1 }
                if name.hasPrefix("heading "), let n = Int(name.dropFirst(8)), (1...9).contains(n) { styles[id]?.heading = n }
            case .start("basedOn", let a, _):
                if let id = current { styles[id]?.basedOn = a["val"] }
            case .start("outlineLvl", let a, _):
                if let id = current, let v = a["val"].flatMap(Int.init), (0..<9).contains(v) { styles[id]?.heading = v + 1 }
            case .start("numId", let a, _):
                if let id = current, let num = a["val"] {
                    let level = styles[id]?.list?.level ?? 0
                    styles[id]?.list = (num, level)
                }
            case .start("ilvl", let a, _):
                if let id = current, let level = a["val"].flatMap(Int.init) {
                    let num = styles[id]?.list?.id ?? ""
                    styles[id]?.list = (num, level)
                }
            default: break
            }
        }
        // Inherit along `basedOn` (at most 16 steps: a cycle ends there).
        var resolved = styles
        for (id, var style) in styles {
            var base = style.basedOn
            var steps = 0
            while let b = base, let parent = styles[b], steps < 16 {
                if style.heading == nil { style.heading = parent.heading }
                if style.list == nil { style.list = parent.list }
                base = parent.basedOn
                steps += 1
            }
            resolved[id] = style
        }
        return resolved
    }

    /// (numId, level) → whether the list is numbered (else bulleted), from numbering.xml.
    func listFormats(_ container: OfficeContainer) throws(LoadIssue) -> [String: [Int: Bool]] {
        guard let bytes = container.entry("word/numbering.xml") else { return [:] }
        var abstract: [String: [Int: Bool]] = [:]
        var numToAbstract: [String: String] = [:]
        var currentAbstract: String?
        var currentLevel: Int?
        var currentNum: String?
        try container.xml("word/numbering.xml", bytes) { event throws(LoadIssue) in
            switch event {
            case .start("abstractNum", let a, _): currentAbstract = a["abstractNumId"]
            case .end("abstractNum"): currentAbstract = nil
            case .start("lvl", let a, _): currentLevel = a["ilvl"].flatMap(Int.init)
            case .start("numFmt", let a, _):
                if let id = currentAbstract, let level = currentLevel, let format = a["val"] {
                    abstract[id, default: [:]][level] = format != "bullet" && format != "none"
                }
            case .start("num", let a, _): currentNum = a["numId"]
            case .end("num"): currentNum = nil
            case .start("abstractNumId", let a, _):
                if let num = currentNum, let id = a["val"] { numToAbstract[num] = id }
            default: break
            }
        }
        return numToAbstract.compactMapValues { abstract[$0] }
    }

    /// The body of document.xml, block by block.
    func body(
        _ container: OfficeContainer, styles: [String: ParagraphStyle], numbering: [String: [Int: Bool]],
        into writer: inout MarkdownWriter
    ) throws(LoadIssue) {
        let bytes = try container.required("word/document.xml")
        var paragraph = ""
        var inText = false
        var heading: Int?
        var list: (id: String, level: Int)?
        // Tables in progress (nested ones are flattened into their cell).
        var tables: [[[String]]] = []
        var counters: [String: [Int: Int]] = [:]
        func endParagraph(_ writer: inout MarkdownWriter) {
            defer {
                paragraph = ""
                heading = nil
                list = nil
            }
            if !tables.isEmpty {
                let t = paragraph.trimmingWhitespace
                guard !t.isEmpty, var row = tables[tables.count - 1].popLast(), !row.isEmpty else { return }
                row[row.count - 1] += (row[row.count - 1].isEmpty ? "" : " ") + t
                tables[tables.count - 1].append(row)
                return
            }
            if let level = heading {
                writer.heading(level, paragraph)
            } else if let (id, level) = list {
                let numbered = numbering[id]?[level] ?? false
                var number: Int?
                if numbered {
                    var levels = counters[id, default: [:]]
                    levels[level, default: 0] += 1
                    for deeper in levels.keys where deeper > level { levels[deeper] = 0 }
                    counters[id] = levels
                    number = levels[level]
                }
                writer.listItem(level: level, number: number, paragraph)
            } else {
                writer.paragraph(paragraph)
            }
        }
        try container.xml("word/document.xml", bytes) { event throws(LoadIssue) in
            switch event {
            case .start("p", _, let empty):
                paragraph = ""
                if empty { endParagraph(&writer) }
            case .end("p"): endParagraph(&writer)
            case .start("pStyle", let a, _):
                if let id = a["val"] {
                    heading = styles[id]?.heading ?? Self.builtInHeading(id)
                    if let styled = styles[id]?.list, !styled.id.isEmpty, styled.id != "0" { list = styled }
                }
            case .start("outlineLvl", let a, _):
                if let v = a["val"].flatMap(Int.init), (0..<9).contains(v) { heading = v + 1 }
            case .start("ilvl", let a, _):
                list = (list?.id ?? "", a["val"].flatMap(Int.init) ?? 0)
            case .start("numId", let a, _):
                if let id = a["val"], id != "0" { list = (id, list?.level ?? 0) } else { list = nil }
            case .start("t", _, let empty): inText = !empty
            case .end("t"): inText = false
            case .text(let s): if inText { paragraph += s }
            case .start("tab", _, _): paragraph += "\t"
            case .start("br", _, _), .start("cr", _, _): paragraph += "\n"
            case .start("tbl", _, _): tables.append([])
            case .start("tr", _, _): if !tables.isEmpty { tables[tables.count - 1].append([]) }
            case .start("tc", _, _):
                if !tables.isEmpty, var row = tables[tables.count - 1].popLast() {
                    row.append("")
                    tables[tables.count - 1].append(row)
                }
            case .end("tbl"):
                guard let table = tables.popLast() else { break }
                if tables.isEmpty {
                    writer.table(table)
                } else {
                    // A table inside a cell: its text joins that cell.
                    paragraph = table.map { $0.joined(separator: " ") }.joined(separator: " ")
                    endParagraph(&writer)
                }
            default: break
            }
        }
    }

    /// Word's built-in heading style ids, for a file without styles.xml.
    static func builtInHeading(_ id: String) -> Int? {
        if id == "Title" { return 1 }
        guard id.hasPrefix("Heading"), let n = Int(id.dropFirst(7)), (1...9).contains(n) else { return nil }
        return n
    }
}

/// Title and author from an OOXML `docProps/core.xml`.
enum CoreProperties {
    static func read(_ container: OfficeContainer, _ name: String) throws(LoadIssue) -> (title: String?, author: String?) {
        guard let bytes = container.entry(name) else { return (nil, nil) }
        var title: String?
        var author: String?
        var field: String?
        try container.xml(name, bytes) { event throws(LoadIssue) in
            switch event {
            case .start(let n, _, false) where n == "title" || n == "creator": field = n
            case .end: field = nil
            case .text(let s):
                let s = MarkdownWriter.oneLine(s)
                guard !s.isEmpty else { break }
                if field == "title" { title = s } else if field == "creator" { author = s }
            default: break
            }
        }
        return (title, author)
    }
}
