import Foundation
@testable import Ingest
import TestSupport
import Testing
import VectorStore

/// PPTX, XLSX, ODT and EPUB on the committed fixtures.
@Suite struct OfficeFormatTests {
    @Test func pptxGivesOneDocumentPerSlideWithItsNotes() throws {
        let result = OfficeFixtures.load("fog.pptx")
        #expect(result.issues.isEmpty)
        #expect(result.documents.map(\.id) == ["fog.pptx#slide1", "fog.pptx#slide2", "fog.pptx#slide3"])
        #expect(result.documents.map { $0.metadata["slide"] } == [.int(1), .int(2), .int(3)])
        #expect(result.documents.allSatisfy { $0.metadata["slides"] == .int(3) && $0.metadata["title"] == "Fog Signals" })
        #expect(result.documents.first?.metadata["author"] == "Northern Harbour Board")
        #expect(result.documents[0].text == "# Fog Signals\n\nHow the stations warned ships in thick weather")
        #expect(
            result.documents[1].text == """
                # The diaphone

                A piston driven by compressed air

                Two tones: a high blast and a low grunt

                Notes: Mention that the North Reef diaphone was silenced in 2002.
                """)
        #expect(
            result.documents[2].text == """
                # Signal characters

                | Station | Signal |
                | --- | --- |
                | Skerry Point | 2 blasts every 60 s |
                | North Reef | 1 blast every 30 s |
                """)
    }

    @Test func xlsxGivesOneDocumentPerSheetWithRowsAsText() throws {
        let result = OfficeFixtures.load("register.xlsx")
        #expect(result.issues.isEmpty)
        #expect(result.documents.map(\.id) == ["register.xlsx#sheet1", "register.xlsx#sheet2"])
        #expect(result.documents.map { $0.metadata["sheet"] } == ["Stations", "Keepers"])
        #expect(result.documents.first?.metadata["title"] == "Station Register")
        #expect(
            result.documents[0].text == """
                | Station | First lit | Height (m) | Automated |
                | --- | --- | --- | --- |
                | Skerry Point | 1852 | 21 | TRUE |
                | North Reef | 1874 |  | TRUE |
                | Gull Island | 1901 | 14.5 | FALSE |
                """)
        #expect(result.documents[1].text.contains("| Agnes Morrow | Skerry Point |"))
    }

    @Test func xlsxColumnReferences() {
        #expect(XLSXParser.column("A1") == 0)
        #expect(XLSXParser.column("C12") == 2)
        #expect(XLSXParser.column("AA3") == 26)
        #expect(XLSXParser.column("XFD1048576") == 16_383)
        #expect(XLSXParser.column("12") == nil)
        #expect(XLSXParser.column("ABCD1") == nil)
    }

    @Test func odtBecomesMarkdownWithoutNotesCitationsOrAnnotations() throws {
        let result = OfficeFixtures.load("relief.odt")
        #expect(result.issues.isEmpty)
        let doc = try #require(result.documents.first)
        #expect(doc.id == "relief.odt")
        #expect(doc.metadata["title"] == "Relief Boats")
        #expect(doc.metadata["author"] == "Harbour Office")
        #expect(
            doc.text == """
                # Relief Boats

                The relief boat called at each rock station once a fortnight. Weather permitting.

                ## What it carried

                - Fresh water and paraffin
                - Letters and newspapers
                  - and the pay packets

                | Boat | Crew |
                | --- | --- |
                | Pharos | 5 |

                A keeper going ashore left on the same boat.
                """)
    }

    @Test func epubGivesOneDocumentPerChapterThroughTheHTMLPath() throws {
        let result = OfficeFixtures.load("tales.epub")
        #expect(result.issues.isEmpty)
        #expect(result.documents.map(\.id) == ["tales.epub#chapter1", "tales.epub#chapter2", "tales.epub#chapter3"])
        #expect(result.documents.map { $0.metadata["chapter"] } == [.int(1), .int(2), .int(3)])
        #expect(result.documents.map { $0.metadata["heading"] } == ["The Storm of 1947", "The Lens", "Automation"])
        #expect(result.documents.allSatisfy { $0.metadata["title"] == "Tales of the Lights" && $0.metadata["author"] == "Mary Gull" })
        #expect(result.documents[1].text.contains("The great lens floated on a bath of mercury"))
        #expect(!result.documents[0].text.contains("<p>"))
    }

    /// Every container format refuses what is not its container, naming the file.
    @Test(arguments: ["pptx", "xlsx", "odt", "epub"])
    func notAZipFailsAlone(_ ext: String) throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.sub("broken.\(ext)")
        try Data("plain text".utf8).write(to: URL(fileURLWithPath: path))
        let result = DocumentLoader().load(file: path, id: "broken.\(ext)")
        #expect(result.documents.isEmpty)
        #expect(result.issues.map(\.kind) == [.unreadable])
        #expect(result.issues.first?.detail.hasPrefix("not a \(ext.uppercased()) file") == true, "\(result.issues)")
    }

    /// A DOCX renamed .pptx is a ZIP without the parts: a clear error.
    @Test func theWrongContainerNamesTheMissingPart() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        try FileManager.default.copyItem(atPath: "\(OfficeFixtures.folder)/handbook.docx", toPath: dir.sub("deck.pptx"))
        let result = DocumentLoader().load(file: dir.sub("deck.pptx"), id: "deck.pptx")
        #expect(
            result.issues == [LoadIssue(path: "deck.pptx", kind: .unreadable, detail: "not a PPTX file: it has no ppt/presentation.xml")])
    }

    @Test func citationsNameSlidesSheetsAndChapters() {
        #expect(ChunkSchema.position(["page": 12]) == "p. 12")
        #expect(ChunkSchema.position(["slide": 4]) == "slide 4")
        #expect(ChunkSchema.position(["sheet": "Stations"]) == "sheet Stations")
        #expect(ChunkSchema.position(["chapter": 3]) == "chapter 3")
        #expect(ChunkSchema.position(["page": "twelve"]) == nil)
        #expect(ChunkSchema.position([:]) == nil)
    }
}
