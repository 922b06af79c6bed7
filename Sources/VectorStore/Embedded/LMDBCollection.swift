import Foundation
import TextAnalysis
import CQuiverKernels
import QuiverCore

/// A collection of the embedded LMDB store: the `VectorCollection` that `Store` holds.
///
/// Obtain one from `Store.createCollection`, `Store.collection` or
/// `Store.openOrCreateCollection`. Every method has a synchronous form (runs on the
/// calling thread; safe from any thread or task, many at once) and an `async` form of the
/// same name (runs on the store's own queues, off the cooperative pool). Each read sees
/// one committed snapshot; writes are serialized by the store.
public final class LMDBCollection: VectorCollection {
    /// The collection's fixed settings.
    public let info: CollectionInfo
    /// The store holding the collection.
    public let store: Store

    let blocks: Table<U64Key>
    let tombs: Table<U64Key>
    let records: Table<U64Key>
    let locations: Table<U64Key>
    let ids: Table<UTF8Key>
    let index: Table<IndexKeyBytes>
    /// Secondary indexes, each kept in the records' own write transactions.
    let indexes: [any SecondaryIndex]
    /// The keyword (BM25) index, when the collection has one.
    let keywordIndex: KeywordIndex?
    /// The codec of the collection's vector encoding.
    let codec: any VectorCodec
    /// A compact collection's float32 copies of its vectors (nil for f32).
    let fullVectors: Table<U64Key>?
    /// The centroid table of the collection's partitioned (IVF) index, when it has one.
    let ivfTable: Table<UTF8Key>?
    /// The last IVF centroids decoded, reused while the stored generation is the same (a
    /// retrain always stores a new one).
    let ivfCache = PosixMutex<IVFCentroids?>(nil)
    /// The block views of the last read snapshot walked, reused by reads of the same
    /// snapshot (see ``BlockDirectory``).
    let blockDirectory = PosixMutex<BlockDirectory?>(nil)
    /// Blocks whose checksum this handle has verified (with `StoreOptions.verifyChecksums`).
    let verifiedBlocks = PosixMutex<Set<UInt64>>([])
    /// The headers of the blocks of the last read snapshot walked, in block order, with
    /// where their values were: a committed value does not move or change (LMDB copies on
    /// write, and block numbers only grow), so a later walk need not read the header of a
    /// block found at the same place with the same size again (one cold line per block:
    /// 1,000 or more with an IVF index, walked by every write and the first read of each
    /// snapshot). Learned in reads only: a write's own blocks may be aborted, their numbers
    /// and memory reused.
    let blockHeaders = PosixMutex<[(no: UInt64, header: BlockView.Header)]>([])
    /// The stored settings (catalog bytes) a write last found consistent with this
    /// handle's: the same bytes need no JSON decoding to be checked again.
    let verifiedSettings = PosixMutex<[UInt8]?>(nil)

    init(store: Store, info: CollectionInfo) throws {
        self.store = store
        self.info = info
        let names = Format.Table.allCases.map { $0.name(cid: info.cid) }
        let dbis = try store.env.openExisting(names).enumerated().map { i, dbi -> DBI in
            guard let dbi else {
                throw StoreError(.corrupted, "collection \"\(info.name)\" is missing its table \(names[i])")
            }
            return dbi
        }
        blocks = Table(dbi: dbis[0])
        tombs = Table(dbi: dbis[1])
        records = Table(dbi: dbis[2])
        locations = Table(dbi: dbis[3])
        ids = Table(dbi: dbis[4])
        index = Table(dbi: dbis[5])
        keywordIndex = try Self.openKeywordIndex(store, info)
        indexes = [MetadataIndex(table: index)] + (keywordIndex.map { [$0] } ?? [])
        codec = info.encoding.codec
        if info.encoding.isCompact {
            let name = Format.RescoreTable.full.name(cid: info.cid)
            guard let dbi = try store.env.openExisting([name])[0] else {
                throw StoreError(
                    .corrupted,
                    "collection \"\(info.name)\" stores \(info.encoding.rawValue) vectors but its float32 table \(name) is missing",
                    collection: info.name)
            }
            fullVectors = Table(dbi: dbi)
        } else {
            fullVectors = nil
        }
        if info.configuration[IVFSettings.listsKey] != nil {
            let name = Format.IVFTable.centroids.name(cid: info.cid)
            guard let dbi = try store.env.openExisting([name])[0] else {
                throw StoreError(
                    .corrupted, "collection \"\(info.name)\" records an IVF index but its centroid table \(name) is missing",
                    collection: info.name)
            }
            ivfTable = Table(dbi: dbi)
        } else {
            ivfTable = nil
        }
        accessPaths = [ScanPath()] + indexes.flatMap(\.accessPaths) + (ivfTable == nil ? [] : [IVFPath()])
    }

