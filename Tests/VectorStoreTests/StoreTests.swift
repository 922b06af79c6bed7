import Foundation
import Testing
import TestSupport
@testable import VectorStore

@Suite struct StoreTests {
    @Test func createsPersistsAndReopensCollections() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        do {
            let store = try Store(path: dir.path)
            _ = try store.createCollection("docs", dimension: 8, metric: .cosine, configuration: ["embedder": "hash/v1/8"])
            _ = try store.createCollection("images", dimension: 4, metric: .l2)
            #expect(throws: StoreError.self) { try store.createCollection("docs", dimension: 8, metric: .cosine) }
        }
        let store = try Store(path: dir.path)
        let list = try store.collections()
        #expect(list.map(\.name) == ["docs", "images"])
        let docs = try store.collection("docs")
        #expect(docs.dimension == 8)
        #expect(docs.metric == .cosine)
        #expect(docs.info.configuration == ["embedder": "hash/v1/8"])
        // Settings are checked on open.
        let again = try store.openOrCreateCollection("docs", dimension: 8, metric: .cosine, configuration: ["embedder": "hash/v1/8"])
        #expect(again.info == docs.info)
        let e1 = #expect(throws: StoreError.self) { try store.openOrCreateCollection("docs", dimension: 16, metric: .cosine) }
        #expect(e1?.code == .collectionExists)
        #expect(e1?.collection == "docs")
        #expect(e1?.input == "dimension" && e1?.expected == "8" && e1?.actual == "16")
        let e2 = #expect(throws: StoreError.self) {
            try store.openOrCreateCollection("docs", dimension: 8, metric: .cosine, configuration: ["embedder": "openai/x/8"])
        }
        #expect(e2?.input == "embedder" && e2?.expected == "hash/v1/8" && e2?.actual == "openai/x/8")
        let e3 = #expect(throws: StoreError.self) { try store.collection("nope") }
        #expect(e3?.code == .collectionNotFound)
        #expect(e3?.collection == "nope" && e3?.path == dir.path)
    }

    /// A handle kept open while the store's files are removed (or replaced by a backup)
    /// does not stand in for the files there now: opening the directory again reads
    /// them, and the old handle goes on with the files it has open. (The same happens when
    /// a removed directory's inode number is reused by a new one, as in a long test run.)
    @Test func reopeningAfterTheFilesWereReplacedReadsTheNewFiles() throws {
        let dir = TemporaryDirectory()
        let backup = TemporaryDirectory()
        defer {
            dir.remove()
            backup.remove()
        }
        let old = try Store(path: dir.path)
        let oldDocs = try old.createCollection("docs", dimension: 2, metric: .l2)
        try oldDocs.upsert([Record(id: "a", vector: [1, 2])])
        try old.copy(to: backup.sub("copy"))
        try oldDocs.upsert([Record(id: "b", vector: [3, 4])])
        let fm = FileManager.default
        for file in ["data.mdb", "lock.mdb"] { try fm.removeItem(atPath: dir.sub(file)) }
        let fresh = try Store(path: dir.path)
        #expect(try fresh.collections().isEmpty, "a new store, not the removed one")
        _ = try fresh.createCollection("other", dimension: 3, metric: .cosine)
        #expect(try oldDocs.count() == 2)
        #expect(try old.collections().map(\.name) == ["docs"])
        // Files replaced by a backup's while both handles are open.
        for file in ["data.mdb", "lock.mdb"] { try fm.removeItem(atPath: dir.sub(file)) }
        try fm.copyItem(atPath: backup.sub("copy/data.mdb"), toPath: dir.sub("data.mdb"))
        let restored = try Store(path: dir.path)
        #expect(try restored.collection("docs").count() == 1)
        #expect(try restored.check().isHealthy)
        #expect(try fresh.collections().map(\.name) == ["other"])
    }

    @Test func dropRemovesRecordsAndNameCanBeReused() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try Store(path: dir.path)
        let c = try store.createCollection("tmp", dimension: 3, metric: .dot)
        try c.upsert([Record(id: "a", vector: [1, 2, 3], text: "x")])
        #expect(try store.dropCollection("tmp"))
        #expect(try store.dropCollection("tmp") == false)
        // The old handle refuses to work on the dropped collection.
        let e = #expect(throws: StoreError.self) { try c.count() }
        #expect(e?.code == .collectionNotFound)
        let fresh = try store.createCollection("tmp", dimension: 3, metric: .dot)
        #expect(try fresh.count() == 0)
        #expect(throws: StoreError.self) { try c.get("a") }
        // Reopen deletes the trashed tables and keeps the new collection.
        let reopened = try Store(path: dir.path)
        #expect(try reopened.collection("tmp").count() == 0)
        #expect(try reopened.check().isHealthy)
    }

    @Test func rejectsDirectoriesThatAreNotStores() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let other = dir.sub("notes")
        try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
        try "hello".write(toFile: other + "/readme.txt", atomically: true, encoding: .utf8)
        let e1 = #expect(throws: StoreError.self) { try Store(path: other) }
        #expect(e1?.code == .notAStore)
        #expect(e1?.path == other)

        let garbage = dir.sub("garbage")
        try FileManager.default.createDirectory(atPath: garbage, withIntermediateDirectories: true)
        try Data(repeating: 0x41, count: 8192).write(to: URL(fileURLWithPath: garbage + "/data.mdb"))
        let e2 = #expect(throws: StoreError.self) { try Store(path: garbage) }
        #expect(e2?.code == .notAStore)

        let file = dir.sub("file")
        try "x".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(throws: StoreError.self) { try Store(path: file) }

        var noCreate = StoreOptions()
        noCreate.create = false
        let e3 = #expect(throws: StoreError.self) { try Store(path: dir.sub("missing"), options: noCreate) }
        #expect(e3?.code == .notAStore)
    }

    @Test func rejectsUnknownFormatVersion() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        do {
            let store = try Store(path: dir.path)
            try store.env.write { txn in
                try store.metaDB.put(txn, MetaKey.version, bytes: withUnsafeBytes(of: UInt32(99).littleEndian) { Array($0) })
            }
        }
        let e = #expect(throws: StoreError.self) { try Store(path: dir.path) }
        #expect(e?.code == .unsupportedFormat)
        #expect(e?.input == "format version" && e?.actual == "99" && e?.path == dir.path)
    }

    @Test func mapGrowsWhenFull() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        var options = StoreOptions()
        options.initialMapSize = 1 << 20
        let store = try Store(path: dir.path, options: options)
        let c = try store.createCollection("big", dimension: 256, metric: .dot)
        var rng = SeededGenerator(seed: 7)
        for b in 0..<20 {
            let batch = (0..<500).map { i in Record(id: "r\(b)-\(i)", vector: rng.vector(256), text: String(repeating: "t", count: 200)) }
            try c.upsert(batch)
        }
        #expect(try c.count() == 10_000)
        #expect(store.env.mapSize > 1 << 20)
        #expect(try store.check().isHealthy)
    }

    /// `putMultiple(appending:)` appends values above a key's last duplicate in full pages
    /// (a keyword fold's postings), and inserts any others as before.
    @Test func appendedDuplicatesFillTheirPagesAndOthersAreInserted() throws {
        func posting(_ row: Int) -> [UInt8] { withUnsafeBytes(of: UInt64(row).bigEndian) { Array($0) } + [UInt8](repeating: 7, count: 8) }
        /// Pages the file uses after 20 puts of 1,000 ascending values under one key, in one
        /// transaction, and the rows stored there afterwards.
        func build(appending: Bool, then extra: [Int] = []) throws -> (pages: Int, rows: [Int]) {
            let dir = TemporaryDirectory()
            defer { dir.remove() }
            let store = try Store(path: dir.path)
            let key = Array("term".utf8)
            let dbi = try store.env.write(openingDatabases: true) { txn in
                try #require(try store.env.database("dups-test", flags: [.create, .dupSort, .dupFixed], in: txn))
            }
            let before = store.env.usedBytes
            try store.env.write { txn in
                for round in 0..<20 {
                    let values = (0..<1000).flatMap { posting(round * 1000 + $0) }
                    try key.withUnsafeBytes { k in
                        try values.withUnsafeBytes { try txn.putMultiple(dbi, k, values: $0, elementSize: 16, appending: appending) }
                    }
                }
            }
            // LMDB updates the last page number at commit.
            let pages = (store.env.usedBytes - before) / 4096
            return try store.env.write { txn in
                if !extra.isEmpty {
                    let values = extra.flatMap(posting)
                    try key.withUnsafeBytes { k in
                        try values.withUnsafeBytes { try txn.putMultiple(dbi, k, values: $0, elementSize: 16, appending: true) }
                    }
                }
                var rows: [Int] = []
                try txn.withCursor(dbi) { c in
                    var e = try key.withUnsafeBytes { try c.get(.set, key: $0) }
                    while let entry = e {
                        rows.append(Int(UInt64(bigEndian: entry.value.loadUnaligned(as: UInt64.self))))
                        e = try c.get(.nextDup)
                    }
                }
                return (pages, rows)
            }
        }
        let inserted = try build(appending: false)
        let appended = try build(appending: true)
        #expect(inserted.rows == Array(0..<20_000) && appended.rows == inserted.rows)
        // 20,000 × 16 bytes is 79 full pages; half-full pages after splits are about twice that.
        #expect(appended.pages < 100, "appended: \(appended.pages) pages")
        #expect(inserted.pages > 140, "inserted: \(inserted.pages) pages")
        // Values that do not all sort above the key's last (or do not ascend) are inserted.
        let mixed = try build(appending: true, then: [25_000, 20_500, 5, 19_999, 30_000])
        #expect(mixed.rows == Array(0..<20_000) + [20_500, 25_000, 30_000])
        let below = try build(appending: true, then: [3, 9_000_000])
        #expect(below.rows == Array(0..<20_000) + [9_000_000])
    }
}
