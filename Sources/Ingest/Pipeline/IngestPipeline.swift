import Foundation
import QuiverCore
import VectorStore

/// What an ingest did.
public struct IngestReport: Sendable, CustomStringConvertible {
    /// Documents new to the collection.
    public var added: [String] = []
    /// Documents whose content or settings changed: their chunks were replaced.
    public var updated: [String] = []
    /// Documents skipped because nothing changed.
    public var unchanged: [String] = []
    /// Documents deleted because their source vanished (with `prune`).
    public var removed: [String] = []
    /// Chunks written.
    public var chunksWritten = 0
    /// Documents that failed (embedding or writing), with the reason; the others are stored.
    public var failed: [(id: String, reason: String)] = []
    /// Files the loader skipped or repaired.
    public var issues: [LoadIssue] = []
    /// UTF-8 bytes of the documents seen.
    public var bytes = 0
    /// Wall time of the run.
    public var seconds = 0.0

    /// An empty report.
    public init() {}

    /// One line of counts.
    public var description: String {
        "\(added.count) added, \(updated.count) updated, \(unchanged.count) unchanged, \(removed.count) removed, "
            + "\(chunksWritten) chunks written, \(failed.count) failed, \(issues.count) file issues; "
            + String(format: "%.1f MB in %.2f s (%.1f MB/s)", Double(bytes) / 1e6, seconds, Double(bytes) / 1e6 / max(seconds, 1e-9))
    }
}

/// Progress of a running ingest.
public struct IngestProgress: Sendable {
    /// Documents seen so far, of `documentsTotal`.
    public var documents = 0
    /// Files found by the walk (or given), those no parser takes included.
    public var documentsTotal = 0
    /// Chunks split so far.
    public var chunks = 0
    /// Chunks embedded so far.
    public var embedded = 0
    /// Chunks written so far.
    public var written = 0
    /// Seconds since the run started.
    public var elapsed = 0.0

    /// No progress yet.
    public init() {}

    /// Documents per second so far.
    public var documentsPerSecond: Double { elapsed > 0 ? Double(documents) / elapsed : 0 }
    /// Chunks written per second so far.
    public var chunksPerSecond: Double { elapsed > 0 ? Double(written) / elapsed : 0 }
    /// Seconds left at the rate so far, once there is a rate.
    public var secondsRemaining: Double? {
        guard documents > 0, documentsTotal >= documents, documentsPerSecond > 0 else { return nil }
        let left = Double(documentsTotal - documents) / documentsPerSecond
        return left.isFinite ? left : nil
    }
}

/// What an ingest run reports as it goes (see `IngestPipeline.events`).
public enum IngestEvent: Sendable {
    /// Counts and rates so far.
    case progress(IngestProgress)
    /// The run finished; the last event.
    case finished(IngestReport)
}

/// Loads, splits (on all cores), embeds (concurrent batches) and writes documents into a
/// collection, incrementally: unchanged documents (same content hash, splitter and
/// embedder) are skipped, changed ones have their chunks replaced in one transaction, and
/// with `prune` documents whose source vanished are deleted. Work proceeds in windows of
/// `window` documents or more (small documents are taken together up to `windowBytes` of
/// text), so memory stays bounded however large the corpus.
///
/// Chunk records have ids `<document id>#<n>` and metadata: the document's, plus `doc`,
/// `chunk`, `start`/`end` (byte offsets in the document text) and `doc_version`.
public struct IngestPipeline: Sendable {
    /// Where chunks go.
    public let collection: any VectorCollection
    /// The embedder (the collection must have been created for it).
    public let embedder: any Embedder
    /// The splitter.
    public let splitter: any TextSplitter
    /// The loader.
    public var loader = DocumentLoader()
    /// Texts per embedding request.
    public var batchSize = 64
    /// Embedding requests in flight (16: a thousand one-chunk notes, 16 requests of 64
    /// texts, in one round of the server's latency; lowered while the server answers 429).
    public var concurrency = 16
    /// Documents per write transaction while the writes keep up with the embedding.
    public var documentsPerTransaction = 32
    /// Most documents one transaction gathers when the writes fall behind (two in flight):
    /// the next transaction then takes the documents that become ready meanwhile (group
    /// commit), up to this many or ``recordsPerGroupCommit`` chunks, so a burst of
    /// embeddings commits in a few transactions, not one per `documentsPerTransaction`
    /// (each commit waits for the disk). Set it to `documentsPerTransaction` for
    /// transactions of that size always.
    public var documentsPerGroupCommit = 256
    /// Chunks at which a transaction gathering documents is dispatched whatever its count
    /// (bounds a transaction's size when documents are long).
    public var recordsPerGroupCommit = 8192
    /// Documents loaded, split and embedded together: at least this many (the first window
    /// of files exactly this many).
    public var window = 256
    /// Text per window, for small documents: a window takes more than `window` documents
    /// (at most 16 times as many) while their text stays under this, so that a thousand
    /// short notes fill the embedding requests in flight instead of waiting on four windows
    /// in turn. For files, the next window's count comes from the average size of the
    /// files so far.
    public var windowBytes = 8 << 20
    /// Delete documents whose source vanished.
    public var prune = false
    /// Write nothing: the report says what would be added, updated, left unchanged and
    /// removed (documents are loaded and compared, not split or embedded).
    public var dryRun = false
    /// Reuse and remember vectors in the store's embedding cache. Default: on for
    /// embedders that call a server, off for in-process ones (the hashing embedder computes
    /// a vector faster than the cache stores one).
    public var useCache: Bool