    /// The store holding the collection.
    public var database: any VectorDatabase { store }

    /// Why the collection's keyword index cannot be used as it is — it was made by another
    /// release of the Snowball stemmer — or nil. Keyword and hybrid searches and writes are
    /// refused until `Store.buildKeywordIndex` rebuilds it.
    public var keywordIndexProblem: String? { keywordIndex?.staleReason }

    /// The keyword index of a collection whose settings record an analyzer.
    private static func openKeywordIndex(_ store: Store, _ info: CollectionInfo) throws -> KeywordIndex? {
        guard let identifier = info.configuration[KeywordIndexSettings.configurationKey] else { return nil }
        let settings: AnalyzerSettings
        do {
            settings = try AnalyzerSettings(identifier: identifier)
        } catch {
            throw StoreError(
                .unsupportedFormat,
                "collection \"\(info.name)\" has a keyword index made by analyzer \"\(identifier)\", which this version of Quiver "
                    + "does not know; rebuild it with `quiver reindex --keyword`",
                collection: info.name, actual: identifier)
        }
        let names = Format.KeywordTable.allCases.map { $0.name(cid: info.cid) } + [Format.KeywordTable.legacyPostingsName(cid: info.cid)]
        let dbis = try store.env.openExisting(names)
        let analyzer = try AnalyzerCache.analyzer(settings)
        var stale: String?
        guard let postings = dbis[0], let stats = dbis[1], let segments = dbis[2], let deleted = dbis[3], let frequencies = dbis[4] else {
            guard let legacy = dbis[5], let stats = dbis[1], let segments = dbis[2], let deleted = dbis[3] else {
                throw StoreError(
                    .corrupted,
                    "collection \"\(info.name)\" records a keyword index but its tables are missing; rebuild it with "
                        + "`quiver reindex --keyword`", collection: info.name)
            }
            // Built before postings were compressed (store format 1–3): rebuilt, not read.
            let reason =
                "the keyword index of collection \"\(info.name)\" was built by an earlier Quiver (16-byte postings, store "
                + "format 3 or older); rebuild it with `quiver reindex --keyword` (the records and vectors stay as they are)"
            return KeywordIndex(
                postings: Table(dbi: legacy), stats: Table(dbi: stats), segments: Table(dbi: segments), deleted: Table(dbi: deleted),
                frequencies: Table(dbi: legacy), analyzer: analyzer, fields: info.keywordFields, staleReason: reason,
                policy: store.options.keywordSegments)
        }
        if let recorded = info.configuration[KeywordIndexSettings.stemmerKey], recorded != analyzer.stemmerFingerprint {
            stale =
                "the keyword index of collection \"\(info.name)\" was made by another release of the Snowball stemmer "
                + "(fingerprint \(recorded), this one \(analyzer.stemmerFingerprint)): its terms are not this analyzer's; "
                + "rebuild it with `quiver reindex --keyword`"
        }
        return KeywordIndex(
            postings: Table(dbi: postings), stats: Table(dbi: stats), segments: Table(dbi: segments), deleted: Table(dbi: deleted),
            frequencies: Table(dbi: frequencies), analyzer: analyzer, fields: info.keywordFields, staleReason: stale,
            policy: store.options.keywordSegments)
    }

    /// The ways a search can find candidates (the scan, and what each index makes
    /// possible); the planner runs the cheapest.
    let accessPaths: [any AccessPath]

    // MARK: Transactions

    /// A read snapshot in which the collection is checked to still exist.
    func read<T>(_ body: (Transaction) throws -> T) throws -> T {
        try store.env.read { txn in
            try verify(txn)
            return try body(txn)
        }
    }

    func write<T>(_ body: (Transaction) throws -> T) throws -> T {
        try store.env.write { txn in
            try verify(txn)
            try verifyIndexes(txn)
            return try body(txn)
        }
    }

