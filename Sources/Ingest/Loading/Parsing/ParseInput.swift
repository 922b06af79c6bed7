import VectorStore

/// What a `DocumentParser` gets: one file's raw bytes, the id and metadata its documents
/// take, and the loader's options.
public struct ParseInput: Sendable {
    /// The whole file, undecoded (it may hold NUL bytes or invalid UTF-8).
    public var bytes: [UInt8]
    /// The document id: the path relative to the loaded root, or the caller's id. Parsers
    /// that make several documents of one file append `#<n>` (rows, records).
    public var id: String
    /// Metadata every document of the file starts from: `source`, `modified` and the
    /// loader's `Options.metadata`.
    public var metadata: [String: MetadataValue]
    /// The file's extension, lowercased and without the dot ("" when it has none), for a
    /// parser that claims several.
    public var fileExtension: String
    /// The loader's settings (UTF-8 policy, JSON text fields, CSV mode…).
    public var options: DocumentLoader.Options

    /// Creates an input, for a parser's tests or for bytes that come from elsewhere than a
    /// file.
    public init(
        bytes: [UInt8], id: String, metadata: [String: MetadataValue] = [:], fileExtension: String = "",
        options: DocumentLoader.Options = DocumentLoader.Options()
    ) {
        self.bytes = bytes
        self.id = id
        self.metadata = metadata
        self.fileExtension = fileExtension
        self.options = options
    }
}