    /// Creates a pipeline.
    public init(collection: any VectorCollection, embedder: any Embedder, splitter: any TextSplitter) {
        self.collection = collection
        self.embedder = embedder
        self.splitter = splitter
        useCache = embedder is any HTTPBackedEmbedder
    }

    /// What identifies the chunking and embedding: a change re-ingests every document.
    public var settingsVersion: String {
        Document.hash("\(splitter)|\(embedder.identifier)")
    }

    /// Ingests every file under `root`; document ids are paths relative to it. Files no
    /// parser takes are in the report's `issues` as `.unsupported`: not failures.
    public func run(directory root: String, progress: (@Sendable (IngestProgress) -> Void)? = nil) async throws -> IngestReport {
        let (files, issues) = loader.measuredWalk(root)
        let sources = files.map { (path: (root as NSString).appendingPathComponent($0.path), id: $0.path) }
        return try await run(
            sources: sources, sizes: files.map(\.bytes), issues: issues, root: root, pruneWithin: nil, progress: progress)
    }

    /// Ingests the given files; document ids are their paths relative to `root` when
    /// given (and under it), else the paths as given. With `prune`, only the listed files
    /// count: a listed file that vanished has its documents deleted, nothing else is.
    public func run(
        files: [String], root: String? = nil, progress: (@Sendable (IngestProgress) -> Void)? = nil
    ) async throws -> IngestReport {
        let base = root.map { $0.hasSuffix("/") ? $0 : $0 + "/" }
        // "root//a.md" is "a.md" under root, as "root/a.md" is.
        let sources = files.map { path in
            (path: path, id: base.flatMap { path.hasPrefix($0) ? String(path.dropFirst($0.count).drop { $0 == "/" }) : nil } ?? path)
        }
        return try await run(
            sources: sources, sizes: nil, issues: [], root: nil, pruneWithin: Set(sources.map(\.id)), progress: progress)
    }

    /// Loads and ingests `sources`: windows of files are loaded (on all cores, off the
    /// cooperative pool) ahead of the work on the window before (see `drive`). `sizes` (the
    /// files' bytes, when the walk measured them) size the windows.
    private func run(
        sources: [(path: String, id: String)], sizes: [Int]?, issues: [LoadIssue], root: String?, pruneWithin: Set<String>?,
        progress: (@Sendable (IngestProgress) -> Void)?
    ) async throws -> IngestReport {
        try FileDescriptors.ensureAvailable(2 * concurrency, for: "an ingest at concurrency \(concurrency)", perUnit: 2)
        let started = Date()
        let cache = try await openCache()
        var report = IngestReport()
        report.issues = issues
        var state = IngestProgress()
        state.documentsTotal = sources.count
        var seen: Set<String> = []
        // Folders (and links) the walk could not read keep what was indexed under them; if
        // the root itself could not be read, nothing is pruned.
        let unreadable = Set(issues.filter { $0.kind == .unreadable }.map(\.path))
        let rootUnreadable = root.map { r in issues.contains { $0.kind == .unreadable && $0.path == r } } ?? false
        var ids = Set<String>()
        for s in sources where !ids.insert(s.id).inserted {
            throw IngestError(
                .invalidArgument, "two sources would both be document \"\(s.id)\"; give them distinct ids", input: s.id, path: s.path)
        }
        var files = FileSlices(pipeline: self, sources: sources, sizes: sizes)
        try await drive(&files, cache: cache, seen: &seen, into: &report, progress: &state, callback: timed(progress, started))
        report.issues += files.issues
        if prune && !rootUnreadable {
            // Sources that exist but failed to load keep what is stored of them.
            try await prune(keeping: seen, protecting: files.failedToLoad.union(unreadable), within: pruneWithin, into: &report)
        }
        report.seconds = Date().timeIntervalSince(started)
        return report
    }

