import Dispatch
import Foundation
import QuiverCore
import VectorStore

/// A run's documents, a slice at a time: documents loaded, split, embedded and written
/// together, and what finishing the slice completes.
struct IngestSlice {
    /// The slice's documents (before duplicates within the run are dropped).
    var documents: [Document]
    /// Sources (files, or given documents) whose last documents this slice holds: they
    /// count as done in the progress once it, and every slice before it, is done.
    var sources: Int
    /// Files of several documents whose every document this slice or an earlier one
    /// holds: once it is written, their documents that the file no longer gives are deleted.
    var multiDocument: [(source: String, documents: Set<String>)]
}

/// Where an ingest run's slices come from. Used by the run's task alone.
protocol IngestSliceSource {
    /// The next slice, or nil after the last.
    mutating func next() async -> IngestSlice?
    /// Work that `next()` would wait for (a window of files loading), if any: the run waits
    /// for it beside its requests instead of in `next()`.
    var loading: Task<[DocumentLoader.Result], Never>? { get }
    /// Waits for work started ahead of the slices (a load) to end.
    func settle() async
}

/// Given documents, a window at a time.
struct DocumentSlices: IngestSliceSource {
    let pipeline: IngestPipeline
    let documents: [Document]
    var start = 0

    mutating func next() async -> IngestSlice? {
        guard start < documents.count else { return nil }
        let end = pipeline.sliceEnd(documents, from: start)
        defer { start = end }
        return IngestSlice(documents: Array(documents[start..<end]), sources: end - start, multiDocument: [])
    }

    var loading: Task<[DocumentLoader.Result], Never>? { nil }

    func settle() async {}
}

/// Files, loaded a window at a time (on all cores, off the cooperative pool) while the
/// window before is split, embedded and written; a window's documents are sliced as given
/// documents are (a PDF's pages, a JSON Lines file's rows).
struct FileSlices: IngestSliceSource {
    let pipeline: IngestPipeline
    let sources: [(path: String, id: String)]
    /// The files' bytes, when the walk measured them: they size the windows.
    let sizes: [Int]?
    /// What the loader reported.
    private(set) var issues: [LoadIssue] = []
    /// Sources that exist but failed to load: what is stored of them is kept.
    private(set) var failedToLoad: Set<String> = []
    private var start = 0
    private var count: Int
    private var pending: Task<[DocumentLoader.Result], Never>?
    private let pendingDone = Locked(false)
    private var loadedBytes = 0
    private var buffered: [Document] = []
    private var position = 0
    private var bufferedSources = 0
    private var bufferedMultiDocument: [(source: String, documents: Set<String>)] = []

    init(pipeline: IngestPipeline, sources: [(path: String, id: String)], sizes: [Int]?) {
        self.pipeline = pipeline
        self.sources = sources
        self.sizes = sizes
        // The first window is `window` files however small they are: its requests go out
        // while the next, larger window loads (with 20,000 short notes, a first window of
        // 4,096 files held every request back some 60 ms).
        count = min(max(1, pipeline.window), pipeline.filesInWindow(from: 0, of: sources.count, sizes: sizes, averageBytes: nil))
        if !sources.isEmpty { pending = load(0..<count) }
    }

    private func load(_ range: Range<Int>) -> Task<[DocumentLoader.Result], Never> {
        let slice = Array(sources[range])
        let loader = pipeline.loader
        let done = pendingDone
        done.withLock { $0 = false }
        return Task(executorPreference: BlockingExecutor.current) {
            let results = await BlockingExecutor.shared.run {
                let loaded = Locked([DocumentLoader.Result](repeating: DocumentLoader.Result(), count: slice.count))
                DispatchQueue.concurrentPerform(iterations: slice.count) { i in
                    let r = loader.load(file: slice[i].path, id: slice[i].id)
                    loaded.withLock { $0[i] = r }
                }
                return loaded.withLock { $0 }
            }
            done.withLock { $0 = true }
            return results
        }
    }

    var loading: Task<[DocumentLoader.Result], Never>? {
        position < buffered.count || pendingDone.withLock({ $0 }) ? nil : pending
    }

    func settle() async { _ = await pending?.value }

