import Foundation
import TestSupport
import Testing

/// `quiver index` on a folder holding a file no parser takes.
@Suite struct UnsupportedFileTests {
    /// The start of a Photoshop file (a format Quiver does not read): its magic, then binary bytes.
    static let psd = Array("8BPS".utf8) + [0x00, 0x01, 0x00, 0x00, 0xFF, 0x0A] + Array("layers".utf8)

    @Test func quiverIndexNotesTheUnsupportedFileAndExitsZero() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let corpus = dir.sub("data")
        try FileManager.default.copyItem(atPath: IndexCommandTests.data, toPath: corpus)
        try Data(Self.psd).write(to: URL(fileURLWithPath: corpus + "/places/brochure.psd"))
        let json = try runProduct(["index", corpus, "--store", dir.sub("store"), "--embedder", "hash", "--json"])
        #expect(json.status == 0, "\(json.err)")
        let report = try JSONSerialization.jsonObject(with: Data(json.out.utf8)) as? [String: Any]
        #expect(report?["issues"] as? [String] == ["places/brochure.psd: unsupported (no parser for .psd)"])
        #expect((report?["failed"] as? [Any])?.isEmpty == true)
        #expect(((report?["added"] as? [String])?.count ?? 0) >= 12)
        let text = try runProduct(["index", corpus, "--store", dir.sub("store"), "--embedder", "hash"])
        #expect(text.status == 0, "\(text.err)")
        #expect(text.out.contains("note: places/brochure.psd: unsupported (no parser for .psd)"))
    }

    /// Two folders that both hold an unsupported file of one name do not clash: neither
    /// file becomes a document.
    @Test func unsupportedFilesOfOneNameInTwoFoldersDoNotClash() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        for (folder, text) in [("a", "Fog signals sound."), ("b", "Lamps burn oil.")] {
            try FileManager.default.createDirectory(atPath: dir.sub("\(folder)/img"), withIntermediateDirectories: true)
            try Data(Self.psd).write(to: URL(fileURLWithPath: dir.sub("\(folder)/img/logo.psd")))
            try text.write(toFile: dir.sub("\(folder)/\(folder).txt"), atomically: true, encoding: .utf8)
        }
        let r = try runProduct(["index", dir.sub("a"), dir.sub("b"), "--store", dir.sub("store"), "--embedder", "hash", "--json"])
        #expect(r.status == 0, "\(r.err)")
        let report = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any]
        #expect((report?["added"] as? [String])?.sorted() == ["a.txt", "b.txt"])
        #expect((report?["issues"] as? [String])?.count == 2)
    }
}
