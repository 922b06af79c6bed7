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

    /// A file name holding `ESC ] 0 ; … BEL` set the terminal's title, and text holding
    /// colour sequences recoloured it: human output shows them escaped, `--json` exactly.
    @Test func controlCharactersReachTheTerminalEscapedAndJSONExactly() throws {
        let dir = TemporaryDirectory("quiver-hostile")
        defer { dir.remove() }
        let corpus = dir.sub("corpus")
        let store = dir.sub("store")
        try FileManager.default.createDirectory(atPath: corpus, withIntermediateDirectories: true)
        let name = "evil\u{1B}]0;pwned\u{07}.txt"
        let text = "Lighthouse keepers \u{1B}[31mrowed\u{1B}[0m out to the wreck.\u{1B}]0;title\u{07} \u{202E}reversed\u{202C} text.\r"
        try text.write(toFile: corpus + "/" + name, atomically: true, encoding: .utf8)
        try "".write(toFile: corpus + "/empty\u{1B}[2J\u{9B}.txt", atomically: true, encoding: .utf8)
        let escapedName = "evil\\u{1B}]0;pwned\\u{7}.txt"

        func expectClean(_ r: ProcessOutput, _ what: String, sourceLines: Int = 1) {
            for (stream, output) in [("stdout", r.out), ("stderr", r.err)] {
                let bad = output.unicodeScalars.filter {
                    ($0.value < 0x20 && $0 != "\n") || (0x7F...0x9F).contains($0.value) || (0x202A...0x202E).contains($0.value)
                        || (0x2066...0x2069).contains($0.value)
                }
                #expect(bad.isEmpty, "\(what) \(stream): \(bad.map { String($0.value, radix: 16) }) in \(output.debugDescription)")
            }
        }
        func json(_ r: ProcessOutput) throws -> [String: Any] {
            try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any], "\(r.out)")
        }

        let index = try runProduct(["index", corpus, "--store", store, "--embedder", "hash", "--verbose"])
        #expect(index.status == 0, "\(index.err)")
        expectClean(index, "index")
        #expect(index.out.contains("added    " + escapedName), "\(index.out)")
        #expect(index.out.contains("note: empty\\u{1B}[2J\\u{9B}.txt: empty"), "\(index.out)")

        let dry = try runProduct(["index", corpus, "--store", dir.sub("other"), "--embedder", "hash", "--json", "--dry-run"])
        #expect(try json(dry)["added"] as? [String] == [name])

        let search = try runProduct(["search", "lighthouse keepers rowed", "--store", store])
        #expect(search.status == 0, "\(search.err)")
        expectClean(search, "search")
        #expect(search.out.contains(escapedName), "\(search.out)")
        #expect(search.out.contains("\\u{1B}[31mrowed"), "\(search.out)")
        let searchJSON = try runProduct(["search", "lighthouse keepers rowed", "--store", store, "--json"])
        let hit = try #require((try json(searchJSON)["hits"] as? [[String: Any]])?.first)
        #expect(hit["source"] as? String == name)
        #expect((hit["text"] as? String)?.contains("\u{1B}[31mrowed\u{1B}[0m") == true)

        let query = try runProduct(["query", "Who rowed out to the wreck?", "--store", store, "--llm", "none"])
        #expect(query.status == 0, "\(query.err)")
        expectClean(query, "query")
        #expect(query.out.contains(escapedName), "\(query.out)")
        let queryJSON = try runProduct(["query", "Who rowed out to the wreck?", "--store", store, "--llm", "none", "--json"])
        let cited = try #require((try json(queryJSON)["hits"] as? [[String: Any]])?.first)
        #expect(cited["source"] as? String == name)

        let repl = try runProduct(["repl", "--store", store, "--llm", "none"], input: "Who rowed out to the wreck?\n:sources\n")
        #expect(repl.status == 0, "\(repl.err)")
        expectClean(repl, "repl")

        // Errors name the bad input, escaped.
        let missing = try runProduct(["index", corpus + "/no\u{1B}]0;such\u{07}", "--store", store])
        #expect(missing.status == 1)
        expectClean(missing, "index error")
        #expect(missing.err.contains("no\\u{1B}]0;such\\u{7}"), "\(missing.err)")
        let notAStore = try runProduct(["search", "x", "--store", corpus + "/\u{1B}[2J"])
        #expect(notAStore.status != 0)
        expectClean(notAStore, "search error")
    }
}
