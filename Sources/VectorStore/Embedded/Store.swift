import Foundation
import TextAnalysis

/// A Quiver store: one directory holding an LMDB environment with named collections.
///
/// ```swift
/// let store = try Store(path: "./.quiver")
/// let docs = try store.openOrCreateCollection("docs", dimension: 384, metric: .cosine)
/// try docs.upsert([Record(id: "a", vector: v, text: "hello")])
/// let hits = try docs.search(v, k: 5)
/// ```
///
/// Opening is O(1): no vectors are read. Any number of threads and processes may read
/// while one writes; writers are serialized. A `Store` is safe to share between threads
/// and tasks.
public final class Store: VectorDatabase {
    /// The store directory.
    public let path: String
    /// The options the store was opened with.
    public let options: StoreOptions

    let env: LMDBEnvironment
    let metaDB: Table<UTF8Key>
    let collectionsDB: Table<UTF8Key>
    let stateDB: Table<U32Key>
    let trashDB: Table<UTF8Key>
    /// Async writes run here, one at a time, off the cooperative pool.
    let writeQueue = BlockingExecutor(label: "quiver.store.write", concurrent: false)
    /// Async reads run here, off the cooperative pool.
    let readQueue = BlockingExecutor(label: "quiver.store.read", concurrent: true)

    /// Opens the store at `path`, creating it if allowed and missing.
    ///
    /// - Throws: `StoreError` `.notAStore` when the directory holds something else,
    ///   `.unsupportedFormat` for a store written by a newer Quiver, `.storage` for I/O.
    public convenience init(path: String, options: StoreOptions = StoreOptions()) throws {
        let dataFile = (path as NSString).appendingPathComponent("data.mdb")
        if options.create && !FileManager.default.fileExists(atPath: dataFile) {
            try Self.create(at: path, options: options)
        }
        try self.init(opening: path, options: options)
    }

