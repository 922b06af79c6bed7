import Foundation
import Ingest
import TestSupport
import Testing

/// A stand-in for a PDF parser: known by `%PDF-` or `.pdf`; its document records the bytes
/// it was given, so a test sees that they arrived raw.
struct FakePDFParser: DocumentParser {
    var name: String { "fake-pdf" }
    var extensions: Set<String> { ["pdf"] }
    func sniff(_ prefix: [UInt8]) -> Bool { prefix.starts(with: Array("%PDF-".utf8)) }
    func parse(_ input: ParseInput) throws -> DocumentLoader.Result {
        var metadata = input.metadata
        metadata["parser"] = .string(name)
        metadata["bytes"] = .strings(input.bytes.map { String($0) })
        metadata["extension"] = .string(input.fileExtension)
        return DocumentLoader.Result(documents: [Document(id: input.id, text: "A PDF of \(input.bytes.count) bytes.", metadata: metadata)])
    }
}

/// A parser for an application's own `.note` format whose every call answers as told.
struct ScriptedParser: DocumentParser {
    enum Answer: Sendable {
        case text(String)
        case issue(LoadIssue.Kind, String)
        case error
    }
    struct Failure: Error, CustomStringConvertible {
        var description: String { "the scripted failure" }
    }
    var name: String { "note" }
    var extensions: Set<String> { ["note", "md"] }
    let answer: Answer
    func parse(_ input: ParseInput) throws -> DocumentLoader.Result {
        switch answer {
        case .text(let text):
            let warning = LoadIssue(path: input.id, kind: .repairedUTF8, detail: "a note of the parser's own")
            return DocumentLoader.Result(documents: [Document(id: input.id, text: text, metadata: input.metadata)], issues: [warning])
        case .issue(let kind, let detail): throw LoadIssue(path: input.id, kind: kind, detail: detail)
        case .error: throw Failure()
        }
    }
}

@Suite struct ParserRegistryTests {
    func write(_ dir: TemporaryDirectory, _ name: String, _ bytes: [UInt8]) throws {
        let path = dir.sub(name)
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    func loader(_ parsers: any DocumentParser...) -> DocumentLoader {
        var options = DocumentLoader.Options()
        for parser in parsers { options.parsers.register(parser) }
        return DocumentLoader(options: options)
    }

    /// A PDF's first bytes, then a NUL and a byte that is not UTF-8.
    static let pdf = Array("%PDF-1.7\n".utf8) + [0x00, 0xFF, 0x0A] + Array("trailer".utf8)

    @Test func theContentSniffWinsOverTheExtension() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        try write(dir, "x.txt", Self.pdf)
        try write(dir, "plain.txt", Array("%PDX is not a PDF.".utf8))
        let loader = loader(FakePDFParser())
        let sniffed = loader.load(file: dir.sub("x.txt"), id: "x.txt")
        #expect(sniffed.issues.isEmpty)
        #expect(sniffed.documents.map(\.id) == ["x.txt"])
        #expect(sniffed.documents.first?.metadata["parser"] == "fake-pdf")
        #expect(sniffed.documents.first?.metadata["extension"] == "txt")
        // Without the magic bytes a .txt is text again.
        let plain = loader.load(file: dir.sub("plain.txt"), id: "plain.txt")
        #expect(plain.documents.first?.text == "%PDX is not a PDF.")
        #expect(plain.documents.first?.metadata["parser"] == nil)

        let registry = loader.options.parsers
        #expect(registry.parser(fileExtension: "md", prefix: Self.pdf)?.name == "fake-pdf")
        #expect(registry.parser(fileExtension: "md", prefix: Array("# Title".utf8))?.name == "markdown")
        #expect(registry.parser(fileExtension: "pdf", prefix: [])?.name == "fake-pdf")
        #expect(registry.parser(fileExtension: "key", prefix: [0x50, 0x4B, 0x03, 0x04]) == nil)
    }

