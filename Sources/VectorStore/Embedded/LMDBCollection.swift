import Foundation

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

    let blocks: DBI
    let tombs: DBI
    let records: DBI
    let locations: DBI
    let ids: DBI
    let index: DBI
    /// Secondary indexes, each kept in the records' own write transactions.
    let indexes: [any SecondaryIndex]
    /// The codec of the collection's vector encoding.
    let codec: any VectorCodec

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
        blocks = dbis[0]
        tombs = dbis[1]
        records = dbis[2]
        locations = dbis[3]
        ids = dbis[4]
        index = dbis[5]
        indexes = [MetadataIndex(table: dbis[5])]
        codec = info.encoding.codec
    }

    /// The store holding the collection.
    public var database: any VectorDatabase { store }

    /// The ways a search can find candidates; the planner runs the cheapest.
    var accessPaths: [any AccessPath] { [ScanPath()] + indexes.flatMap(\.accessPaths) }

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
            return try body(txn)
        }
    }

    /// A dropped (or dropped and recreated) collection's tables must not be touched.
    /// Collection numbers are never reused and a drop deletes the counters, so their
    /// presence is the check (cheaper than decoding the settings on every transaction).
    private func verify(_ txn: Transaction) throws {
        var key = info.cid.bigEndian
        let present = try withUnsafeBytes(of: &key) { try txn.get(store.stateDB, $0) } != nil
        guard present else {
            throw StoreError(.collectionNotFound, "collection \"\(info.name)\" was dropped")
        }
    }

    func counters(_ txn: Transaction) throws -> CollectionCounters {
        var key = info.cid.bigEndian
        let value = try withUnsafeBytes(of: &key) { try txn.get(store.stateDB, $0) }
        guard let value else { throw StoreError(.corrupted, "collection \"\(info.name)\" has no counters") }
        return try CollectionCounters(bytes: value)
    }

    func setCounters(_ c: CollectionCounters, _ txn: Transaction) throws {
        var key = info.cid.bigEndian
        try withUnsafeBytes(of: &key) { k in try c.bytes.withUnsafeBytes { try txn.put(store.stateDB, k, $0) } }
    }

    /// Every block of the collection, in block order, read in place.
    func blockViews(_ txn: Transaction) throws -> [BlockView] {
        var views: [BlockView] = []
        try txn.withCursor(blocks) { c in
            var e = try c.get(.first)
            while let entry = e {
                let no = UInt64(bigEndian: entry.key.loadUnaligned(as: UInt64.self))
                var view = try BlockView(blockNo: no, value: entry.value, expectedDim: info.dimension, encoding: info.encoding)
                if let t = try txn.get(tombs, u64: no) {
                    guard t.count >= 4 + (view.count + 7) / 8 else {
                        throw StoreError(.corrupted, "tombstones of block \(no) are \(t.count) bytes for \(view.count) rows")
                    }
                    view.tombs = t
                    view.dead = Int(UInt32(littleEndian: t.loadUnaligned(as: UInt32.self)))
                }
                views.append(view)
                e = try c.get(.next)
            }
        }
        return views
    }

    func location(of row: UInt64, _ txn: Transaction) throws -> RowLocation? {
        guard let v = try txn.get(locations, u64: row) else { return nil }
        return try RowLocation(bytes: v)
    }

    func rowID(of id: String, _ txn: Transaction) throws -> UInt64? {
        try rowID(of: Array(id.utf8), txn)
    }

    func rowID(of id: [UInt8], _ txn: Transaction) throws -> UInt64? {
        // No record has an empty id, and LMDB refuses an empty key (MDB_BAD_VALSIZE) instead
        // of missing it: `get([""])` and `delete(ids: [""])` find nothing.
        guard !id.isEmpty, let v = try txn.get(ids, id) else { return nil }
        guard v.count == 8 else {
            throw StoreError(.corrupted, "id \"\(String(decoding: id, as: UTF8.self))\" maps to \(v.count) bytes, expected 8")
        }
        return UInt64(bigEndian: v.loadUnaligned(as: UInt64.self))
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
        guard let bytes = try txn.get(records, u64: row) else {
            throw StoreError(.corrupted, "row \(row) of \"\(info.name)\" has no record")
        }
        let decoded = try RecordCodec.decode(bytes, rowID: row)
        guard let value = try txn.get(blocks, u64: loc.block) else {
            throw StoreError(.corrupted, "row \(row) points at missing block \(loc.block)")
        }
        let view = try BlockView(blockNo: loc.block, value: value, expectedDim: info.dimension, encoding: info.encoding)
        guard Int(loc.slot) < view.count else {
            throw StoreError(.corrupted, "row \(row) points past the end of block \(loc.block)")
        }
        let vector = view.codec.decode(view.vector(Int(loc.slot)), dimension: info.dimension)
        return Record(id: decoded.id, vector: vector, text: decoded.text, metadata: decoded.metadata)
    }

    // MARK: Async bridging

    func onReadQueue<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await store.run(on: store.readQueue, body)
    }

    func onWriteQueue<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await store.run(on: store.writeQueue, body)
    }
}