    mutating func next() async -> IngestSlice? {
        if position == buffered.count {
            guard let current = pending else { return nil }
            let results = await current.value
            let first = start
            start += count
            if sizes == nil {  // else the walk's sizes say how big the next window is
                loadedBytes += results.reduce(0) { $0 + $1.documents.reduce(0) { $0 + $1.text.utf8.count } }
            }
            let thisCount = count
            count = pipeline.filesInWindow(from: start, of: sources.count, sizes: sizes, averageBytes: loadedBytes / max(1, start))
            pending = start < sources.count ? load(start..<start + count) : nil
            var documents: [Document] = []
            var multiDocument: [(source: String, documents: Set<String>)] = []
            for (i, r) in results.enumerated() {
                documents += r.documents
                issues += r.issues
                let source = sources[first + i]
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
            buffered = documents
            position = 0
            bufferedSources = thisCount
            bufferedMultiDocument = multiDocument
            // A window whose files gave no document still completes them.
            if documents.isEmpty { return IngestSlice(documents: [], sources: thisCount, multiDocument: multiDocument) }
        }
        let end = pipeline.sliceEnd(buffered, from: position)
        let slice = Array(buffered[position..<end])
        position = end
        let last = position == buffered.count
        return IngestSlice(
            documents: slice, sources: last ? bufferedSources : 0, multiDocument: last ? bufferedMultiDocument : [])
    }
}

extension IngestPipeline {
    /// A document to embed and write, and whether the collection had none of its chunks.
    struct Work: Sendable {
        var doc: Document
        var isNew: Bool
    }

    /// A slice compared with the store, split and looked up in the embedding cache.
    struct Prepared: Sendable {
        /// Documents whose chunks are stored with this version already.
        var unchanged: [String] = []
        /// Documents to (re)write, in slice order.
        var work: [Work] = []
        /// Each document's chunks (empty with `dryRun`).
        var chunks: [[TextChunk]] = []
        /// One entry per chunk, in order: the cache's vector, or nil.
        var vectors: [[Float]?] = []
    }

    /// What the run's task waits for.
    enum DriveEvent: Sendable {
        case prepared(Int, Prepared)
        case embedded(Int, Range<Int>, vectors: [[Float]]?, failure: String?)
        case loaded
    }

    /// A slice on its way through the run (owned by the run's task).
    final class Unit {
        let sources: Int
        let multiDocument: [(source: String, documents: Set<String>)]
        var prepared = false
        var work: [Work] = []
        var chunks: [[TextChunk]] = []
        var texts: [String] = []
        var vectors: [[Float]?] = []
        /// Texts the cache lacked, by text index; batches are ranges of this list.
        var missing: [Int] = []
        /// Text index → work index.
        var owner: [Int] = []
        /// Chunks of each document still without a vector.
        var remaining: [Int] = []
        var failures: [Int: String] = [:]
        /// The first text of the document at the frontier; documents before it are queued for writing.
        var firstText = 0
        var frontier = 0
        /// Batches not answered yet.
        var outstanding = 0
        /// Texts of this unit whose vector another request of the run (this unit's or an
        /// earlier one's) brings: the same text is asked for once while it is in flight.
        var following = 0
        /// By text index of this unit: the texts of units (this one included) waiting for
        /// the vector this text's request brings.
        var followers: [Int: [(unit: Unit, text: Int)]] = [:]

        init(sources: Int, multiDocument: [(source: String, documents: Set<String>)]) {
            self.sources = sources
            self.multiDocument = multiDocument
        }

        var isComplete: Bool { prepared && outstanding == 0 && following == 0 }
    }

    /// Runs the slices of `source` through the pipeline: each slice is compared with the
    /// store, split and looked up in the embedding cache while the slice before it is
    /// embedded; the cache's misses are embedded in batches, at most `concurrency` requests
    /// in flight for the whole run (lowered while the server answers 429), the next slice's
    /// requests going out while the last of the slice before are answered; each document
    /// is written as soon as its chunks, and those of the documents before it in its slice,
    /// have vectors (two writes in flight, several documents each). A text that a request
    /// in flight already carries (a boilerplate paragraph) is not asked for again. At most
    /// two slices are in memory, the one being loaded aside.
    func drive(
        _ source: inout some IngestSliceSource, cache: EmbeddingCache?, seen: inout Set<String>, into report: inout IngestReport,
        progress: inout IngestProgress, callback: (@Sendable (IngestProgress) -> Void)?
    ) async throws {
        var writes = WriteChain()
        do {
            try await pump(&source, cache: cache, seen: &seen, writes: &writes, into: &report, progress: &progress, callback: callback)
        } catch {
            await source.settle()  // no load left running behind the error
            await writes.settle()  // nor any write
            throw Self.explained(error, writes)
        }
        try await finish(writes, progress: &progress, callback: callback)
    }

