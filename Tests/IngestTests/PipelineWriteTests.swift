import Foundation
import Ingest
import TestSupport
import Testing

/// A collection that forwards to a real one, holds each write for `delay` seconds,
/// counts the writes in flight, and fails the write holding document `failing` with a
/// storage error, as a full disk would. (Chosen by content, not by start order: two
/// writes in flight may start in either order.)
final class WatchedCollection: VectorCollection, @unchecked Sendable {
    let inner: LMDBCollection
    let delay: Double
    let failing: String?
    private let lock = NSLock()
    private var started = 0
    private var inFlight = 0
    private(set) var mostInFlight = 0
    private(set) var startedAfterFailure = 0
    /// Writes begun so far.
    var writes: Int { lock.withLock { started } }
    private var failed = false
    /// Write 1 waits (up to 2 s, times `testTimeScale` under a sanitizer) until write 2 has
    /// begun before it goes on: a pipeline that overlaps them shows two in flight whatever
    /// the machine's load.
    var holdFirstUntilSecond = false

    init(_ inner: LMDBCollection, delay: Double, failing: String?) {
        self.inner = inner
        self.delay = delay
        self.failing = failing
    }

    var info: CollectionInfo { inner.info }
    var database: any VectorDatabase { inner.database }
    func count() throws -> Int { try inner.count() }
    func count() async throws -> Int { try await inner.count() }
    func get(_ ids: [String]) throws -> [Record?] { try inner.get(ids) }
    func get(_ ids: [String]) async throws -> [Record?] { try await inner.get(ids) }
    func write(upsert records: [Record], deleting ids: [String], deletingWhere filter: Filter?) throws {
        try inner.write(upsert: records, deleting: ids, deletingWhere: filter)
    }
    func write(upsert records: [Record], deleting ids: [String], deletingWhere filter: Filter?) async throws {
        let number: Int = lock.withLock {
            started += 1
            inFlight += 1
            mostInFlight = max(mostInFlight, inFlight)
            if failed { startedAfterFailure += 1 }
            return started
        }
        defer { lock.withLock { inFlight -= 1 } }
        try await Task.sleep(for: .seconds(delay))
        if number == 1 && holdFirstUntilSecond {
            // Under ThreadSanitizer preparing the next window took longer than 2 s on a
            // loaded machine (mostInFlight 1 in one scripts/test.sh run).
            let until = Date().addingTimeInterval(2 * testTimeScale)
            while lock.withLock({ started < 2 }) && Date() < until { try await Task.sleep(for: .milliseconds(2)) }
        }
        if let failing, records.contains(where: { $0.metadata[ChunkSchema.Key.document] == .string(failing) }) {
            lock.withLock { failed = true }
            throw StoreError(.storage, "write \(number): no space left on device")
        }
        try await inner.write(upsert: records, deleting: ids, deletingWhere: filter)
    }
    func validate(_ records: [Record]) throws { try inner.validate(records) }
    func delete(ids: [String]) throws -> Int { try inner.delete(ids: ids) }
    func delete(ids: [String]) async throws -> Int { try await inner.delete(ids: ids) }
    func delete(where filter: Filter) throws -> Int { try inner.delete(where: filter) }
    func delete(where filter: Filter) async throws -> Int { try await inner.delete(where: filter) }
    func metadata(where filter: Filter) throws -> [String: [String: MetadataValue]] { try inner.metadata(where: filter) }
    func metadata(where filter: Filter) async throws -> [String: [String: MetadataValue]] { try await inner.metadata(where: filter) }
    func distinctStringValueCount(of field: String) throws -> Int { try inner.distinctStringValueCount(of: field) }
    func distinctStringValueCount(of field: String) async throws -> Int { try await inner.distinctStringValueCount(of: field) }
    func search(_ request: SearchRequest) throws -> SearchResponse { try inner.search(request) }
    func search(_ request: SearchRequest) async throws -> SearchResponse { try await inner.search(request) }
}

/// The `written` counts of the progress reports, in order.
final class WrittenCounts: @unchecked Sendable {
    private let lock = NSLock()
    private var counts: [Int] = []

    func append(_ n: Int) { lock.withLock { counts.append(n) } }
    var values: [Int] { lock.withLock { counts } }
}

@Suite struct PipelineWriteTests {
    static func documents(_ n: Int) -> [Document] {
        (0..<n).map { i in
            Document(id: "doc\(i)", text: (0..<6).map { "Sentence \($0) of document \(i) about tides and lamps." }.joined(separator: " "))
        }
    }

    func pipeline(_ dir: TemporaryDirectory, delay: Double, failing: String?) throws -> (IngestPipeline, WatchedCollection) {
        let store = try Store(path: dir.sub("store"))
        let embedder = HashingEmbedder(dimension: 32)
        let watched = WatchedCollection(try store.openOrCreateCollection("docs", for: embedder), delay: delay, failing: failing)
        var p = IngestPipeline(collection: watched, embedder: embedder, splitter: RecursiveSplitter(chunkSize: 60, chunkOverlap: 0))
        p.documentsPerTransaction = 2
        return (p, watched)
    }

