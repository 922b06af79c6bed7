import VectorStore

/// A piece of a source text: its text, where it came from, and metadata.
public struct TextChunk: Sendable, Hashable {
    /// The chunk's text: exactly the source's UTF-8 bytes in `range`.
    public var text: String
    /// Byte offsets in the source's UTF-8.
    public var range: Range<Int>
    /// Metadata a splitter adds (e.g. a Markdown heading path).
    public var metadata: [String: MetadataValue]

    /// Creates a chunk.
    public init(text: String, range: Range<Int>, metadata: [String: MetadataValue] = [:]) {
        self.text = text
        self.range = range
        self.metadata = metadata
    }
}

/// Splits texts into chunks of at most `chunkSize` units (Unicode scalars), consecutive
/// chunks sharing at most `chunkOverlap` units of whole pieces. Every chunk's text is the
/// source slice at its byte range; no cut falls inside a UTF-8 sequence or a grapheme
/// cluster (a single cluster longer than the chunk size, which only contrived text has,
/// is cut between its scalars).
public protocol TextSplitter: Sendable {
    /// Most units in a chunk.
    var chunkSize: Int { get }
    /// Most units shared by consecutive chunks.
    var chunkOverlap: Int { get }
    /// The chunks of `text`, in order.
    func split(_ text: String) -> [TextChunk]
}

/// A chunk size of at least 1 and an overlap below it: the limits every splitter applies.
func clampedLimits(size: Int, overlap: Int) -> (size: Int, overlap: Int) {
    let size = max(1, size)
    return (size, max(0, min(overlap, size - 1)))
}
