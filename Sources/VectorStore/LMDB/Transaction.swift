import CLMDB
import Foundation

/// A transaction handle, valid only inside the `read { }` / `write { }` closure that
/// received it. Buffers it returns point into the memory map and are valid only while
/// the transaction is.
struct Transaction {
    let txn: OpaquePointer
    /// Unowned and unretained: a transaction lives inside its environment's `read` or
    /// `write` call, and a counted reference cost an atomic retain and release on every
    /// put (a tenth of an upsert's time in its transaction).
    unowned(unsafe) let env: LMDBEnvironment
    let readOnly: Bool
    /// The map and the part of it the file fills, when the transaction began.
    let extent: MapExtent
    /// For a read, the commit stamp of its snapshot (`LMDBEnvironment.commitStamp`) as it
    /// began; nil for a write, or when the store has none.
    let stamp: UInt64?

    init(txn: OpaquePointer, env: LMDBEnvironment, readOnly: Bool, stamp: UInt64? = nil) {
        self.txn = txn
        self.env = env
        self.readOnly = readOnly
        self.stamp = stamp
        extent = env.extent(readOnly: readOnly)
    }

    /// The transaction id LMDB gives: for a write, the id its commit will have; for a read,
    /// that of the snapshot it reads (`LMDBEnvironment.read` makes sure, as far as commits
    /// are stamped; LMDB alone may name an older one).
    var id: Int { Int(mdb_txn_id(txn)) }

    /// A key for error messages: its printable prefix (keys are ids, index keys or
    /// big-endian numbers), never a value.
    static func describe(_ key: UnsafeRawBufferPointer) -> String {
        let bytes = key.prefix(64)
        if bytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7F || $0 >= 0x80 }) {
            return "key \"" + String(decoding: bytes, as: UTF8.self) + "\""
        }
        return "key 0x" + bytes.map { String($0, radix: 16) }.joined()
    }

    // MARK: Point operations

    /// The value stored under `key`, or nil.
    func get(_ db: DBI, _ key: UnsafeRawBufferPointer) throws -> UnsafeRawBufferPointer? {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val()
        let rc = mdb_get(txn, db.raw, &k, &v)
        if rc == MDB_NOTFOUND { return nil }
        try lmdbCheck(rc, "mdb_get", Self.describe(key))
        return try extent.checked(v, "the value of \(Self.describe(key))")
    }

    /// Stores `value` under `key`. Signals a full map to `write`, which grows it.
    func put(_ db: DBI, _ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, _ flags: PutFlags = []) throws {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val(mv_size: value.count, mv_data: UnsafeMutableRawPointer(mutating: value.baseAddress))
        env.writeChanged = true
        try lmdbCheck(mdb_put(txn, db.raw, &k, &v, flags.rawValue), "mdb_put", Self.describe(key))
    }

    /// Reserves `size` bytes under `key` and returns the space to fill before commit.
    func reserve(_ db: DBI, _ key: UnsafeRawBufferPointer, size: Int) throws -> UnsafeMutableRawBufferPointer {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val(mv_size: size, mv_data: nil)
        env.writeChanged = true
        try lmdbCheck(
            mdb_put(txn, db.raw, &k, &v, UInt32(MDB_RESERVE)), "mdb_put(MDB_RESERVE)", "\(Self.describe(key)) of \(size) bytes")
        return UnsafeMutableRawBufferPointer(start: v.mv_data, count: size)
    }

    /// Puts many fixed-size duplicate values under one key of a `DUPFIXED` database.
    ///
    /// With `appending`, when the values ascend strictly and the first sorts after every
    /// duplicate already under the key, they are appended (`MDB_APPENDDUP`): LMDB then
    /// fills each page before starting the next, where inserting splits full pages in
    /// half and leaves a long list in half-empty pages. Otherwise they are inserted.
    func putMultiple(
        _ db: DBI, _ key: UnsafeRawBufferPointer, values: UnsafeRawBufferPointer, elementSize: Int, appending: Bool = false
    ) throws {
        guard values.count > 0 else { return }
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var vals = (
            MDB_val(mv_size: elementSize, mv_data: UnsafeMutableRawPointer(mutating: values.baseAddress)),
            MDB_val(mv_size: values.count / elementSize, mv_data: nil)
        )
        let cursor = try Cursor(self, db)
        defer { cursor.close() }
        var flags = UInt32(MDB_MULTIPLE)
        if appending, let first = values.baseAddress, Self.ascendsStrictly(values, elementSize: elementSize) {
            if try cursor.get(.set, key: key) == nil {
                flags |= UInt32(MDB_APPENDDUP)
            } else if let last = try cursor.get(.lastDup), last.value.count == elementSize, let lastBytes = last.value.baseAddress,
                memcmp(first, lastBytes, elementSize) > 0
            {
                flags |= UInt32(MDB_APPENDDUP)
            }
        }
        env.writeChanged = true
        let rc = withUnsafeMutablePointer(to: &vals) { p in
            p.withMemoryRebound(to: MDB_val.self, capacity: 2) { mdb_cursor_put(cursor.cursor, &k, $0, flags) }
        }
        try lmdbCheck(rc, "mdb_cursor_put(MDB_MULTIPLE)", "index key " + Self.describe(key))
    }

    /// Whether fixed-size values sort strictly ascending (as LMDB compares duplicates:
    /// bytewise).
    static func ascendsStrictly(_ values: UnsafeRawBufferPointer, elementSize: Int) -> Bool {
        guard let base = values.baseAddress, elementSize > 0 else { return true }
        var at = elementSize
        while at + elementSize <= values.count {
            if memcmp(base + at - elementSize, base + at, elementSize) >= 0 { return false }
            at += elementSize
        }
        return true
    }

    /// Deletes `key` (and, for a duplicate-sorted database, only `value` if given).
    /// Returns false when nothing was there.
    @discardableResult
    func delete(_ db: DBI, _ key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer? = nil) throws -> Bool {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        let rc: Int32
        if let value {
            var v = MDB_val(mv_size: value.count, mv_data: UnsafeMutableRawPointer(mutating: value.baseAddress))
            rc = mdb_del(txn, db.raw, &k, &v)
        } else {
            rc = mdb_del(txn, db.raw, &k, nil)
        }
        if rc == MDB_NOTFOUND { return false }
        env.writeChanged = true
        try lmdbCheck(rc, "mdb_del", Self.describe(key))
        return true
    }

    /// Number of entries in a database.
    func count(_ db: DBI) throws -> Int {
        var stat = MDB_stat()
        try lmdbCheck(mdb_stat(txn, db.raw, &stat), "mdb_stat")
        return stat.ms_entries
    }

    /// Removes every entry of a database, keeping it.
    func clear(_ db: DBI) throws {
        env.writeChanged = true
        try lmdbCheck(mdb_drop(txn, db.raw, 0), "mdb_drop")
    }
}

