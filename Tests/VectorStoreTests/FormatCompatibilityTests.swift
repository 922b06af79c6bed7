import Foundation
import Testing
import TestSupport
@testable import VectorStore

/// Stores written by older releases keep opening, searching and checking. The fixtures
/// under `Fixtures/` were written by the code of the format they are named after and are
/// never regenerated (see their README).
@Suite struct FormatCompatibilityTests {
    /// A writable copy of a fixture store (opening may clean up, and LMDB needs a lock file).
    static func copy(_ name: String) throws -> TemporaryDirectory {
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures").appendingPathComponent(name).appendingPathComponent("data.mdb")
        let dir = TemporaryDirectory("quiver-format")
        try FileManager.default.copyItem(atPath: source.path, toPath: dir.sub("data.mdb"))
        return dir
    }

    @Test func formatOneStoreOpensSearchesAndChecks() throws {
        let dir = try Self.copy("format-1")
        defer { dir.remove() }
        let store = try Store(path: dir.path)
        #expect(try store.collections().map(\.name) == ["docs", "places"])
        let docs = try store.collection("docs")
        #expect(docs.dimension == 32)
        #expect(docs.metric == .cosine)
        #expect(docs.info.encoding == .float32)  // not recorded by format 1: f32
        #expect(docs.info.configuration["embedder"] == "hash/fh-w1b2c3-v1/32")
        #expect(try docs.count() == 80)
        #expect(try store.collection("places").count() == 7)

        // Every live record, read back through the metadata index.
        let metadata = try docs.metadata(where: .exists("doc"))
        #expect(metadata.count == 80)
        #expect(!metadata.values.contains { $0["doc"] == .string("history/pharos.md") })  // deleted: tombstones
        let ids = metadata.keys.sorted()
        let records = try docs.get(ids).compactMap { $0 }
        #expect(records.count == 80)
        let known = try #require(try docs.get("keepers/famous-keepers.txt#1"))
        #expect(known.text.contains("rowed out with her father in 1838"))

        // Search agrees with a brute-force reference, with and without a filter.
        var reference = BruteForce(metric: .cosine)
        reference.upsert(records)
        for query in records.prefix(6).map(\.vector) {
            let hits = try docs.search(query, k: 7)
            let expected = reference.search(query, k: 7)
            #expect(hits.map(\.id) == expected.map(\.id))
            for (h, e) in zip(hits, expected) { #expect(abs(Double(h.score) - e.score) < 1e-5) }
            let filtered = try docs.search(query, k: 3, filter: .equals("source", "technology/fog-signals.txt"))
            let expectedFiltered = reference.search(query, k: 3) { $0["source"] == .string("technology/fog-signals.txt") }
            #expect(filtered.map(\.id) == expectedFiltered.map(\.id))
        }
        let before = try store.check()
        #expect(before.isHealthy)
        // Its blocks and records were written before checksums: healthy, not verifiable.
        #expect(before.unsealedBlocks > 0 && before.verifiedBlocks == 0)
        #expect(before.unsealedRecords == 87 && before.verifiedRecords == 0, "\(before)")

        // No commit of this release stamped it yet (`quiver.meta`'s `commit`): reads carry no
        // stamp, so searches do not share block walks between reads.
        #expect(try store.env.read { $0.stamp } == nil)
        #expect(docs.blockDirectory.withLock { $0 == nil })

        // It stays writable: a new record is found, and the store still checks.
        try docs.upsert([Record(id: "new#0", vector: known.vector, text: "new", metadata: ["doc": "new"])])
        #expect(try docs.search(known.vector, k: 2).map(\.id).sorted() == ["keepers/famous-keepers.txt#1", "new#0"])
        // The write stamped its id; from now on reads of one snapshot share the walk.
        let stamped = try store.env.read { (stamp: $0.stamp, id: $0.id) }
        #expect(stamped.stamp == UInt64(stamped.id))
        #expect(docs.blockDirectory.withLock { $0?.key.commit } == stamped.stamp)
        let after = try store.check()
        #expect(after.isHealthy && after.verifiedRecords == 1 && after.unsealedRecords == 87, "\(after)")
        // The new record is sealed, which older readers cannot decode: the version rises.
        #expect(try store.formatVersion() == Int(Format.sealedRecordsVersion))
    }

    /// Compacting a format-1 store rewrites its records sealed with checksums, with the
    /// same fields, and raises the store's version; a second compact rewrites none.
    @Test func compactSealsOldRecords() throws {
        let dir = try Self.copy("format-1")
        defer { dir.remove() }
        let store = try Store(path: dir.path)
        let docs = try store.collection("docs")
        let ids = try docs.metadata(where: .exists("doc")).keys.sorted()
        let before = try docs.get(ids)
        #expect(try store.formatVersion() == 1)
        try docs.compact()
        #expect(try store.formatVersion() == Int(Format.sealedRecordsVersion))
        let after = try docs.get(ids)
        #expect(after.count == 80)
        for (a, b) in zip(before, after) {
            #expect(a?.id == b?.id && a?.text == b?.text && a?.metadata == b?.metadata && a?.vector == b?.vector)
        }
        #expect(try docs.sealRecords() == 0)
        let report = try store.check(collection: "docs")
        #expect(report.isHealthy && report.verifiedRecords == 80 && report.unsealedRecords == 0, "\(report)")
        // The other collection was not compacted: its records are still the old ones.
        #expect(try store.check(collection: "places").unsealedRecords == 7)
    }

    /// A format-1 collection has no keyword index: keyword search is refused with the
    /// repair named, and `buildKeywordIndex` makes one from its stored texts (no
    /// re-embedding) that finds the rescue story and passes check.
    @Test func formatOneCollectionGetsAKeywordIndex() throws {
        let dir = try Self.copy("format-1")
        defer { dir.remove() }
        let store = try Store(path: dir.path)
        let old = try store.collection("docs")
        #expect(old.info.keywordAnalyzer == nil)
        #expect(throws: QuiverError.self) { try old.search(SearchRequest(texts: ["rowed"], k: 3, mode: .keyword)) }
        let docs = try store.buildKeywordIndex(of: "docs")
        let hits = try docs.search(SearchRequest(texts: ["rowed out with her father"], k: 3, mode: .keyword)).hits[0]
        #expect(hits.first?.id == "keepers/famous-keepers.txt#1")
        #expect(try store.check().isHealthy)
        #expect(try Store(path: dir.path).collection("docs").keywordIndex != nil)
    }

    /// Compacting a format-1 store rewrites its blocks sealed with checksums.
    @Test func compactSealsOldBlocks() throws {
        let dir = try Self.copy("format-1")
        defer { dir.remove() }
        let store = try Store(path: dir.path)
        for info in try store.collections(includingReserved: true) { try store.collection(info.name).compact() }
        let report = try store.check()
        #expect(report.isHealthy && report.unsealedBlocks == 0 && report.verifiedBlocks > 0, "\(report)")
    }

    /// A keyword index built before postings were compressed (16-byte duplicates in
    /// `kp`, "QKS1" segments) is recognized, never read: the collection opens, dense
    /// search works, keyword search and writes are refused naming the rebuild, `check`
    /// says the same; `buildKeywordIndex` rebuilds it in the new format (the store's
    /// version rises to 4) with the same ranking, and the old lists are emptied.
    @Test func keywordIndexOfSixteenBytePostingsIsRebuiltNotRead() throws {
        let dir = try Self.copy("keyword-16-byte-postings")
        defer { dir.remove() }
        let store = try Store(path: dir.path)
        #expect(try store.formatVersion() == 1)
        let old = try store.collection("docs")
        let problem = try #require(old.keywordIndexProblem)
        #expect(problem.contains("earlier Quiver") && problem.contains("quiver reindex --keyword"), "\(problem)")
        let question = "Who rowed out to rescue the survivors?"
        let keyword = #expect(throws: QuiverError.self) { try old.search(SearchRequest(texts: [question], k: 3, mode: .keyword)) }
        #expect(keyword?.message == problem)
        let ids = try old.metadata(where: .exists("doc")).keys.sorted()
        let knownID = try #require(ids.first { $0.hasPrefix("famous-keepers.txt#") })
        let known = try #require(try old.get(knownID))
        #expect(try old.search(known.vector, k: 1).first?.id == known.id)
        #expect(throws: QuiverError.self) { try old.upsert([Record(id: "x", vector: [Float](repeating: 0.25, count: 16), text: "x")]) }
        #expect(try old.count() == 38)
        let report = try store.check()
        #expect(report.problems == ["docs: " + problem], "\(report.problems)")

        let docs = try store.buildKeywordIndex(of: "docs")
        #expect(docs.keywordIndexProblem == nil)
        #expect(try store.formatVersion() == 4)
        let hits = try docs.search(SearchRequest(texts: [question], k: 3, mode: .keyword)).hits[0]
        #expect(hits.first?.id.hasPrefix("famous-keepers.txt#") == true)
        #expect(abs((hits.first?.score ?? 0) - 6.820) < 0.001, "\(hits)")
        #expect(try store.check().isHealthy)
        let legacy = try #require(try store.env.openExisting([Format.KeywordTable.legacyPostingsName(cid: docs.info.cid)])[0])
        #expect(try store.env.read { try $0.count(legacy) } == 0)
        try docs.upsert([Record(id: "x", vector: [Float](repeating: 0.25, count: 16), text: "rowed rowed rowed")])
        #expect(try docs.search(SearchRequest(texts: ["rowed"], k: 1, mode: .keyword)).hits[0].first?.id == "x")
    }
}
