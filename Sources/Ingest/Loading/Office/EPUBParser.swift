import VectorStore

/// Reads EPUB books (`.epub`): one document per chapter with text (`<file>#chapter<n>`,
/// metadata `chapter` = its place in the reading order, from 1), each XHTML file of the
/// spine read through the HTML path (`HTMLText`); the book's title and author from its
/// package document, the chapter's own title (or first heading) as `heading`.
public struct EPUBParser: DocumentParser {
    /// A parser.
    public init() {}

    /// "epub".
    public var name: String { "epub" }

    /// `epub`.
    public var extensions: Set<String> { ["epub"] }

    /// The document id of chapter `chapter` (from 1) of the file whose id is `file`.
    public static func chapterID(file: String, chapter: Int) -> String { "\(file)#chapter\(chapter)" }

    /// One document per chapter.
    ///
    /// - Throws: a `LoadIssue` naming the file: `.tooLarge` (a zip bomb), `.unreadable`
    ///   (damaged, not an EPUB, malformed XML, a DTD).
    public func parse(_ input: ParseInput) throws -> DocumentLoader.Result {
        let container = try OfficeContainer(input, format: "EPUB") { name in
            let lower = name.lowercased()
            return lower == "meta-inf/container.xml" || lower.hasSuffix(".opf") || lower.hasSuffix(".xhtml")
                || lower.hasSuffix(".html") || lower.hasSuffix(".htm") || lower.hasSuffix(".xml")
        }
        let packagePath = try rootFile(container)
        let package = try self.package(container, packagePath)
        var base = input.metadata
        if let title = package.title { base[ChunkSchema.Key.title] = .string(title) }
        if let author = package.author { base[ChunkSchema.Key.author] = .string(author) }
        var documents: [Document] = []
        var issues: [LoadIssue] = []
        for (i, href) in package.spine.enumerated() {
            guard let bytes = container.entry(href) else {
                issues.append(
                    LoadIssue(path: input.id, kind: .malformed, detail: "chapter \(i + 1) (\(href)) is missing; the rest is indexed"))
                continue
            }
            let (text, title) = HTMLText.extract(String(decoding: bytes, as: UTF8.self))
            var metadata = base
            metadata[ChunkSchema.Key.chapter] = .int(Int64(i + 1))
            if let title { metadata[ChunkSchema.Key.heading] = .string(title) }
            documents.append(Document(id: Self.chapterID(file: input.id, chapter: i + 1), text: text, metadata: metadata))
        }
        return DocumentLoader.Result(documents: documents, issues: issues)
    }

    /// The package document's path, from META-INF/container.xml.
    func rootFile(_ container: OfficeContainer) throws(LoadIssue) -> String {
        let bytes = try container.required("META-INF/container.xml")
        var path: String?
        try container.xml("META-INF/container.xml", bytes) { event throws(LoadIssue) in
            if case .start("rootfile", let a, _) = event, path == nil, let p = a["full-path"] { path = p }
        }
        guard let path else {
            throw LoadIssue(path: container.id, kind: .unreadable, detail: "not an EPUB file: its container names no package document")
        }
        return OfficeContainer.resolve(path, against: "")
    }

    /// The title, author and the spine's XHTML files (entry paths) in reading order.
    func package(_ container: OfficeContainer, _ path: String) throws(LoadIssue) -> (
        title: String?, author: String?, spine: [String]
    ) {
        let bytes = try container.required(path)
        let folder = path.split(separator: "/").dropLast().joined(separator: "/")
        var manifest: [String: (href: String, type: String)] = [:]
        var spine: [String] = []
        var title: String?
        var author: String?
        var field: String?
        try container.xml(path, bytes) { event throws(LoadIssue) in
            switch event {
            case .start("item", let a, _):
                if let id = a["id"], let href = a["href"] { manifest[id] = (href, a["media-type"] ?? "") }
            case .start("itemref", let a, _):
                if let id = a["idref"] { spine.append(id) }
            case .start(let n, _, false) where n == "title" || n == "creator": field = n
            case .end: field = nil
            case .text(let s):
                let s = MarkdownWriter.oneLine(s)
                if s.isEmpty { break }
                if field == "title" && title == nil { title = s }
                if field == "creator" && author == nil { author = s }
            default: break
            }
        }
        let files = spine.compactMap { id -> String? in
            guard let item = manifest[id], item.type.isEmpty || item.type.contains("html") else { return nil }
            return OfficeContainer.resolve(item.href.split(separator: "#").first.map(String.init) ?? item.href, against: folder)
        }
        return (title, author, files)
    }
}
