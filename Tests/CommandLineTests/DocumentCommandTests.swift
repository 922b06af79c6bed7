import Foundation
import TestSupport
import Testing

/// `quiver index` on PDFs: pages in citations and filters, hostile files reported alone.
@Suite struct DocumentCommandTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("PDFParsingTests/Fixtures").path

    static func json(_ text: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:]
    }

    /// A folder with the report, the hostile fixtures and a Markdown note.
    static func corpus(_ dir: TemporaryDirectory) throws -> String {
        let corpus = dir.sub("docs")
        try FileManager.default.createDirectory(atPath: corpus, withIntermediateDirectories: true)
        for name in ["report.pdf", "encrypted.pdf", "scanned.pdf", "corrupt.pdf", "truncated.pdf"] {
            try FileManager.default.copyItem(atPath: "\(fixtures)/\(name)", toPath: "\(corpus)/\(name)")
        }
        try "# Fog\n\nThe fog signal sounds twice a minute.".write(toFile: corpus + "/fog.md", atomically: true, encoding: .utf8)
        return corpus
    }

    @Test func pdfPagesAreIndexedCitedAndFilterable() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let corpus = try Self.corpus(dir)
        let store = dir.sub("store")
        let index = try runProduct(["index", corpus, "--store", store, "--embedder", "hash", "--json"])
        #expect(index.status == 3, "\(index.err)")  // some files failed, the rest is indexed
        let report = Self.json(index.out)
        #expect((report["added"] as? [String])?.sorted() == ["fog.md"] + (1...4).map { "report.pdf#p\($0)" })
        let issues = (report["issues"] as? [String] ?? []).sorted()
        #expect(issues.count == 4)
        #expect(issues.contains { $0.hasPrefix("corrupt.pdf: unreadable (damaged or not a PDF") })
        #expect(issues.contains { $0.hasPrefix("encrypted.pdf: encrypted (") })
        #expect(issues.contains { $0.hasPrefix("scanned.pdf: noText (no text: scanned image?") })
        #expect(issues.contains { $0.hasPrefix("truncated.pdf: unreadable (") })

        let question = "When was the Skerry Point light automated?"
        let query = try runProduct(["query", question, "--store", store, "-k", "2"])
        #expect(query.status == 0, "\(query.err)")
        #expect(query.out.contains("[1] report.pdf p. 2  ("), "\(query.out)")
        let answer = Self.json(try runProduct(["query", question, "--store", store, "--json", "-k", "2"]).out)
        let hit = (answer["hits"] as? [[String: Any]])?.first
        #expect(hit?["position"] as? String == "p. 2")
        #expect(hit?["reference"] as? String == "report.pdf p. 2")
        #expect(hit?["source"] as? String == "report.pdf")
        #expect((hit?["metadata"] as? [String: Any])?["page"] as? Int == 2)
        #expect((hit?["metadata"] as? [String: Any])?["title"] as? String == "Harbour Light Survey")

        let filtered = Self.json(try runProduct(["search", "lens", "--store", store, "--json", "--where", "page=3"]).out)
        let hits = filtered["hits"] as? [[String: Any]] ?? []
        #expect(!hits.isEmpty && hits.allSatisfy { $0["position"] as? String == "p. 3" })
    }

    @Test func aShorterPDFLosesItsOldPages() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let corpus = dir.sub("docs")
        try FileManager.default.createDirectory(atPath: corpus, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: "\(Self.fixtures)/report.pdf", toPath: "\(corpus)/report.pdf")
        let store = dir.sub("store")
        #expect(try runProduct(["index", corpus, "--store", store, "--embedder", "hash"]).status == 0)
        try FileManager.default.removeItem(atPath: "\(corpus)/report.pdf")
        try FileManager.default.copyItem(atPath: "\(Self.fixtures)/columns.pdf", toPath: "\(corpus)/report.pdf")
        let again = Self.json(try runProduct(["index", corpus, "--store", store, "--json"]).out)
        #expect(again["removed"] as? [String] == ["report.pdf#p2", "report.pdf#p3", "report.pdf#p4"])
        #expect(again["updated"] as? [String] == ["report.pdf#p1"])
    }

    /// The demo's question answered from the sample corpus's PDF, cited with its page.
    @Test func theSampleCorpusPDFIsCitedWithItsPage() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let index = try runProduct(
            ["index", IndexCommandTests.data, "--store", dir.path, "--embedder", "hash", "--splitter", "markdown", "--json"])
        #expect(index.status == 0, "\(index.err)")
        #expect((Self.json(index.out)["issues"] as? [String])?.isEmpty == true)
        let r = try runProduct(["query", "When was the Skerry Point light automated?", "--store", dir.path, "-k", "3"])
        #expect(r.out.contains("*[1] places/harbour-light-survey.pdf p. 2  ("), "\(r.out)")
        #expect(r.out.contains("1987"))
    }

    static let office = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("IngestTests/Fixtures/documents").path

    /// Slides, sheets and chapters in citations; a DOCX's headings in the heading path.
    @Test func officeDocumentsAreCitedBySlideSheetAndChapter() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let corpus = dir.sub("docs")
        try FileManager.default.createDirectory(atPath: corpus, withIntermediateDirectories: true)
        for name in ["fog.pptx", "register.xlsx", "tales.epub", "handbook.docx", "relief.odt", "bomb.docx"] {
            try FileManager.default.copyItem(atPath: "\(Self.office)/\(name)", toPath: "\(corpus)/\(name)")
        }
        let store = dir.sub("store")
        let index = try runProduct(["index", corpus, "--store", store, "--embedder", "hash", "--splitter", "markdown", "--json"])
        #expect(index.status == 3, "\(index.err)")  // the zip bomb
        let report = Self.json(index.out)
        #expect((report["added"] as? [String])?.count == 10)
        #expect((report["issues"] as? [String])?.first?.hasPrefix("bomb.docx: tooLarge (expands past 16 MiB") == true)
        func top(_ question: String, _ filter: [String] = []) throws -> [String: Any] {
            let r = try runProduct(["query", question, "--store", store, "--json", "-k", "1"] + filter)
            return (Self.json(r.out)["hits"] as? [[String: Any]])?.first ?? [:]
        }
        #expect(try top("diaphone silenced North Reef")["reference"] as? String == "fog.pptx slide 2, The diaphone")
        #expect(try top("Gull Island first lit height")["reference"] as? String == "register.xlsx sheet Stations")
        #expect(try top("lens floated on mercury")["reference"] as? String == "tales.epub chapter 2, The Lens")
        #expect(try top("open the air valve compressor")["reference"] as? String == "handbook.docx — Daily duties › Fog routine")
        #expect(try top("signal", ["--where", "slide=3"])["reference"] as? String == "fog.pptx slide 3, Signal characters")
    }

    /// A PDF that crashes the worker (`quiver pdf-worker`) costs that file alone.
    @Test func aWorkerCrashFailsOneFileAndTheRunGoesOn() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let corpus = dir.sub("docs")
        try FileManager.default.createDirectory(atPath: corpus, withIntermediateDirectories: true)
        let report = try Data(contentsOf: URL(fileURLWithPath: "\(Self.fixtures)/report.pdf"))
        for i in 0..<3 { try report.write(to: URL(fileURLWithPath: "\(corpus)/copy\(i).pdf")) }
        var crash = Data("%PDF-1.4\n%QuiverFault:crash\n".utf8)
        crash.append(report.dropFirst(9))
        try crash.write(to: URL(fileURLWithPath: "\(corpus)/crash.pdf"))
        let r = try runProduct(
            ["index", corpus, "--store", dir.sub("store"), "--embedder", "hash", "--json"],
            environment: ["QUIVER_PDF_WORKER_FAULTS": "1"])
        #expect(r.status == 3, "\(r.err)")
        let object = Self.json(r.out)
        #expect((object["added"] as? [String])?.count == 12)
        #expect((object["issues"] as? [String])?.first?.hasPrefix("crash.pdf: crashed (the PDF worker died reading it (signal 11)") == true)
    }
}
