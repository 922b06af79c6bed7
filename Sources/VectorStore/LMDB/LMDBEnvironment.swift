import CLMDB
import Foundation
import Glibc
import QuiverCore

/// Thrown inside a write transaction when the map is full; `write` catches it, grows the
/// map and runs the transaction again. It never reaches the caller.
struct MapFullSignal: Error {}

/// Owns one LMDB environment (one store directory). One per directory per process:
/// LMDB forbids opening an environment twice in a process (closing one copy drops the
/// process's locks on `lock.mdb`), so `shared(directory:…)` hands out the open one.
///
/// `@unchecked Sendable`: the environment handle is thread-safe by LMDB's contract when
/// opened with `MDB_NOTLS`; the only mutable state is the map size, changed under the
/// exclusive side of `resizeLock` while no transaction of this process is active (with the
/// map's address, which moves with it), the database-handle cache, guarded by `dbiLock`,
/// and the idle (reset) read transactions, guarded by their own mutex.
final class LMDBEnvironment: @unchecked Sendable {
    let env: OpaquePointer
    let path: String
    /// Opened read-only: this user cannot write the store's files.
    let readOnly: Bool
    /// Opened without the lock file (it was not writable either): readers are not
    /// registered, so a writer elsewhere may reuse pages a long read still looks at.
    let unlocked: Bool
    /// Held shared by every transaction of this process, exclusively by a map resize.
    private let resizeLock: UnsafeMutablePointer<pthread_rwlock_t>
    /// `mdb_dbi_open` must not run in two transactions of one process until the first
    /// commits (both could take the same slot): held around every handle-opening read
    /// and for the whole of a write that opens handles. Recursive: such a write opens
    /// several handles.
    private let dbiLock = NSRecursiveLock()
    private var dbiCache: [String: DBI] = [:]
    /// Where the kernel mapped `data.mdb` (LMDB does not say: `me_mapaddr` is only set for
    /// fixed maps), nil when unknown; changed with the map size, under `resizeLock`.
    private var mapStart: UInt?
    /// Read transactions ended with `mdb_txn_reset`, kept to be renewed: `mdb_txn_begin`
    /// allocates and clears room for every database the environment may open (about
    /// 150 KB at the default 256 collections), which was 6 % of a small search's time.
    /// Each keeps its reader slot, so there are few.
    private let idleReaders = PosixMutex<[IdleReader]>([])
    /// Most idle read transactions kept.
    static let idleReaderLimit = 4
    /// A reset read transaction handle (`@unchecked Sendable`: only one thread holds it at
    /// a time, taken from or put into `idleReaders` under its lock).
    private struct IdleReader: @unchecked Sendable { let txn: OpaquePointer }

    /// Whether the write transaction running now changed anything: set by every mutation
    /// (`Transaction.put` and the others) and read by `write` before it commits. Only the
    /// thread holding LMDB's write lock touches it, so that lock orders its accesses.
    var writeChanged = false

    /// The key under which every commit that changes something records its own
    /// transaction id (8 bytes, little-endian), in the database `recordCommits(in:)`
    /// names: see `commitStamp`.
    static let commitStampKey: [UInt8] = Array(MetaKey.commit.utf8)
    /// Where commits record their stamp; nil (no stamps) until `recordCommits(in:)`.
    private let stampTable = PosixMutex<DBI?>(nil)

    /// From now on every write of this process that changes something records its
    /// transaction id under `commitStampKey` in `dbi` (a database whose other keys differ).
    func recordCommits(in dbi: DBI) { stampTable.withLock { $0 = dbi } }

    private static let registry = PosixMutex<[String: Weak]>([:])
    private struct Weak { weak var env: LMDBEnvironment? }

    /// The open environment of `directory` in this process (`isNew` false), or a newly
    /// opened one. Settings of a later open do not change an environment already open.
    static func shared(directory: String, mapSize: Int, maxDBs: Int, maxReaders: Int, sync: Bool) throws -> (
        env: LMDBEnvironment, isNew: Bool
    ) {
        var st = stat()
        guard stat(directory, &st) == 0 else {
            throw StoreError(.storage, "cannot read store directory \(directory)", underlying: String(cString: strerror(errno)))
        }
        let key = "\(st.st_dev):\(st.st_ino)"
        return try registry.withLock { registry in
            // The directory's own identity is not enough: its files may have been removed
            // or replaced while an environment stayed open, or the directory removed and
            // another made that reuses its inode number. Such an environment still works
            // on the files it has open, for whoever holds it; this open gets the files
            // there now.
            if let existing = registry[key]?.env, existing.hasDataFile(of: directory) { return (existing, false) }
            let env = try LMDBEnvironment(directory: directory, mapSize: mapSize, maxDBs: maxDBs, maxReaders: maxReaders, sync: sync)
            registry[key] = Weak(env: env)
            return (env, true)
        }
    }

