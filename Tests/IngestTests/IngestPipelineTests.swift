import Foundation
import TestSupport
import Testing

@testable import Ingest

@Suite struct IngestPipelineTests {
    func corpus() throws -> TemporaryDirectory {
        let dir = TemporaryDirectory()
        let fm = FileManager.default
        try fm.createDirectory(atPath: dir.sub("docs/sub"), withIntermediateDirectories: true)
        for i in 0..<12 {
            let body = (0..<(5 + i)).map { "Paragraph \($0) of note \(i) about topic \(i % 3): lighthouses, harbours and tides." }
            try ("# Note \(i)\n\n" + body.joined(separator: "\n\n")).write(
                toFile: dir.sub("docs/sub/note\(i).md"), atomically: true, encoding: .utf8)
        }
        try "A plain text file about the harbour master.".write(toFile: dir.sub("docs/plain.txt"), atomically: true, encoding: .utf8)
        return dir
    }

    func pipeline(_ store: Store, chunkSize: Int = 200) throws -> IngestPipeline {
        let embedder = HashingEmbedder(dimension: 64)
        let collection = try store.openOrCreateCollection("docs", for: embedder)
        var p = IngestPipeline(
            collection: collection, embedder: embedder, splitter: RecursiveSplitter(chunkSize: chunkSize, chunkOverlap: 20))
        p.window = 5  // several windows
        p.windowBytes = 0  // of exactly 5 documents, however small
        p.documentsPerTransaction = 3
        p.prune = true
        return p
    }

