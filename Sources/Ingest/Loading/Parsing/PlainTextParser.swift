/// Plain text (`.txt`, `.text`): the whole file is one document.
public struct PlainTextParser: DocumentParser {
    /// "text".
    public var name: String { "text" }
    /// `txt` and `text`.
    public var extensions: Set<String> { ["txt", "text"] }

    /// A plain-text parser.
    public init() {}

    /// One document holding the decoded text.
    ///
    /// - Throws: A `.binary` or `.invalidUTF8` `LoadIssue` (see `ParseInput.decodeText()`).
    public func parse(_ input: ParseInput) throws -> DocumentLoader.Result {
        let (text, issues) = try input.decodeText()
        return DocumentLoader.Result(documents: [Document(id: input.id, text: text, metadata: input.metadata)], issues: issues)
    }
}