    /// A handle opened before a keyword index was built (or dropped) must not write: its
    /// writes would leave the index stale.
    private func verifyIndexes(_ txn: Transaction) throws {
        if let reason = keywordIndex?.staleReason {
            // Deletes find postings by analyzing the stored text again: with other stems
            // they would leave the old ones behind.
            throw StoreError(.invalidArgument, reason, collection: info.name)
        }
        guard let stored = try store.collectionsDB.get(txn, info.name) else {
            throw StoreError(.collectionNotFound, "no collection named \"\(info.name)\"", collection: info.name)
        }
        if verifiedSettings.withLock({ $0.map { $0.elementsEqual(stored) } ?? false }) { return }
        let key = KeywordIndexSettings.configurationKey
        let current = try Store.decodeInfo(stored, name: info.name).configuration
        let now = current[key]
        // Centroids are read in each transaction: only whether there is an index matters.
        guard (current[IVFSettings.listsKey] == nil) == (info.configuration[IVFSettings.listsKey] == nil) else {
            throw StoreError(
                .invalidArgument,
                "the IVF index of collection \"\(info.name)\" was built or dropped after this handle was opened; "
                    + "open the collection again to write", collection: info.name)
        }
        guard now == info.configuration[key], current[KeywordIndexSettings.fieldsKey] == info.configuration[KeywordIndexSettings.fieldsKey]
        else {
            throw StoreError(
                .invalidArgument,
                "the keyword index of collection \"\(info.name)\" was "
                    + (now == nil ? "dropped" : "built or changed") + " after this handle was opened; open the collection again to write",
                collection: info.name)
        }
        verifiedSettings.withLock { $0 = Array(stored) }
    }

    /// A dropped (or dropped and recreated) collection's tables must not be touched.
    /// Collection numbers are never reused and a drop deletes the counters, so their
    /// presence is the check (cheaper than decoding the settings on every transaction).
    private func verify(_ txn: Transaction) throws {
        guard try store.stateDB.get(txn, info.cid) != nil else {
            throw StoreError(.collectionNotFound, "collection \"\(info.name)\" was dropped")
        }
    }

    func counters(_ txn: Transaction) throws -> CollectionCounters {
        guard let value = try store.stateDB.get(txn, info.cid) else {
            throw StoreError(.corrupted, "collection \"\(info.name)\" has no counters")
        }
        return try CollectionCounters(bytes: value)
    }

    func setCounters(_ c: CollectionCounters, _ txn: Transaction) throws {
        try store.stateDB.put(txn, info.cid, bytes: c.bytes)
    }

    /// Every block of the collection, in block order, read in place. A read of the same
    /// snapshot as the last one walked (no commit since, in any process) gets the views
    /// that walk made: an IVF probe at nprobe 1 otherwise spent most of its time reading
    /// the headers of every block, about 1,000 of them at 1M rows. `transaction` stands in
    /// for the read's LMDB transaction id (for tests). `trustingHeaders` false reads and
    /// checks every block's header again (`check()`), using neither cache.
    func blockViews(_ txn: Transaction, transaction: Int? = nil, trustingHeaders: Bool = true) throws -> [BlockView] {
        let key = trustingHeaders ? BlockDirectory.Key(txn, transaction: transaction) : nil
        if let key, let cached = blockDirectory.withLock({ $0 }), cached.key == key { return cached.views }
        let views = try walkBlocks(txn, trustingHeaders: trustingHeaders)
        if let key {
            let made = BlockDirectory(key: key, views: views)
            blockDirectory.withLock { $0 = made }
        }
        return views
    }

