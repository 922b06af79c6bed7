import Foundation
import VectorStore

/// Loads documents from files and directories, each file read by the `DocumentParser`
/// that `Options.parsers` picks for it (by its first bytes, else its extension): plain
/// text, Markdown, HTML, JSON, JSON Lines and CSV unless the application registers more.
/// Problems (no parser, binary, too large, empty, unreadable, invalid UTF-8) are reported
/// per file and never stop a directory load.
///
/// ```swift
/// let loader = DocumentLoader(options: .init(include: ["**/*.md", "**/*.html"]))
/// let result = loader.load(directory: "docs")
/// for issue in result.issues { print(issue) }
/// ```
public struct DocumentLoader: Sendable {
    /// What to do with invalid UTF-8.
    public enum InvalidUTF8: Sendable {
        /// Replace with U+FFFD and report `repairedUTF8`.
        case repair
        /// Skip the file and report `invalidUTF8`.
        case reject
    }

    /// How a CSV file becomes documents.
    public enum CSVMode: Sendable {
        /// One document per row: text from `textColumns` (all columns as `name: value`
        /// lines when nil); the other columns become metadata.
        case rowPerDocument(textColumns: [String]?)
        /// The whole file is one document.
        case wholeFile
    }

    /// Loader settings.
    public struct Options: Sendable {
        /// Globs of relative paths to take (`*` and `?` within a folder name, `**` across
        /// folders, `**/` zero or more whole folders); empty takes every file. A glob
        /// without `/` matches file names at any depth.
        public var include: [String] = []
        /// Globs of relative paths to leave out.
        public var exclude: [String] = []
        /// Largest file read.
        public var maxFileBytes: Int = 50 << 20
        /// Invalid UTF-8 policy.
        public var invalidUTF8: InvalidUTF8 = .repair
        /// JSON fields whose strings make the text; the rest becomes metadata.
        public var jsonTextFields: [String] = ["text", "content", "body"]
        /// CSV handling.
        public var csv: CSVMode = .rowPerDocument(textColumns: nil)
        /// Metadata added to every document.
        public var metadata: [String: MetadataValue] = [:]
        /// The parsers files are read with; `register` an application's own.
        public var parsers: ParserRegistry = .standard
        /// How far the ZIP container of a DOCX, PPTX, XLSX, ODT or EPUB file may expand
        /// (zip bombs stop there).
        public var zipLimits = ZipArchive.Limits()

        /// Defaults.
        public init(include: [String] = [], exclude: [String] = []) {
            self.include = include
            self.exclude = exclude
        }
    }

    /// The documents and the issues of one load.
    public struct Result: Sendable {
        /// Documents, in path order.
        public var documents: [Document] = []
        /// Skipped or repaired files.
        public var issues: [LoadIssue] = []

        /// A result (what a `DocumentParser` returns).
        public init(documents: [Document] = [], issues: [LoadIssue] = []) {
            self.documents = documents
            self.issues = issues
        }
    }

    /// The file extensions the standard parsers claim (`ParserRegistry.standard`).
    public static var extensions: Set<String> { ParserRegistry.standard.extensions }

    /// The settings.
    public let options: Options

    /// Creates a loader.
    public init(options: Options = Options()) { self.options = options }

    /// Loads every file under `root` (see `load(directory:)`), off the cooperative pool.
    public func load(directory root: String) async -> Result {
        await BlockingExecutor.shared.run { self.load(directory: root) }
    }

    /// Loads one file (see `load(file:id:)`), off the cooperative pool.
    public func load(file path: String, id: String? = nil) async -> Result {
        await BlockingExecutor.shared.run { self.load(file: path, id: id) }
    }

    /// Loads every file under `root` (hidden folders and files skipped, symbolic links
    /// followed, each file once: see `walk(_:)`); a file no parser takes is reported
    /// `.unsupported`. Ids are paths relative to `root`.
    public func load(directory root: String) -> Result {
        var result = Result()
        let (files, issues) = walk(root)
        result.issues = issues
        for relative in files {
            let loaded = load(file: (root as NSString).appendingPathComponent(relative), id: relative)
            result.documents += loaded.documents
            result.issues += loaded.issues
        }
        return result
    }