    private func pump(
        _ source: inout some IngestSliceSource, cache: EmbeddingCache?, seen: inout Set<String>, writes: inout WriteChain,
        into report: inout IngestReport, progress: inout IngestProgress, callback: (@Sendable (IngestProgress) -> Void)?
    ) async throws {
        let version = settingsVersion
        let batcher = BatchEmbedder(embedder, batchSize: batchSize, concurrency: concurrency)
        let control = batcher.gate()
        defer { control.stop() }
        let embedder = self.embedder
        var units: [Int: Unit] = [:]
        var queue: [(unit: Int, inputs: Range<Int>)] = []  // batches not sent yet, in order
        var head = 0
        var inFlight = 0
        var preparing = false
        var waitingForLoad = false
        var exhausted = false
        var serial = 0
        // Texts asked for and not answered yet, with the unit and text index whose request
        // carries them: a repeated text (a boilerplate footer) is not asked for again.
        var asked: [String: (unit: Unit, text: Int)] = [:]
        var doneSources: [Int: Int] = [:]  // by slice: sources of slices done, not yet counted
        var credited = 0  // slices before this one are counted in `progress.documents`
        try await withThrowingTaskGroup(of: DriveEvent.self) { group in
            do {
                while true {
                    try Task.checkCancellation()  // a cancelled run stops, not with every document "failed"
                    // The next slice, once fewer than two are on their way; a window of files
                    // still loading is waited for beside the requests.
                    if !preparing && !waitingForLoad && !exhausted && units.count < 2 {
                        if let load = source.loading, inFlight > 0 || !units.isEmpty {
                            waitingForLoad = true
                            group.addTask {
                                _ = await load.value
                                return .loaded
                            }
                        } else if let slice = await source.next() {
                            try await writes.rethrowAnyFailure()
                            let documents = Self.droppingDuplicates(slice.documents, seen: &seen, into: &report)
                            report.bytes += documents.reduce(0) { $0 + $1.text.utf8.count }
                            let n = serial
                            serial += 1
                            units[n] = Unit(sources: slice.sources, multiDocument: slice.multiDocument)
                            preparing = true
                            group.addTask { .prepared(n, try await prepare(documents, cache: cache, version: version)) }
                        } else {
                            exhausted = true
                        }
                    }
                    while inFlight < control.limit && head < queue.count {
                        let (n, inputs) = queue[head]
                        head += 1
                        guard let unit = units[n] else { continue }
                        let texts = inputs.map { unit.texts[unit.missing[$0]] }
                        group.addTask {
                            do {
                                let vectors = try await embedder.embed(texts)
                                guard vectors.count == texts.count else {
                                    return .embedded(n, inputs, vectors: nil, failure: "\(vectors.count) vectors for \(texts.count) texts")
                                }
                                return .embedded(n, inputs, vectors: vectors, failure: nil)
                            } catch {
                                return .embedded(n, inputs, vectors: nil, failure: "\(error)")
                            }
                        }
                        inFlight += 1
                    }
                    if head == queue.count {
                        queue.removeAll(keepingCapacity: true)
                        head = 0
                    }
                    guard let event = try await group.next() else { break }  // nothing left to do
                    try Task.checkCancellation()
                    switch event {
                    case .loaded:
                        waitingForLoad = false
                        continue
                    case .prepared(let i, let prepared):
                        preparing = false
                        guard let unit = units[i] else { continue }
                        accept(prepared, unit, asked: &asked, writes: &writes, into: &report, progress: &progress, callback: callback)
                        let batches = batcher.batches(unit.missing.map { unit.texts[$0] })
                        unit.outstanding = batches.count
                        queue += batches.map { (i, $0) }
                    case .embedded(let i, let inputs, let vectors, let failure):
                        inFlight -= 1
                        guard let unit = units[i] else { continue }
                        unit.outstanding -= 1
                        var touched: [Unit] = [unit]
                        for (offset, j) in inputs.enumerated() {
                            let t = unit.missing[j]
                            if let vectors { unit.vectors[t] = vectors[offset] } else { unit.failures[t] = failure ?? "embedding failed" }
                            unit.remaining[unit.owner[t]] -= 1
                            asked[unit.texts[t]] = nil
                            for (follower, k) in unit.followers.removeValue(forKey: t) ?? [] {
                                if let vectors {
                                    follower.vectors[k] = vectors[offset]
                                } else {
                                    follower.failures[k] = failure ?? "embedding failed"
                                }
                                follower.remaining[follower.owner[k]] -= 1
                                follower.following -= 1
                                if vectors != nil { progress.embedded += 1 }
                                if !touched.contains(where: { $0 === follower }) { touched.append(follower) }
                            }
                        }
                        if vectors != nil { progress.embedded += inputs.count }
                        for u in touched { advance(u, version: version, writes: &writes, into: &report) }
                        progress.written = writes.written.withLock { $0 }
                        callback?(progress)
                    }
                    // Slices done (a follower's slice may be done with another's request); their
                    // sources count in the progress once every slice before them is done too.
                    for id in units.keys.sorted() {
                        guard let unit = units[id], unit.isComplete else { continue }
                        units[id] = nil
                        doneSources[id] = unit.sources
                        while let sources = doneSources.removeValue(forKey: credited) {
                            progress.documents += sources
                            credited += 1
                        }
                        try await complete(unit, cache: cache, writes: &writes, into: &report, progress: &progress, callback: callback)
                    }
                }
            } catch {
                group.cancelAll()
                // A cancelled run ends with CancellationError, whichever of its requests or
                // reads noticed first (a read refuses with "cancelled before it started").
                if Task.isCancelled { throw CancellationError() }
                throw error
            }
        }
    }

