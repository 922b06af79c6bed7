import Dispatch
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

    /// Loads and ingests `sources` window by window, loading the next window (on all
    /// cores, off the cooperative pool) while the current one is split, embedded and
    /// written. `sizes` (the files' bytes, when the walk measured them) size the windows.
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
        // Sources that exist but failed to load keep what is stored of them.
        var failedToLoad: Set<String> = []
        // Folders (and links) the walk could not read keep what was indexed under them; if
        // the root itself could not be read, nothing is pruned.
        let unreadable = Set(issues.filter { $0.kind == .unreadable }.map(\.path))
        let rootUnreadable = root.map { r in issues.contains { $0.kind == .unreadable && $0.path == r } } ?? false
        var ids = Set<String>()
        for s in sources where !ids.insert(s.id).inserted {
            throw IngestError(
                .invalidArgument, "two sources would both be document \"\(s.id)\"; give them distinct ids", input: s.id, path: s.path)
        }
        let loader = self.loader
        func load(_ range: Range<Int>) -> Task<[DocumentLoader.Result], Never> {
            let slice = Array(sources[range])
            return Task(executorPreference: BlockingExecutor.current) {
                await BlockingExecutor.shared.run {
                    let loaded = Locked([DocumentLoader.Result](repeating: DocumentLoader.Result(), count: slice.count))
                    DispatchQueue.concurrentPerform(iterations: slice.count) { i in
                        let r = loader.load(file: slice[i].path, id: slice[i].id)
                        loaded.withLock { $0[i] = r }
                    }
                    return loaded.withLock { $0 }
                }
            }
        }
        var start = 0
        var count = filesInWindow(from: 0, of: sources.count, sizes: sizes, averageBytes: nil)
        var next = sources.isEmpty ? nil : load(0..<count)
        var loadedBytes = 0
        var writes = WriteChain()
        while let current = next {
            start += count
            let results = await current.value
            if sizes == nil {  // else the walk's sizes say how big the next window is
                loadedBytes += results.reduce(0) { $0 + $1.documents.reduce(0) { $0 + $1.text.utf8.count } }
            }
            let thisCount = count
            count = filesInWindow(from: start, of: sources.count, sizes: sizes, averageBytes: loadedBytes / max(1, start))
            next = start < sources.count ? load(start..<start + count) : nil
            var documents: [Document] = []
            var multiDocument: [(source: String, documents: Set<String>)] = []
            for (i, r) in results.enumerated() {
                documents += r.documents
                report.issues += r.issues
                let source = sources[start - thisCount + i]
                if !r.documents.isEmpty && (r.documents.count > 1 || r.documents[0].id != source.id) {
                    multiDocument.append((source.id, Set(r.documents.map(\.id))))
                }
                // A file that is there but gave nothing for a reason other than being empty
                // (binary, too large, unreadable, bad JSON, no parser for it) keeps what was
                // indexed from it: a parser missing from one run's registry deletes nothing.
                // None of these is a failure of the run; they are reported in `issues`.
                if r.documents.isEmpty, r.issues.contains(where: { $0.kind != .empty && $0.kind != .repairedUTF8 }),
                    FileManager.default.fileExists(atPath: source.path)
                {
                    failedToLoad.insert(source.id)
                }
            }
            documents = Self.droppingDuplicates(documents, seen: &seen, into: &report)
            report.bytes += documents.reduce(0) { $0 + $1.text.utf8.count }
            do {
                // A file of many documents (a PDF's pages, a JSON Lines file's rows) is
                // split, embedded and written a window of documents at a time, like the files.
                var first = 0
                while first < documents.count {
                    try Task.checkCancellation()
                    let slice = Array(documents[first..<sliceEnd(documents, from: first)])
                    first += slice.count
                    try await ingest(
                        slice, cache: cache, writes: &writes, into: &report, progress: &state, callback: timed(progress, started))
                }
                if !multiDocument.isEmpty {
                    try await writes.drain()
                    try await removeVanished(from: multiDocument, into: &report)
                }
            } catch {
                _ = await next?.value  // no load left running behind the error
                await writes.settle()  // nor any write
                throw Self.explained(error, writes)
            }
            state.documents += thisCount
            state.elapsed = Date().timeIntervalSince(started)
            progress?(state)
        }
        try await finish(writes, progress: &state, callback: timed(progress, started))
        if prune && !rootUnreadable {
            try await prune(keeping: seen, protecting: failedToLoad.union(unreadable), within: pruneWithin, into: &report)
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
        report.bytes = documents.reduce(0) { $0 + $1.text.utf8.count }
        var state = IngestProgress()
        state.documentsTotal = documents.count
        var start = 0
        var seen: Set<String> = []
        var writes = WriteChain()
        while start < documents.count {
            let window = Array(documents[start..<sliceEnd(documents, from: start)])
            start += window.count
            let slice = Self.droppingDuplicates(window, seen: &seen, into: &report)
            do {
                try await ingest(slice, cache: cache, writes: &writes, into: &report, progress: &state, callback: timed(progress, started))
            } catch {
                await writes.settle()  // no write left running behind the error
                throw Self.explained(error, writes)
            }
            state.documents += window.count
            state.elapsed = Date().timeIntervalSince(started)
            progress?(state)
        }
        try await finish(writes, progress: &state, callback: timed(progress, started))
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
    private func timed(_ callback: (@Sendable (IngestProgress) -> Void)?, _ started: Date) -> (@Sendable (IngestProgress) -> Void)? {
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
    private func finish(
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

    /// Splits, embeds and writes one window's documents. Its last writes may still be in
    /// flight when it returns (`writes`): the next window's work overlaps them.
    private func ingest(
        _ documents: [Document], cache: EmbeddingCache?, writes: inout WriteChain, into report: inout IngestReport,
        progress: inout IngestProgress, callback: (@Sendable (IngestProgress) -> Void)?
    ) async throws {
        try await writes.rethrowAnyFailure()
        let version = settingsVersion
        // Which documents changed: their stored chunks and version.
        var work: [(doc: Document, isNew: Bool)] = []
        // One read for the whole window (a read per document cost a thread hop each: half
        // the time of ingesting a thousand one-chunk files).
        var storedByDocument: [String: [String: [String: MetadataValue]]] = [:]
        for (id, metadata) in try await collection.metadata(
            where: .isIn(ChunkSchema.Key.document, documents.map { .string($0.id) }))
        {
            guard case .string(let document)? = metadata[ChunkSchema.Key.document] else { continue }
            storedByDocument[document, default: [:]][id] = metadata
        }
        for doc in documents {
            let fingerprint = "\(doc.contentHash)/\(version)"
            // Unchanged only when every stored chunk has this version and they are exactly
            // chunks 0..<n: not chunk 0 alone, which said "unchanged" over leftovers of
            // another run (two indexers with other settings racing on one folder).
            let stored = storedByDocument[doc.id] ?? [:]
            if !stored.isEmpty, stored.values.allSatisfy({ $0[ChunkSchema.Key.documentVersion] == .string(fingerprint) }),
                Set(stored.keys) == Set((0..<stored.count).map { ChunkSchema.recordID(document: doc.id, chunk: $0) })
            {
                report.unchanged.append(doc.id)
                continue
            }
            work.append((doc, stored.isEmpty))
        }
        guard !work.isEmpty else { return }
        if dryRun {
            for item in work {
                if item.isNew { report.added.append(item.doc.id) } else { report.updated.append(item.doc.id) }
            }
            return
        }
        // Split on all cores.
        let chunks = work.map(\.doc.text).split(with: splitter)
        progress.chunks += chunks.reduce(0) { $0 + $1.count }
        callback?(progress)
        // Embed the chunks the cache lacks in concurrent batches, and write each document as
        // soon as its chunks, and those of every document before it, have vectors: writes
        // (one at a time, several documents per transaction) overlap the embedding. A
        // document whose embedding failed is reported and left as it was.
        let texts = chunks.flatMap { $0.map(\.text) }
        var vectors = try await cache?.lookup(texts) ?? [[Float]?](repeating: nil, count: texts.count)
        let missing = vectors.indices.filter { vectors[$0] == nil }
        var owner: [Int] = []  // text index → work index
        owner.reserveCapacity(texts.count)
        for (i, c) in chunks.enumerated() { owner += repeatElement(i, count: c.count) }
        var remaining = [Int](repeating: 0, count: work.count)
        for i in missing { remaining[owner[i]] += 1 }
        var failures: [Int: String] = [:]
        var firstText = 0  // of the document at the frontier
        var frontier = 0  // documents before it are queued for writing
        var pending: (records: [Record], docs: [(String, Bool)]) = ([], [])
        var writer = writes.newest  // the newest write (perhaps an earlier window's); it ends after every write before it
        var writerBefore = writes.beforeNewest  // the one before it
        defer {
            writes.newest = writer
            writes.beforeNewest = writerBefore
        }
        let written = writes.written
        let committedDocuments = writes.committedDocuments
        let failed = writes.failed
        let inFlight = writes.inFlight
        let collection = self.collection
        func dispatch() {
            guard !pending.docs.isEmpty else { return }
            // The documents' old chunks are whatever the store holds for them when this
            // transaction runs (decided inside it): chunks another process wrote since
            // they were read above go too, so no run leaves orphans behind.
            let records = pending.records
            let replaced = Filter.isIn(ChunkSchema.Key.document, pending.docs.map { .string($0.0) })
            let documents = pending.docs.count
            // Two writes in flight: this one prepares its records (the keyword index's
            // analysis, encoding; on all cores) while the one before commits. Each
            // transaction holds whole documents and decides their old chunks itself, so
            // the two may commit in either order; a write ends after every write before
            // it, with the first error among them, and none starts after an error two back.
            chain {
                try await collection.write(upsert: records, deleting: [], deletingWhere: replaced)
                written.withLock { $0 += records.count }
                committedDocuments.withLock { $0 += documents }
            }
            report.chunksWritten += records.count
            for (id, isNew) in pending.docs {
                if isNew { report.added.append(id) } else { report.updated.append(id) }
            }
            pending = ([], [])
        }
        /// Appends a write to the chain (see `dispatch`): it waits for the write two back,
        /// and ends after every write before it, with the first error among them.
        func chain(_ body: @escaping @Sendable () async throws -> Void) {
            let previous = writer
            let beforePrevious = writerBefore
            inFlight.withLock { $0 += 1 }
            writer = Task(executorPreference: BlockingExecutor.current) {
                var failure: Error?
                do {
                    try await beforePrevious?.value
                    try await body()
                } catch {
                    failure = error
                    failed.withLock { $0 = true }
                }
                inFlight.withLock { $0 -= 1 }
                try await previous?.value  // an earlier write's error comes first
                if let failure { throw failure }
            }
            writerBefore = previous
        }
        func advance() {
            while frontier < work.count && remaining[frontier] == 0 {
                let item = work[frontier]
                let docChunks = chunks[frontier]
                let range = firstText..<(firstText + docChunks.count)
                frontier += 1
                firstText = range.upperBound
                if let failed = range.first(where: { failures[$0] != nil }), let message = failures[failed] {
                    report.failed.append((item.doc.id, message))
                    continue
                }
                let fingerprint = "\(item.doc.contentHash)/\(version)"
                var records: [Record] = []
                for (n, (chunk, vector)) in zip(docChunks, vectors[range]).enumerated() {
                    guard let vector else { continue }
                    let metadata = ChunkSchema.metadata(document: item.doc, chunk: chunk, number: n, version: fingerprint)
                    records.append(
                        Record(
                            id: ChunkSchema.recordID(document: item.doc.id, chunk: n), vector: vector, text: chunk.text,
                            metadata: metadata))
                }
                // A record the store would refuse (metadata over its limit, a field name it
                // cannot index) fails its document alone: the transaction it would have
                // joined carries other documents, and the document's old chunks stay.
                do {
                    try collection.validate(records)
                } catch {
                    report.failed.append((item.doc.id, (error as? QuiverError)?.message ?? "\(error)"))
                    continue
                }
                pending.records += records
                pending.docs.append((item.doc.id, item.isNew))
                // Group commit: while two writes are in flight, gather (bounded).
                if pending.docs.count >= documentsPerTransaction
                    && (inFlight.withLock({ $0 }) < 2 || pending.docs.count >= documentsPerGroupCommit
                        || pending.records.count >= recordsPerGroupCommit)
                {
                    dispatch()
                }
            }
        }
        do {
            progress.embedded += texts.count - missing.count
            advance()  // documents wholly in the cache
            var fresh: [(text: String, vector: [Float])] = []  // for the cache
            if !missing.isEmpty {
                let batcher = BatchEmbedder(embedder, batchSize: batchSize, concurrency: concurrency)
                let embedded = await batcher.embed(missing.map { texts[$0] }) { inputs, batch, failure in
                    for (offset, j) in inputs.enumerated() {
                        let i = missing[j]
                        if let batch { vectors[i] = batch[offset] } else { failures[i] = failure ?? "embedding failed" }
                        remaining[owner[i]] -= 1
                    }
                    if batch != nil { progress.embedded += inputs.count }
                    advance()
                    progress.written = written.withLock { $0 }
                    callback?(progress)
                }
                try Task.checkCancellation()  // a cancelled run stops here, not with every document "failed"
                if cache != nil {
                    fresh = missing.indices.compactMap { j in embedded.vectors[j].map { (texts[missing[j]], $0) } }
                }
            }
            advance()
            dispatch()  // the window's last documents go to the writes before the cache's own write
            if let cache, !fresh.isEmpty {
                // The cache's own write joins the chain of writes instead of holding up the
                // next window: it waits for LMDB's write lock behind the chunk writes in
                // flight (with 4,096 chunks a window, 65–100 ms of each window's time).
                let records = fresh.map { Record(id: EmbeddingCache.key($0.text), vector: $0.vector) }
                chain { try await cache.collection.upsert(records) }
            }
        } catch {
            _ = await writer?.result  // no write left running behind the error
            throw error
        }
        progress.written = written.withLock { $0 }
        callback?(progress)
    }

    /// `error` (from a window's work or a write), with what was committed when a write
    /// failed.
    private static func explained(_ error: Error, _ writes: WriteChain) -> Error {
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
    private func removeVanished(from files: [(source: String, documents: Set<String>)], into report: inout IngestReport)
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
