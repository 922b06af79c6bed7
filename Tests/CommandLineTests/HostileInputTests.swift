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

    /// Relative links back up (`ln -s . sub/self`, `ln -s .. sub/up`) and a 14-level diamond
    /// of links once indexed one file thousands of times: each real file is one document.
    @Test func linkLoopsAndDiamondsIndexEachFileOnce() throws {
        let dir = TemporaryDirectory("quiver-hostile")
        defer { dir.remove() }
        let fm = FileManager.default
        let corpus = try corpus(dir)
        try fm.createDirectory(atPath: corpus + "/sub", withIntermediateDirectories: true)
        try "Fog horns sound in fog.".write(toFile: corpus + "/sub/b.txt", atomically: true, encoding: .utf8)
        try fm.createSymbolicLink(atPath: corpus + "/sub/self", withDestinationPath: ".")
        try fm.createSymbolicLink(atPath: corpus + "/sub/up", withDestinationPath: "..")
        for level in 0...14 {
            let folder = dir.sub("levels/\(level)")
            try fm.createDirectory(atPath: folder, withIntermediateDirectories: true)
            if level < 14 {
                try fm.createSymbolicLink(atPath: folder + "/a", withDestinationPath: "../\(level + 1)")
                try fm.createSymbolicLink(atPath: folder + "/b", withDestinationPath: "../\(level + 1)")
            } else {
                try "The keeper's log.".write(toFile: folder + "/log.txt", atomically: true, encoding: .utf8)
            }
        }
        try fm.createSymbolicLink(atPath: corpus + "/diamond", withDestinationPath: "../levels/0")
        let r = try runProduct(["index", corpus, "--store", dir.sub("store"), "--embedder", "hash", "--json"])
        #expect(r.status == 0, "\(r.err)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        let deepest = "diamond/" + String(repeating: "a/", count: 14) + "log.txt"
        #expect((report["added"] as? [String])?.sorted() == ["a.txt", deepest, "sub/b.txt"])
        let issues = try #require(report["issues"] as? [String])
        #expect(issues.count == 2 && issues.allSatisfy { $0.contains("symlinkLoop") }, "\(issues)")
    }
}
