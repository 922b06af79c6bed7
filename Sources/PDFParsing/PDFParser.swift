import Foundation
import Ingest
import VectorStore

/// Reads PDF files: one document per page with text (`<file>#p<n>`), in reading order, with
/// words hyphenated at line ends joined again and the running headers and footers dropped;
/// each page's metadata has `page` (from 1), `pages`, and the PDF's `title` and `author`.
///
/// Poppler does the reading, in worker processes that the parser starts, reuses and
/// replaces (see `PDFWorker`): a PDF that crashes poppler or hangs it past `timeLimit`
/// fails alone, with an issue naming the file, and the application goes on. Encrypted
/// files are opened with the empty user password, then `passwords`; a PDF without a text
/// layer (a scan) is reported `.noText`.
///
/// Poppler is GPL-2.0, so PDF support is this separate library (`PDFParsing`): an
/// application links it only if it registers the parser.
///
/// ```swift
/// var options = DocumentLoader.Options()
/// options.parsers.register(PDFParser())  // quiver-pdf-worker beside the executable
/// let result = DocumentLoader(options: options).load(file: "report.pdf")
/// // result.documents: "report.pdf#p1", "report.pdf#p2", … with metadata page = 1, 2, …
/// ```
///
/// Thread-safe: a loader's threads parse many PDFs at once, each in its own worker.
public struct PDFParser: DocumentParser {
    /// Settings.
    public struct Options: Sendable {
        /// How a worker process is started.
        public var worker: PDFWorkerCommand = .helper
        /// The longest a worker may take over one file before it is killed and the file
        /// reported `.timedOut`.
        public var timeLimit: Duration = .seconds(120)
        /// Passwords tried, in order, after the empty user password.
        public var passwords: [String] = []
        /// Workers kept running between files (more are started while more files are read
        /// at once).
        public var idleWorkers = ProcessInfo.processInfo.activeProcessorCount
        /// Drop lines that repeat at the top or bottom of most pages (running headers,
        /// footers, page numbers).
        public var dropRepeatedLines = true
        /// Join words hyphenated at line ends (`infor-` / `mation` → `information`).
        public var joinHyphenatedWords = true

        /// Defaults: the `quiver-pdf-worker` helper, two minutes per file.
        public init() {}
    }

    /// The settings.
    public let options: Options
    private let pool: WorkerPool

    /// A parser with `options`. Workers start on the first PDF, not here.
    public init(options: Options = Options()) {
        self.options = options
        pool = WorkerPool(command: options.worker, maxIdle: options.idleWorkers)
    }

    /// "pdf".
    public var name: String { "pdf" }

    /// `pdf`.
    public var extensions: Set<String> { ["pdf"] }

    /// `%PDF-` in the first KiB (readers accept a little junk before it, so do files).
    public func sniff(_ prefix: [UInt8]) -> Bool {
        let head = prefix.prefix(1024)
        let magic = Array("%PDF-".utf8)
        guard head.count >= magic.count else { return false }
        return (head.startIndex...(head.endIndex - magic.count)).contains { head[$0..<($0 + magic.count)].elementsEqual(magic) }
    }

    /// The process ids of the workers waiting for a file (for tests and diagnostics).
    public var idleWorkerIDs: [Int32] { pool.idlePIDs }

    /// The document id of page `page` (from 1) of the file whose id is `file`.
    public static func pageID(file: String, page: Int) -> String { "\(file)#p\(page)" }

    /// One document per page that has text.
    ///
    /// - Throws: a `LoadIssue` naming the file: `.encrypted`, `.noText`, `.timedOut`,
    ///   `.crashed`, or `.unreadable` (damaged, truncated, not a PDF, no worker).
    public func parse(_ input: ParseInput) throws -> DocumentLoader.Result {
        var info = WorkerPool.Info(pages: 0)
        // Pages as they stream in, with their edge lines for the header and footer rule;
        // each becomes its document (and its raw text is let go) once all are in.
        var pages: [String] = []
        var edgeKeys: [[String]] = []
        var hasText = false
        let dropRepeated = options.dropRepeatedLines
        do {
            try pool.extract(
                input.bytes, passwords: options.passwords, timeLimit: options.timeLimit,
                info: { i in
                    info = i
                    pages.reserveCapacity(min(i.pages, 100_000))
                },
                page: { _, text in
                    if dropRepeated { edgeKeys.append(PageCleaner.edgeKeys(of: text)) }
                    if !hasText && !text.allSatisfy(\.isWhitespace) { hasText = true }
                    pages.append(text)
                })
        } catch let failure as WorkerPool.Failure {
            throw Self.issue(failure, input: input, timeLimit: options.timeLimit)
        }
        if !pages.isEmpty && !hasText {
            throw LoadIssue(
                path: input.id, kind: .noText,
                detail: "no text: scanned image? (\(pages.count) page\(pages.count == 1 ? "" : "s") without a text layer; OCR it first)")
        }
        let repeated = PageCleaner.repeated(edgeKeys)
        edgeKeys = []
        var base = input.metadata
        if let title = info.title { base[ChunkSchema.Key.title] = .string(title) }
        if let author = info.author { base[ChunkSchema.Key.author] = .string(author) }
        base[ChunkSchema.Key.pages] = .int(Int64(pages.count))
        var documents: [Document] = []
        documents.reserveCapacity(pages.count)
        for i in pages.indices {
            let text = PageCleaner.clean(page: pages[i], repeated: repeated, joinHyphenation: options.joinHyphenatedWords)
            pages[i] = ""
            guard !text.allSatisfy(\.isWhitespace) else { continue }
            var metadata = base
            metadata[ChunkSchema.Key.page] = .int(Int64(i + 1))
            documents.append(Document(id: Self.pageID(file: input.id, page: i + 1), text: text, metadata: metadata))
        }
        return DocumentLoader.Result(documents: documents)
    }

    static func issue(_ failure: WorkerPool.Failure, input: ParseInput, timeLimit: Duration) -> LoadIssue {
        switch failure {
        case .encrypted:
            return LoadIssue(
                path: input.id, kind: .encrypted, detail: "the empty user password does not open it; give its password")
        case .damaged(let message):
            return LoadIssue(path: input.id, kind: .unreadable, detail: "damaged or not a PDF (poppler: \(message))")
        case .crashed(let how):
            return LoadIssue(path: input.id, kind: .crashed, detail: "the PDF worker died reading it (\(how)); the other files go on")
        case .timedOut:
            return LoadIssue(path: input.id, kind: .timedOut, detail: "not read within \(timeLimit) (the PDF worker was stopped)")
        case .spawn(let message):
            return LoadIssue(path: input.id, kind: .unreadable, detail: "no PDF worker: \(message)")
        case .protocolError(let message):
            return LoadIssue(path: input.id, kind: .crashed, detail: "the PDF worker misbehaved reading it (\(message))")
        }
    }
}
