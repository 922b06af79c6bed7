import Foundation
import Ingest
import TestSupport
import Testing

/// The built `quiver` fed what a careless or hostile user gives it: it must refuse with a
/// clear message and a meaningful exit status, never crash.
@Suite struct HostileInputTests {
    /// A folder with one small document.
    func corpus(_ dir: TemporaryDirectory) throws -> String {
        let corpus = dir.sub("corpus")
        try FileManager.default.createDirectory(atPath: corpus, withIntermediateDirectories: true)
        try "Lighthouses guide ships past the rocks.".write(toFile: corpus + "/a.txt", atomically: true, encoding: .utf8)
        return corpus
    }

    /// `--dimensions 0` once died with an illegal instruction (exit 132): the hashing
    /// embedder's precondition, or a division by zero, for any value below 8.
    @Test func anInvalidDimensionIsAUsageErrorNamingTheFlag() throws {
        let dir = TemporaryDirectory("quiver-hostile")
        defer { dir.remove() }
        let corpus = try corpus(dir)
        let store = dir.sub("store")
        for value in ["0", "-1", "7", "65537"] {
            var commands = [
                ["index", corpus, "--store", store, "--embedder", "hash", "--dimensions=\(value)"],
                ["index", corpus, "--store", store, "--dimensions=\(value)"],
                ["embed", "hello", "--embedder", "hash", "--dimensions=\(value)"],
            ]
            if Int(value)! <= 0 { commands.append(["embed", "hello", "--embedder", "openai", "--model", "m", "--dimensions=\(value)"]) }
            for command in commands {
                let r = try runProduct(command)
                #expect(r.status == 2, "\(command): \(r.status) \(r.err)")
                #expect(r.err.contains("--dimensions"), "\(command): \(r.err)")
            }
        }
        #expect(!FileManager.default.fileExists(atPath: store + "/data.mdb"))
        let ok = try runProduct(["embed", "hello", "--embedder", "hash", "--dimensions", "8", "--json"])
        #expect(ok.status == 0, "\(ok.err)")
    }

    /// A store file is input too: a hash collection recording 3 dimensions is refused by
    /// `search`, naming the collection, instead of crashing in the rebuilt embedder.
    @Test func aRecordedDimensionTheEmbedderCannotMakeIsAnError() throws {
        let dir = TemporaryDirectory("quiver-hostile")
        defer { dir.remove() }
        let store = dir.sub("store")
        do {
            let settings = CollectionSettings(
                dimension: 3, metric: .cosine, configuration: [EmbedderRecord.identifierKey: "hash/fh-w1b2c3-v1/3"])
            _ = try Store(path: store).createCollection("docs", settings: settings)
        }
        let r = try runProduct(["search", "lighthouse", "--store", store])
        #expect(r.status == 1, "\(r.status) \(r.err)")
        #expect(r.err.contains("collection \"docs\""), "\(r.err)")
        #expect(r.err.contains("not 3"), "\(r.err)")
    }
}