    /// How many files the window starting at `start` loads: `window`, or more while they
    /// fit in `windowBytes` (by their sizes when known, else by the average text of the
    /// files so far; the first window without sizes is `window`), at most `16 * window`.
    func filesInWindow(from start: Int, of total: Int, sizes: [Int]?, averageBytes: Int?) -> Int {
        let window = max(1, self.window)
        let most = min(total - start, 16 * window)
        if let sizes { return windowEnd(from: start, limit: start + most) { sizes[$0] } - start }
        guard let averageBytes else { return min(most, window) }
        return min(most, max(window, windowBytes / max(1, averageBytes)))
    }

    /// Where the window of `documents` starting at `first` ends: after `window` documents,
    /// or later while their text stays under `windowBytes`, at most `16 * window`.
    func sliceEnd(_ documents: [Document], from first: Int) -> Int {
        windowEnd(from: first, limit: min(documents.count, first + 16 * max(1, window))) { documents[$0].text.utf8.count }
    }

    /// Where a window of items starting at `first` ends (at most `limit`): after `window`
    /// items, then one more while their sizes stay within `windowBytes`.
    private func windowEnd(from first: Int, limit: Int, size: (Int) -> Int) -> Int {
        var end = min(limit, first + max(1, window))
        var bytes = (first..<end).reduce(0) { $0 + size($1) }
        while end < limit, bytes + size(end) <= windowBytes {
            bytes += size(end)
            end += 1
        }
        return end
    }

    /// Ingests documents given directly (ids chosen by the caller).
    public func run(documents: [Document], progress: (@Sendable (IngestProgress) -> Void)? = nil) async throws -> IngestReport {
        let started = Date()
        try FileDescriptors.ensureAvailable(2 * concurrency, for: "an ingest at concurrency \(concurrency)", perUnit: 2)
        let cache = try await openCache()
        var report = IngestReport()
        var state = IngestProgress()
        state.documentsTotal = documents.count
        var seen: Set<String> = []
        var slices = DocumentSlices(pipeline: self, documents: documents)
        try await drive(&slices, cache: cache, seen: &seen, into: &report, progress: &state, callback: timed(progress, started))
        report.bytes = documents.reduce(0) { $0 + $1.text.utf8.count }  // duplicates included, as given
        if prune { try await prune(keeping: seen, protecting: [], within: nil, into: &report) }
        report.seconds = Date().timeIntervalSince(started)
        return report
    }

    /// Synchronous form of `run(directory:)`: the run happens on threads Quiver owns while
    /// the calling thread waits; safe from any thread or task.
    public func run(directory root: String, progress: (@Sendable (IngestProgress) -> Void)? = nil) throws -> IngestReport {
        try BlockingExecutor.wait { try await run(directory: root, progress: progress) }
    }

    /// Synchronous form of `run(files:root:)`.
    public func run(files: [String], root: String? = nil, progress: (@Sendable (IngestProgress) -> Void)? = nil) throws
        -> IngestReport
    {
        try BlockingExecutor.wait { try await run(files: files, root: root, progress: progress) }
    }

    /// Synchronous form of `run(documents:)`.
    public func run(documents: [Document], progress: (@Sendable (IngestProgress) -> Void)? = nil) throws -> IngestReport {
        try BlockingExecutor.wait { try await run(documents: documents, progress: progress) }
    }

    /// `run(directory:)` as an async sequence: `.progress` events with counts and rates
    /// while it works, then `.finished` with the report. Ending the iteration early cancels
    /// the run.
    ///
    /// ```swift
    /// for try await event in pipeline.events(directory: "notes") {
    ///     if case .progress(let p) = event { print(p.documents, p.chunksPerSecond) }
    /// }
    /// ```
    public func events(directory root: String) -> AsyncThrowingStream<IngestEvent, Error> {
        events { progress in try await run(directory: root, progress: progress) }
    }

    /// `run(files:root:)` as an async sequence of events.
    public func events(files: [String], root: String? = nil) -> AsyncThrowingStream<IngestEvent, Error> {
        events { progress in try await run(files: files, root: root, progress: progress) }
    }

    /// `run(documents:)` as an async sequence of events.
    public func events(documents: [Document]) -> AsyncThrowingStream<IngestEvent, Error> {
        events { progress in try await run(documents: documents, progress: progress) }
    }

