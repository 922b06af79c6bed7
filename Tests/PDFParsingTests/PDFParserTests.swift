import Foundation
import Ingest
import PDFParsing
import Testing
import VectorStore

/// The PDF parser on the committed fixtures, through real worker processes.
@Suite struct PDFParserTests {
    @Test func pagesBecomeDocumentsWithPageMetadataTitleAndAuthor() throws {
        let result = try PDFFixtures.parse("report.pdf", with: PDFFixtures.parser())
        #expect(result.issues.isEmpty)
        #expect(result.documents.map(\.id) == ["report.pdf#p1", "report.pdf#p2", "report.pdf#p3", "report.pdf#p4"])
        for (i, doc) in result.documents.enumerated() {
            #expect(doc.metadata["page"] == .int(Int64(i + 1)))
            #expect(doc.metadata["pages"] == .int(4))
            #expect(doc.metadata["title"] == "Harbour Light Survey")
            #expect(doc.metadata["author"] == "Northern Harbour Board")
            #expect(doc.metadata["source"] == "report.pdf")
        }
        let p2 = result.documents[1].text
        #expect(p2.hasPrefix("Skerry Point\n"))
        #expect(p2.contains("automated in 1987"))
        #expect(result.documents[2].text.contains("second-order Fresnel lens made in Paris"))
    }

    @Test func runningHeadersFootersAndPageNumbersAreDropped() throws {
        let result = try PDFFixtures.parse("report.pdf", with: PDFFixtures.parser())
        for doc in result.documents {
            #expect(!doc.text.contains("Harbour Light Survey 2023"))
            #expect(!doc.text.contains("Page \(doc.metadata["page"].map { "\($0)" } ?? "") of 4"))
            #expect(!doc.text.contains(" of 4"))
        }
        // Without the option they stay.
        let kept = try PDFFixtures.parse("report.pdf", with: PDFFixtures.parser { $0.dropRepeatedLines = false })
        #expect(kept.documents[0].text.contains("Harbour Light Survey 2023"))
        #expect(kept.documents[3].text.contains("Page 4 of 4"))
    }

    @Test func wordsHyphenatedAtLineEndsAreJoined() throws {
        let result = try PDFFixtures.parse("report.pdf", with: PDFFixtures.parser())
        let p2 = result.documents[1].text
        #expect(p2.contains("The station's information\nboard"))
        #expect(p2.contains("once a month in winter,"))
        #expect(!p2.contains("infor-"))
        // A hyphen inside a line, or before a capital, stays.
        #expect(p2.contains("twenty-one"))
        #expect(result.documents[3].text.contains("recollections"))
        let raw = try PDFFixtures.parse("report.pdf", with: PDFFixtures.parser { $0.joinHyphenatedWords = false })
        #expect(raw.documents[1].text.contains("infor-\nmation"))
    }

    @Test func unicodeTextAndMetadata() throws {
        let result = try PDFFixtures.parse("unicode.pdf", with: PDFFixtures.parser())
        #expect(result.documents.count == 1)
        let text = result.documents.first?.text ?? ""
        #expect(text.contains("Le phare de Fécamp éclaire la côte d'Albâtre depuis 1834."))
        #expect(text.contains("Маяк на острове Гогланд построен в 1723 году."))
        #expect(result.documents.first?.metadata["author"] == "Société des phares")
    }

    @Test func ownerPasswordOnlyOpensWithTheEmptyUserPassword() throws {
        let result = try PDFFixtures.parse("owner-only.pdf", with: PDFFixtures.parser())
        #expect(result.documents.count == 4)
        #expect(result.documents[1].text.contains("automated in 1987"))
    }

    @Test func encryptedFailsClearlyAndOpensWithItsPassword() throws {
        let error = #expect(throws: LoadIssue.self) { try PDFFixtures.parse("encrypted.pdf", with: PDFFixtures.parser()) }
        #expect(error?.kind == .encrypted)
        #expect(error?.path == "encrypted.pdf")
        let opened = try PDFFixtures.parse("encrypted.pdf", with: PDFFixtures.parser { $0.passwords = ["wrong", "swordfish"] })
        #expect(opened.documents.count == 4)
    }

    @Test(arguments: ["truncated.pdf", "corrupt.pdf"])
    func damagedFilesFailAlone(_ name: String) throws {
        let parser = try PDFFixtures.parser()
        let error = #expect(throws: LoadIssue.self) { try PDFFixtures.parse(name, with: parser) }
        #expect(error?.kind == .unreadable)
        #expect(error?.path == name)
        #expect(error?.detail.contains("damaged or not a PDF") == true)
        // The same parser (and worker) reads the next file.
        #expect(try PDFFixtures.parse("report.pdf", with: parser).documents.count == 4)
    }

    @Test func aScanWithoutTextIsReported() throws {
        let error = #expect(throws: LoadIssue.self) { try PDFFixtures.parse("scanned.pdf", with: PDFFixtures.parser()) }
        #expect(error?.kind == .noText)
        #expect(error?.detail.hasPrefix("no text: scanned image?") == true)
        #expect(error?.isFailure == true)
    }

    @Test func sniffsPDFContentWhateverTheName() throws {
        let parser = try PDFFixtures.parser()
        #expect(parser.sniff(Array("%PDF-1.7\n".utf8)))
        #expect(parser.sniff(Array("junk before\n%PDF-1.4".utf8)))
        #expect(!parser.sniff(Array("%PDX-1.7".utf8)))
        #expect(!parser.sniff([]))
        var registry = ParserRegistry.standard
        registry.register(parser)
        #expect(registry.parser(fileExtension: "txt", prefix: try PDFFixtures.bytes("report.pdf"))?.name == "pdf")
    }
}