    @Test func ingestsAListOfFilesAndPrunesOnlyThose() async throws {
        let dir = try corpus()
        defer { dir.remove() }
        let store = try Store(path: dir.sub("store"))
        let p = try pipeline(store)  // prune on
        _ = try await p.run(directory: dir.sub("docs"))
        let before = try await p.collection.count()
        let listed = [dir.sub("docs/sub/note1.md"), dir.sub("docs/sub/note2.md"), dir.sub("docs/new.txt")]
        try "A new note about fog horns.".write(toFile: listed[2], atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(atPath: listed[1])
        let report = try await p.run(files: listed, root: dir.sub("docs"))
        #expect(report.added == ["new.txt"])
        #expect(report.unchanged == ["sub/note1.md"])
        #expect(report.removed == ["sub/note2.md"])  // listed and vanished; the unlisted notes stay
        #expect(report.issues.map(\.path) == ["sub/note2.md"])
        let after = try await p.collection.count()
        let note2 = try await p.collection.metadata(where: .equals("doc", .string("sub/note2.md")))
        #expect(note2.isEmpty && after > before - 10)
        #expect(try await p.collection.get("sub/note3.md#0") != nil)
        // Without a root, ids are the paths as given.
        let plain = try await p.run(files: [listed[2]])
        #expect(plain.added == [listed[2]])
        // A doubled slash after the root names the same document.
        let doubled = try await p.run(files: [dir.sub("docs") + "//sub/note1.md"], root: dir.sub("docs"))
        #expect(doubled.unchanged == ["sub/note1.md"] && doubled.added.isEmpty)
    }

    @Test func pruneKeepsDocumentsWhoseFileFailedToLoad() async throws {
        let dir = try corpus()
        defer { dir.remove() }
        let store = try Store(path: dir.sub("store"))
        let p = try pipeline(store)  // prune on
        _ = try await p.run(directory: dir.sub("docs"))
        let stored = try await p.collection.metadata(where: .equals("doc", "sub/note3.md"))
        #expect(!stored.isEmpty)
        // The file is still there but now binary: reported, and its indexed chunks stay.
        try Data([0x00, 0x01, 0x02, 0xff, 0x00]).write(to: URL(fileURLWithPath: dir.sub("docs/sub/note3.md")))
        let report = try await p.run(directory: dir.sub("docs"))
        #expect(report.removed.isEmpty)
        #expect(report.issues.contains { $0.path == "sub/note3.md" && $0.kind == .binary })
        #expect(try await p.collection.metadata(where: .equals("doc", "sub/note3.md")) == stored)
        // Emptied, it is a document with no content any more: removed.
        try Data().write(to: URL(fileURLWithPath: dir.sub("docs/sub/note3.md")))
        #expect(try await p.run(directory: dir.sub("docs")).removed == ["sub/note3.md"])

        // JSON Lines whose every line went bad keep their rows.
        try "{\"id\": \"r1\", \"text\": \"Row one about tides.\"}\n{\"id\": \"r2\", \"text\": \"Row two.\"}\n".write(
            toFile: dir.sub("docs/rows.jsonl"), atomically: true, encoding: .utf8)
        #expect(try await p.run(directory: dir.sub("docs")).added == ["rows.jsonl#r1", "rows.jsonl#r2"])
        try "{\"id\": \"r1\", \"text\": \"cut off".write(toFile: dir.sub("docs/rows.jsonl"), atomically: true, encoding: .utf8)
        let broken = try await p.run(directory: dir.sub("docs"))
        #expect(broken.removed.isEmpty)
        #expect(try await p.collection.get("rows.jsonl#r2#0") != nil)

        // A link whose target went away (an unmounted disk, say) keeps what came through it.
        try "Linked note about buoys.".write(toFile: dir.sub("target.md"), atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: dir.sub("docs/linked.md"), withDestinationPath: dir.sub("target.md"))
        #expect(try await p.run(directory: dir.sub("docs")).added == ["linked.md"])
        try FileManager.default.removeItem(atPath: dir.sub("target.md"))
        let dangling = try await p.run(directory: dir.sub("docs"))
        #expect(dangling.removed.isEmpty)
        #expect(dangling.issues.contains { $0.path == "linked.md" && $0.kind == .unreadable })
        #expect(try await p.collection.get("linked.md#0") != nil)
        // Once the link itself is gone, so is the document.
        try FileManager.default.removeItem(atPath: dir.sub("docs/linked.md"))
        #expect(try await p.run(directory: dir.sub("docs")).removed == ["linked.md"])
    }

    @Test func rowsWithOneIdAreIndexedOnceAndReported() async throws {
        let dir = try corpus()
        defer { dir.remove() }
        let store = try Store(path: dir.sub("store"))
        let p = try pipeline(store)
        try "{\"id\": \"x\", \"text\": \"First row.\"}\n{\"id\": \"x\", \"text\": \"Second row, same id.\"}\n".write(
            toFile: dir.sub("docs/dup.jsonl"), atomically: true, encoding: .utf8)
        let first = try await p.run(directory: dir.sub("docs"))
        #expect(first.failed.map(\.id) == ["dup.jsonl#x"])
        #expect(try await p.collection.get("dup.jsonl#x#0")?.text == "First row.")
        let second = try await p.run(directory: dir.sub("docs"))
        #expect(second.chunksWritten == 0)  // a re-run is still a no-op
        let direct = try await p.run(documents: [Document(id: "a", text: "one"), Document(id: "a", text: "two")])
        #expect(direct.failed.map(\.id) == ["a"])
    }

    @Test func duplicateIdsInOneRunAreRefused() async throws {
        let dir = try corpus()
        defer { dir.remove() }
        let store = try Store(path: dir.sub("store"))
        let p = try pipeline(store)
        try FileManager.default.createDirectory(atPath: dir.sub("other"), withIntermediateDirectories: true)
        try "Same name, other folder.".write(toFile: dir.sub("other/plain.txt"), atomically: true, encoding: .utf8)
        // Paths as given are distinct ids.
        let ok = try await p.run(files: [dir.sub("docs/plain.txt"), dir.sub("other/plain.txt")])
        #expect(ok.added.count == 2)
        let same = await #expect(throws: IngestError.self) {
            _ = try await p.run(files: [dir.sub("docs/plain.txt"), dir.sub("docs/plain.txt")])
        }
        #expect(same?.code == .invalidArgument && same?.input == dir.sub("docs/plain.txt"))
        #expect(try await p.collection.count() == 2)  // the refused run wrote nothing
    }

    @Test func cancellingARunStopsIt() async throws {
        let server = try LoopbackServer(["--latency-ms", "300"])
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (p, _, _) = try loopbackPipeline(server, dir, RecursiveSplitter(chunkSize: 1000))
        var pipeline = p
        pipeline.window = 10
        pipeline.windowBytes = 0
        pipeline.batchSize = 1
        pipeline.concurrency = 2
        let docs = (0..<200).map { Document(id: "d\($0)", text: "Document number \($0).") }
        let task = Task { try await pipeline.run(documents: docs) }
        while (try? server.stats()["requests"]) ?? 0 < 2 { try await Task.sleep(for: .milliseconds(10)) }
        task.cancel()
        let result = await task.result
        #expect(throws: CancellationError.self) { try result.get() }
        #expect(try server.stats()["requests"] ?? 0 < 40)  // it stopped instead of failing every window
    }

