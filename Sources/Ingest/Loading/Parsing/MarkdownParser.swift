import Foundation

/// Markdown (`.md`, `.markdown`): the whole file is one document, kept as written (the
/// Markdown splitter cuts it at headings); the first heading becomes the `title`.
public struct MarkdownParser: DocumentParser {
    /// "markdown".
    public var name: String { "markdown" }
    /// `md` and `markdown`.
    public var extensions: Set<String> { ["md", "markdown"] }

    /// A Markdown parser.
    public init() {}

    /// One document with the Markdown source as its text and its first heading as `title`.
    ///
    /// - Throws: A `.binary` or `.invalidUTF8` `LoadIssue` (see `ParseInput.decodeText()`).
    public func parse(_ input: ParseInput) throws -> DocumentLoader.Result {
        let (text, issues) = try input.decodeText()
        var metadata = input.metadata
        if let title = Self.title(text) { metadata[ChunkSchema.Key.title] = .string(title) }
        return DocumentLoader.Result(documents: [Document(id: input.id, text: text, metadata: metadata)], issues: issues)
    }

    /// The text of the first heading (`#` to `######`) in the first 200 lines.
    static func title(_ text: String) -> String? {
        // The first 200 lines, found on the UTF-8 bytes and looked at one by one until a
        // heading (splitting the whole text into Characters cost more than the rest of
        // loading).
        var lines: [Substring] = []
        var start = text.utf8.startIndex
        while lines.count < 200, start < text.utf8.endIndex {
            let end = text.utf8[start...].firstIndex(of: UInt8(ascii: "\n")) ?? text.utf8.endIndex
            lines.append(text[start..<end])
            start = end < text.utf8.endIndex ? text.utf8.index(after: end) : end
        }
        for line in lines where line.utf8.contains(UInt8(ascii: "#")) {
            let t = line.trimmingCharacters(in: .whitespacesAndNewlines)  // a CRLF line keeps its \r
            if let level = MarkdownSplitter.headingLevel(t), level >= 1 {
                let title = t.drop { $0 == "#" }.trimmingCharacters(in: .whitespaces)
                if !title.isEmpty { return title }
            }
        }
        return nil
    }
}
