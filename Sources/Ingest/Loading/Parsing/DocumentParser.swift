/// Turns one file's bytes into documents: one format (text, Markdown, PDF…) per parser.
///
/// The loader picks a parser from its `ParserRegistry`: the first whose `sniff` recognises
/// the file's first bytes, else the first that claims the file's extension. The parser gets
/// the raw bytes, so binary formats are possible; text formats decode them with
/// `ParseInput.decodeText()`, which applies the loader's binary and invalid-UTF-8 rules.
///
/// ```swift
/// struct PDFParser: DocumentParser {
///     var name: String { "pdf" }
///     var extensions: Set<String> { ["pdf"] }
///     func sniff(_ prefix: [UInt8]) -> Bool { prefix.starts(with: Array("%PDF-".utf8)) }
///     func parse(_ input: ParseInput) throws -> DocumentLoader.Result {
///         DocumentLoader.Result(documents: [Document(id: input.id, text: extractText(input.bytes), metadata: input.metadata)])
///     }
/// }
/// var options = DocumentLoader.Options()
/// options.parsers.register(PDFParser())
/// ```
///
/// Parsers are shared by the threads of a directory load, hence `Sendable`; `parse` may be
/// called for many files at once.
public protocol DocumentParser: Sendable {
    /// A short name for messages ("markdown", "pdf").
    var name: String { get }

    /// The lowercased file extensions, without the dot, this parser reads ("" for files
    /// without one).
    var extensions: Set<String> { get }

    /// Whether the file's first bytes (up to `ParserRegistry.sniffLength`) identify this
    /// parser's format, whatever the file's name: magic bytes such as `%PDF-`.
    ///
    /// A match wins over every parser's extensions, so answer true only for bytes that
    /// identify the format on their own: a container shared by several formats (ZIP holds
    /// docx, xlsx and epub alike) is better left to the extension. The default is false.
    func sniff(_ prefix: [UInt8]) -> Bool

    /// The documents in `input`, and what was repaired or left out on the way (issues name
    /// `input.id`). Documents that are only whitespace are dropped by the loader, and a file
    /// that gives none is reported `.empty`.
    ///
    /// - Throws: when the file cannot be read at all: a thrown `LoadIssue` is reported as
    ///   it is (kind and detail), any other error as `.unreadable` with its description.
    func parse(_ input: ParseInput) throws -> DocumentLoader.Result
}

extension DocumentParser {
    /// No magic bytes: the parser is chosen by extension only.
    public func sniff(_ prefix: [UInt8]) -> Bool { false }
}
