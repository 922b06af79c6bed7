import Foundation
import Ingest
import TestSupport
import Testing
import VectorStore

/// The committed office fixtures (tools/documents/make_fixtures.py writes them).
enum OfficeFixtures {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/documents").path

    static func load(_ name: String, options: DocumentLoader.Options = DocumentLoader.Options()) -> DocumentLoader.Result {
        DocumentLoader(options: options).load(file: "\(folder)/\(name)", id: name)
    }
}

@Suite struct DOCXParserTests {
    @Test func headingsListsAndTablesBecomeMarkdown() throws {
        let result = OfficeFixtures.load("handbook.docx")
        #expect(result.issues.isEmpty)
        let doc = try #require(result.documents.first)
        #expect(result.documents.count == 1 && doc.id == "handbook.docx")
        #expect(doc.metadata["title"] == "Keeper's Handbook")
        #expect(doc.metadata["author"] == "Northern Harbour Board")
        #expect(doc.metadata["source"] == "handbook.docx")
        let expected = """
            # Keeper's Handbook

            This handbook tells a new keeper what the daily round of a light station involves.

            # Daily duties

            At dusk the keeper lights the lamp and winds the clockwork that turns the lens.

            - Trim the wicks every four hours.
            - Polish the brass and the lantern glass each morning.
            - Record the weather in the log at each watch.

            ## Fog routine

            When the fog comes in, start the fog signal:

            1. Open the air valve.
            2. Start the compressor.
            3. Sound two blasts every minute until the fog lifts.

            # Supplies

            | Item | Quantity | Interval |
            | --- | --- | --- |
            | Paraffin | 40 gallons | monthly |
            | Wicks | 12 | quarterly |

            The relief boat brings the supplies on the first calm day of the month.
            """
        #expect(doc.text == expected)
    }

    /// The Markdown splitter sees Word's headings: chunks carry their heading path.
    @Test func theHeadingPathWorks() throws {
        let doc = try #require(OfficeFixtures.load("handbook.docx").documents.first)
        let chunks = MarkdownSplitter(chunkSize: 200, chunkOverlap: 0).split(doc.text)
        let fog = try #require(chunks.first { $0.text.contains("Open the air valve") })
        // Word's Title and Heading 1 are both level 1.
        #expect(fog.metadata["headings"] == .strings(["Daily duties", "Fog routine"]))
    }

    @Test func aZipBombStopsAtItsBudget() {
        let result = OfficeFixtures.load("bomb.docx")
        #expect(result.documents.isEmpty)
        #expect(result.issues.map(\.kind) == [.tooLarge])
        #expect(result.issues.first?.detail.contains("zip bomb?") == true)
        #expect(result.issues.first?.path == "bomb.docx")
        // With a larger budget libxml2's own limit refuses its 24 MiB text node.
        var options = DocumentLoader.Options()
        options.zipLimits.ratioFloor = 64 << 20
        let unzipped = OfficeFixtures.load("bomb.docx", options: options)
        #expect(unzipped.issues.map(\.kind) == [.unreadable])
        #expect(unzipped.issues.first?.detail.hasPrefix("word/document.xml: malformed XML") == true)
    }

    @Test(arguments: ["laughs.docx", "external-entity.docx"])
    func documentTypeDeclarationsAreRefused(_ name: String) {
        let result = OfficeFixtures.load(name)
        #expect(result.documents.isEmpty)
        #expect(result.issues.map(\.kind) == [.unreadable])
        #expect(result.issues.first?.detail.hasPrefix("word/document.xml: a DTD") == true, "\(result.issues)")
    }

    @Test(arguments: [
        ("malformed.docx", "word/document.xml: malformed XML"), ("truncated.docx", "not a DOCX file: a damaged ZIP"),
        ("not-a-zip.docx", "not a DOCX file: a damaged ZIP"),
    ])
    func damagedFilesFailAlone(_ name: String, _ detail: String) {
        let result = OfficeFixtures.load(name)
        #expect(result.documents.isEmpty)
        #expect(result.issues.map(\.kind) == [.unreadable])
        #expect(result.issues.first?.detail.hasPrefix(detail) == true, "\(result.issues)")
    }
}

@Suite struct ZipArchiveTests {
    @Test func madeArchivesReadBack() throws {
        let text = Array(String(repeating: "lighthouse ", count: 1000).utf8)
        let zip = try ZipArchive.make([("a.txt", text), ("dir/b.xml", Array("<b/>".utf8))])
        #expect(zip.count < text.count / 10)  // deflated
        let read = try ZipArchive(bytes: zip) { $0 == "a.txt" }
        #expect(read.names == ["a.txt", "dir/b.xml"])
        #expect(read.entries == ["a.txt": text])
    }

    @Test func theBudgetStopsExpansionPartWay() throws {
        let zip = try ZipArchive.make([("zeros", [UInt8](repeating: 0, count: 4 << 20))])
        var limits = ZipArchive.Limits()
        limits.ratioFloor = 1 << 20
        #expect(limits.budget(archiveSize: zip.count) == 1 << 20)
        #expect(throws: ZipArchive.Failure.tooLarge(budget: 1 << 20)) { try ZipArchive(bytes: zip, limits: limits) { _ in true } }
        // Entries not read cost nothing.
        #expect(try ZipArchive(bytes: zip, limits: limits) { _ in false }.names == ["zeros"])
        limits.maxEntries = 0
        #expect(throws: ZipArchive.Failure.tooManyEntries(limit: 0)) { try ZipArchive(bytes: zip, limits: limits) { _ in false } }
    }
}