    @Test func progressAsAnAsyncSequence() async throws {
        let dir = try corpus()
        defer { dir.remove() }
        let store = try Store(path: dir.sub("store"))
        let p = try pipeline(store)
        var progress: [IngestProgress] = []
        var report: IngestReport?
        for try await event in p.events(directory: dir.sub("docs")) {
            switch event {
            case .progress(let e): progress.append(e)
            case .finished(let r): report = r
            }
        }
        let r = try #require(report)
        #expect(r.added.count == 13)
        #expect(progress.count >= 3)  // several windows
        #expect(zip(progress, progress.dropFirst()).allSatisfy { $0.written <= $1.written && $0.documents <= $1.documents })
        #expect(progress.last?.written == r.chunksWritten)
        #expect(progress.last?.documents == 13)
    }

    /// A watchdog's report of `server`'s counters.
    func statsOf(_ server: LoopbackServer) -> @Sendable () -> String { { server.statsFromOutside } }

    @Test(.enabled(if: runsIsolatedTests, "runs in a process of its own (scripts/test.sh)"))
    func synchronousRunsFromManyTasksOnTheCooperativePool() async throws {
        // More synchronous runs at once than the pool has threads, each against the
        // loopback server (async HTTP inside): the runs must not need the pool.
        let server = try LoopbackServer(["--latency-ms", "20"])
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (p, _, _) = try loopbackPipeline(server, dir, RecursiveSplitter(chunkSize: 200))
        var configured = p
        configured.batchSize = 4
        configured.window = 8
        configured.windowBytes = 0
        let pipeline = configured
        let reports = try await withWatchdog(seconds: 120, "synchronous ingest on the pool", diagnose: statsOf(server)) {
            try await withThrowingTaskGroup(of: IngestReport.self) { group in
                for t in 0..<6 {
                    let docs = (0..<20).map { Document(id: "t\(t)-d\($0)", text: "Task \(t), document \($0), about harbour lights.") }
                    group.addTask { try blocking { try pipeline.run(documents: docs) } }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
        }
        #expect(reports.count == 6)
        #expect(reports.allSatisfy { $0.added.count == 20 && $0.failed.isEmpty && $0.chunksWritten == 20 })
        #expect(try await pipeline.collection.count() == 120)
        // From plain threads too, and a folder.
        let corpus = try corpus()
        defer { corpus.remove() }
        let store = try Store(path: corpus.sub("store"))
        let folder = try self.pipeline(store)
        let counts = Shared([Int]())
        onThreads(3) { _ in
            let r = try? folder.run(directory: corpus.sub("docs"))
            counts.withLock { $0.append((r?.added.count ?? 0) + (r?.unchanged.count ?? 0) + (r?.updated.count ?? 0)) }
        }
        #expect(counts.withLock { $0 } == [13, 13, 13])
    }

    @Test func dryRunReportsChangesAndWritesNothing() async throws {
        let dir = try corpus()
        defer { dir.remove() }
        let store = try Store(path: dir.sub("store"))
        var p = try pipeline(store)
        _ = try await p.run(directory: dir.sub("docs"))
        let before = try await p.collection.metadata(where: .exists("doc"))
        try "# Note 1\n\nRewritten.".write(toFile: dir.sub("docs/sub/note1.md"), atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(atPath: dir.sub("docs/sub/note2.md"))
        try "A new note.".write(toFile: dir.sub("docs/new.txt"), atomically: true, encoding: .utf8)
        p.dryRun = true
        let progress = Shared<[IngestProgress]>([])
        let plan = try await p.run(directory: dir.sub("docs")) { e in progress.withLock { $0.append(e) } }
        #expect(plan.added == ["new.txt"])
        #expect(plan.updated == ["sub/note1.md"])
        #expect(plan.removed == ["sub/note2.md"])
        #expect(plan.unchanged.count == 11)  // of 13 files now
        #expect(plan.chunksWritten == 0)
        #expect(try await p.collection.metadata(where: .exists("doc")) == before)
        #expect(try await store.collections().map(\.name) == ["docs"])  // no cache collection either
        let last = try #require(progress.withLock { $0.last })
        #expect(last.documents == 13 && last.documentsTotal == 13 && last.elapsed > 0 && last.documentsPerSecond > 0)
        #expect(last.secondsRemaining == 0)
        // The real run then does what the plan said.
        p.dryRun = false
        let run = try await p.run(directory: dir.sub("docs"))
        #expect(run.added == plan.added && run.updated == plan.updated && run.removed == plan.removed)
    }

    @Test func ingestsIncrementallyReplacesChangedAndPrunesVanished() async throws {
        let dir = try corpus()
        defer { dir.remove() }
        let store = try Store(path: dir.sub("store"))
        let p = try pipeline(store)
        let first = try await p.run(directory: dir.sub("docs"))
        #expect(first.added.count == 13)
        #expect(first.bytes > 5000 && first.seconds > 0)
        #expect(first.failed.isEmpty && first.issues.isEmpty)
        let count = try await p.collection.count()
        #expect(count == first.chunksWritten)
        #expect(count > 13)
        let hits = try await p.collection.search(try await HashingEmbedder(dimension: 64).embed(["harbour master"])[0], k: 1)
        #expect(hits.first?.metadata["doc"] == "plain.txt")
        #expect(hits.first?.text == "A plain text file about the harbour master.")

        // Running again writes nothing.
        let second = try await p.run(directory: dir.sub("docs"))
        #expect(second.unchanged.count == 13)
        #expect(second.chunksWritten == 0 && second.added.isEmpty && second.updated.isEmpty)
        #expect(try await p.collection.count() == count)

        // A shorter note 11: its chunks are replaced and the extra ones deleted.
        let before = try await p.collection.metadata(where: .equals("doc", "sub/note11.md")).count
        try "# Note 11\n\nNow just one line.".write(toFile: dir.sub("docs/sub/note11.md"), atomically: true, encoding: .utf8)
        // Note 0 vanishes.
        try FileManager.default.removeItem(atPath: dir.sub("docs/sub/note0.md"))
        let third = try await p.run(directory: dir.sub("docs"))
        #expect(third.updated == ["sub/note11.md"])
        #expect(third.removed == ["sub/note0.md"])
        #expect(third.unchanged.count == 11)
        let after = try await p.collection.metadata(where: .equals("doc", "sub/note11.md"))
        #expect(after.count == 1 && before > 1)
        #expect(after.keys.first == "sub/note11.md#0")
        #expect(try await p.collection.metadata(where: .equals("doc", "sub/note0.md")).isEmpty)
        #expect(try await store.check().isHealthy)

        // New splitter settings re-ingest everything.
        let resplit = try await pipeline(store, chunkSize: 120).run(directory: dir.sub("docs"))
        #expect(resplit.updated.count == 12)
        #expect(resplit.unchanged.isEmpty)
        #expect(try await store.check().isHealthy)
    }

    @Test func aDocumentWhoseEmbeddingFailsIsReportedAndTheOthersStored() async throws {
        let server = try LoopbackServer()
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        var (p, _, _) = try loopbackPipeline(server, dir, RecursiveSplitter(chunkSize: 1000))
        p.batchSize = 1
        p.concurrency = 1
        try server.control(#"{"faults": [{"status": 401}]}"#)
        let report = try await p.run(documents: [Document(id: "a", text: "first document"), Document(id: "b", text: "second document")])
        #expect(report.failed.map(\.id) == ["a"])
        #expect(report.failed.first?.reason.contains("401") == true)
        #expect(report.added == ["b"])
        #expect(try await p.collection.metadata(where: .exists("doc")).keys.sorted() == ["b#0"])
    }
}

@Suite struct EmbeddingCacheTests {
    @Test func unchangedChunksAreNeverEmbeddedTwice() async throws {
        let server = try LoopbackServer()
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (p, store, embedder) = try loopbackPipeline(server, dir, RecursiveSplitter(chunkSize: 60, chunkOverlap: 0))
        let paragraphs = (0..<3).map { "Paragraph number \($0) says something about lighthouses.\n\n" }
        _ = try await p.run(documents: [Document(id: "a", text: paragraphs.joined())])
        #expect(try server.stats()["inputs"] == 3)
        // One paragraph more: only the new chunk is embedded; the others come from the cache.
        let longer = paragraphs.joined() + "A fourth paragraph, new.\n\n"
        let report = try await p.run(documents: [Document(id: "a", text: longer)])
        #expect(report.updated == ["a"])
        #expect(try server.stats()["inputs"] == 4)
        // The same text under another id costs nothing either.
        _ = try await p.run(documents: [Document(id: "b", text: longer)])
        #expect(try server.stats()["inputs"] == 4)
        // Cached vectors are the vectors the server gave.
        let cached = try await EmbeddingCache(store: store, embedder: embedder).lookup([paragraphs[0]])
        #expect(cached[0] == (try await embedder.embed([paragraphs[0]]))[0])
        #expect(try await p.collection.count() == 8)
    }

    /// How many files a window takes: at least `window`, more while their sizes (or the
    /// average so far) fit in `windowBytes`, never more than 16 windows' worth.
    @Test func windowsAreSizedByBytes() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let embedder = HashingEmbedder(dimension: 8)
        let collection = try Store(path: dir.path).openOrCreateCollection("docs", for: embedder)
        var p = IngestPipeline(collection: collection, embedder: embedder, splitter: RecursiveSplitter())
        p.window = 4
        p.windowBytes = 8 << 20
        let mib = 1 << 20
        #expect(p.filesInWindow(from: 0, of: 100, sizes: Array(repeating: 100, count: 100), averageBytes: nil) == 64)
        #expect(p.filesInWindow(from: 90, of: 100, sizes: Array(repeating: 100, count: 100), averageBytes: nil) == 10)
        #expect(p.filesInWindow(from: 0, of: 100, sizes: Array(repeating: mib, count: 100), averageBytes: nil) == 8)
        #expect(p.filesInWindow(from: 0, of: 100, sizes: Array(repeating: 3 * mib, count: 100), averageBytes: nil) == 4)
        let oneBigThenSmall = [5 * mib, 0, 0, 0, 4 * mib] + Array(repeating: 0, count: 95)
        #expect(p.filesInWindow(from: 0, of: 100, sizes: oneBigThenSmall, averageBytes: nil) == 4)
        #expect(p.filesInWindow(from: 0, of: 100, sizes: [Int]?.none, averageBytes: nil) == 4)
        #expect(p.filesInWindow(from: 4, of: 100, sizes: nil, averageBytes: 2 * mib) == 4)
        #expect(p.filesInWindow(from: 4, of: 100, sizes: nil, averageBytes: mib) == 8)
        #expect(p.filesInWindow(from: 4, of: 100, sizes: nil, averageBytes: 10) == 64)
        #expect(p.filesInWindow(from: 98, of: 100, sizes: nil, averageBytes: 10) == 2)
        p.windowBytes = 0
        #expect(p.filesInWindow(from: 0, of: 100, sizes: Array(repeating: 1, count: 100), averageBytes: nil) == 4)
        let docs = (0..<100).map { i in Document(id: "\(i)", text: String(repeating: "x", count: i == 50 ? 9 * mib : 10)) }
        p.windowBytes = 8 << 20
        #expect(p.sliceEnd(docs, from: 0) == 50)  // 50 small ones; the 9 MiB one does not fit
        #expect(p.sliceEnd(docs, from: 48) == 52)  // at least `window`, even past the bytes
        #expect(p.sliceEnd(docs, from: 51) == 100)
    }

    /// Small documents are taken together up to `windowBytes`: 1,000 one-chunk documents
    /// (given, and as files) fill all 16 embedding requests in flight, where windows of 256
    /// documents had at most 4 (256 / 64) in flight at a time, each window waiting for the
    /// last. With `windowBytes` 0 the windows are exactly `window` documents again (4
    /// requests each), and the next window's requests go out while the window before is
    /// answered: 8 in flight, two windows' worth (before windows overlapped, 4).
    /// The server answers once that many requests are in flight together (its barrier, or
    /// after 10 s): a latency instead (400 ms) saw fewer in flight when the whole suite's
    /// tests starved the cooperative pool, and under ThreadSanitizer.
    @Test func smallDocumentsShareAWindowAndFillTheRequestsInFlight() async throws {
        let server = try LoopbackServer()
        try server.control(#"{"barrier": 16}"#)
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (p, store, _) = try loopbackPipeline(server, dir, RecursiveSplitter(chunkSize: 1000))
        #expect(p.window == 256 && p.batchSize == 64 && p.concurrency == 16)
        let docs = (0..<1000).map { Document(id: "d\($0)", text: "Note \($0) about the harbour light.") }
        var report = try await p.run(documents: docs)
        #expect(report.added.count == 1000 && report.chunksWritten == 1000)
        #expect(try server.stats()["max_in_flight"] == 16)

        let files = TemporaryDirectory()
        defer { files.remove() }
        for i in 0..<1000 { try "File \(i) about the fog horn.".write(toFile: files.sub("f\(i).txt"), atomically: false, encoding: .utf8) }
        try server.reset()
        report = try await p.run(directory: files.path)
        #expect(report.added.count == 1000 && report.failed.isEmpty)
        // The walk measured the files: all 1,000 fit one window.
        #expect(try server.stats()["max_in_flight"] == 16)
        #expect(try await store.collection("docs").count() == 2000)

        var exact = p
        exact.windowBytes = 0
        try server.reset()
        try server.control(#"{"barrier": 8}"#)
        _ = try await exact.run(documents: docs.map { Document(id: "e" + $0.id, text: $0.text + " Again.") })
        #expect(try server.stats()["max_in_flight"] == 8)
    }

    /// Windows overlap: the next window's request goes out while the window before waits
    /// for its answer, and a later window answered first is written first. With the first
    /// request held by the server, the two later windows are answered and written; once it
    /// is released every document has its own text's vector, and each is reported once.
    @Test func laterWindowsAreWrittenWhileAnEarlierOneWaits() async throws {
        let server = try LoopbackServer()
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        var (p, store, embedder) = try smallWindows(server, dir, documents: 4)
        p.documentsPerTransaction = 1
        try server.control(#"{"faults": [{"hold": true}]}"#)
        let docs = (0..<12).map { Document(id: "d\($0)", text: "Note \($0) about the harbour light.") }
        let run = Task { try await p.run(documents: docs) }
        let collection = try await store.collection("docs")
        let deadline = Date().addingTimeInterval(300 * testTimeScale)  // a starved pool polls late; the hold lasts 600 s
        while try await collection.count() < 8 && Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        // Eight documents, two windows' worth, were written while one request was held.
        #expect(try await collection.count() == 8)
        #expect(try server.stats()["in_flight"] == 1)
        try server.control(#"{"release": true}"#)
        let report = try await run.value
        #expect(Set(report.added) == Set(docs.map(\.id)) && report.added.count == 12 && report.failed.isEmpty)
        try await expectOwnVectors(docs, in: collection, embedder)
        #expect(try await collection.count() == 12)
    }

    /// A text asked for and not answered yet is not asked for again: not within a slice,
    /// and not by the next slice while the request that carries it is held (the cache
    /// cannot have it yet). Eight notes share one text; the server sees it once.
    @Test func aRepeatedTextIsAskedForOnceWhileInFlight() async throws {
        let server = try LoopbackServer()
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (p, store, embedder) = try smallWindows(server, dir, documents: 4)
        try server.control(#"{"faults": [{"hold": true}]}"#)
        let shared = "The shared footer of every note."
        let docs =
            (0..<8).map { Document(id: "s\($0)", text: shared) }
            + (0..<4).map { Document(id: "d\($0)", text: "Note \($0) about the harbour light.") }
        let seen = PosixMutex((chunks: 0, embedded: 0))
        let run = Task {
            try await p.run(documents: docs) { progress in seen.withLock { $0 = (progress.chunks, progress.embedded) } }
        }
        // The second slice is split while the first slice's request is held.
        let deadline = Date().addingTimeInterval(300 * testTimeScale)
        while seen.withLock({ $0.chunks }) < 8 && Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(seen.withLock { $0.chunks } == 8)
        try server.control(#"{"release": true}"#)
        let report = try await run.value
        #expect(report.added.count == 12 && report.failed.isEmpty)
        #expect(try server.stats()["inputs"] == 5)  // the shared text once, four notes
        #expect(seen.withLock { $0.embedded } == 12)
        try await expectOwnVectors(docs, in: try await store.collection("docs"), embedder)
    }

    /// A failed request fails every document that waited for its text, in any slice.
    @Test func aFailedSharedTextFailsEveryDocumentThatWaitedForIt() async throws {
        let server = try LoopbackServer()
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (p, _, _) = try smallWindows(server, dir, documents: 2)
        // Held until the second slice follows it, then answered 500.
        try server.control(#"{"faults": [{"hold": true, "status": 500}]}"#)
        let docs = (0..<4).map { Document(id: "s\($0)", text: "The same text.") }
        let chunks = PosixMutex(0)
        let run = Task { try await p.run(documents: docs) { progress in chunks.withLock { $0 = progress.chunks } } }
        let deadline = Date().addingTimeInterval(300 * testTimeScale)
        while chunks.withLock({ $0 }) < 4 && Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        try server.control(#"{"release": true}"#)
        let report = try await run.value
        #expect(try server.stats()["requests"] == 1)
        #expect(Set(report.failed.map(\.id)) == Set(docs.map(\.id)) && report.added.isEmpty)
        #expect(report.failed.allSatisfy { $0.reason.contains("500") })
    }

    /// The first window of files is `window` files, however small they are, so that its
    /// requests go out while the rest loads: the first chunks reported are 256 of 1,000.
    @Test func theFirstWindowOfFilesIsWindowFiles() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let files = TemporaryDirectory()
        defer { files.remove() }
        for i in 0..<1000 { try "File \(i) about the fog horn.".write(toFile: files.sub("f\(i).txt"), atomically: false, encoding: .utf8) }
        let embedder = HashingEmbedder(dimension: 8)
        let collection = try await Store(path: dir.path).openOrCreateCollection("docs", for: embedder)
        let p = IngestPipeline(collection: collection, embedder: embedder, splitter: RecursiveSplitter())
        let chunks = PosixMutex([Int]())
        let report = try await p.run(directory: files.path) { progress in chunks.withLock { $0.append(progress.chunks) } }
        #expect(report.added.count == 1000)
        #expect(chunks.withLock { $0.first { $0 > 0 } } == 256)
        #expect(chunks.withLock { $0.last } == 1000)
    }
}

/// `loopbackPipeline` with windows of exactly `documents` documents, one request each.
func smallWindows(_ server: LoopbackServer, _ dir: TemporaryDirectory, documents: Int) throws -> (
    IngestPipeline, Store, OpenAIEmbedder
) {
    var (p, store, embedder) = try loopbackPipeline(server, dir, RecursiveSplitter(chunkSize: 1000))
    p.window = documents
    p.windowBytes = 0
    p.batchSize = documents
    return (p, store, embedder)
}

/// Each one-chunk document's stored (normalized) vector points where its own text's
/// vector does.
func expectOwnVectors(_ docs: [Document], in collection: any VectorCollection, _ embedder: OpenAIEmbedder) async throws {
    let stored = try await collection.get(docs.map { ChunkSchema.recordID(document: $0.id, chunk: 0) })
    let expected = try await embedder.embed(docs.map(\.text))
    for (record, vector) in zip(stored, expected) {
        let v = record?.vector ?? []
        let cosine = zip(v, vector).map { $0 * $1 }.reduce(0, +) / (vector.map { $0 * $0 }.reduce(0, +).squareRoot())
        #expect(v.count == vector.count && abs(cosine - 1) < 1e-5)
    }
}

/// A pipeline into a fresh store in `dir`, embedding through the loopback server without retries.
func loopbackPipeline(_ server: LoopbackServer, _ dir: TemporaryDirectory, _ splitter: some TextSplitter) throws -> (
    IngestPipeline, Store, OpenAIEmbedder
) {
    let embedder = try OpenAIEmbedder(
        model: "m", dimension: 8, baseURL: server.baseURL + "/v1", caller: ResilientCaller(client: HTTPClient(), policy: .none))
    let store = try Store(path: dir.path)
    let pipeline = IngestPipeline(
        collection: try store.openOrCreateCollection("docs", for: embedder), embedder: embedder, splitter: splitter)
    return (pipeline, store, embedder)
}