    /// A slice's comparison with the store, its chunks and the cache's vectors.
    private func prepare(_ documents: [Document], cache: EmbeddingCache?, version: String) async throws -> Prepared {
        var prepared = Prepared()
        guard !documents.isEmpty else { return prepared }
        // Which documents changed: their stored chunks and version, in one read for the
        // slice (a read per document cost a thread hop each: half the time of ingesting a
        // thousand one-chunk files).
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
                prepared.unchanged.append(doc.id)
                continue
            }
            prepared.work.append(Work(doc: doc, isNew: stored.isEmpty))
        }
        guard !prepared.work.isEmpty, !dryRun else { return prepared }
        // Split on all cores.
        prepared.chunks = prepared.work.map(\.doc.text).split(with: splitter)
        let texts = prepared.chunks.flatMap { $0.map(\.text) }
        prepared.vectors = try await cache?.lookup(texts) ?? [[Float]?](repeating: nil, count: texts.count)
        return prepared
    }

    /// Takes a prepared slice into `unit`: reports its unchanged documents (and, with
    /// `dryRun`, what would change), and queues the documents wholly in the cache for writing.
    private func accept(
        _ prepared: Prepared, _ unit: Unit, asked: inout [String: (unit: Unit, text: Int)], writes: inout WriteChain,
        into report: inout IngestReport, progress: inout IngestProgress, callback: (@Sendable (IngestProgress) -> Void)?
    ) {
        unit.prepared = true
        report.unchanged += prepared.unchanged
        if dryRun {
            for item in prepared.work {
                if item.isNew { report.added.append(item.doc.id) } else { report.updated.append(item.doc.id) }
            }
            return
        }
        guard !prepared.work.isEmpty else { return }
        unit.work = prepared.work
        unit.chunks = prepared.chunks
        unit.texts = prepared.chunks.flatMap { $0.map(\.text) }
        unit.vectors = prepared.vectors
        unit.owner.reserveCapacity(unit.texts.count)
        for (i, c) in unit.chunks.enumerated() { unit.owner += repeatElement(i, count: c.count) }
        unit.remaining = [Int](repeating: 0, count: unit.work.count)
        // A text the cache lacks is asked for unless a request in flight (or queued) of
        // this run already carries it: then it follows that request.
        for i in unit.vectors.indices where unit.vectors[i] == nil {
            unit.remaining[unit.owner[i]] += 1
            if let leader = asked[unit.texts[i]] {
                leader.unit.followers[leader.text, default: []].append((unit, i))
                unit.following += 1
            } else {
                asked[unit.texts[i]] = (unit, i)
                unit.missing.append(i)
            }
        }
        progress.chunks += unit.texts.count
        callback?(progress)
        progress.embedded += unit.texts.count - unit.missing.count - unit.following
        advance(unit, version: settingsVersion, writes: &writes, into: &report)  // documents wholly in the cache
    }

    /// Queues for writing each document at the unit's frontier whose chunks all have
    /// vectors; a document whose embedding failed is reported and left as it was.
    private func advance(_ unit: Unit, version: String, writes: inout WriteChain, into report: inout IngestReport) {
        while unit.frontier < unit.work.count && unit.remaining[unit.frontier] == 0 {
            let item = unit.work[unit.frontier]
            let docChunks = unit.chunks[unit.frontier]
            let range = unit.firstText..<(unit.firstText + docChunks.count)
            unit.frontier += 1
            unit.firstText = range.upperBound
            if let failed = range.first(where: { unit.failures[$0] != nil }), let message = unit.failures[failed] {
                report.failed.append((item.doc.id, message))
                continue
            }
            let fingerprint = "\(item.doc.contentHash)/\(version)"
            var records: [Record] = []
            for (n, (chunk, vector)) in zip(docChunks, unit.vectors[range]).enumerated() {
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
            writes.pending.records += records
            writes.pending.docs.append((item.doc.id, item.isNew))
            // Group commit: while two writes are in flight, gather (bounded).
            if writes.pending.docs.count >= documentsPerTransaction
                && (writes.inFlight.withLock({ $0 }) < 2 || writes.pending.docs.count >= documentsPerGroupCommit
                    || writes.pending.records.count >= recordsPerGroupCommit)
            {
                dispatch(&writes, into: &report)
            }
        }
    }

    /// Sends the gathered documents to the chain of writes as one transaction.
    private func dispatch(_ writes: inout WriteChain, into report: inout IngestReport) {
        guard !writes.pending.docs.isEmpty else { return }
        // The documents' old chunks are whatever the store holds for them when this
        // transaction runs (decided inside it): chunks another process wrote since they
        // were read go too, so no run leaves orphans behind.
        let records = writes.pending.records
        let replaced = Filter.isIn(ChunkSchema.Key.document, writes.pending.docs.map { .string($0.0) })
        let documents = writes.pending.docs.count
        let written = writes.written
        let committedDocuments = writes.committedDocuments
        let collection = self.collection
        // Two writes in flight: this one prepares its records (the keyword index's
        // analysis, encoding; on all cores) while the one before commits. Each transaction
        // holds whole documents and decides their old chunks itself, so the two may commit
        // in either order.
        writes.chain {
            try await collection.write(upsert: records, deleting: [], deletingWhere: replaced)
            written.withLock { $0 += records.count }
            committedDocuments.withLock { $0 += documents }
        }
        report.chunksWritten += records.count
        for (id, isNew) in writes.pending.docs {
            if isNew { report.added.append(id) } else { report.updated.append(id) }
        }
        writes.pending = ([], [])
    }

    /// A slice whose every batch is answered: its last documents go to the writes, then the
    /// cache's vectors; files of several documents lose the documents they no longer give.
    private func complete(
        _ unit: Unit, cache: EmbeddingCache?, writes: inout WriteChain, into report: inout IngestReport,
        progress: inout IngestProgress, callback: (@Sendable (IngestProgress) -> Void)?
    ) async throws {
        dispatch(&writes, into: &report)  // before the cache's own write
        if let cache {
            let fresh = unit.missing.compactMap { i in unit.vectors[i].map { Record(id: EmbeddingCache.key(unit.texts[i]), vector: $0) } }
            // The cache's write joins the chain instead of holding up the next slice: it
            // waits for LMDB's write lock behind the chunk writes in flight.
            if !fresh.isEmpty { writes.chain { try await cache.collection.upsert(fresh) } }
        }
        if !unit.multiDocument.isEmpty {
            try await writes.drain()
            try await removeVanished(from: unit.multiDocument, into: &report)
        }
        progress.written = writes.written.withLock { $0 }
        callback?(progress)
    }
}
