import Foundation
import Ingest
import TestSupport
import Testing

/// The built `quiver` binary, run as a subprocess on the sample corpus.
@Suite struct IndexCommandTests {
    static let data = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("data").path

    func run(_ arguments: [String]) throws -> (status: Int32, out: String) {
        let binary = try #require(BuiltProducts.executable("quiver"), "quiver is not built beside the tests")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = arguments
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test func indexesTheSampleCorpusAndFindsAnswersOffline() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let first = try run(["index", Self.data, "--store", dir.path, "--json"])
        #expect(first.status == 0)
        let report = try JSONSerialization.jsonObject(with: Data(first.out.utf8)) as? [String: Any]
        #expect(((report?["added"] as? [String])?.count ?? 0) >= 12)
        #expect((report?["issues"] as? [String])?.isEmpty == true)

        let search = try run(["search", "Who rowed out to rescue the survivors of a shipwreck?", "--store", dir.path, "--json", "-k", "1"])
        #expect(search.status == 0)
        let hits = (try JSONSerialization.jsonObject(with: Data(search.out.utf8)) as? [String: Any])?["hits"] as? [[String: Any]]
        #expect(hits?.first?["source"] as? String == "keepers/famous-keepers.txt")

        // A second run writes nothing; a bad flag is a usage error (exit 2).
        let again = try run(["index", Self.data, "--store", dir.path, "--json"])
        let second = try JSONSerialization.jsonObject(with: Data(again.out.utf8)) as? [String: Any]
        #expect((second?["chunks_written"] as? Int) == 0)
        #expect(try run(["index", Self.data, "--splitter", "nonsense"]).status == 2)
    }
}

extension IndexCommandTests {
    /// `--encoding i8` makes a compact collection that searches and reports its encoding;
    /// asking for another encoding later is refused, naming it, and nothing changes.
    @Test func compactEncodingFromTheCommandLine() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        #expect(try run(["index", Self.data, "--store", dir.path, "--embedder", "hash", "--encoding", "i8"]).status == 0)
        let stats = try run(["stats", "--store", dir.path, "--json"])
        let object = try JSONSerialization.jsonObject(with: Data(stats.out.utf8)) as? [String: Any]
        let collections = object?["collections"] as? [[String: Any]]
        #expect(collections?.first?["encoding"] as? String == "i8")
        let records = collections?.first?["records"] as? Int
        let search = try run(["search", "lighthouse keeper", "--store", dir.path, "--json", "-k", "2", "--mode", "dense"])
        #expect(search.status == 0)
        let hits = (try JSONSerialization.jsonObject(with: Data(search.out.utf8)) as? [String: Any])?["hits"] as? [[String: Any]]
        #expect(hits?.count == 2)
        let other = try run(["index", Self.data, "--store", dir.path, "--embedder", "hash", "--encoding", "f16"])
        #expect(other.status != 0)
        let after =
            try JSONSerialization.jsonObject(with: Data(try run(["stats", "--store", dir.path, "--json"]).out.utf8)) as? [String: Any]
        #expect((after?["collections"] as? [[String: Any]])?.first?["records"] as? Int == records)
        #expect(try run(["index", Self.data, "--encoding", "f8"]).status == 2)
    }
}
