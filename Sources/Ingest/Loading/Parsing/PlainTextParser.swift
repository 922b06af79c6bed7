/// Plain text (`.txt`, `.text`, or the extensions given): the whole file is one document.
///
/// ```swift
/// options.parsers.register(PlainTextParser(extensions: ["log", "rst", "org"]))  // read these as text too
/// ```
public struct PlainTextParser: DocumentParser {
    /// "text".
    public var name: String { "text" }
    /// The extensions it claims: `txt` and `text` unless others were given.
    public let extensions: Set<String>

    /// A plain-text parser for `extensions` (lowercased, without the dot).
    public init(extensions: Set<String> = ["txt", "text"]) { self.extensions = extensions }

    /// One document holding the decoded text.
    ///
    /// - Throws: A `.binary` or `.invalidUTF8` `LoadIssue` (see `ParseInput.decodeText()`).
    public func parse(_ input: ParseInput) throws -> DocumentLoader.Result {
        let (text, issues) = try input.decodeText()
        return DocumentLoader.Result(documents: [Document(id: input.id, text: text, metadata: input.metadata)], issues: issues)
    }
}
