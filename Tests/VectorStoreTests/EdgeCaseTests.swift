import Foundation
import Testing
import TestSupport
@testable import VectorStore

/// Cases found in review: key limits, exact ties across kernels, oversized batches,
/// a store opened twice in one process, a creation interrupted by a crash.
@Suite struct EdgeCaseTests {
    /// A k far above the collection's size returns every record, on the scan, gather and
    /// batch paths (it used to reserve k slots: Int.max trapped, 2e9 aborted in malloc).
    @Test func hugeKReturnsEveryRecord() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try Store(path: dir.path)
        let c = try store.createCollection("c", dimension: 3, metric: .cosine)
        try c.upsert((0..<50).map { i in Record(id: "r\(i)", vector: [1, Float(i), 0.5], metadata: ["even": .bool(i % 2 == 0)]) })
        for k in [2_000_000_000, Int.max] {
            #expect(try c.search([1, 1, 1], k: k).count == 50)
            #expect(try c.search([1, 1, 1], k: k, filter: .equals("even", true)).count == 25)
            #expect(try c.search(batch: Array(repeating: [1, 2, 3], count: 40), k: k).allSatisfy { $0.count == 50 })
        }
    }

    /// System errors from LMDB say what happened in the message itself.
    @Test func systemErrorsAreSaidPlainly() {
        #expect(lmdbError(ENOSPC, "mdb_txn_commit", "/s").message.hasSuffix(": no space left on device"))
        #expect(lmdbError(EACCES, "mdb_env_open", "/s").message.hasSuffix(": permission denied"))
        #expect(lmdbError(EROFS, "mdb_env_open", "/s").message.hasSuffix(": read-only file system"))
    }

    /// The meta page of a real store gives the size the file must have (what the
    /// truncation check compares with).
    @Test func lmdbMetaPageGivesTheRequiredSize() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        do {
            let store = try Store(path: dir.path)
            let c = try store.createCollection("c", dimension: 8, metric: .dot)
            try c.upsert((0..<2000).map { Record(id: "r\($0)", vector: [Float]((0..<8).map { Float($0) })) })
        }
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir.sub("data.mdb"))))
        let meta = try #require(LMDBFile.meta(bytes))
        #expect(meta.pageSize == Int(getpagesize()) || meta.pageSize == 4096)
        #expect(meta.requiredBytes <= UInt64(bytes.count) && meta.requiredBytes > 4 * UInt64(meta.pageSize))
        #expect(meta.transaction > 1)
        #expect(LMDBFile.meta(Array(repeating: 0, count: 8192)) == nil)
    }

    @Test func longestFieldNameWithLongStringValueIsIndexed() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try Store(path: dir.path)
        let c = try store.createCollection("c", dimension: 2, metric: .dot)
        let field = String(repeating: "f", count: Format.maxFieldNameBytes)
        let long = String(repeating: "v", count: 1000)
        let almost = String(repeating: "v", count: 999) + "w"
        try c.upsert([
            Record(id: "a", vector: [1, 0], metadata: [field: .string(long)]),
            Record(id: "b", vector: [0, 1], metadata: [field: .string(almost)]),
        ])
        #expect(try c.search([1, 1], k: 5, filter: .equals(field, .string(long))).map(\.id) == ["a"])
        #expect(try c.search([1, 1], k: 5, filter: .notEquals(field, .string(long))).map(\.id) == ["b"])
        #expect(try store.check().isHealthy)
    }

    @Test func identicalVectorsTieExactlyOnEveryPath() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try Store(path: dir.path)
        let c = try store.createCollection("c", dimension: 40, metric: .dot)
        var rng = SeededGenerator(seed: 21)
        let same = rng.vector(40)
        // 301 copies of one vector among random ones, ids in scrambled order, so copies land
        // in 6-row groups and in remainders alike.
        var records: [Record] = []
        for i in 0..<900 {
            let copy = i % 3 == 0
            records.append(
                Record(id: "r\((i * 7919) % 900)", vector: copy ? same : rng.vector(40).map { $0 * 0.01 }, metadata: ["copy": .bool(copy)]))
        }
        try c.upsert(records)
        let expected = records.filter { $0.metadata["copy"] == .bool(true) }.map(\.id).sorted().prefix(10)
        let query = same
        #expect(try c.search(query, k: 10).map(\.id) == Array(expected))
        for size in [2, 5, 17] {
            let batch = try c.search(batch: Array(repeating: query, count: size), k: 10)
            for hits in batch { #expect(hits.map(\.id) == Array(expected)) }
        }
        let gathered = try c.searchExplained(batch: [query, query], k: 10, filter: .equals("copy", true))
        #expect(gathered.hits[0].map(\.id) == Array(expected))
    }

    @Test func zeroQueryUnderDotReturnsKHitsOrderedByID() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try Store(path: dir.path)
        let c = try store.createCollection("c", dimension: 8, metric: .dot)
        var rng = SeededGenerator(seed: 4)
        try c.upsert((0..<5000).map { Record(id: String(format: "id%05d", ($0 * 37) % 5000), vector: rng.vector(8)) })
        let hits = try c.search([Float](repeating: 0, count: 8), k: 4)
        #expect(hits.map(\.id) == ["id00000", "id00001", "id00002", "id00003"])
        #expect(hits.allSatisfy { $0.score == 0 })
    }

    @Test func oneLargeUpsertIsSplitIntoFullBlocks() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        var options = StoreOptions()
        options.maxBlockBytes = 64 * 1024  // 512 rows of dimension 32
        let store = try Store(path: dir.path, options: options)
        let c = try store.createCollection("c", dimension: 32, metric: .cosine)
        var rng = SeededGenerator(seed: 8)
        var ref = BruteForce(metric: .cosine)
        let records = (0..<2000).map { Record(id: "r\($0)", vector: rng.vector(32)) }
        try c.upsert(records)
        ref.upsert(records)
        let views = try c.read { try c.blockViews($0) }
        #expect(views.count == 4)
        #expect(views.allSatisfy { $0.count <= 512 })
        let q = rng.vector(32)
        #expect(try c.search(q, k: 5).map(\.id) == ref.search(q, k: 5).map(\.id))
        #expect(try store.check().isHealthy)
    }

    @Test func aStoreOpenedTwiceInOneProcessSharesItsEnvironment() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        var first: Store? = try Store(path: dir.path)
        let second = try Store(path: dir.path)
        #expect(first?.env === second.env)
        let c = try #require(try first?.createCollection("c", dimension: 2, metric: .dot))
        try c.upsert([Record(id: "a", vector: [1, 1])])
        first = nil
        // Dropping one handle leaves the other (and its LMDB locks) working.
        #expect(try second.collection("c").count() == 1)
        try second.collection("c").upsert([Record(id: "b", vector: [1, 2])])
        #expect(try c.count() == 2)
    }

    @Test func aCreationInterruptedBeforeItsFirstCommitIsCompleted() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        do {
            // What a process killed inside Store.init leaves: an LMDB file, nothing in it.
            let (env, _) = try LMDBEnvironment.shared(directory: dir.path, mapSize: 1 << 20, maxDBs: 8, maxReaders: 8, sync: true)
            #expect(FileManager.default.fileExists(atPath: dir.sub("data.mdb")))
            _ = env
        }
        let store = try Store(path: dir.path)
        _ = try store.createCollection("c", dimension: 2, metric: .dot)
        #expect(try store.collections().count == 1)
    }

    @Test func cancelledAsyncCallsFailWithACancelledError() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try Store(path: dir.path)
        let c = try await store.createCollection("c", dimension: 2, metric: .dot)
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await c.count()
        }
        let result = await task.result
        #expect(throws: StoreError.self) { try result.get() }
        if case .failure(let error as StoreError) = result { #expect(error.code == .cancelled) }
    }
}

