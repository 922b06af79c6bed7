import Foundation
import VectorStore

/// Loads documents from files and directories: plain text, Markdown, HTML, JSON, JSON
/// Lines and CSV. Problems (binary, too large, empty, unreadable, invalid UTF-8) are
/// reported per file and never stop a directory load.
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
        /// Globs of relative paths to take (`*`, `?`, `**`); empty takes every supported file.
        /// A glob without `/` matches file names at any depth.
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
    }

    /// File extensions the loader reads.
    public static let extensions: Set<String> = ["txt", "text", "md", "markdown", "html", "htm", "json", "jsonl", "ndjson", "csv"]

    /// The settings.
    public let options: Options

    /// Creates a loader.
    public init(options: Options = Options()) { self.options = options }

    /// Loads every supported file under `root` (hidden folders and files skipped, symbolic
    /// links followed unless they loop). Ids are paths relative to `root`.
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

    /// Relative paths of the supported files under `root` that the globs select, sorted.
    public func walk(_ root: String) -> (files: [String], issues: [LoadIssue]) {
        var files: [String] = []
        var issues: [LoadIssue] = []
        let fm = FileManager.default
        func visit(_ relative: String, ancestors: Set<String>) {
            let path = relative.isEmpty ? root : (root as NSString).appendingPathComponent(relative)
            let real = (path as NSString).resolvingSymlinksInPath
            guard let names = try? fm.contentsOfDirectory(atPath: path) else {
                issues.append(LoadIssue(path: relative.isEmpty ? root : relative, kind: .unreadable, detail: "cannot list the directory"))
                return
            }
            for name in names.sorted() where !name.hasPrefix(".") {
                let child = relative.isEmpty ? name : relative + "/" + name
                let childPath = (root as NSString).appendingPathComponent(child)
                var isDir: ObjCBool = false
                guard fm.fileExists(atPath: childPath, isDirectory: &isDir) else {
                    // A link to nothing (perhaps a mount that is away): reported, so that a
                    // prune keeps what was indexed from it.
                    issues.append(LoadIssue(path: child, kind: .unreadable, detail: "a link to something that is not there"))
                    continue
                }
                if isDir.boolValue {
                    let childReal = (childPath as NSString).resolvingSymlinksInPath
                    if ancestors.contains(childReal) || childReal == real {
                        issues.append(LoadIssue(path: child, kind: .symlinkLoop, detail: "leads back to \(childReal)"))
                        continue
                    }
                    visit(child, ancestors: ancestors.union([real]))
                } else if Self.extensions.contains((name as NSString).pathExtension.lowercased()), selected(child) {
                    files.append(child)
                }
            }
        }
        visit("", ancestors: [])
        return (files, issues)
    }

    func selected(_ relative: String) -> Bool {
        if options.exclude.contains(where: { Glob.matches($0, relative) }) { return false }
        return options.include.isEmpty || options.include.contains { Glob.matches($0, relative) }
    }

    /// Loads one file; `id` defaults to its path.
    public func load(file path: String, id: String? = nil) -> Result {
        let id = id ?? path
        var result = Result()
        func issue(_ kind: LoadIssue.Kind, _ detail: String = "") { result.issues.append(LoadIssue(path: id, kind: kind, detail: detail)) }
        let fm = FileManager.default
        guard let attributes = try? fm.attributesOfItem(atPath: path) else {
            issue(.unreadable, "cannot read its attributes")
            return result
        }
        let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
        guard size <= options.maxFileBytes else {
            issue(.tooLarge, "\(size) bytes, the limit is \(options.maxFileBytes)")
            return result
        }
        guard let data = fm.contents(atPath: path) else {
            issue(.unreadable, "cannot read it")
            return result
        }
        let bytes = [UInt8](data)
        if bytes.prefix(8192).contains(0) {
            issue(.binary, "it has NUL bytes")
            return result
        }
        let decoded = TextDecoding.decode(bytes)
        if decoded.repaired > 0 {
            if case .reject = options.invalidUTF8 {
                issue(.invalidUTF8, "invalid UTF-8 at byte \(decoded.firstBadOffset ?? 0)")
                return result
            }
            issue(.repairedUTF8, "\(decoded.repaired) invalid sequence(s) replaced, the first at byte \(decoded.firstBadOffset ?? 0)")
        }
        var base = options.metadata
        base["source"] = .string(id)
        if let modified = attributes[.modificationDate] as? Date { base["modified"] = .int(Int64(modified.timeIntervalSince1970)) }
        let ext = (path as NSString).pathExtension.lowercased()
        var documents: [Document] = []
        switch ext {
        case "html", "htm":
            let (text, title) = HTMLText.extract(decoded.text)
            var m = base
            if let title { m["title"] = .string(title) }
            documents = [Document(id: id, text: text, metadata: m)]
        case "md", "markdown":
            var m = base
            if let title = Self.markdownTitle(decoded.text) { m["title"] = .string(title) }
            documents = [Document(id: id, text: decoded.text, metadata: m)]
        case "json":
            do {
                let value = try JSONDecoder().decode(JSONValue.self, from: Data(decoded.text.utf8))
                if case .array(let items) = value {
                    for (i, item) in items.enumerated() {
                        if case .object(let dict) = item, let d = jsonDocument(dict, id: "\(id)#\(i)", base: base) { documents.append(d) }
                    }
                } else if case .object(let dict) = value, let d = jsonDocument(dict, id: id, base: base) {
                    documents.append(d)
                }
            } catch {
                issue(.unreadable, "not valid JSON: \(error.localizedDescription)")
                return result
            }
        case "jsonl", "ndjson":
            for (n, line) in decoded.text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                if trimmed.isEmpty { continue }
                guard case .object(let dict)? = try? JSONDecoder().decode(JSONValue.self, from: Data(trimmed.utf8)) else {
                    issue(.unreadable, "line \(n + 1) is not a JSON object")
                    continue
                }
                if let d = jsonDocument(dict, id: "\(id)#\(n + 1)", base: base) { documents.append(d) }
            }
        case "csv":
            documents = csvDocuments(decoded.text, id: id, base: base)
        default:
            documents = [Document(id: id, text: decoded.text, metadata: base)]
        }
        // Whitespace-only documents carry nothing (stops at the first other scalar).
        documents.removeAll { $0.text.unicodeScalars.allSatisfy { $0.properties.isWhitespace } }
        if documents.isEmpty { issue(.empty, "no text") }
        result.documents = documents
        return result
    }

    static func markdownTitle(_ text: String) -> String? {
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

    func jsonDocument(_ dict: [String: JSONValue], id: String, base: [String: MetadataValue]) -> Document? {
        var parts: [String] = []
        var metadata = base
        for field in options.jsonTextFields {
            if case .string(let s)? = dict[field] { parts.append(s) }
        }
        for (key, value) in dict where !options.jsonTextFields.contains(key) {
            if let v = value.metadata { metadata[key] = v }
        }
        var docID = id
        if case .string(let own)? = dict["id"] { docID = "\(id.split(separator: "#").first.map(String.init) ?? id)#\(own)" }
        return Document(id: docID, text: parts.joined(separator: "\n\n"), metadata: metadata)
    }

    func csvDocuments(_ text: String, id: String, base: [String: MetadataValue]) -> [Document] {
        if case .wholeFile = options.csv { return [Document(id: id, text: text, metadata: base)] }
        let rows = CSV.parse(text)
        guard let header = rows.first else { return [] }
        var textColumns: [String]?
        if case .rowPerDocument(let columns) = options.csv { textColumns = columns }
        return rows.dropFirst().enumerated().compactMap { n, row in
            var metadata = base
            var lines: [String] = []
            for (i, name) in header.enumerated() {
                let value = i < row.count ? row[i] : ""
                if let textColumns {
                    if textColumns.contains(name) { lines.append(value) } else { metadata[name] = .string(value) }
                } else {
                    lines.append("\(name): \(value)")
                }
            }
            return Document(id: "\(id)#\(n + 1)", text: lines.joined(separator: "\n"), metadata: metadata)
        }
    }
}

/// Glob matching for relative paths: `*` and `?` within a path segment, `**` across them.
enum Glob {
    static func matches(_ pattern: String, _ path: String) -> Bool {
        if !pattern.contains("/") {
            return match(Array(pattern.unicodeScalars), Array(((path as NSString).lastPathComponent).unicodeScalars))
        }
        return match(Array(pattern.unicodeScalars), Array(path.unicodeScalars))
    }

    private static func match(_ p: [Unicode.Scalar], _ s: [Unicode.Scalar]) -> Bool {
        func go(_ i: Int, _ j: Int) -> Bool {
            if i == p.count { return j == s.count }
            if p[i] == "*" {
                let doubleStar = i + 1 < p.count && p[i + 1] == "*"
                var next = doubleStar ? i + 2 : i + 1
                if doubleStar, next < p.count, p[next] == "/" { next += 1 }  // "**/" also matches nothing
                var k = j
                while true {
                    if go(next, k) { return true }
                    if k == s.count || (!doubleStar && s[k] == "/") { return false }
                    k += 1
                }
            }
            guard j < s.count else { return false }
            if p[i] == "?" { return s[j] != "/" && go(i + 1, j + 1) }
            return p[i] == s[j] && go(i + 1, j + 1)
        }
        return go(0, 0)
    }
}

/// RFC 4180 CSV: quoted fields with doubled quotes, CRLF or LF rows.
enum CSV {
    static func parse(_ text: String) -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var field = ""
        var quoted = false
        var it = text.unicodeScalars.makeIterator()
        var pending: Unicode.Scalar? = it.next()
        while let c = pending {
            pending = it.next()
            if quoted {
                if c == "\"" {
                    if pending == "\"" {
                        field.unicodeScalars.append("\"")
                        pending = it.next()
                    } else {
                        quoted = false
                    }
                } else {
                    field.unicodeScalars.append(c)
                }
            } else if c == "\"" && field.isEmpty {
                quoted = true
            } else if c == "," {
                row.append(field)
                field = ""
            } else if c == "\n" || c == "\r" {
                if c == "\r", pending == "\n" { pending = it.next() }
                row.append(field)
                rows.append(row)
                row = []
                field = ""
            } else {
                field.unicodeScalars.append(c)
            }
        }
        if !field.isEmpty || !row.isEmpty {
            row.append(field)
            rows.append(row)
        }
        return rows
    }
}