    /// Whether the data file this environment has open is the `data.mdb` in `directory`
    /// now (same device and inode, not deleted).
    func hasDataFile(of directory: String) -> Bool {
        var fd: mdb_filehandle_t = -1
        var open = stat()
        guard mdb_env_get_fd(env, &fd) == 0, fstat(fd, &open) == 0 else { return true }
        var onDisk = stat()
        guard stat(directory + "/data.mdb", &onDisk) == 0 else { return false }
        return open.st_nlink > 0 && open.st_dev == onDisk.st_dev && open.st_ino == onDisk.st_ino
    }

    /// True when this process has the environment of `directory` open.
    static func isOpen(directory: String) -> Bool {
        var st = stat()
        guard stat(directory, &st) == 0 else { return false }
        return registry.withLock { $0["\(st.st_dev):\(st.st_ino)"]?.env?.hasDataFile(of: directory) == true }
    }

    /// Opens (creating files if needed) the environment in `directory`, which must exist.
    private init(directory: String, mapSize: Int, maxDBs: Int, maxReaders: Int, sync: Bool) throws {
        // The map is address space, not memory: 1 TiB by default, so that it rarely needs
        // to grow. Under a `ulimit -v` that cannot be reserved (mmap fails with ENOMEM):
        // then a quarter is tried, down to the file's size plus 64 MiB, and the map grows
        // on demand from there as it always does.
        var fileBytes = 0
        var st = stat()
        if stat(directory + "/data.mdb", &st) == 0 { fileBytes = Int(st.st_size) }
        let floor = fileBytes + (64 << 20)
        var size = max(mapSize, floor)
        var opened: OpaquePointer?
        // A store this user may read but not write (another user's, a read-only mount):
        // opened read-only, then also without the lock file when that cannot be opened
        // for writing (LMDB needs it writable to register readers).
        var access: UInt32 = 0
        while opened == nil {
            var handle: OpaquePointer?
            try lmdbCheck(mdb_env_create(&handle), "mdb_env_create", directory)
            guard let handle else { throw StoreError(.storage, "LMDB mdb_env_create returned no handle") }
            do {
                try lmdbCheck(mdb_env_set_maxdbs(handle, MDB_dbi(maxDBs)), "mdb_env_set_maxdbs")
                try lmdbCheck(mdb_env_set_maxreaders(handle, UInt32(maxReaders)), "mdb_env_set_maxreaders")
                try lmdbCheck(mdb_env_set_mapsize(handle, size), "mdb_env_set_mapsize")
                var flags = UInt32(MDB_NOTLS | MDB_NORDAHEAD) | access
                if !sync { flags |= UInt32(MDB_NOSYNC) }
                let rc = mdb_env_open(handle, directory, flags, 0o644)
                if rc == ENOMEM && size > floor {
                    mdb_env_close(handle)
                    size = max(size / 4, floor)
                    continue
                }
                if (rc == EACCES || rc == EROFS) && access != UInt32(MDB_RDONLY | MDB_NOLOCK) {
                    mdb_env_close(handle)
                    access = access == 0 ? UInt32(MDB_RDONLY) : UInt32(MDB_RDONLY | MDB_NOLOCK)
                    continue
                }
                try lmdbCheck(rc, "mdb_env_open", directory)
                if access & UInt32(MDB_NOLOCK) == 0 {
                    var dead: Int32 = 0
                    // Free reader slots left by killed processes.
                    try lmdbCheck(mdb_reader_check(handle, &dead), "mdb_reader_check", directory)
                }
            } catch {
                mdb_env_close(handle)
                throw error
            }
            opened = handle
        }
        guard let handle = opened else { throw StoreError(.storage, "LMDB mdb_env_open returned no environment for \(directory)") }
        env = handle
        path = directory
        readOnly = access != 0
        unlocked = access & UInt32(MDB_NOLOCK) != 0
        resizeLock = .allocate(capacity: 1)
        pthread_rwlock_init(resizeLock, nil)
        mapStart = Self.mappedAddress(of: directory + "/data.mdb")
    }

