/// HTML (`.html`, `.htm`): one document of the page's visible text (see `HTMLText`), with
/// its `<title>` (else its first `<h1>`) as `title`.
public struct HTMLParser: DocumentParser {
    /// "html".
    public var name: String { "html" }
    /// `html` and `htm`.
    public var extensions: Set<String> { ["html", "htm"] }

    /// An HTML parser.
    public init() {}

    /// One document of the page's text.
    ///
    /// - Throws: A `.binary` or `.invalidUTF8` `LoadIssue` (see `ParseInput.decodeText()`).
    public func parse(_ input: ParseInput) throws -> DocumentLoader.Result {
        let (html, issues) = try input.decodeText()
        let (text, title) = HTMLText.extract(html)
        var metadata = input.metadata
        if let title { metadata[ChunkSchema.Key.title] = .string(title) }
        return DocumentLoader.Result(documents: [Document(id: input.id, text: text, metadata: metadata)], issues: issues)
    }
}
