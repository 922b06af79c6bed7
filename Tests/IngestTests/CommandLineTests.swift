import Foundation
import Ingest
import TestSupport
import Testing

/// The built `quiver` binary, run as a subprocess on the sample corpus.
@Suite struct CommandLineTests {
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

/// `quiver embed` with the local model: the reference ids and vector of "Hello world".
@Suite(.enabled(if: MiniLMReference.available, MiniLMReference.unavailable))
struct EmbedCommandTests {
    @Test func printsTokensAndVectorsAsJSON() throws {
        let result = try CommandLineTests().run(["embed", "Hello world", "Café", "--embedder", "local", "--json"])
        #expect(result.status == 0)
        let lines = result.out.split(separator: "\n")
        #expect(lines.count == 2)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(object["text"] as? String == "Hello world")
        #expect(object["tokens"] as? [Int] == [101, 7592, 2088, 102])
        let vector = try #require(object["vector"] as? [Double]).map(Float.init)
        #expect(MiniLMReference.cosine(vector, try MiniLMReference.embeddings()[0]) >= 0.9999)

        let plain = try CommandLineTests().run(["embed", "Hello world", "--embedder", "local", "--tokens"])
        let plainLines = plain.out.split(separator: "\n")
        #expect(plainLines.first == "tokens: 101 7592 2088 102")
        #expect(plainLines.last?.split(separator: " ").count == 384)
    }
}

/// Interrupted ingests resume: SIGKILL `quiver index` at random moments, run it again, and
/// the store equals one built without interruption.
@Suite struct ResumeTests {
    @Test func aKilledIndexRunResumesToTheSameResult() throws {
        let binary = try #require(BuiltProducts.executable("quiver"), "quiver is not built beside the tests")
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let corpus = dir.sub("corpus")
        try FileManager.default.createDirectory(atPath: corpus, withIntermediateDirectories: true)
        var rng = SeededGenerator(seed: UInt64(Date().timeIntervalSince1970))
        for i in 0..<300 {
            let text = (0..<(3 + i % 9)).map { "Paragraph \($0) of file \(i): " + SplitterTests.text(&rng, length: 30) }.joined(
                separator: "\n\n")
            try text.write(toFile: corpus + "/f\(i).md", atomically: true, encoding: .utf8)
        }
        func index(_ store: String, killAfter microseconds: UInt32? = nil) throws {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: binary)
            // The hash embedder keeps the many runs fast; the local model is tested elsewhere.
            p.arguments = [
                "index", corpus, "--store", store, "--embedder", "hash", "--chunk-size", "200", "--chunk-overlap", "20", "--json",
            ]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            if let microseconds {
                usleep(microseconds)
                kill(p.processIdentifier, SIGKILL)
            }
            p.waitUntilExit()
        }
        func contents(_ path: String) throws -> [String: String] {
            let c = try Store(path: path).collection("docs")
            var out: [String: String] = [:]
            for id in try c.metadata(where: .exists("doc")).keys { out[id] = try c.get(id)?.text }
            return out
        }
        try index(dir.sub("reference"))
        let expected = try contents(dir.sub("reference"))
        #expect(expected.count > 300)
        for round in 0..<3 {
            try index(dir.sub("killed"), killAfter: UInt32.random(in: 20_000...400_000, using: &rng))
            #expect(try Store(path: dir.sub("killed")).check().isHealthy, "round \(round)")
        }
        try index(dir.sub("killed"))
        #expect(try contents(dir.sub("killed")) == expected)
        #expect(try Store(path: dir.sub("killed")).check().isHealthy)
    }
}
