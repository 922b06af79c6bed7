import Foundation
import Ingest
import TestSupport
import Testing

@Suite struct DocumentLoaderTests {
    /// A small tree with every format and every problem the loader reports.
    func makeTree() throws -> TemporaryDirectory {
        let dir = TemporaryDirectory()
        let fm = FileManager.default
        func write(_ name: String, _ text: String) throws {
            let path = dir.sub(name)
            try fm.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        }
        func writeBytes(_ name: String, _ bytes: [UInt8]) throws {
            try Data(bytes).write(to: URL(fileURLWithPath: dir.sub(name)))
        }
        try write("a.md", "Intro.\n\n# Vector Search\n\nQuiver searches vectors.")
        try write("b.txt", "Plain text file.")
        try write(
            "sub/c.html",
            """
            <html><head><title>The  Page</title><style>p { color: red }</style><script>var x = "<p>";</script></head>
            <body><nav><a href="/">Home</a></nav><h1>Heading &amp; more</h1><p>First&nbsp;para with <b>bold</b> text.</p>
            <p>Second &lt;para&gt; &#233;&#x20AC;</p><!-- hidden --><ul><li>one</li><li>two</li></ul></body></html>
            """)
        try write(
            "d.json",
            #"[{"id": "x1", "text": "First item.", "tags": ["a", "b"], "year": 2024, "ok": true}, {"text": "Second item.", "score": 0.5}]"#)
        try write("e.jsonl", "{\"text\": \"line one\"}\nnot json\n{\"content\": \"line three\"}\n")
        try write("f.csv", "title,body,lang\nHello,\"Some, quoted \"\"text\"\"\",en\nBye,Other text,de\n")
        try write(".hidden/x.md", "# Secret")
        try write("image.png", "not really")
        try writeBytes("bin.txt", [0x61, 0x00, 0x62])
        try write("empty.txt", "  \n")
        try writeBytes("bad.txt", Array("caf".utf8) + [0xC3, 0x28] + Array(" ok".utf8))
        try writeBytes("bom.txt", [0xEF, 0xBB, 0xBF] + Array("with BOM".utf8))
        try fm.createSymbolicLink(atPath: dir.sub("sub/loop"), withDestinationPath: dir.path)
        return dir
    }

    @Test func loadsEveryFormatAndReportsEveryProblem() throws {
        let dir = try makeTree()
        defer { dir.remove() }
        let result = DocumentLoader().load(directory: dir.path)
        let byID = Dictionary(uniqueKeysWithValues: result.documents.map { ($0.id, $0) })
        #expect(byID["a.md"]?.metadata["title"] == "Vector Search")
        #expect(byID["a.md"]?.metadata["source"] == "a.md")
        #expect(byID["a.md"]?.metadata["modified"] != nil)
        #expect(byID["b.txt"]?.text == "Plain text file.")
        let html = try #require(byID["sub/c.html"])
        #expect(html.metadata["title"] == "The Page")
        #expect(html.text == "Heading & more\n\nFirst para with bold text.\n\nSecond <para> é€\n\none\n\ntwo")
        #expect(byID["d.json#x1"]?.text == "First item.")
        #expect(byID["d.json#x1"]?.metadata["tags"] == ["a", "b"])
        #expect(byID["d.json#x1"]?.metadata["year"] == .int(2024))
        #expect(byID["d.json#x1"]?.metadata["ok"] == .bool(true))
        #expect(byID["d.json#1"]?.metadata["score"] == .double(0.5))
        #expect(byID["e.jsonl#1"]?.text == "line one")
        #expect(byID["e.jsonl#3"]?.text == "line three")
        #expect(byID["f.csv#1"]?.text == "title: Hello\nbody: Some, quoted \"text\"\nlang: en")
        #expect(byID["bom.txt"]?.text == "with BOM")
        #expect(byID["bad.txt"]?.text == "caf\u{FFFD}( ok")
        #expect(byID.keys.allSatisfy { !$0.contains(".hidden") && !$0.hasSuffix(".png") && !$0.contains("loop") })
        #expect(byID["a.md"]?.contentHash == Document.hash("Intro.\n\n# Vector Search\n\nQuiver searches vectors."))

        let issues = Dictionary(grouping: result.issues, by: \.kind)
        #expect(issues[.binary]?.map(\.path) == ["bin.txt"])
        #expect(issues[.empty]?.map(\.path) == ["empty.txt"])
        #expect(issues[.repairedUTF8]?.map(\.path) == ["bad.txt"])
        #expect(issues[.repairedUTF8]?.first?.detail.contains("byte 3") == true)
        #expect(issues[.unreadable]?.map(\.path) == ["e.jsonl"])
        #expect(issues[.unreadable]?.first?.detail.contains("line 2") == true)
        #expect(issues[.symlinkLoop]?.map(\.path) == ["sub/loop"])
    }

    @Test func globsLimitsAndTheRejectPolicy() throws {
        let dir = try makeTree()
        defer { dir.remove() }
        let mdOnly = DocumentLoader(options: .init(include: ["*.md"])).walk(dir.path).files
        #expect(mdOnly == ["a.md"])
        let noSub = DocumentLoader(options: .init(exclude: ["sub/**", "*.json*"])).walk(dir.path).files
        #expect(!noSub.contains { $0.hasPrefix("sub/") || $0.contains(".json") })
        #expect(noSub.contains("b.txt"))
        let html = DocumentLoader(options: .init(include: ["**/*.html"])).walk(dir.path).files
        #expect(html == ["sub/c.html"])

        var strict = DocumentLoader.Options()
        strict.invalidUTF8 = .reject
        strict.maxFileBytes = 20
        let result = DocumentLoader(options: strict).load(directory: dir.path)
        #expect(result.issues.contains { $0.path == "bad.txt" && $0.kind == .invalidUTF8 })
        #expect(result.issues.contains { $0.path == "sub/c.html" && $0.kind == .tooLarge })
        #expect(!result.documents.contains { $0.id == "bad.txt" })
    }

    /// A CSV quote that never closes swallowed every row after it, silently. It is read
    /// as a character now, the rows after it come back, and the file has a note naming the line.
    @Test func csvUnclosedQuoteIsReportedAndDoesNotSwallowRows() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        try "name,notes\nA,\"never closed\nB,fine\nC,\"quoted, with comma\"\nD,last\n".write(
            toFile: dir.sub("t.csv"), atomically: true, encoding: .utf8)
        let result = DocumentLoader().load(directory: dir.path)
        #expect(result.documents.map(\.id) == ["t.csv#1", "t.csv#2", "t.csv#3", "t.csv#4"])
        #expect(result.documents[0].text == "name: A\nnotes: \"never closed")
        #expect(result.documents[2].text == "name: C\nnotes: quoted, with comma")
        let note = try #require(result.issues.first { $0.kind == .malformed })
        #expect(note.path == "t.csv" && note.detail.hasPrefix("line 2:") && !note.isFailure)
    }

