import Foundation
import Testing
import TestSupport
@testable import VectorStore

@Suite struct RecordTests {
    func makeStore() throws -> (TemporaryDirectory, Store) {
        let dir = TemporaryDirectory()
        return (dir, try Store(path: dir.path))
    }

    @Test func upsertGetReplaceDelete() throws {
        let (dir, store) = try makeStore()
        defer { dir.remove() }
        let c = try store.createCollection("c", dimension: 3, metric: .dot)
        let meta: [String: MetadataValue] = ["lang": "en", "year": 2024, "score": 0.5, "draft": false, "tags": ["a", "b"]]
        try c.upsert([
            Record(id: "a", vector: [1, 0, 0], text: "alpha", metadata: meta),
            Record(id: "b", vector: [0, 1, 0], text: "beta"),
        ])
        #expect(try c.count() == 2)
        let a = try #require(try c.get("a"))
        #expect(a.vector == [1, 0, 0])
        #expect(a.text == "alpha")
        #expect(a.metadata == meta)
        #expect(try c.get("zzz") == nil)

        // Replace keeps one record per id, with the new contents.
        try c.upsert([Record(id: "a", vector: [0, 0, 2], text: "alpha 2", metadata: ["lang": "de"])])
        #expect(try c.count() == 2)
        let a2 = try #require(try c.get("a"))
        #expect(a2.vector == [0, 0, 2])
        #expect(a2.metadata == ["lang": "de"])
        // The old metadata no longer matches.
        #expect(try c.search([1, 1, 1], k: 5, filter: .equals("lang", "en")).isEmpty)
        #expect(try c.search([1, 1, 1], k: 5, filter: .equals("lang", "de")).map(\.id) == ["a"])

        // Last record of an id within one batch wins.
        try c.upsert([Record(id: "d", vector: [1, 1, 1], text: "first"), Record(id: "d", vector: [2, 2, 2], text: "second")])
        #expect(try c.get("d")?.text == "second")
        #expect(try c.count() == 3)

        #expect(try c.delete(ids: ["a", "missing"]) == 1)
        #expect(try c.get("a") == nil)
        #expect(try c.count() == 2)
        #expect(try c.delete(where: .equals("lang", "de")) == 0)
        #expect(try store.check().isHealthy)
    }

    @Test func deleteByFilter() throws {
        let (dir, store) = try makeStore()
        defer { dir.remove() }
        let c = try store.createCollection("c", dimension: 2, metric: .l2)
        try c.upsert(
            (0..<100).map { i in
                Record(id: "r\(i)", vector: [Float(i), 1], metadata: ["parity": i % 2 == 0 ? "even" : "odd", "i": .int(Int64(i))])
            })
        #expect(try c.delete(where: .and([.equals("parity", "even"), .range("i", lower: 10, upper: 20)])) == 6)
        #expect(try c.count() == 94)
        #expect(try c.get("r12") == nil)
        #expect(try c.get("r13") != nil)
        #expect(try c.delete(where: .not(.equals("parity", "odd"))) == 44)
        #expect(try c.count() == 50)
        #expect(try store.check().isHealthy)
    }

    /// The components are checked eight at a time: a NaN or an infinity in the eight-wide
    /// part or in the tail is named by its position, finite components whose squares
    /// overflow are told apart from non-finite ones, and cosine vectors are stored at unit
    /// length.
    @Test func componentsAreCheckedInLanesAndTheTail() throws {
        let (dir, store) = try makeStore()
        defer { dir.remove() }
        let cosine = try store.createCollection("cos", dimension: 20, metric: .cosine)
        let l2 = try store.createCollection("l2", dimension: 20, metric: .l2)
        for (position, bad) in [(9, Float.nan), (18, -Float.infinity), (0, Float.infinity), (19, Float.nan)] {
            var v = [Float](repeating: 1, count: 20)
            v[position] = bad
            for c in [cosine, l2] {
                let error = #expect(throws: StoreError.self) { try c.upsert([Record(id: "bad", vector: v)]) }
                #expect(error?.code == .invalidVector && error?.input == "component \(position)")
            }
        }
        let huge = [Float](repeating: 1e20, count: 20)
        let overflow = #expect(throws: StoreError.self) { try l2.upsert([Record(id: "huge", vector: huge)]) }
        #expect(overflow?.code == .invalidVector && overflow?.message.contains("overflows") == true)
        #expect(throws: StoreError.self) { try cosine.upsert([Record(id: "huge", vector: huge)]) }
        let v = (0..<20).map { Float($0) - 7.5 }
        try cosine.upsert([Record(id: "ok", vector: v)])
        let stored = try #require(try cosine.get("ok")).vector
        #expect(abs(stored.map { $0 * $0 }.reduce(0, +) - 1) < 1e-5)
        let length = v.map { $0 * $0 }.reduce(0, +).squareRoot()
        #expect(zip(stored, v).allSatisfy { abs($0 - $1 / length) < 1e-6 })
        #expect(try cosine.count() == 1 && l2.count() == 0)
    }