    /// The start of the mapping of `file` at offset 0, from `/proc/self/maps`; nil where
    /// there is no such file, or no such mapping.
    static func mappedAddress(of file: String) -> UInt? {
        var st = stat()
        guard stat(file, &st) == 0, let real = realpath(file, nil) else { return nil }
        let canonical = String(cString: real)
        free(real)
        let inode = String(st.st_ino)
        for line in procSelfMaps().split(separator: "\n") {
            // start-end perms offset dev inode path
            let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
            guard fields.count == 6, fields[4] == inode, UInt(fields[2], radix: 16) == 0, fields[5].drop(while: { $0 == " " }) == canonical,
                let dash = fields[0].firstIndex(of: "-")
            else { continue }
            return UInt(fields[0][..<dash], radix: 16)
        }
        return nil
    }

    /// The whole of `/proc/self/maps`, read until its end: it reports size 0 and gives a
    /// page or so per read, and a process under a sanitizer has thousands of mappings.
    private static func procSelfMaps() -> String {
        let fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            bytes += chunk[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    deinit {
        for idle in idleReaders.withLock({ $0 }) { mdb_txn_abort(idle.txn) }
        mdb_env_close(env)
        pthread_rwlock_destroy(resizeLock)
        resizeLock.deallocate()
    }

    /// The current map size in bytes.
    var mapSize: Int {
        var info = MDB_envinfo()
        mdb_env_info(env, &info)
        return info.me_mapsize
    }

    /// Bytes of the map in use (last page number × page size).
    var usedBytes: Int {
        var info = MDB_envinfo()
        mdb_env_info(env, &info)
        var stat = MDB_stat()
        mdb_env_stat(env, &stat)
        return (info.me_last_pgno + 1) * Int(stat.ms_psize)
    }

    /// Where the map is and how much of it the data file fills, for a transaction to check
    /// the values LMDB returns against: a damaged page can give a value whose size or
    /// overflow page lies past the end of the file, and reading it kills the process with
    /// SIGBUS. A read snapshot uses only pages up to the newest meta page's last page; a
    /// write transaction may also read pages it spilled to the file, so it takes the file's
    /// size. Call with `resizeLock` held (inside a transaction).
    func extent(readOnly: Bool) -> MapExtent {
        guard let start = mapStart else { return MapExtent(start: 0, filled: 0, end: 0) }
        var info = MDB_envinfo()
        mdb_env_info(env, &info)
        var envStat = MDB_stat()
        mdb_env_stat(env, &envStat)
        let (pages, overflow) = info.me_last_pgno.addingReportingOverflow(1)
        let (bytes, tooMany) = pages.multipliedReportingOverflow(by: Int(envStat.ms_psize))
        var filled = overflow || tooMany ? Int.max : bytes
        if !readOnly {
            var fd: Int32 = -1
            var st = stat()
            if mdb_env_get_fd(env, &fd) == 0, fstat(fd, &st) == 0 { filled = max(filled, Int(st.st_size)) }
        }
        let mapSize = UInt(info.me_mapsize)
        return MapExtent(start: start, filled: start &+ min(UInt(max(filled, 0)), mapSize), end: start &+ mapSize)
    }

    private func adoptResize() throws {
        pthread_rwlock_wrlock(resizeLock)
        defer { pthread_rwlock_unlock(resizeLock) }
        // Size 0 adopts the size another process set.
        try lmdbCheck(mdb_env_set_mapsize(env, 0), "mdb_env_set_mapsize", path)
        mapStart = Self.mappedAddress(of: path + "/data.mdb")
    }

    private func grow() throws {
        pthread_rwlock_wrlock(resizeLock)
        defer { pthread_rwlock_unlock(resizeLock) }
        let current = mapSize
        let next = max(current * 2, usedBytes * 2, 64 << 20)
        try lmdbCheck(mdb_env_set_mapsize(env, next), "mdb_env_set_mapsize", path)
        mapStart = Self.mappedAddress(of: path + "/data.mdb")
    }

    private func begin(readOnly: Bool) throws -> OpaquePointer {
        if !readOnly && self.readOnly {
            throw StoreError(
                .storage,
                "\(path) is read-only for this user (another user's files, or a read-only file system): "
                    + "it can be searched, not changed", path: path)
        }
        while true {
            pthread_rwlock_rdlock(resizeLock)
            var txn: OpaquePointer?
            let rc = mdb_txn_begin(env, nil, readOnly ? UInt32(MDB_RDONLY) : 0, &txn)
            if rc == MDB_MAP_RESIZED {
                pthread_rwlock_unlock(resizeLock)
                try adoptResize()
                continue
            }
            if rc != 0 {
                pthread_rwlock_unlock(resizeLock)
                throw lmdbError(rc, "mdb_txn_begin", path)
            }
            guard let txn else {
                pthread_rwlock_unlock(resizeLock)
                throw StoreError(.storage, "LMDB mdb_txn_begin returned no transaction for \(path)")
            }
            return txn
        }
    }

    /// Walks every page of the newest snapshot (`LMDBPages`) while a read transaction
    /// holds it, so that no page it reaches is reused meanwhile.
    ///
    /// - Throws: `.storage` when the file cannot be read, or when it changed under eight
    ///   walks in a row (each must find its snapshot's meta page).
    func checkPages() throws -> LMDBPages.Report {
        for _ in 0..<8 {
            let report = try read { txn in try LMDBPages.walk(dataFile: path + "/data.mdb", transaction: UInt64(txn.id)) }
            if let report { return report }
        }
        throw StoreError(.storage, "\(path)/data.mdb changed under eight page walks in a row; check it again", path: path)
    }

    /// Runs `body` in a read-only snapshot. Pointers into the map are valid only inside.
    /// The snapshot is the one the transaction's id names (`settled`).
    func read<T>(_ body: (Transaction) throws -> T) throws -> T {
        let (txn, stamp) = try beginSettledRead()
        defer {
            endRead(txn)
            pthread_rwlock_unlock(resizeLock)
        }
        return try body(Transaction(txn: txn, env: self, readOnly: true, stamp: stamp))
    }

    /// `beginRead`, again (at most 64 times) while the snapshot is newer than the
    /// transaction's id says (`settled`); with the snapshot's stamp. A read that stays
    /// ahead is still sound, only not in order.
    private func beginSettledRead() throws -> (txn: OpaquePointer, stamp: UInt64?) {
        var renewals = 0
        defer { if renewals > 0 { readRenewals.withLock { $0 += renewals } } }
        while true {
            let txn = try beginRead()
            let stamp: UInt64?
            let settled: Bool
            do {
                (stamp, settled) = try self.settled(txn)
            } catch {
                endRead(txn)
                pthread_rwlock_unlock(resizeLock)
                throw error
            }
            if settled || renewals >= 64 { return (txn, stamp) }
            // Reset and kept idle: the next `beginRead` renews it (or, should the renewal
            // fail, begins another).
            endRead(txn)
            pthread_rwlock_unlock(resizeLock)
            renewals += 1
        }
    }

    /// A read transaction on the newest snapshot, with `resizeLock` held shared: an idle
    /// one renewed when there is one, else a new one.
    private func beginRead() throws -> OpaquePointer {
        pthread_rwlock_rdlock(resizeLock)
        if let idle = idleReaders.withLock({ $0.popLast() }) {
            if mdb_txn_renew(idle.txn) == 0 { return idle.txn }
            // The map moved under it, or its slot is gone: a new transaction handles both.
            mdb_txn_abort(idle.txn)
        }
        pthread_rwlock_unlock(resizeLock)
        return try begin(readOnly: true)
    }

    /// The id of the commit whose snapshot `txn` reads, as that commit recorded it; nil when
    /// no commit of this version of Quiver wrote the store yet (or `recordCommits(in:)` was
    /// not called).
    func commitStamp(_ txn: Transaction) throws -> UInt64? {
        guard let table = stampTable.withLock({ $0 }) else { return nil }
        return try Self.stamp(txn.txn, table)
    }

    private static func stamp(_ txn: OpaquePointer, _ table: DBI) throws -> UInt64? {
        var k = MDB_val(mv_size: commitStampKey.count, mv_data: nil)
        var v = MDB_val()
        let rc = commitStampKey.withUnsafeBytes { key in
            k.mv_data = UnsafeMutableRawPointer(mutating: key.baseAddress)
            return mdb_get(txn, table.raw, &k, &v)
        }
        if rc == MDB_NOTFOUND { return nil }
        try lmdbCheck(rc, "mdb_get", "the commit stamp")
        guard v.mv_size == 8, let data = v.mv_data else { return nil }
        return UInt64(littleEndian: data.loadUnaligned(as: UInt64.self))
    }

    /// The stamp of the snapshot `txn` reads, and whether that is the snapshot its id names
    /// (as far as the stamp can tell).
    ///
    /// With LMDB 0.9 a read transaction's id (`mdb_txn_id`) does not always name the
    /// snapshot it reads: `mdb_txn_renew0` reads the newest id, then copies the roots from
    /// the meta page of that id's parity, and a reader preempted in between copies the
    /// roots of a later commit of the same parity — one whose meta page is written but
    /// whose id is not yet published, so the thread's next read can see an older snapshot
    /// than this one. (Its reader slot keeps the old id, so the pages stay sound.)
    /// Measured here with liblmdb 0.9.24, four readers renewing against a writer making
    /// durable commits for 20 s: 567 of 306 million reads carried an id older than their
    /// snapshot (always by an even number of commits) and 297 reads saw an older snapshot
    /// than the same thread's read before (`tools/lmdb-reader-race`). The stamp is data of the snapshot itself: a read whose stamp
    /// is newer than its id is renewed (none of 200 million reads was left so, after 311
    /// renewals). A stamp older than the id means commits that do not stamp (an older
    /// Quiver), and one newer than every commit of the file comes from another file's ids
    /// (a compacted copy starts again at 1, keeping the data): nothing to check against.
    private func settled(_ txn: OpaquePointer) throws -> (stamp: UInt64?, settled: Bool) {
        guard let table = stampTable.withLock({ $0 }), let stamp = try Self.stamp(txn, table) else { return (nil, true) }
        guard stamp > UInt64(mdb_txn_id(txn)) else { return (stamp, true) }
        var info = MDB_envinfo()
        guard mdb_env_info(env, &info) == 0, stamp <= UInt64(info.me_last_txnid) else { return (stamp, true) }
        return (stamp, false)
    }

    /// Reads begun again by `beginSettledRead` so far (each time LMDB gave a read an id
    /// older than its snapshot).
    var settledReadRenewals: Int { readRenewals.withLock { $0 } }
    private let readRenewals = PosixMutex(0)

    /// Read transactions kept idle now (at most `idleReaderLimit`).
    var idleReaderCount: Int { idleReaders.withLock { $0.count } }

    /// Ends a read transaction: reset and kept for the next read, or freed when enough
    /// are kept already. Call with `resizeLock` held.
    private func endRead(_ txn: OpaquePointer) {
        mdb_txn_reset(txn)
        let kept = idleReaders.withLock { idle in
            guard idle.count < Self.idleReaderLimit else { return false }
            idle.append(IdleReader(txn: txn))
            return true
        }
        if !kept { mdb_txn_abort(txn) }
    }

    /// Runs `body` in a write transaction and commits it. `body` may run more than once
    /// (after the map grows), so it must not have effects outside the transaction.
    /// Begins and commits on the calling thread, as LMDB requires. Pass
    /// `openingDatabases` when `body` may open (or create) named databases.
    func write<T>(openingDatabases: Bool = false, _ body: (Transaction) throws -> T) throws -> T {
        if openingDatabases { dbiLock.lock() }
        defer { if openingDatabases { dbiLock.unlock() } }
        while true {
            let txn = try begin(readOnly: false)
            var committed = false
            writeChanged = false
            do {
                let transaction = Transaction(txn: txn, env: self, readOnly: false)
                let result = try body(transaction)
                // A write that changed nothing commits nothing (LMDB keeps its id): no stamp.
                if writeChanged, let table = stampTable.withLock({ $0 }) {
                    var id = UInt64(transaction.id).littleEndian
                    try Self.commitStampKey.withUnsafeBytes { key in
                        try withUnsafeBytes(of: &id) { try transaction.put(table, key, $0) }
                    }
                }
                let rc = mdb_txn_commit(txn)
                committed = true
                try lmdbCheck(rc, "mdb_txn_commit", path)
                pthread_rwlock_unlock(resizeLock)
                return result
            } catch is MapFullSignal {
                if !committed { mdb_txn_abort(txn) }
                pthread_rwlock_unlock(resizeLock)
                if openingDatabases { forgetUncommittedHandles() }
                try grow()
                continue
            } catch {
                if !committed { mdb_txn_abort(txn) }
                pthread_rwlock_unlock(resizeLock)
                if openingDatabases { forgetUncommittedHandles() }
                throw error
            }
        }
    }

    /// Opens (or, with `.create`, creates) a named database inside a write transaction
    /// begun with `openingDatabases`. Handles are cached for the environment's lifetime.
    /// Returns nil when the database does not exist.
    func database(_ name: String, flags: DBFlags, in txn: Transaction) throws -> DBI? {
        precondition(!txn.readOnly, "open handles in read transactions with openExisting")
        dbiLock.lock()
        defer { dbiLock.unlock() }
        if let dbi = dbiCache[name] { return dbi }
        var dbi: MDB_dbi = 0
        // Creating one changes the main database.
        if flags.contains(.create) { writeChanged = true }
        let rc = mdb_dbi_open(txn.txn, name, flags.rawValue, &dbi)
        if rc == MDB_NOTFOUND { return nil }
        try lmdbCheck(rc, "mdb_dbi_open", name)
        dbiCache[name] = DBI(raw: dbi)
        return DBI(raw: dbi)
    }

    /// Handles of existing databases (nil for a missing one), opened in a short read
    /// transaction of their own that commits, so the handles outlive it. Call it outside
    /// any transaction of this thread.
    func openExisting(_ names: [String]) throws -> [DBI?] {
        dbiLock.lock()
        defer { dbiLock.unlock() }
        if names.allSatisfy({ dbiCache[$0] != nil }) { return names.map { dbiCache[$0] } }
        let txn = try begin(readOnly: true)
        defer { pthread_rwlock_unlock(resizeLock) }
        var opened: [String: DBI] = [:]
        var out: [DBI?] = []
        for name in names {
            if let cached = dbiCache[name] {
                out.append(cached)
                continue
            }
            var dbi: MDB_dbi = 0
            let rc = mdb_dbi_open(txn, name, 0, &dbi)
            if rc == MDB_NOTFOUND {
                out.append(nil)
                continue
            }
            if rc != 0 {
                mdb_txn_abort(txn)
                try lmdbCheck(rc, "mdb_dbi_open", name)
            }
            opened[name] = DBI(raw: dbi)
            out.append(DBI(raw: dbi))
        }
        try lmdbCheck(mdb_txn_commit(txn), "mdb_txn_commit", path)
        dbiCache.merge(opened) { a, _ in a }
        return out
    }

    /// Drops a named database inside `txn` (a write begun with `openingDatabases`) and
    /// forgets its handle.
    func dropDatabase(_ dbi: DBI, name: String, in txn: Transaction) throws {
        dbiLock.lock()
        defer { dbiLock.unlock() }
        writeChanged = true
        try lmdbCheck(mdb_drop(txn.txn, dbi.raw, 1), "mdb_drop", name)
        dbiCache.removeValue(forKey: name)
    }

    /// LMDB closes the handles an aborted transaction opened; drop the cache so they are
    /// opened again. Committed handles reopen to the same number.
    private func forgetUncommittedHandles() {
        dbiLock.lock()
        defer { dbiLock.unlock() }
        dbiCache.removeAll()
    }

    /// Copies the environment to `directory`, optionally compacting (omitting free pages).
    func copy(to directory: String, compact: Bool) throws {
        // The copy reads the map: a concurrent resize must not unmap it meanwhile.
        pthread_rwlock_rdlock(resizeLock)
        defer { pthread_rwlock_unlock(resizeLock) }
        try lmdbCheck(
            mdb_env_copy2(env, directory, compact ? UInt32(MDB_CP_COMPACT) : 0), "mdb_env_copy2", directory)
    }

    /// Flushes buffers to disk (needed only when opened without sync).
    func sync() throws {
        try lmdbCheck(mdb_env_sync(env, 1), "mdb_env_sync", path)
    }

    /// Page size of the environment.
    var pageSize: Int {
        var stat = MDB_stat()
        mdb_env_stat(env, &stat)
        return Int(stat.ms_psize)
    }
}
