import Foundation
import TestSupport
import Testing

/// `quiver index` on a folder holding a file no parser takes.
@Suite struct UnsupportedFileTests {
    /// The start of a PDF file: its magic, then binary bytes.
    static let pdf = Array("%PDF-1.7\n".utf8) + [0x00, 0xFF, 0x0A] + Array("trailer".utf8)

    @Test func quiverIndexNotesTheUnsupportedFileAndExitsZero() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let corpus = dir.sub("data")
        try FileManager.default.copyItem(atPath: IndexCommandTests.data, toPath: corpus)
        try Data(Self.pdf).write(to: URL(fileURLWithPath: corpus + "/places/brochure.pdf"))
        let json = try runProduct(["index", corpus, "--store", dir.sub("store"), "--embedder", "hash", "--json"])
        #expect(json.status == 0, "\(json.err)")
        let report = try JSONSerialization.jsonObject(with: Data(json.out.utf8)) as? [String: Any]
        #expect(report?["issues"] as? [String] == ["places/brochure.pdf: unsupported (no parser for .pdf)"])
        #expect((report?["failed"] as? [Any])?.isEmpty == true)
        #expect(((report?["added"] as? [String])?.count ?? 0) >= 12)
        let text = try runProduct(["index", corpus, "--store", dir.sub("store"), "--embedder", "hash"])
        #expect(text.status == 0, "\(text.err)")
        #expect(text.out.contains("note: places/brochure.pdf: unsupported (no parser for .pdf)"))
    }
}
