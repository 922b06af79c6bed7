import Foundation
import Ingest
import TestSupport
import Testing

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
            let text = (0..<(3 + i % 9)).map { "Paragraph \($0) of file \(i): " + GeneratedText.text(&rng, length: 30) }.joined(
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
