import Foundation
import Ingest
import PDFParsing
import Testing

/// The parser's text against `pdftotext` (poppler-utils), the reference reader: at least
/// 98 % of words agree, counted as a multiset both ways (recall: pdftotext's words found;
/// precision: the parser's words that pdftotext has too).
@Suite struct PdftotextAgreementTests {
    static let fixtures = ["report.pdf", "columns.pdf", "unicode.pdf", "owner-only.pdf"]

    /// Words: split at whitespace, punctuation trimmed from both ends, lowercased.
    static func words(_ text: String) -> [String: Int] {
        var counts: [String: Int] = [:]
        for raw in text.split(whereSeparator: \.isWhitespace) {
            let word = raw.trimmingCharacters(in: .punctuationCharacters).lowercased()
            if !word.isEmpty { counts[word, default: 0] += 1 }
        }
        return counts
    }

    static func agreement(_ mine: String, _ reference: String) -> (recall: Double, precision: Double) {
        let a = words(mine)
        let b = words(reference)
        let common = a.reduce(0) { $0 + min($1.value, b[$1.key] ?? 0) }
        let total = { (c: [String: Int]) in max(1, c.values.reduce(0, +)) }
        return (Double(common) / Double(total(b)), Double(common) / Double(total(a)))
    }

    /// The running headers and footers the fixtures print (pdftotext keeps them; the
    /// parser drops them).
    static func isRunningLine(_ line: Substring) -> Bool {
        let line = line.trimmingCharacters(in: .whitespacesAndNewlines)  // pdftotext starts pages with a form feed
        return line == "Harbour Light Survey 2023" || line.wholeMatch(of: /Page \d+ of \d+/) != nil
    }

    /// As read by the parser: at least 98 % of pdftotext's words outside the running
    /// headers and footers, and 98 % of the parser's words are pdftotext's.
    @Test(arguments: fixtures)
    func wordsAgreeWithPdftotext(_ name: String) throws {
        let parsed = try PDFFixtures.parse(name, with: PDFFixtures.parser())
        let mine = parsed.documents.map(\.text).joined(separator: "\n")
        let reference = try PDFFixtures.pdftotext(name).split(separator: "\n").filter { !Self.isRunningLine($0) }
        let (recall, precision) = Self.agreement(mine, reference.joined(separator: "\n"))
        #expect(recall >= 0.98, "\(name): \(recall)")
        #expect(precision >= 0.98, "\(name): \(precision)")
    }

    /// With the headers and footers kept, the parser's words are pdftotext's, which joins
    /// hyphenated words too.
    @Test(arguments: fixtures)
    func extractionMatchesPdftotext(_ name: String) throws {
        let parser = try PDFFixtures.parser { $0.dropRepeatedLines = false }
        let mine = try PDFFixtures.parse(name, with: parser).documents.map(\.text).joined(separator: "\n")
        let (recall, precision) = Self.agreement(mine, try PDFFixtures.pdftotext(name))
        #expect(recall >= 0.98, "\(name): \(recall)")
        #expect(precision >= 0.98, "\(name): \(precision)")
    }
}