    @Test func csvColumnsAsTextAndMetadata() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        try "title,body,lang\r\nHello,\"multi\nline\",en\r\n".write(toFile: dir.sub("f.csv"), atomically: true, encoding: .utf8)
        var options = DocumentLoader.Options()
        options.csv = .rowPerDocument(textColumns: ["body"])
        let docs = DocumentLoader(options: options).load(file: dir.sub("f.csv"), id: "f.csv").documents
        #expect(docs.count == 1)
        #expect(docs.first?.text == "multi\nline")
        #expect(docs.first?.metadata["lang"] == "en")
        #expect(docs.first?.metadata["title"] == "Hello")
    }
}

@Suite struct MarkdownTitleTests {
    @Test func titleIsTheFirstHeadingWhateverTheLineEndings() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let cases: [(String, String?)] = [
            ("Intro line\r\n\r\n# Windows Title \r\nBody\r\n", "Windows Title"),
            ("No heading here.\nJust #hashtags and text.\n", nil),
            ("\n\n## Second level first\n# Later\n", "Second level first"),
            ("```\ncode\n```\n# Ünïcode Tïtle\n", "Ünïcode Tïtle"),
        ]
        for (i, (text, title)) in cases.enumerated() {
            let path = dir.sub("t\(i).md")
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            let doc = try #require(DocumentLoader().load(file: path, id: "t\(i).md").documents.first)
            #expect(doc.metadata["title"] == title.map { .string($0) }, "\(text.debugDescription)")
        }
    }
}