    /// Every block of the collection, in block order, read in place from `txn`.
    private func walkBlocks(_ txn: Transaction, trustingHeaders: Bool) throws -> [BlockView] {
        // One pass over the (few) tombstone bitmaps instead of a lookup per block: an IVF
        // index has a block per list at least.
        var dead: [UInt64: UnsafeRawBufferPointer] = [:]
        try txn.withCursor(tombs.dbi) { c in
            var e = try c.get(.first)
            while let entry = e {
                dead[try U64Key.decode(entry.key)] = entry.value
                e = try c.get(.next)
            }
        }
        // The cursor gives each block's place without reading it (an overflow value's
        // first page is not touched); its header is: one cold line per block, on a page of
        // its own. A block whose value is where and as long as the last read walk found it
        // (`blockHeaders`) keeps the header read then; the others are prefetched as the
        // cursor finds them, so their misses overlap, where parsing each as it came waited
        // for them one by one (an IVF index of 1,000 lists, walked by every write and by
        // the first read after each commit, spent most of its time there).
        let known = trustingHeaders ? blockHeaders.withLock { $0 } : []
        var k = 0
        var found: [(no: UInt64, value: UnsafeRawBufferPointer, header: BlockView.Header?)] = []
        found.reserveCapacity(known.count + 16)
        try txn.withCursor(blocks.dbi) { c in
            var e = try c.get(.first)
            while let entry = e {
                let no = try U64Key.decode(entry.key)
                // Both in ascending block order: a merge, no hashing.
                while k < known.count && known[k].no < no { k += 1 }
                var header: BlockView.Header?
                if k < known.count, known[k].no == no, known[k].header.address == UInt(bitPattern: entry.value.baseAddress),
                    known[k].header.size == entry.value.count
                {
                    header = known[k].header
                } else if let base = entry.value.baseAddress {
                    quiver_prefetch(base)
                }
                found.append((no, entry.value, header))
                e = try c.get(.next)
            }
        }
        // Only reads learn (committed blocks: a write's own may be aborted, and its block
        // numbers reused); the snapshot's blocks replace the last ones, so deleted blocks
        // leave the cache.
        let learning = txn.readOnly && trustingHeaders
        var learned: [(no: UInt64, header: BlockView.Header)] = []
        if learning { learned.reserveCapacity(found.count) }
        let views = try found.map { f in
            let header =
                try f.header ?? BlockView.Header(blockNo: f.no, value: f.value, expectedDim: info.dimension, encoding: info.encoding)
            if learning { learned.append((f.no, header)) }
            return try blockView(f.no, value: f.value, header: header, tombs: dead[f.no])
        }
        if learning { blockHeaders.withLock { $0 = learned } }
        return views
    }

    /// Block `no` read in place with its tombstones, or nil when it is gone.
    func blockView(_ no: UInt64, _ txn: Transaction) throws -> BlockView? {
        guard let value = try blocks.get(txn, no) else { return nil }
        let header = try BlockView.Header(blockNo: no, value: value, expectedDim: info.dimension, encoding: info.encoding)
        return try blockView(no, value: value, header: header, tombs: try tombs.get(txn, no))
    }

    private func blockView(
        _ no: UInt64, value: UnsafeRawBufferPointer, header: BlockView.Header, tombs: UnsafeRawBufferPointer?
    ) throws -> BlockView {
        var view = try BlockView(blockNo: no, value: value, header: header, dim: info.dimension, encoding: info.encoding)
        if store.options.verifyChecksums { try verifyOnce(view) }
        if let t = tombs {
            guard t.count >= 4 + (view.count + 7) / 8 else {
                throw StoreError(.corrupted, "tombstones of block \(no) are \(t.count) bytes for \(view.count) rows")
            }
            view.tombs = t
            view.dead = Int(UInt32(littleEndian: t.loadUnaligned(as: UInt32.self)))
        }
        return view
    }

    /// Throws `.corrupted` naming the block when it fails its checksum; each block is
    /// verified once per collection handle (`StoreOptions.verifyChecksums`).
    private func verifyOnce(_ view: BlockView) throws {
        if verifiedBlocks.withLock({ $0.contains(view.blockNo) }) { return }
        if view.verifyChecksum() == false {
            throw StoreError(
                .corrupted,
                "vector block \(view.blockNo) of collection \"\(info.name)\" (\(view.count) rows) fails its checksum: "
                    + "its vectors, norms or row ids are damaged; `quiver check` lists the records it holds",
                collection: info.name)
        }
        verifiedBlocks.withLock { _ = $0.insert(view.blockNo) }
    }

    func location(of row: UInt64, _ txn: Transaction) throws -> RowLocation? {
        guard let v = try locations.get(txn, row) else { return nil }
        return try RowLocation(bytes: v)
    }

    func rowID(of id: String, _ txn: Transaction) throws -> UInt64? {
        guard let v = try ids.get(txn, id) else { return nil }
        return try RowIDValue.decode(v, "id \"\(id)\"")
    }

    // MARK: Reads

    /// Number of live records.
    public func count() throws -> Int {
        try read { txn in Int(try counters(txn).live) }
    }

    /// Number of live records.
    public func count() async throws -> Int {
        try await onReadQueue { try self.count() }
    }

    /// The records with `ids`, in order (nil where absent), read in one transaction.
    public func get(_ ids: [String]) throws -> [Record?] {
        try read { txn in
            try ids.map { id in try rowID(of: id, txn).map { try record(row: $0, txn) } }
        }
    }