    @Test func badInputIsRejectedAndNothingOfTheBatchIsWritten() throws {
        let (dir, store) = try makeStore()
        defer { dir.remove() }
        let c = try store.createCollection("c", dimension: 4, metric: .cosine)
        try c.upsert([Record(id: "keep", vector: [1, 2, 3, 4], text: "kept")])
        let good = Record(id: "new", vector: [1, 1, 1, 1])

        let dimError = #expect(throws: StoreError.self) { try c.upsert([good, Record(id: "short", vector: [1, 2, 3])]) }
        #expect(dimError?.code == .dimensionMismatch)
        #expect(dimError?.recordID == "short" && dimError?.collection == "c")
        #expect(dimError?.actual == "3" && dimError?.expected == "4")

        let nanError = #expect(throws: StoreError.self) { try c.upsert([good, Record(id: "nan", vector: [1, .nan, 0, 0])]) }
        #expect(nanError?.code == .invalidVector)
        #expect(nanError?.recordID == "nan" && nanError?.input == "component 1" && nanError?.actual == "nan")
        let infError = #expect(throws: StoreError.self) { try c.upsert([Record(id: "inf", vector: [1, 0, .infinity, 0]), good]) }
        #expect(infError?.code == .invalidVector)
        let zeroError = #expect(throws: StoreError.self) { try c.upsert([Record(id: "zero", vector: [0, 0, 0, 0])]) }
        #expect(zeroError?.code == .invalidVector)

        let emptyID = #expect(throws: StoreError.self) { try c.upsert([good, Record(id: "", vector: [1, 0, 0, 0])]) }
        #expect(emptyID?.code == .invalidID)
        #expect(emptyID?.input == "batch position 1" && emptyID?.recordID == "")
        let longID = #expect(throws: StoreError.self) {
            try c.upsert([Record(id: String(repeating: "x", count: 300), vector: [1, 0, 0, 0])])
        }
        #expect(longID?.code == .invalidID)

        let huge: [String: MetadataValue] = ["blob": .string(String(repeating: "m", count: 70_000))]
        let metaError = #expect(throws: StoreError.self) { try c.upsert([good, Record(id: "big", vector: [1, 0, 0, 0], metadata: huge)]) }
        #expect(metaError?.code == .invalidMetadata)
        #expect(metaError?.recordID == "big" && metaError?.expected == "at most 65536 bytes")
        let badField = #expect(throws: StoreError.self) { try c.upsert([Record(id: "f", vector: [1, 0, 0, 0], metadata: ["": 1])]) }
        #expect(badField?.code == .invalidMetadata)

        #expect(try c.count() == 1)
        #expect(try c.get("new") == nil)
        #expect(try c.get("keep")?.text == "kept")