/// Symbolic links: every real file is walked once, under the name the real tree gives it.
@Suite struct DocumentLoaderLinkTests {
    let fm = FileManager.default

    func write(_ path: String, _ text: String) throws {
        try fm.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    @Test func relativeLoopsAreReportedAndWalkedNoFurther() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        try write(dir.sub("a.txt"), "top")
        try write(dir.sub("sub/b.txt"), "below")
        try fm.createSymbolicLink(atPath: dir.sub("sub/self"), withDestinationPath: ".")
        try fm.createSymbolicLink(atPath: dir.sub("sub/up"), withDestinationPath: "..")
        try fm.createDirectory(atPath: dir.sub("sub/deeper"), withIntermediateDirectories: true)
        try fm.createSymbolicLink(atPath: dir.sub("sub/deeper/loop"), withDestinationPath: "../..")
        let (files, issues) = DocumentLoader().walk(dir.path)
        #expect(files == ["a.txt", "sub/b.txt"])
        #expect(issues.filter { $0.kind == .symlinkLoop }.map(\.path).sorted() == ["sub/deeper/loop", "sub/self", "sub/up"])
        #expect(issues.allSatisfy { $0.kind == .symlinkLoop })
        let loaded = DocumentLoader().load(directory: dir.path)
        #expect(loaded.documents.map(\.id) == ["a.txt", "sub/b.txt"])
    }