/// Read transactions are reset and renewed rather than begun anew (`mdb_txn_begin`
/// cleared ~150 KB per search): a renewed one must see every commit, from this process
/// or another handle, and no more than a few are kept.
@Suite struct ReadTransactionReuseTests {
    @Test func renewedReadsSeeEveryCommitAndFewAreKept() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try Store(path: dir.path)
        let c = try store.createCollection("c", dimension: 2, metric: .dot)
        let first = try store.env.read { $0.txn }
        let second = try store.env.read { $0.txn }
        #expect(first == second && store.env.idleReaderCount == 1, "a read on the same thread renews the idle transaction")
        for i in 0..<20 {
            #expect(try c.count() == i)
            let before = try store.env.read { $0.id }
            try c.upsert([Record(id: "r\(i)", vector: [Float(i), 1])])
            // The renewed handle is on the commit just made, not the snapshot it last held.
            #expect(try store.env.read { $0.id } > before)
        }
        // Another Store of the same folder writes: the renewed snapshot is the newest.
        // (A commit by another process: MultiProcessTests.readerAdoptsAMapGrownByAnotherProcess.)
        let other = try Store(path: dir.path)
        try other.collection("c").upsert([Record(id: "other", vector: [100, 100])])
        #expect(try c.count() == 21)
        #expect(try c.search([1, 1], k: 1).first?.id == "other")

        // Many threads reading while one writes: each sees counts that never go back, and
        // at most `idleReaderLimit` transactions stay idle afterwards.
        let lock = NSLock()
        nonisolated(unsafe) var errors: [String] = []
        DispatchQueue.concurrentPerform(iterations: 9) { t in
            do {
                if t == 0 {
                    for i in 0..<40 { try c.upsert([Record(id: "w\(i)", vector: [1, Float(i)])]) }
                    return
                }
                var last = 0
                for _ in 0..<200 {
                    let n = try c.count()
                    if n < last { lock.withLock { errors.append("thread \(t) saw \(n) after \(last)") } }
                    last = n
                }
            } catch {
                lock.withLock { errors.append("thread \(t): \(error)") }
            }
        }
        #expect(errors.isEmpty, "\(errors)")
        #expect(try c.count() == 61)
        #expect(store.env.idleReaderCount >= 1 && store.env.idleReaderCount <= LMDBEnvironment.idleReaderLimit)
        #expect(try store.check().isHealthy)
    }
}