    private func events(
        _ body: @escaping @Sendable (@escaping @Sendable (IngestProgress) -> Void) async throws -> IngestReport
    ) -> AsyncThrowingStream<IngestEvent, Error> {
        AsyncThrowingStream(bufferingPolicy: .bufferingNewest(64)) { continuation in
            let task = Task {
                do {
                    let report = try await body { continuation.yield(.progress($0)) }
                    continuation.yield(.finished(report))
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// `documents` without those whose id an earlier document of the run already has
    /// (two JSON rows with one id, say): those are reported as failed, not mixed up.
    static func droppingDuplicates(_ documents: [Document], seen: inout Set<String>, into report: inout IngestReport)
        -> [Document]
    {
        documents.filter { doc in
            if seen.insert(doc.id).inserted { return true }
            report.failed.append((doc.id, "another document of this run has the same id; only the first was indexed"))
            return false
        }
    }

    /// `callback` with the elapsed time filled in.
    func timed(_ callback: (@Sendable (IngestProgress) -> Void)?, _ started: Date) -> (@Sendable (IngestProgress) -> Void)? {
        guard let callback else { return nil }
        return { p in
            var p = p
            p.elapsed = Date().timeIntervalSince(started)
            callback(p)
        }
    }

    /// The store's embedding cache for this embedder, once per run (nil when off).
    private func openCache() async throws -> EmbeddingCache? {
        useCache && !dryRun ? try await EmbeddingCache.open(store: collection.database, embedder: embedder) : nil
    }

    /// Waits for the run's last writes and reports the chunks written.
    func finish(
        _ writes: WriteChain, progress: inout IngestProgress, callback: (@Sendable (IngestProgress) -> Void)?
    ) async throws {
        do {
            try await writes.drain()
        } catch {
            throw Self.explained(error, writes)
        }
        let written = writes.written.withLock { $0 }
        if progress.written != written {
            progress.written = written
            callback?(progress)
        }
    }

    /// `error` (from a window's work or a write), with what was committed when a write
    /// failed.
    static func explained(_ error: Error, _ writes: WriteChain) -> Error {
        // A write that failed (a full disk, a damaged store): say what was committed.
        if var e = error as? QuiverError, e.code == .storage || e.code == .corrupted {
            let documents = writes.committedDocuments.withLock { $0 }
            let chunks = writes.written.withLock { $0 }
            e.message +=
                "; \(documents) documents (\(chunks) chunks) of this run were committed before it and are searchable, "
                + "the rest were not: the same command, run again, goes on from there"
            return e
        }
        return error
    }

    /// Deletes the documents that files of several documents no longer give (the pages
    /// cut from a PDF, the rows deleted from a JSON Lines file): the documents whose
    /// `source` is such a file and that it did not give this time. (With dry run, only
    /// reported.)
    func removeVanished(from files: [(source: String, documents: Set<String>)], into report: inout IngestReport)
        async throws
    {
        for file in files {
            let stored = try await collection.metadata(where: .equals(ChunkSchema.Key.source, .string(file.source)))
            var vanished: Set<String> = []
            for metadata in stored.values {
                if case .string(let doc)? = metadata[ChunkSchema.Key.document], !file.documents.contains(doc) { vanished.insert(doc) }
            }
            guard !vanished.isEmpty else { continue }
            let sorted = vanished.sorted()
            if !dryRun {
                try await collection.write(
                    upsert: [], deleting: [], deletingWhere: .isIn(ChunkSchema.Key.document, sorted.map { .string($0) }))
            }
            report.removed += sorted
        }
    }

    /// Deletes documents not in `seen`, except those of sources (or folders) in
    /// `protecting`, which exist but could not be read; with `within`, only documents of
    /// the listed sources.
    private func prune(
        keeping seen: Set<String>, protecting: Set<String>, within: Set<String>?, into report: inout IngestReport
    ) async throws {
        let stored = try await collection.metadata(where: ChunkSchema.anyChunk)
        var vanished: [String: [String]] = [:]
        /// A source's documents have its id, or its id then `#` (rows of a JSON file);
        /// a folder's, its path then `/`.
        func belongs(_ doc: String, to sources: Set<String>) -> Bool {
            if sources.contains(doc) { return true }
            return doc.indices.contains { (doc[$0] == "#" || doc[$0] == "/") && sources.contains(String(doc[..<$0])) }
        }
        for (id, metadata) in stored {
            guard case .string(let doc)? = metadata[ChunkSchema.Key.document], !seen.contains(doc), !belongs(doc, to: protecting) else {
                continue
            }
            if let within, !belongs(doc, to: within) { continue }
            vanished[doc, default: []].append(id)
        }
        let alreadyRemoved = Set(report.removed)  // by `removeVanished` (a dry run deleted nothing)
        for (doc, _) in vanished.sorted(by: { $0.key < $1.key }) where !alreadyRemoved.contains(doc) {
            // By document, in the transaction: chunks of it written meanwhile go too.
            if !dryRun { try await collection.write(upsert: [], deleting: [], deletingWhere: ChunkSchema.chunks(of: doc)) }
            report.removed.append(doc)
        }
    }
}
