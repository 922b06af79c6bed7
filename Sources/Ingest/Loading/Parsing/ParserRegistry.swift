/// The parsers a `DocumentLoader` may use, in order of precedence, and the rule that picks
/// one for a file: the first parser whose `sniff` recognises the file's first bytes, else
/// the first that claims its extension, else `fallback`. A file none of them takes is
/// reported `.unsupported`.
///
/// ```swift
/// var options = DocumentLoader.Options()
/// options.parsers.register(PDFParser())  // before the built-in parsers
/// let loader = DocumentLoader(options: options)
/// ```
///
/// A value: registering changes this copy only. Sendable, so a loader holding it can be
/// shared by threads.
public struct ParserRegistry: Sendable {
    /// The parsers, the one that wins a tie first.
    public private(set) var parsers: [any DocumentParser]
    /// The parser for a file no other parser takes; nil reports such files as
    /// `.unsupported`. `PlainTextParser()` reads every such file as text, as loaders before
    /// the registry did for a single file.
    public var fallback: (any DocumentParser)?
    /// How many of a file's first bytes `sniff` sees; enough for magic numbers at the start
    /// of a file, and small enough that a file no parser takes is not read whole.
    public var sniffLength = 4096

    /// A registry of `parsers` (first wins) and no fallback unless one is given.
    public init(_ parsers: [any DocumentParser], fallback: (any DocumentParser)? = nil) {
        self.parsers = parsers
        self.fallback = fallback
    }

    /// Plain text, Markdown, HTML, JSON, JSON Lines, CSV, DOCX, PPTX, XLSX, ODT and EPUB, chosen by extension
    /// (none of them sniffs: an `.md` file that starts with `<html>` is still Markdown, and
    /// ZIP is the container of many formats).
    public static let standard = ParserRegistry([
        PlainTextParser(), MarkdownParser(), HTMLParser(), JSONParser(), JSONLinesParser(), CSVParser(), DOCXParser(), PPTXParser(),
        XLSXParser(), ODTParser(), EPUBParser(),
    ])

    /// Adds `parser` ahead of the parsers already registered, so that its magic bytes and
    /// extensions take precedence over theirs (an application's `.md` parser replaces the
    /// built-in one).
    public mutating func register(_ parser: any DocumentParser) {
        parsers.insert(parser, at: 0)
    }

    /// The parser for a file with extension `fileExtension` (lowercased, without the dot)
    /// whose first bytes are `prefix`, or nil when none takes it.
    public func parser(fileExtension: String, prefix: [UInt8]) -> (any DocumentParser)? {
        // Content first: a PDF named `.txt` is still a PDF.
        parsers.first { $0.sniff(prefix) } ?? parsers.first { $0.extensions.contains(fileExtension) } ?? fallback
    }

    /// Every extension some parser claims.
    public var extensions: Set<String> {
        parsers.reduce(into: Set(fallback?.extensions ?? [])) { $0.formUnion($1.extensions) }
    }
}