    @Test func aRegisteredParserGetsTheRawBytesAndItsDocumentsAreLoaded() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        try write(dir, "docs/report.pdf", Self.pdf)
        try write(dir, "docs/readme.md", Array("# Read me\n\nText.".utf8))
        // Longer than the sniffed head: the parser still gets every byte.
        let long = Self.pdf + [UInt8](repeating: 0, count: 10_000) + Array("end".utf8)
        try write(dir, "docs/long.pdf", long)
        let result = loader(FakePDFParser()).load(directory: dir.sub("docs"))
        #expect(result.issues.isEmpty)
        let byID = Dictionary(uniqueKeysWithValues: result.documents.map { ($0.id, $0) })
        #expect(byID["report.pdf"]?.metadata["bytes"] == .strings(Self.pdf.map { String($0) }))
        #expect(byID["report.pdf"]?.metadata["source"] == "report.pdf")
        #expect(byID["report.pdf"]?.metadata["modified"] != nil)
        #expect(byID["report.pdf"]?.text == "A PDF of \(Self.pdf.count) bytes.")
        #expect(byID["long.pdf"]?.metadata["bytes"] == .strings(long.map { String($0) }))
        #expect(byID["readme.md"]?.metadata["title"] == "Read me")
    }

    @Test func aRegisteredParserTakesPrecedenceAndReportsAsItChooses() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        try write(dir, "a.md", Array("# Heading\n\nBody.".utf8))
        try write(dir, "b.note", Array("anything".utf8))
        // The application's parser claims .md before the built-in Markdown parser; its
        // issues come through with its documents.
        let own = loader(ScriptedParser(answer: .text("From the app's parser."))).load(file: dir.sub("a.md"), id: "a.md")
        #expect(own.documents.map(\.text) == ["From the app's parser."])
        #expect(own.documents.first?.metadata["title"] == nil)
        #expect(own.issues.map(\.detail) == ["a note of the parser's own"])
        // A thrown LoadIssue is reported as it is; another error as unreadable, naming the parser.
        let refused = loader(ScriptedParser(answer: .issue(.binary, "not a note"))).load(file: dir.sub("b.note"), id: "b.note")
        #expect(refused.documents.isEmpty)
        #expect(refused.issues == [LoadIssue(path: "b.note", kind: .binary, detail: "not a note")])
        let failed = loader(ScriptedParser(answer: .error)).load(file: dir.sub("b.note"), id: "b.note")
        #expect(failed.issues == [LoadIssue(path: "b.note", kind: .unreadable, detail: "note parser: the scripted failure")])
        // Whitespace only: empty, as for the built-in parsers.
        let blank = loader(ScriptedParser(answer: .text(" \n "))).load(file: dir.sub("b.note"), id: "b.note")
        #expect(blank.documents.isEmpty && blank.issues.map(\.kind) == [.repairedUTF8, .empty])
    }

    @Test func aFileNoParserTakesIsReportedUnsupported() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        try write(dir, "docs/report.pdf", Self.pdf)
        try write(dir, "docs/memo.key", [0x50, 0x4B, 0x03, 0x04, 0x14, 0x00])
        try write(dir, "docs/sub/LICENSE", Array("MIT".utf8))
        try write(dir, "docs/note.md", Array("# Note\n\nKept.".utf8))
        try write(dir, "docs/.hidden.pdf", Self.pdf)
        let loader = DocumentLoader()
        let one = loader.load(file: dir.sub("docs/report.pdf"), id: "report.pdf")
        #expect(one.documents.isEmpty)
        #expect(one.issues == [LoadIssue(path: "report.pdf", kind: .unsupported, detail: "no parser for .pdf")])

        #expect(loader.walk(dir.sub("docs")).files == ["memo.key", "note.md", "report.pdf", "sub/LICENSE"])
        let all = loader.load(directory: dir.sub("docs"))
        #expect(all.documents.map(\.id) == ["note.md"])
        #expect(
            all.issues == [
                LoadIssue(path: "memo.key", kind: .unsupported, detail: "no parser for .key"),
                LoadIssue(path: "report.pdf", kind: .unsupported, detail: "no parser for .pdf"),
                LoadIssue(path: "sub/LICENSE", kind: .unsupported, detail: "no parser for this content"),
            ])
        // The globs still choose; a file they leave out is not reported.
        let mdOnly = DocumentLoader(options: .init(include: ["*.md"])).load(directory: dir.sub("docs"))
        #expect(mdOnly.issues.isEmpty && mdOnly.documents.map(\.id) == ["note.md"])
        // Unsupported before too large: the size of a file nothing reads does not matter.
        var small = DocumentLoader.Options()
        small.maxFileBytes = 4
        #expect(DocumentLoader(options: small).load(file: dir.sub("docs/report.pdf")).issues.map(\.kind) == [.unsupported])
        // With plain text as the fallback, every file no other parser takes is read as text.
        var lenient = DocumentLoader.Options()
        lenient.parsers.fallback = PlainTextParser()
        let text = DocumentLoader(options: lenient).load(directory: dir.sub("docs"))
        #expect(text.documents.map(\.id) == ["note.md", "sub/LICENSE"])
        #expect(text.issues.map(\.kind) == [.binary, .binary])  // the .key and the .pdf
    }

    @Test func plainTextCanClaimMoreExtensions() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        try write(dir, "notes.log", Array("started\nstopped\n".utf8))
        #expect(DocumentLoader().load(file: dir.sub("notes.log")).issues.map(\.kind) == [.unsupported])
        var options = DocumentLoader.Options()
        options.parsers.register(PlainTextParser(extensions: ["log"]))
        let loaded = DocumentLoader(options: options).load(file: dir.sub("notes.log"), id: "notes.log")
        #expect(loaded.issues.isEmpty)
        #expect(loaded.documents.map(\.text) == ["started\nstopped\n"])
    }

    @Test func onlyRegularFilesAreOpenedAndALinkIsMeasuredByItsTarget() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        try write(dir, "docs/big.txt", Array(repeating: UInt8(ascii: "a"), count: 100))
        // The link's target is outside the folder: a link to docs/big.txt would be the same
        // file, taken once, under its real name.
        try write(dir, "outside/big.txt", Array(repeating: UInt8(ascii: "b"), count: 100))
        let fm = FileManager.default
        try fm.createSymbolicLink(atPath: dir.sub("docs/link.txt"), withDestinationPath: dir.sub("outside/big.txt"))
        // A FIFO nobody writes to: opening it to read would wait for ever.
        #expect(mkfifo(dir.sub("docs/pipe.txt"), 0o600) == 0)
        var small = DocumentLoader.Options()
        small.maxFileBytes = 50
        let result = DocumentLoader(options: small).load(directory: dir.sub("docs"))
        #expect(
            result.issues == [
                LoadIssue(path: "big.txt", kind: .tooLarge, detail: "100 bytes, the limit is 50"),
                LoadIssue(path: "link.txt", kind: .tooLarge, detail: "100 bytes, the limit is 50"),
                LoadIssue(path: "pipe.txt", kind: .unsupported, detail: "not a regular file"),
            ])
        #expect(DocumentLoader().load(file: dir.sub("docs")).issues.map(\.kind) == [.unsupported])
        #expect(DocumentLoader().load(file: dir.sub("docs/link.txt")).documents.first?.text.count == 100)
    }

    @Test func theStandardRegistryClaimsItsFormats() {
        let old: Set<String> = [
            "txt", "text", "md", "markdown", "html", "htm", "json", "jsonl", "ndjson", "csv", "docx", "pptx", "xlsx", "odt", "epub",
        ]
        #expect(ParserRegistry.standard.extensions == old)
        #expect(DocumentLoader.extensions == old)
        #expect(
            ParserRegistry.standard.parsers.map(\.name) == [
                "text", "markdown", "html", "json", "jsonl", "csv", "docx", "pptx", "xlsx", "odt", "epub",
            ])
        #expect(ParserRegistry.standard.fallback == nil)
        // Every text parser refuses NUL bytes and follows the UTF-8 policy (the ZIP-based
        // formats are binary).
        var strict = DocumentLoader.Options()
        strict.invalidUTF8 = .reject
        for parser in ParserRegistry.standard.parsers where !["docx", "pptx", "xlsx", "odt", "epub"].contains(parser.name) {
            let binary = ParseInput(bytes: [0x7B, 0x00, 0x7D], id: "f")
            #expect(throws: LoadIssue(path: "f", kind: .binary, detail: "it has NUL bytes"), "\(parser.name)") {
                try parser.parse(binary)
            }
            let bad = ParseInput(bytes: Array("{\"text\": \"caf".utf8) + [0xC3, 0x28] + Array("\"}".utf8), id: "f", options: strict)
            #expect(throws: LoadIssue(path: "f", kind: .invalidUTF8, detail: "invalid UTF-8 at byte 13"), "\(parser.name)") {
                try parser.parse(bad)
            }
        }
    }
}

