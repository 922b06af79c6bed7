import VectorStore

/// Reads PowerPoint decks (`.pptx`): one document per slide with text (`<file>#slide<n>`,
/// metadata `slide` from 1 and `slides`), in the deck's order: the slide's title as a `#`
/// heading, its text boxes and tables, then its speaker notes. The deck's title and
/// author come from its properties (else the first slide's title is the title).
public struct PPTXParser: DocumentParser {
    /// A parser.
    public init() {}

    /// "pptx".
    public var name: String { "pptx" }

    /// `pptx`.
    public var extensions: Set<String> { ["pptx"] }

    static let officeRelationships = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"

    /// The document id of slide `slide` (from 1) of the file whose id is `file`.
    public static func slideID(file: String, slide: Int) -> String { "\(file)#slide\(slide)" }

    /// One document per slide.
    ///
    /// - Throws: a `LoadIssue` naming the file: `.tooLarge` (a zip bomb), `.unreadable`
    ///   (damaged, not a PPTX, malformed XML, a DTD).
    public func parse(_ input: ParseInput) throws -> DocumentLoader.Result {
        let container = try OfficeContainer(input, format: "PPTX") { name in
            name.hasPrefix("ppt/") && (name.hasSuffix(".xml") || name.hasSuffix(".rels")) || name == "docProps/core.xml"
        }
        let order = try slideOrder(container)
        let (deckTitle, author) = try CoreProperties.read(container, "docProps/core.xml")
        var slides: [(number: Int, text: String, title: String?)] = []
        for (i, part) in order.enumerated() {
            guard let bytes = container.entry(part) else { continue }
            var writer = MarkdownWriter()
            try Self.shapes(container, part, bytes, titles: true, into: &writer)
            let notes = try container.relationships(of: part).values.first { $0.type.hasSuffix("/notesSlide") }
            if let notes, let bytes = container.entry(notes.target) {
                var notesWriter = MarkdownWriter()
                try Self.shapes(container, notes.target, bytes, titles: false, into: &notesWriter)
                if !notesWriter.text.isEmpty { writer.paragraph("Notes: " + notesWriter.text) }
            }
            slides.append((i + 1, writer.text, writer.firstHeading))
        }
        var base = input.metadata
        if let title = deckTitle ?? slides.lazy.compactMap(\.title).first { base[ChunkSchema.Key.title] = .string(title) }
        if let author { base[ChunkSchema.Key.author] = .string(author) }
        base[ChunkSchema.Key.slides] = .int(Int64(order.count))
        let documents = slides.map { slide in
            var metadata = base
            metadata[ChunkSchema.Key.slide] = .int(Int64(slide.number))
            return Document(id: Self.slideID(file: input.id, slide: slide.number), text: slide.text, metadata: metadata)
        }
        return DocumentLoader.Result(documents: documents)
    }

    /// The slides' entries in the deck's order (presentation.xml's list).
    func slideOrder(_ container: OfficeContainer) throws(LoadIssue) -> [String] {
        let bytes = try container.required("ppt/presentation.xml")
        let relationships = try container.relationships(of: "ppt/presentation.xml")
        var order: [String] = []
        try container.xml("ppt/presentation.xml", bytes) { event throws(LoadIssue) in
            if case .start("sldId", let a, _) = event, let id = a["id", namespace: Self.officeRelationships],
                let target = relationships[id]?.target
            {
                order.append(target)
            }
        }
        return order
    }

    /// The text of a slide's (or notes page's) shapes, in document order: title
    /// placeholders as headings (with `titles`), paragraphs, tables. Slide numbers, dates,
    /// footers and the notes page's slide image are left out.
    static func shapes(
        _ container: OfficeContainer, _ name: String, _ bytes: [UInt8], titles: Bool, into writer: inout MarkdownWriter
    ) throws(LoadIssue) {
        var placeholder: String?  // of the current shape
        var skipShape = false
        var paragraph = ""
        var inText = false
        var table: [[String]]?
        var shapeDepth = 0
        try container.xml(name, bytes) { event throws(LoadIssue) in
            switch event {
            case .start("sp", _, false):
                shapeDepth += 1
                placeholder = nil
                skipShape = false
            case .end("sp"):
                shapeDepth -= 1
                placeholder = nil
                skipShape = false
            case .start("ph", let a, _):
                placeholder = a["type"] ?? "body"
                skipShape = ["sldNum", "dt", "ftr", "hdr", "sldImg"].contains(placeholder ?? "")
            case .start("tbl", _, _): table = []
            case .end("tbl"):
                if let t = table { writer.table(t) }
                table = nil
            case .start("tr", _, _): table?.append([])
            case .start("tc", _, _):
                if var t = table, var row = t.popLast() {
                    row.append("")
                    t.append(row)
                    table = t
                }
            case .start("p", _, let empty):
                paragraph = ""
                if empty { paragraph = "" }
            case .end("p"):
                defer { paragraph = "" }
                guard !skipShape else { break }
                if var t = table, var row = t.popLast(), !row.isEmpty {
                    let text = paragraph.trimmingWhitespace
                    if !text.isEmpty { row[row.count - 1] += (row[row.count - 1].isEmpty ? "" : " ") + text }
                    t.append(row)
                    table = t
                } else if titles, placeholder == "title" || placeholder == "ctrTitle" {
                    writer.heading(1, paragraph)
                } else {
                    writer.paragraph(paragraph)
                }
            case .start("t", _, let empty): inText = !empty
            case .end("t"): inText = false
            case .text(let s): if inText { paragraph += s }
            case .start("br", _, _): paragraph += "\n"
            default: break
            }
        }
    }
}