    /// The records with `ids`, in order (nil where absent).
    public func get(_ ids: [String]) async throws -> [Record?] {
        try await onReadQueue { try self.get(ids) }
    }

    func record(row: UInt64, _ txn: Transaction) throws -> Record {
        guard let loc = try location(of: row, txn) else {
            throw StoreError(.corrupted, "row \(row) of \"\(info.name)\" has no location")
        }
        guard let bytes = try records.get(txn, row) else {
            throw StoreError(.corrupted, "row \(row) of \"\(info.name)\" has no record")
        }
        let decoded = try RecordCodec.decode(bytes, rowID: row, collection: info.name)
        guard let value = try blocks.get(txn, loc.block) else {
            throw StoreError(.corrupted, "row \(row) points at missing block \(loc.block)")
        }
        let view = try BlockView(blockNo: loc.block, value: value, expectedDim: info.dimension, encoding: info.encoding)
        guard Int(loc.slot) < view.count else {
            throw StoreError(.corrupted, "row \(row) points past the end of block \(loc.block)")
        }
        let vector = try [Float](unsafeUninitializedCapacity: info.dimension) { buffer, count in
            try exactVector(view, slot: Int(loc.slot), into: buffer.baseAddress!, txn)
            count = info.dimension
        }
        return Record(id: decoded.id, vector: vector, text: decoded.text, metadata: decoded.metadata)
    }

    /// The vector of `slot` in `v` as written (normalized under cosine): a compact
    /// collection's float32 copy (in the block, or in the float32 table for blocks written
    /// before blocks carried them), else the stored vector.
    func exactVector(_ v: BlockView, slot: Int, into out: UnsafeMutablePointer<Float>, _ txn: Transaction) throws {
        if let copy = v.copy(slot) {
            out.update(from: copy, count: info.dimension)
            return
        }
        guard let fullVectors else {
            codec.decode(v.vector(slot), dimension: info.dimension, into: out)
            return
        }
        let row = v.rowID(slot)
        guard let bytes = try fullVectors.get(txn, row), bytes.count == info.dimension * 4, let base = bytes.baseAddress else {
            throw StoreError(.corrupted, "row \(row) of \"\(info.name)\" has no float32 vector to rescore from")
        }
        // Values of this size sit in leaf pages at any alignment: copy, never bind.
        UnsafeMutableRawPointer(out).copyMemory(from: base, byteCount: info.dimension * 4)
    }

    // MARK: Async bridging

    func onReadQueue<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await store.run(on: store.readQueue, body)
    }

    func onWriteQueue<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await store.run(on: store.writeQueue, body)
    }
}

/// The block views of one read snapshot of a collection. They point into LMDB's map, at
/// pages that no writer changes while the snapshot is the newest: a commit (in any
/// process) records its own transaction id (`LMDBEnvironment.commitStamp`), and pages are
/// reused only after a newer commit. So a read of a snapshot with the same stamp, over the
/// same map (a resize can move it), may use them as if it had walked the blocks itself.
/// The stamp names the snapshot, not the read's LMDB transaction id: LMDB 0.9 can give a
/// read the id of an older commit than the one it reads, and views shared on that id
/// showed a reader rows its records did not have. Write transactions never share them: a
/// write changes blocks as it goes.
///
/// `@unchecked Sendable`: the views' pointers are only ever read, and only by reads of
/// the snapshot they point into (the key says which).
struct BlockDirectory: @unchecked Sendable {
    /// What a read must match to reuse the views.
    struct Key: Equatable {
        /// The snapshot's commit stamp.
        let commit: UInt64
        /// The read's LMDB transaction id (with the stamp: a commit by a version of Quiver
        /// that does not stamp changes it).
        let transaction: Int
        let mapStart: UInt
        let mapEnd: UInt

        /// The key of a read transaction; nil for a write, when the map's place is unknown,
        /// or when no commit has stamped the store yet. `transaction` stands in for the
        /// read's LMDB id (tests pass a stale one, as LMDB sometimes does).
        init?(_ txn: Transaction, transaction: Int? = nil) {
            guard txn.readOnly, txn.extent.start != 0, let commit = txn.stamp else { return nil }
            self.commit = commit
            self.transaction = transaction ?? txn.id
            mapStart = txn.extent.start
            mapEnd = txn.extent.end
        }
    }

    let key: Key
    let views: [BlockView]
}
