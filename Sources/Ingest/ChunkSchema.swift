import VectorStore

/// The shape of the records the ingest pipeline writes, declared once and read by the
/// pipeline, the retriever and the `quiver` command: record ids `<document>#<n>`, and the
/// metadata keys a chunk carries.
///
/// ```swift
/// let id = ChunkSchema.recordID(document: "guide.md", chunk: 0)  // "guide.md#0"
/// let chunks = try docs.metadata(where: ChunkSchema.chunks(of: "guide.md"))
/// ```
public enum ChunkSchema {
    /// Metadata keys of chunk records.
    public enum Key {
        /// The document's id (a path relative to the ingested folder, `#<row>` for JSON
        /// Lines and CSV rows).
        public static let document = "doc"
        /// The chunk's position in its document, from 0.
        public static let chunk = "chunk"
        /// UTF-8 byte offset of the chunk's start in the document's text.
        public static let start = "start"
        /// UTF-8 byte offset of the chunk's end in the document's text.
        public static let end = "end"
        /// `<content hash>/<settings version>`: unchanged documents are skipped by it.
        public static let documentVersion = "doc_version"
        /// Where the document came from, for citations (its path).
        public static let source = "source"
        /// The document's title (first heading, HTML title), when it has one.
        public static let title = "title"
        /// The file's modification time, Unix seconds.
        public static let modified = "modified"
        /// The innermost heading above the chunk (Markdown splitter).
        public static let heading = "heading"
        /// The heading path above the chunk, outermost first (Markdown splitter).
        public static let headings = "headings"
        /// The document's author, when its format records one (PDF, DOCX, EPUB…).
        public static let author = "author"
        /// The page a chunk is on, from 1 (PDF: every page is its own document, so a chunk
        /// never spans pages).
        public static let page = "page"
        /// The number of pages of the file a page came from.
        public static let pages = "pages"
        /// The slide a chunk is on, from 1 (PPTX: every slide is its own document).
        public static let slide = "slide"
        /// The number of slides of the deck a slide came from.
        public static let slides = "slides"
        /// The sheet a chunk is from, by name (XLSX: every sheet is its own document).
        public static let sheet = "sheet"
        /// The chapter a chunk is in, from 1: its place in the book's reading order (EPUB:
        /// every chapter is its own document).
        public static let chapter = "chapter"
    }

    /// Where in its file a chunk is, for citations, from its metadata: `p. 12` (`page`),
    /// `slide 4`, `sheet Budget`, `chapter 3`; nil when it has none of them.
    public static func position(_ metadata: [String: MetadataValue]) -> String? {
        if case .int(let page)? = metadata[Key.page] { return "p. \(page)" }
        if case .int(let slide)? = metadata[Key.slide] { return "slide \(slide)" }
        if case .string(let sheet)? = metadata[Key.sheet] { return "sheet \(sheet)" }
        if case .int(let chapter)? = metadata[Key.chapter] { return "chapter \(chapter)" }
        return nil
    }

    /// Separates a document's id from the chunk number in record ids.
    public static let separator: Character = "#"

    /// The longest record id a store takes (`Store` refuses longer ones).
    public static let maxRecordIDBytes = 256

    /// The record id of chunk `chunk` of `document`: `<document>#<chunk>`, or, when that
    /// would be longer than ``maxRecordIDBytes`` or hold a NUL (deep folders, a JSON
    /// `"id"` of any length), a bounded stable form: the document id's first bytes
    /// (NUL as `?`), `~`, a 64-bit hash of the whole id, `#<chunk>`. The full document id
    /// is always in the chunk's `doc` metadata, which is what filters and prunes use.
    public static func recordID(document: String, chunk: Int) -> String {
        let plain = "\(document)\(separator)\(chunk)"
        if plain.utf8.count <= maxRecordIDBytes && !plain.utf8.contains(0) { return plain }
        var prefix = ""
        var bytes = 0
        for scalar in document.unicodeScalars {
            let c = scalar == "\0" ? "?" : Character(scalar)
            bytes += String(c).utf8.count
            guard bytes <= 200 else { break }
            prefix.unicodeScalars.append(contentsOf: String(c).unicodeScalars)
        }
        return "\(prefix)~\(Document.hash(document))\(separator)\(chunk)"
    }

    /// Metadata keys Quiver itself sets on every chunk: content (a JSON field, a CSV
    /// column) cannot set them — `"source": "official/policy.md"` in a row would
    /// otherwise change what citations show.
    public static let reservedKeys: Set<String> = [
        Key.document, Key.chunk, Key.start, Key.end, Key.documentVersion, Key.source, Key.modified,
    ]

    /// The metadata key for a field named `name` that comes from document content: the
    /// name itself, or `content.<name>` for one of ``reservedKeys``, so the value is kept
    /// (and can be filtered on) without overriding Quiver's own.
    public static func contentKey(_ name: String) -> String {
        reservedKeys.contains(name) ? "content." + name : name
    }

    /// The document of a chunk record id: everything before its last `#` (document ids may
    /// hold `#` themselves), or the whole id when it has none.
    public static func document(ofRecordID id: String) -> String {
        guard let hash = id.lastIndex(of: separator) else { return id }
        return String(id[..<hash])
    }

    /// Records that are chunks of `document`.
    public static func chunks(of document: String) -> Filter { .equals(Key.document, .string(document)) }

    /// Records that are chunks of some document (written by the pipeline).
    public static var anyChunk: Filter { .exists(Key.document) }

    /// A chunk's metadata: its document's, then the splitter's, then the schema's own keys.
    public static func metadata(
        document: Document, chunk: TextChunk, number: Int, version: String
    ) -> [String: MetadataValue] {
        var metadata = document.metadata.merging(chunk.metadata) { _, new in new }
        metadata[Key.document] = .string(document.id)
        metadata[Key.chunk] = .int(Int64(number))
        metadata[Key.start] = .int(Int64(chunk.range.lowerBound))
        metadata[Key.end] = .int(Int64(chunk.range.upperBound))
        metadata[Key.documentVersion] = .string(version)
        return metadata
    }
}