    func selected(_ relative: String) -> Bool {
        if options.exclude.contains(where: { Glob.matches($0, relative) }) { return false }
        return options.include.isEmpty || options.include.contains { Glob.matches($0, relative) }
    }

    /// Loads one file with the parser `options.parsers` picks for it (by its first bytes,
    /// else its extension); `id` defaults to its path. A file no parser takes is reported
    /// `.unsupported`, and only its first bytes are read; so is anything but a regular file
    /// (a FIFO, a device, a folder).
    public func load(file path: String, id: String? = nil) -> Result {
        let id = id ?? path
        var result = Result()
        func issue(_ kind: LoadIssue.Kind, _ detail: String = "") { result.issues.append(LoadIssue(path: id, kind: kind, detail: detail)) }
        // The attributes of what a link leads to (stat follows links): its size is what
        // would be read, and since the walk lists every file, a FIFO (whose read waits for a
        // writer) or a device (whose read may never end) must be recognised before it is
        // opened. One stat, one open, reads: Foundation's attributes and FileHandle cost a
        // readlink per path component and several stats per file, a fifth of the time of
        // ingesting a thousand small files.
        var info = stat()
        guard stat(path, &info) == 0 else {
            issue(.unreadable, "cannot read its attributes")
            return result
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            issue(.unsupported, "not a regular file")
            return result
        }
        // Non-blocking, and checked again once open: a file swapped for a FIFO in between
        // is refused, not waited on.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            issue(.unreadable, "cannot read it")
            return result
        }
        defer { close(fd) }
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            issue(.unsupported, "not a regular file")
            return result
        }
        let registry = options.parsers
        var bytes: [UInt8] = []
        guard Self.read(fd, upTo: registry.sniffLength, into: &bytes) else {
            issue(.unreadable, "cannot read it")
            return result
        }
        // Not NSString.pathExtension: it stops the process on some paths ("a//é").
        let ext = PathNames.fileExtension(path).lowercased()
        guard let parser = registry.parser(fileExtension: ext, prefix: bytes) else {
            issue(.unsupported, ext.isEmpty ? "no parser for this content" : "no parser for .\(ext)")
            return result
        }
        let size = Int(info.st_size)
        guard size <= options.maxFileBytes else {
            issue(.tooLarge, "\(size) bytes, the limit is \(options.maxFileBytes)")
            return result
        }
        // To the end, whatever the size said (a file may grow while it is read), but never
        // past the limit.
        guard bytes.count < registry.sniffLength || Self.read(fd, upTo: options.maxFileBytes - bytes.count + 1, into: &bytes)
        else {
            issue(.unreadable, "cannot read it")
            return result
        }
        guard bytes.count <= options.maxFileBytes else {
            issue(.tooLarge, "over \(options.maxFileBytes) bytes (it grew while it was read)")
            return result
        }
        var base = options.metadata
        base[ChunkSchema.Key.source] = .string(id)
        base[ChunkSchema.Key.modified] = .int(Int64(info.st_mtim.tv_sec))
        do {
            result = try parser.parse(ParseInput(bytes: bytes, id: id, metadata: base, fileExtension: ext, options: options))
        } catch let stop as LoadIssue {
            issue(stop.kind, stop.detail)
            return result
        } catch {
            issue(.unreadable, "\(parser.name) parser: \(error)")
            return result
        }
        // Whitespace-only documents carry nothing (stops at the first other scalar).
        result.documents.removeAll { $0.text.unicodeScalars.allSatisfy { $0.properties.isWhitespace } }
        if result.documents.isEmpty { issue(.empty, "no text") }
        return result
    }

    /// Appends up to `limit` more bytes from `fd` to `bytes`, stopping early at the end of
    /// the file; false on a read error.
    static func read(_ fd: Int32, upTo limit: Int, into bytes: inout [UInt8]) -> Bool {
        var left = limit
        var chunk = [UInt8](repeating: 0, count: min(max(limit, 1), 1 << 16))  // not a zeroed MiB per file over the sniff
        while left > 0 {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, min(left, $0.count)) }
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            if n == 0 { break }
            bytes += chunk[0..<n]
            left -= n
        }
        return true
    }
}