        let q = #expect(throws: StoreError.self) { try c.search([1, 2], k: 3) }
        #expect(q?.code == .dimensionMismatch)
        #expect(throws: StoreError.self) { try c.search([1, 2, 3, 4], k: 0) }
        #expect(throws: StoreError.self) { try c.search([1, 2, 3, .nan], k: 1) }
        #expect(throws: StoreError.self) { try c.search([1, 2, 3, 4], k: 1, filter: .equals("x", ["a", "b"])) }
        #expect(try store.check().isHealthy)
    }

    @Test func asyncFormsWork() async throws {
        let (dir, store) = try makeStore()
        defer { dir.remove() }
        let c = try await store.createCollection("c", dimension: 2, metric: .dot)
        #expect(try await store.collections().map(\.name) == ["c"])
        #expect(try await store.collection("c").info == c.info)
        _ = try await store.openOrCreateCollection("d", dimension: 3, metric: .l2)
        #expect(try await store.dropCollection("d"))
        try await c.upsert([Record(id: "a", vector: [1, 0]), Record(id: "b", vector: [0, 1])])
        #expect(try await c.count() == 2)
        #expect(try await c.search([1, 0.1], k: 1).first?.id == "a")
        #expect(try await c.search(batch: [[1, 0], [0, 1]], k: 1).map { $0.first?.id } == ["a", "b"])
        #expect(try await c.get("b")?.vector == [0, 1])
        #expect(try await c.delete(ids: ["a"]) == 1)
        #expect(try await store.check().isHealthy)
    }

    @Test func repeatedUpsertsOfTheSameIDsDoNotGrowTheFile() throws {
        let (dir, store) = try makeStore()
        defer { dir.remove() }
        let c = try store.createCollection("c", dimension: 64, metric: .cosine)
        var rng = SeededGenerator(seed: 3)
        func round() throws {
            try c.upsert(
                (0..<1000).map { i in
                    Record(id: "doc\(i)", vector: rng.vector(64), text: String(repeating: "w", count: 300), metadata: ["n": .int(Int64(i))])
                })
        }
        for _ in 0..<10 { try round() }
        let after10 = try store.fileSize()
        for _ in 0..<40 { try round() }
        let after50 = try store.fileSize()
        #expect(try c.count() == 1000)
        // Freed pages are reused: 40 more rounds must not add 40 rounds' worth of data.
        #expect(after50 <= after10 * 3 / 2, "file grew from \(after10) to \(after50) bytes")
        #expect(try store.check().isHealthy)
    }

    @Test func partialDeletesAreReclaimedByMergesAndCompact() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        var options = StoreOptions()
        options.maxBlockBytes = 64 * 1024  // 512 rows of dim 32: exercises merges and full blocks
        let store = try Store(path: dir.path, options: options)
        let c = try store.createCollection("c", dimension: 32, metric: .dot)
        var rng = SeededGenerator(seed: 11)
        var reference = BruteForce(metric: .dot)
        for b in 0..<30 {
            let batch = (0..<100).map { i in Record(id: "r\(b * 100 + i)", vector: rng.vector(32), metadata: ["b": .int(Int64(b))]) }
            try c.upsert(batch)
            reference.upsert(batch)
        }
        let victims = (0..<3000).filter { $0 % 3 != 0 }.map { "r\($0)" }
        try c.delete(ids: victims)
        reference.delete(victims)
        let blocks = try c.compact()
        // 1000 live rows in blocks of at most 512 rows; compaction leaves no tombstone and
        // at most one block under half full (clean blocks at least half full stay as they are).
        let views = try c.read { try c.blockViews($0) }
        #expect(blocks == views.count)
        #expect(blocks == 3)  // for this seed: 433 + 434 + 133 rows
        #expect(views.reduce(0) { $0 + $1.live } == 1000)
        #expect(views.filter { $0.live * 2 < 512 }.count <= 1)
        #expect(views.allSatisfy { $0.dead == 0 })
        #expect(views.filter { $0.count < 256 }.count <= 1)
        #expect(views.reduce(0) { $0 + $1.count } == 1000)
        let q = rng.vector(32)
        #expect(try c.search(q, k: 10).map(\.id) == reference.search(q, k: 10).map(\.id))
        #expect(try store.check().isHealthy)
    }
}

@Suite struct DistinctValueTests {
    @Test func distinctStringValuesComeFromTheIndex() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let c = try Store(path: dir.path).openOrCreateCollection("c", dimension: 4, metric: .dot)
        #expect(try c.distinctStringValueCount(of: "doc") == 0)
        let long = String(repeating: "x", count: 500)
        try c.upsert(
            (0..<30).map { i in
                Record(
                    id: "r\(i)", vector: [1, 0, 0, Float(i)],
                    metadata: ["doc": .string(i < 20 ? "d\(i % 7)" : long + "\(i % 2)"), "docx": "other", "n": .int(Int64(i))])
            })
        #expect(try c.distinctStringValueCount(of: "doc") == 9)  // d0…d6 and two long values
        #expect(try c.distinctStringValueCount(of: "docx") == 1)  // a field whose name extends another's
        #expect(try c.distinctStringValueCount(of: "n") == 0)  // numbers are not strings
        _ = try c.delete(where: .equals("doc", "d3"))
        #expect(try c.distinctStringValueCount(of: "doc") == 8)
    }
}