/// A cursor over one database, valid inside its transaction. Close it (or let the
/// scope using `withCursor` do it).
final class Cursor {
    let cursor: OpaquePointer
    let extent: MapExtent
    /// Unretained, as `Transaction.env`: a cursor lives inside its transaction.
    private unowned(unsafe) let env: LMDBEnvironment

    init(_ txn: Transaction, _ db: DBI) throws {
        var c: OpaquePointer?
        try lmdbCheck(mdb_cursor_open(txn.txn, db.raw, &c), "mdb_cursor_open")
        guard let c else { throw StoreError(.storage, "LMDB mdb_cursor_open returned no cursor") }
        cursor = c
        extent = txn.extent
        env = txn.env
    }

    func close() { mdb_cursor_close(cursor) }

    enum Op {
        case first, last, next, prev, setRange, set, nextDup, nextNoDup, lastDup, getMultiple, nextMultiple, getCurrent, getBothRange
        var raw: MDB_cursor_op {
            switch self {
            case .first: MDB_FIRST
            case .last: MDB_LAST
            case .next: MDB_NEXT
            case .prev: MDB_PREV
            case .setRange: MDB_SET_RANGE
            case .set: MDB_SET_KEY
            case .nextDup: MDB_NEXT_DUP
            case .nextNoDup: MDB_NEXT_NODUP
            case .lastDup: MDB_LAST_DUP
            case .getMultiple: MDB_GET_MULTIPLE
            case .nextMultiple: MDB_NEXT_MULTIPLE
            case .getCurrent: MDB_GET_CURRENT
            case .getBothRange: MDB_GET_BOTH_RANGE
            }
        }
    }

    /// Moves the cursor; returns the key and value there, or nil at the end. `value` is the
    /// duplicate sought by `.getBothRange` (the first duplicate at or after it).
    func get(_ op: Op, key: UnsafeRawBufferPointer? = nil, value: UnsafeRawBufferPointer? = nil) throws -> (
        key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer
    )? {
        var k = MDB_val(mv_size: key?.count ?? 0, mv_data: UnsafeMutableRawPointer(mutating: key?.baseAddress))
        var v = MDB_val(mv_size: value?.count ?? 0, mv_data: UnsafeMutableRawPointer(mutating: value?.baseAddress))
        let rc = mdb_cursor_get(cursor, &k, &v, op.raw)
        if rc == MDB_NOTFOUND { return nil }
        try lmdbCheck(rc, "mdb_cursor_get")
        let key = try extent.checked(k, "a key")
        return (key, try extent.checked(v, "the value of \(Transaction.describe(key))"))
    }

    /// Number of duplicates of the current key (`mdb_cursor_count`).
    func duplicateCount() throws -> Int {
        var n = 0
        try lmdbCheck(mdb_cursor_count(cursor, &n), "mdb_cursor_count")
        return n
    }

    /// Deletes the entry under the cursor.
    func deleteCurrent() throws {
        env.writeChanged = true
        try lmdbCheck(mdb_cursor_del(cursor, 0), "mdb_cursor_del")
    }
}

extension Transaction {
    /// Runs `body` with a cursor that is closed afterwards.
    func withCursor<T>(_ db: DBI, _ body: (Cursor) throws -> T) throws -> T {
        let cursor = try Cursor(self, db)
        defer { cursor.close() }
        return try body(cursor)
    }
}

/// The address range of the map and the part of it the data file fills.
struct MapExtent {
    let start: UInt
    /// The end of the file's pages in use (`start` plus their bytes).
    let filled: UInt
    /// The end of the map.
    let end: UInt

    /// `value` as a buffer, or `.corrupted` when it lies partly past the file's pages in
    /// use: a damaged page's size or overflow page number, which LMDB returns unchecked.
    /// A value outside the map is a page the write transaction holds in memory.
    func checked(_ value: MDB_val, _ what: @autoclosure () -> String) throws -> UnsafeRawBufferPointer {
        let buffer = UnsafeRawBufferPointer(start: value.mv_data, count: value.mv_size)
        guard value.mv_size > 0, let base = value.mv_data else { return buffer }
        let address = UInt(bitPattern: base)
        guard address >= start, address < end else { return buffer }
        let (last, overflow) = address.addingReportingOverflow(UInt(value.mv_size))
        guard !overflow, last <= filled else {
            throw StoreError(
                .corrupted,
                "the store file is damaged: \(what()) (\(value.mv_size) bytes at offset \(address - start)) lies past "
                    + "the \(filled - start) bytes of pages in use")
        }
        return buffer
    }
}