@Suite struct UnsupportedFileIngestTests {
    @Test func theReportCarriesTheIssueAndTheRunDoesNotFail() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let docs = dir.sub("docs")
        try FileManager.default.createDirectory(atPath: docs, withIntermediateDirectories: true)
        try "# Tides\n\nThe harbour floods at spring tide.".write(toFile: docs + "/tides.md", atomically: true, encoding: .utf8)
        try Data(ParserRegistryTests.pdf).write(to: URL(fileURLWithPath: docs + "/scan.pdf"))
        let store = try Store(path: dir.sub("store"))
        let embedder = HashingEmbedder(dimension: 32)
        var pipeline = IngestPipeline(
            collection: try await store.openOrCreateCollection("docs", for: embedder), embedder: embedder,
            splitter: RecursiveSplitter(chunkSize: 200, chunkOverlap: 20))
        pipeline.prune = true
        var options = DocumentLoader.Options()
        options.parsers.register(FakePDFParser())
        pipeline.loader = DocumentLoader(options: options)
        let first = try await pipeline.run(directory: docs)
        #expect(first.added == ["scan.pdf", "tides.md"])
        #expect(first.issues.isEmpty && first.failed.isEmpty)

        // Without the PDF parser the file is reported, not a failure, and a prune keeps
        // what was indexed from it.
        pipeline.loader = DocumentLoader()
        let second = try await pipeline.run(directory: docs)
        #expect(second.issues == [LoadIssue(path: "scan.pdf", kind: .unsupported, detail: "no parser for .pdf")])
        #expect(second.failed.isEmpty && second.removed.isEmpty)
        #expect(second.unchanged == ["tides.md"])
        #expect(try await pipeline.collection.get("scan.pdf#0") != nil)
        // A listed file alike.
        let listed = try await pipeline.run(files: [docs + "/scan.pdf"], root: docs)
        #expect(listed.issues.map(\.kind) == [.unsupported] && listed.failed.isEmpty && listed.removed.isEmpty)
        // Gone from disk, it is pruned as any vanished file.
        try FileManager.default.removeItem(atPath: docs + "/scan.pdf")
        #expect(try await pipeline.run(directory: docs).removed == ["scan.pdf"])
    }
}