    /// Creates a store at `path` atomically: built in a hidden folder beside it, then
    /// renamed into place, so a failure at any point (a full disk) leaves no half-made
    /// store behind. `path` may be missing, an empty folder, or the `lock.mdb` an
    /// interrupted creation left; anything else is left to `init(opening:)` to refuse.
    private static func create(at path: String, options: StoreOptions) throws {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: path, isDirectory: &isDir) {
            guard isDir.boolValue else { return }
            let contents = (try? fm.contentsOfDirectory(atPath: path)) ?? ["?"]
            if contents == ["lock.mdb"] {
                // Left by a creation that failed before data.mdb existed (older Quiver).
                var holder: Int32 = -1
                defer { LMDBFile.release(holder) }
                guard LMDBFile.otherUser(of: path, holder: &holder) == nil else { return }
                try? fm.removeItem(atPath: (path as NSString).appendingPathComponent("lock.mdb"))
            } else if !contents.isEmpty {
                return
            }
        }
        let absolute = URL(fileURLWithPath: path).standardizedFileURL
        let parent = absolute.deletingLastPathComponent().path
        do {
            try fm.createDirectory(atPath: parent, withIntermediateDirectories: true)
        } catch {
            throw StoreError(.storage, "cannot create the folder \(parent) for the store \(path)", underlying: "\(error)", path: path)
        }
        let staging = (parent as NSString).appendingPathComponent(
            ".\(absolute.lastPathComponent).creating-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        do {
            try fm.createDirectory(atPath: staging, withIntermediateDirectories: false)
        } catch {
            throw StoreError(.storage, "cannot create a folder beside \(path) to build the store in", underlying: "\(error)", path: path)
        }
        defer { try? fm.removeItem(atPath: staging) }
        do {
            var inPlace = options
            inPlace.create = true
            _ = try Store(opening: staging, options: inPlace)
        } catch var e as StoreError {  // closed by now: the environment goes with its last Store
            e.message = "cannot create the store at \(path): " + e.message.replacingOccurrences(of: staging, with: path)
            e.path = path
            throw e
        }
        if rename(staging, path) != 0 {
            let code = errno
            // Someone else created it meanwhile: theirs is opened instead.
            if (code == EEXIST || code == ENOTEMPTY) && fm.fileExists(atPath: (path as NSString).appendingPathComponent("data.mdb")) {
                return
            }
            throw StoreError(
                .storage, "cannot move the new store into \(path): \(String(cString: strerror(code)))", path: path)
        }
    }

    private init(opening path: String, options: StoreOptions) throws {
        self.path = path
        self.options = options
        let fm = FileManager.default
        var isDir: ObjCBool = false
        let dataFile = (path as NSString).appendingPathComponent("data.mdb")
        if fm.fileExists(atPath: path, isDirectory: &isDir) {
            guard isDir.boolValue else {
                throw StoreError(.notAStore, "\(path) is a file, not a Quiver store directory", path: path)
            }
            if !fm.fileExists(atPath: dataFile) {
                let contents = (try? fm.contentsOfDirectory(atPath: path)) ?? []
                if contents == ["lock.mdb"] {
                    throw StoreError(
                        .notAStore,
                        "\(path) holds only lock.mdb, left by a store creation that failed (a full disk?): "
                            + "`quiver index` creates the store there again", path: path)
                }
                if !contents.isEmpty {
                    throw StoreError(.notAStore, "\(path) is not a Quiver store: it holds other files and no data.mdb", path: path)
                }
                if !options.create {
                    throw StoreError(.notAStore, "\(path) is an empty directory, not a Quiver store", path: path)
                }
            }
        } else {
            guard options.create else { throw StoreError(.notAStore, "no Quiver store at \(path)", path: path) }
            do {
                try fm.createDirectory(atPath: path, withIntermediateDirectories: true)
            } catch {
                throw StoreError(.storage, "cannot create store directory \(path)", underlying: "\(error)")
            }
        }
        let existed = fm.fileExists(atPath: dataFile)
        // Before LMDB maps it: a truncated file would kill the process with SIGBUS, and an
        // empty one must not pass for a new store where no store is to be created.
        try LMDBFile.checkSize(dataFile, allowEmpty: options.create)
        let maxDBs = 8 + options.maxCollections * Format.tablesPerCollection
        let isNew: Bool
        do {
            (env, isNew) = try LMDBEnvironment.shared(
                directory: path, mapSize: options.initialMapSize, maxDBs: maxDBs,
                maxReaders: options.maxReaders, sync: options.durable)
        } catch let error as StoreError where error.code == .corrupted {
            throw StoreError(
                .notAStore, "\(path) is not a Quiver store: data.mdb is not an LMDB file", underlying: error.underlying, path: path)
        }
        let env = self.env
        let names = Format.storeTables
        if options.checkPagesOnOpen && existed, let damage = Self.storeWideDamage(try env.checkPages()).first {
            throw StoreError(.corrupted, "\(path): " + Self.describe(damage), path: path)
        }
        var dbs = try env.openExisting(names)
        if dbs[0] == nil, existed {
            // A process killed while creating the store leaves an environment without any
            // named database: finish creating it. Anything else is some other LMDB file.
            let entries = try env.read { txn in try txn.count(DBI.main) }
            if entries > 0 {
                throw StoreError(.notAStore, "\(path) is not a Quiver store: its LMDB file has no Quiver metadata", path: path)
            }
        }
        if let meta = dbs[0] {
            try env.read { txn in try Self.checkFormat(Table(dbi: meta), txn, path: path) }
        }
        let trashCount = try dbs[3].map { trash in try env.read { try $0.count(trash) } } ?? 0
        // Writes only when creating, or to delete dropped collections' tables; the first
        // opener in a process does that, before any handle to them can be in use.
        if env.readOnly && dbs.contains(where: { $0 == nil }) {
            throw StoreError(
                .storage, "\(path) is read-only for this user and its Quiver tables are not all there: it cannot be completed",
                path: path)
        }
        if !env.readOnly && (dbs.contains(where: { $0 == nil }) || (isNew && trashCount > 0)) {
            dbs = try env.write(openingDatabases: true) { txn -> [DBI?] in
                let meta = try Self.openDB(env, Format.metaDB, txn)
                let metaTable = Table<UTF8Key>(dbi: meta)
                if try metaTable.get(txn, MetaKey.magic) == nil {
                    try metaTable.put(txn, MetaKey.magic, bytes: Format.magic)
                    try metaTable.put(txn, MetaKey.version, bytes: withUnsafeBytes(of: Format.baseVersion.littleEndian) { Array($0) })
                } else {
                    try Self.checkFormat(metaTable, txn, path: path)
                }
                let collections = try Self.openDB(env, Format.collectionsDB, txn)
                let state = try Self.openDB(env, Format.stateDB, txn)
                let trash = try Self.openDB(env, Format.trashDB, txn)
                var names: [String] = []
                try txn.withCursor(trash) { c in
                    var e = try c.get(.first)
                    while let entry = e {
                        names.append(try UTF8Key.decode(entry.key))
                        e = try c.get(.next)
                    }
                }
                for name in names {
                    if let dbi = try env.database(name, flags: [], in: txn) {
                        try env.dropDatabase(dbi, name: name, in: txn)
                    }
                }
                try txn.clear(trash)
                return [meta, collections, state, trash]
            }
        }
        guard let meta = dbs[0], let collections = dbs[1], let state = dbs[2], let trash = dbs[3] else {
            throw StoreError(.corrupted, "\(path) is missing its Quiver tables")
        }
        metaDB = Table(dbi: meta)
        // Read snapshots are told apart by the stamp (the block walk's cache).
        env.recordCommits(in: meta)
        collectionsDB = Table(dbi: collections)
        stateDB = Table(dbi: state)
        trashDB = Table(dbi: trash)
        BLASKernels.configure()
    }

    private static func checkFormat(_ meta: Table<UTF8Key>, _ txn: Transaction, path: String) throws {
        guard let magic = try meta.get(txn, MetaKey.magic), Array(magic) == Format.magic else {
            throw StoreError(.notAStore, "\(path) is not a Quiver store: its metadata has no Quiver magic value", path: path)
        }
        guard let v = try meta.get(txn, MetaKey.version), v.count == 4 else {
            throw StoreError(.notAStore, "\(path) is not a Quiver store: it has no format version", path: path)
        }
        let version = UInt32(littleEndian: v.loadUnaligned(as: UInt32.self))
        guard version <= Format.version else {
            throw StoreError(
                .unsupportedFormat,
                "\(path) has store format version \(version); this Quiver reads up to version \(Format.version)", input: "format version",
                path: path, expected: "at most \(Format.version)", actual: "\(version)")
        }
    }

    /// Raises the store's recorded format version to `version` (never lowers it).
    func raiseVersion(to version: UInt32, _ txn: Transaction) throws {
        if let v = try metaDB.get(txn, MetaKey.version), v.count == 4, UInt32(littleEndian: v.loadUnaligned(as: UInt32.self)) >= version {
            return
        }
        try metaDB.put(txn, MetaKey.version, bytes: withUnsafeBytes(of: version.littleEndian) { Array($0) })
    }

    static func openDB(_ env: LMDBEnvironment, _ name: String, _ txn: Transaction, flags: DBFlags = [.create]) throws -> DBI {
        guard let dbi = try env.database(name, flags: flags, in: txn) else {
            throw StoreError(.corrupted, "database \(name) is missing")
        }
        return dbi
    }

    // MARK: Collections

    /// The store directory.
    public var location: String { path }

    /// True when this user can only read the store (another user's files, a read-only
    /// mount): searches work, writes fail with "permission denied". When even the lock file
    /// is not writable, readers cannot register themselves, so a process writing the store
    /// at the same time may change pages a search is reading: search such a store while
    /// nobody writes it.
    public var isReadOnly: Bool { env.readOnly }

    /// The newest on-disk format this Quiver reads and writes.
    public static var supportedFormatVersion: Int { Int(Format.version) }

    /// The on-disk format version recorded when the store was created.
    ///
    /// - Throws: `.notAStore` when the version is missing, or a storage error.
    public func formatVersion() throws -> Int {
        try env.read { txn in
            guard let v = try metaDB.get(txn, MetaKey.version), v.count == 4 else {
                throw StoreError(.notAStore, "\(path) is not a Quiver store: it has no format version", path: path)
            }
            return Int(UInt32(littleEndian: v.loadUnaligned(as: UInt32.self)))
        }
    }

    /// Names and settings of the collections, sorted by name; reserved ones (the
    /// embedding cache's) only when asked.
    public func collections(includingReserved: Bool) throws -> [CollectionInfo] {
        try env.read { txn in
            var out: [CollectionInfo] = []
            try txn.withCursor(collectionsDB.dbi) { c in
                var e = try c.get(.first)
                while let entry = e {
                    let info = try Self.decodeInfo(entry.value, name: try UTF8Key.decode(entry.key))
                    if includingReserved || !info.isReserved { out.append(info) }
                    e = try c.get(.next)
                }
            }
            return out
        }
    }

    /// Creates a collection.
    ///
    /// - Throws: `.collectionExists` if the name is taken, `.invalidArgument` for a bad
    ///   name or dimension.
    public func createCollection(_ name: String, settings: CollectionSettings) throws -> LMDBCollection {
        try Self.validateName(name)
        guard settings.dimension > 0 && settings.dimension <= 65536 else {
            throw StoreError(.invalidArgument, "collection \"\(name)\": dimension must be 1...65536, got \(settings.dimension)")
        }
        let settings = try KeywordIndexSettings.preparedForCreate(settings, name: name)
        let info = try env.write(openingDatabases: true) { txn -> CollectionInfo in
            if try collectionsDB.get(txn, name) != nil {
                throw StoreError(.collectionExists, "collection \"\(name)\" already exists", collection: name)
            }
            let cid = try nextCollectionID(txn)
            let info = CollectionInfo(name: name, settings: settings, cid: cid)
            for table in Format.Table.allCases {
                _ = try Self.openDB(env, table.name(cid: cid), txn, flags: table.flags)
            }
            if settings.configuration[KeywordIndexSettings.configurationKey] != nil {
                for table in Format.KeywordTable.allCases {
                    _ = try Self.openDB(env, table.name(cid: cid), txn, flags: table.flags)
                }
                try raiseVersion(to: Format.keywordBlocksVersion, txn)
            }
            if settings.encoding.isCompact {
                for table in Format.RescoreTable.allCases {
                    _ = try Self.openDB(env, table.name(cid: cid), txn, flags: table.flags)
                }
                try raiseVersion(to: Format.compactEncodingsVersion, txn)
            }
            try collectionsDB.put(txn, name, bytes: try Self.encodeInfo(info))
            try stateDB.put(txn, cid, bytes: CollectionCounters().bytes)
            return info
        }
        return try LMDBCollection(store: self, info: info)
    }

    /// Opens an existing collection.
    ///
    /// - Throws: `.collectionNotFound` when there is none of that name.
    public func collection(_ name: String) throws -> LMDBCollection {
        let info = try env.read { txn in try self.info(named: name, txn) }
        return try LMDBCollection(store: self, info: info)
    }

    /// Opens the collection if it exists, checking that its dimension, metric, encoding
    /// and the given configuration keys match; creates it otherwise.
    ///
    /// - Throws: `.collectionExists` naming the first setting that differs.
    public func openOrCreateCollection(_ name: String, settings: CollectionSettings) throws -> LMDBCollection {
        do {
            let existing = try collection(name)
            try Self.check(existing.info, against: settings)
            return existing
        } catch let error as StoreError where error.code == .collectionNotFound {
            do {
                return try createCollection(name, settings: settings)
            } catch let error as StoreError where error.code == .collectionExists {
                // Another writer created it between our check and our create.
                return try openOrCreateCollection(name, settings: settings)
            }
        }
    }

    /// Throws `.collectionExists` naming the first setting of `info` that differs.
    static func check(_ info: CollectionInfo, against settings: CollectionSettings) throws {
        try BackendChecks.check(info, against: settings)
    }

    /// Drops a collection and all its records. Returns false if it did not exist.
    /// Its space is reused by later writes; its tables are deleted on the next open.
    @discardableResult
    public func dropCollection(_ name: String) throws -> Bool {
        try env.write(openingDatabases: true) { txn -> Bool in
            guard let value = try collectionsDB.get(txn, name) else { return false }
            let info = try Self.decodeInfo(value, name: name)
            let tableNames = Format.allTableNames(cid: info.cid)
            for tableName in tableNames {
                if let dbi = try env.database(tableName, flags: [], in: txn) {
                    try txn.clear(dbi)
                }
                try trashDB.put(txn, tableName, bytes: [])
            }
            try collectionsDB.delete(txn, name)
            try stateDB.delete(txn, info.cid)
            return true
        }
    }

    /// Sets or removes keys of a collection's configuration in one transaction.
    @discardableResult
    public func updateConfiguration(of name: String, _ changes: [String: String?]) throws -> CollectionInfo {
        try BackendChecks.checkConfigurationChange(changes, collection: name)
        return try env.write { txn -> CollectionInfo in
            guard let value = try collectionsDB.get(txn, name) else {
                throw StoreError(.collectionNotFound, "no collection \"\(name)\" in \(path)", collection: name)
            }
            let old = try Self.decodeInfo(value, name: name)
            var settings = old.settings
            for (key, new) in changes { settings.configuration[key] = new }
            let info = CollectionInfo(name: name, settings: settings, cid: old.cid)
            try collectionsDB.put(txn, name, bytes: try Self.encodeInfo(info))
            return info
        }
    }

    /// Copies the store to an empty directory, optionally compacted (free pages left out,
    /// so the copy's file is as small as the live data allows). Safe while others read
    /// and write; the copy is one consistent snapshot.
    public func copy(to directory: String, compact: Bool = true) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try env.copy(to: directory, compact: compact)
    }

    /// Size of the store's data file in bytes.
    public func fileSize() throws -> Int {
        let attrs = try FileManager.default.attributesOfItem(atPath: (path as NSString).appendingPathComponent("data.mdb"))
        return (attrs[.size] as? NSNumber)?.intValue ?? 0
    }

    // MARK: Helpers

    func info(named name: String, _ txn: Transaction) throws -> CollectionInfo {
        guard let value = try collectionsDB.get(txn, name) else {
            throw StoreError(.collectionNotFound, "no collection named \"\(name)\" in \(path)", path: path, collection: name)
        }
        return try Self.decodeInfo(value, name: name)
    }

    private func nextCollectionID(_ txn: Transaction) throws -> UInt32 {
        var next: UInt32 = 1
        if let v = try metaDB.get(txn, MetaKey.nextCollectionID), v.count == 4 {
            next = UInt32(littleEndian: v.loadUnaligned(as: UInt32.self))
        }
        try metaDB.put(txn, MetaKey.nextCollectionID, bytes: withUnsafeBytes(of: (next + 1).littleEndian) { Array($0) })
        return next
    }

    static func validateName(_ name: String) throws { try BackendChecks.checkName(name) }

    static func encodeInfo(_ info: CollectionInfo) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return Array(try encoder.encode(info))
    }

    static func decodeInfo(_ bytes: UnsafeRawBufferPointer, name: String) throws -> CollectionInfo {
        do {
            return try JSONDecoder().decode(CollectionInfo.self, from: Data(bytes))
        } catch {
            throw StoreError(.corrupted, "settings of collection \"\(name)\" do not decode", underlying: "\(error)")
        }
    }
}
