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
        let fm = FileManager.default
        // The attributes of what a link leads to: its size is what would be read, and since
        // the walk lists every file, a FIFO (whose read waits for a writer) or a device
        // (whose read may never end) must be recognised before it is opened.
        let target = (path as NSString).resolvingSymlinksInPath
        guard let attributes = try? fm.attributesOfItem(atPath: target) else {
            issue(.unreadable, "cannot read its attributes")
            return result
        }
        guard attributes[.type] as? FileAttributeType == .typeRegular else {
            issue(.unsupported, "not a regular file")
            return result
        }
        guard let file = FileHandle(forReadingAtPath: path) else {
            issue(.unreadable, "cannot read it")
            return result
        }
        defer { try? file.close() }
        let registry = options.parsers
        guard let head = try? file.read(upToCount: registry.sniffLength) ?? Data() else {
            issue(.unreadable, "cannot read it")
            return result
        }
        var bytes = [UInt8](head)
        let ext = (path as NSString).pathExtension.lowercased()
        guard let parser = registry.parser(fileExtension: ext, prefix: bytes) else {
            issue(.unsupported, ext.isEmpty ? "no parser for this content" : "no parser for .\(ext)")
            return result
        }
        let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
        guard size <= options.maxFileBytes else {
            issue(.tooLarge, "\(size) bytes, the limit is \(options.maxFileBytes)")
            return result
        }
        do {
            bytes += try file.readToEnd() ?? Data()
        } catch {
            issue(.unreadable, "cannot read it")
            return result
        }
        var base = options.metadata
        base[ChunkSchema.Key.source] = .string(id)
        if let modified = attributes[.modificationDate] as? Date {
            base[ChunkSchema.Key.modified] = .int(Int64(modified.timeIntervalSince1970))
        }
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
}