    /// The next write prepares while the one before commits (two in flight), never more;
    /// every document lands.
    @Test func twoWritesOverlapAndNoMore() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (p, watched) = try pipeline(dir, delay: 0.05, failing: nil)
        let report = try await p.run(documents: Self.documents(20))
        #expect(report.added.count == 20)
        #expect(watched.mostInFlight == 2)
        let stored = try await watched.inner.metadata(where: .exists(ChunkSchema.Key.document))
        #expect(Set(stored.values.compactMap { $0[ChunkSchema.Key.document] }) == Set((0..<20).map { .string("doc\($0)") }))
    }

    /// Group commit: when the embeddings of many documents arrive at once and two writes
    /// are already in flight, the next transaction takes every document ready meanwhile
    /// (up to `documentsPerGroupCommit`) instead of one transaction per 2 documents:
    /// 40 documents in at most 8 writes, not 20, and every chunk of each lands.
    @Test func aBurstOfReadyDocumentsCommitsInFewTransactions() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (p, watched) = try pipeline(dir, delay: 0.05 * testTimeScale, failing: nil)
        let report = try await p.run(documents: Self.documents(40))
        #expect(report.added.count == 40)
        #expect(watched.writes <= 8 && watched.mostInFlight == 2, "\(watched.writes) writes")
        let clean = TemporaryDirectory()
        defer { clean.remove() }
        var (q, reference) = try pipeline(clean, delay: 0, failing: nil)
        q.documentsPerTransaction = 1000  // one transaction
        _ = try await q.run(documents: Self.documents(40))
        #expect(
            try await watched.inner.metadata(where: .exists(ChunkSchema.Key.document)).count
                == (try await reference.inner.metadata(where: .exists(ChunkSchema.Key.document)).count))
        #expect(reference.writes == 1)
    }

    /// A write that fails (a full disk) stops the run: the error says how many documents
    /// were committed, exactly those are in the store, whole, and no write starts after
    /// the failure but the one already preparing beside it.
    @Test func aFailedWriteSaysWhatWasCommitted() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        var (p, watched) = try pipeline(dir, delay: 0.03, failing: "doc6")  // the fourth write
        p.documentsPerGroupCommit = 2  // transactions of 2 documents, whatever the writes' pace
        let error = await #expect(throws: QuiverError.self) { try await p.run(documents: Self.documents(20)) }
        #expect(error?.code == .storage)
        let message = error?.message ?? ""
        #expect(message.contains("no space left on device") && message.contains("were committed before it"), "\(message)")
        let stored = try await watched.inner.metadata(where: .exists(ChunkSchema.Key.document))
        var chunks: [String: Int] = [:]
        for m in stored.values { if case .string(let d)? = m[ChunkSchema.Key.document] { chunks[d, default: 0] += 1 } }
        #expect(message.contains("; \(chunks.count) documents (\(stored.count) chunks) of this run were committed"), "\(message)")
        // Whole documents: each stored one has every chunk a clean run gives it.
        let clean = TemporaryDirectory()
        defer { clean.remove() }
        let (q, reference) = try pipeline(clean, delay: 0, failing: nil)
        _ = try await q.run(documents: Self.documents(20))
        let full = try await reference.inner.metadata(where: .exists(ChunkSchema.Key.document))
        var fullChunks: [String: Int] = [:]
        for m in full.values { if case .string(let d)? = m[ChunkSchema.Key.document] { fullChunks[d, default: 0] += 1 } }
        for (d, n) in chunks { #expect(fullChunks[d] == n, "\(d)") }
        // Writes 1-3 and 5 (two documents each; 5 prepares beside 4) commit; none begins after.
        #expect(chunks.count == 8, "\(chunks.keys.sorted())")
        #expect(watched.startedAfterFailure <= 1)
    }

    /// A window's last write commits while the next window is split and embedded: with one
    /// write per window, two are still in flight at once; every document lands.
    @Test func writesOverlapTheNextWindow() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        var (p, watched) = try pipeline(dir, delay: 0.05, failing: nil)
        p.window = 2
        p.windowBytes = 0  // windows of exactly 2 documents, however small
        // The first window's write holds until the second window's has begun: were writes
        // drained at the end of each window, that would never happen (the hold times out).
        watched.holdFirstUntilSecond = true
        let progress = WrittenCounts()
        let report = try await p.run(documents: Self.documents(12)) { progress.append($0.written) }
        let written = progress.values
        #expect(report.added.count == 12)
        #expect(watched.mostInFlight == 2)
        let stored = try await watched.inner.metadata(where: .exists(ChunkSchema.Key.document))
        #expect(Set(stored.values.compactMap { $0[ChunkSchema.Key.document] }) == Set((0..<12).map { .string("doc\($0)") }))
        // The last progress counts every chunk written.
        #expect(written.last == stored.count)
        #expect(report.chunksWritten == stored.count)
    }

    /// A write that fails while a later window works stops the run with the same report:
    /// what was committed, whole documents only, no write started after it but the one
    /// beside it.
    @Test func aFailedWriteOfAnEarlierWindowSaysWhatWasCommitted() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        var (p, watched) = try pipeline(dir, delay: 0.03, failing: "doc4")  // the third write
        p.window = 2
        p.windowBytes = 0  // windows of exactly 2 documents, however small
        let error = await #expect(throws: QuiverError.self) { try await p.run(documents: Self.documents(20)) }
        #expect(error?.code == .storage)
        let message = error?.message ?? ""
        let stored = try await watched.inner.metadata(where: .exists(ChunkSchema.Key.document))
        var chunks: [String: Int] = [:]
        for m in stored.values { if case .string(let d)? = m[ChunkSchema.Key.document] { chunks[d, default: 0] += 1 } }
        #expect(message.contains("; \(chunks.count) documents (\(stored.count) chunks) of this run were committed"), "\(message)")
        // Writes 1 and 2 commit; 4 may (it prepares beside 3); nothing after.
        #expect(Set(chunks.keys).isSuperset(of: ["doc0", "doc1", "doc2", "doc3"]), "\(chunks.keys.sorted())")
        #expect(chunks.count <= 6, "\(chunks.keys.sorted())")
        #expect(watched.startedAfterFailure <= 1)
        let perDocument = Set(chunks.values)
        #expect(perDocument.count == 1, "\(chunks)")  // every document whole (the test documents split alike)
    }
}