    /// A file or folder whose name is not UTF-8 (a Latin-1 archive) is reported as such,
    /// not as unreadable for no reason; the rest is walked.
    @Test func namesThatAreNotUTF8AreReportedAsSuch() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        try write(dir.sub("ok.md"), "# Fine")
        // "caf\xe9.md" and "\xc3(dir", made from bytes: Swift strings cannot hold them.
        func make(_ bytes: [UInt8], folder: Bool) {
            let path = Array(dir.path.utf8) + [UInt8(ascii: "/")] + bytes + [0]
            path.withUnsafeBufferPointer { p in
                p.withMemoryRebound(to: CChar.self) { c in
                    if folder {
                        #expect(mkdir(c.baseAddress!, 0o755) == 0)
                    } else {
                        let fd = open(c.baseAddress!, O_CREAT | O_WRONLY, 0o644)
                        #expect(fd >= 0)
                        close(fd)
                    }
                }
            }
        }
        make(Array("caf".utf8) + [0xE9] + Array(".md".utf8), folder: false)
        make([0xC3, UInt8(ascii: "(")] + Array("dir".utf8), folder: true)
        let (files, issues) = DocumentLoader().walk(dir.path)
        #expect(files == ["ok.md"])
        #expect(issues.count == 2)
        #expect(issues.allSatisfy { $0.kind == .unreadable && $0.detail.contains("not valid UTF-8") }, "\(issues)")
    }

    /// Fifteen folders outside the root, each with two links `a` and `b` to the next: the
    /// paths to the last folder's file number 2^14, the file is taken once.
    @Test func aDiamondOfLinksTakesEachFileOnce() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let levels = 15
        for level in 0..<levels {
            let folder = dir.sub("levels/\(level)")
            try fm.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try write(folder + "/level\(level).txt", "level \(level)")
            if level + 1 < levels {
                try fm.createSymbolicLink(atPath: folder + "/a", withDestinationPath: "../\(level + 1)")
                try fm.createSymbolicLink(atPath: folder + "/b", withDestinationPath: "../\(level + 1)")
            }
        }
        let root = dir.sub("root")
        try fm.createDirectory(atPath: root, withIntermediateDirectories: true)
        try fm.createSymbolicLink(atPath: root + "/start", withDestinationPath: "../levels/0")
        let (files, issues) = DocumentLoader().walk(root)
        #expect(issues.isEmpty)
        #expect(files.count == levels)
        // Each level is named by the first link followed: all `a`.
        let expected = (0..<levels).map { level in
            (["start"] + Array(repeating: "a", count: level) + ["level\(level).txt"]).joined(separator: "/")
        }
        #expect(files == expected.sorted())
    }

    /// A file behind a link, a second link and a hard link is one document, named by its
    /// path in the real tree even when a link sorts first.
    @Test func linksToOneFileGiveOneDocumentNamedByTheRealPath() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        try write(dir.sub("docs/guide.md"), "# Guide\n\nText.")
        try write(dir.sub("outside/note.txt"), "A note kept elsewhere.")
        let root = dir.sub("docs")
        try fm.createSymbolicLink(atPath: root + "/0-link.md", withDestinationPath: "guide.md")
        try fm.createSymbolicLink(atPath: root + "/0-folder", withDestinationPath: ".")
        try fm.linkItem(atPath: root + "/guide.md", toPath: root + "/hard.md")
        try fm.createSymbolicLink(atPath: root + "/b-note.txt", withDestinationPath: "../outside/note.txt")
        try fm.createSymbolicLink(atPath: root + "/a-note.txt", withDestinationPath: "../outside/note.txt")
        let (files, issues) = DocumentLoader().walk(root)
        // The hard link sorts after guide.md in the real tree, so guide.md names the file;
        // of two links to a file outside the tree, the first in sorted order.
        #expect(files == ["a-note.txt", "guide.md"])
        #expect(issues.map(\.path) == ["0-folder"])
        #expect(issues.first?.kind == .symlinkLoop)
        // A glob that leaves out the first name lets the next one name the file.
        let onlyB = DocumentLoader(options: .init(include: ["b-*"])).walk(root).files
        #expect(onlyB == ["b-note.txt"])
    }

    /// A file is read whole however its size compares with the sniffed head (shorter, equal,
    /// longer, many times longer), and the size limit is exact: at the limit it loads, one
    /// byte over it is too large.
    @Test func filesAreReadWholeAndTheSizeLimitIsExact() throws {
        let dir = TemporaryDirectory()
        var options = DocumentLoader.Options()
        options.parsers.sniffLength = 64
        options.maxFileBytes = 10_000
        let loader = DocumentLoader(options: options)
        for size in [1, 63, 64, 65, 128, 4_097, 10_000] {
            let bytes: [UInt8] = (0..<size).map { i in i % 50 == 49 ? 10 : UInt8(97 + i % 26) }
            let text = String(decoding: bytes, as: UTF8.self)
            let path = dir.sub("f\(size).txt")
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            let result = loader.load(file: path, id: "f\(size).txt")
            #expect(result.issues.isEmpty, "\(size): \(result.issues)")
            #expect(result.documents.map(\.text) == [text], "\(size) bytes")
        }
        try String(repeating: "x", count: 10_001).write(toFile: dir.sub("over.txt"), atomically: true, encoding: .utf8)
        let over = loader.load(file: dir.sub("over.txt"), id: "over.txt")
        #expect(over.documents.isEmpty)
        #expect(over.issues == [LoadIssue(path: "over.txt", kind: .tooLarge, detail: "10001 bytes, the limit is 10000")])
    }
}
