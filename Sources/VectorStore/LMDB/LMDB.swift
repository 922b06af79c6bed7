import CLMDB
import Foundation

/// The one checkpoint that turns an LMDB return code into `StoreError`, naming the C call.
@inline(__always)
func lmdbCheck(_ rc: Int32, _ call: StaticString, _ context: @autoclosure () -> String = "") throws {
    if rc == 0 { return }
    // Any call of a write transaction may find the map full; `write` grows it and retries.
    if rc == MDB_MAP_FULL { throw MapFullSignal() }
    throw lmdbError(rc, call, context())
}

func lmdbError(_ rc: Int32, _ call: StaticString, _ context: String) -> StoreError {
    let text = String(cString: mdb_strerror(rc))
    if rc == MDB_DBS_FULL {
        return StoreError(
            .storage, "the store has no room for another collection's tables; open it with a larger StoreOptions.maxCollections",
            underlying: "\(call) returned \(rc): \(text)")
    }
    if rc == MDB_READERS_FULL {
        return StoreError(
            .storage, "too many concurrent readers of \(context); open the store with a larger StoreOptions.maxReaders",
            underlying: "\(call) returned \(rc): \(text)")
    }
    var what = context.isEmpty ? "LMDB \(call) failed" : "LMDB \(call) failed for \(context)"
    // A system error (permission denied, no space left on device, read-only file
    // system…) is said plainly, not only under --verbose.
    if rc > 0 && rc < 4096 {
        let plain = String(cString: strerror(rc))
        what += ": " + plain.prefix(1).lowercased() + plain.dropFirst()
    }
    let code: StoreError.Code = (rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND || rc == MDB_INVALID) ? .corrupted : .storage
    return StoreError(code, what, underlying: "\(call) returned \(rc): \(text)")
}

/// A named database handle inside an environment.
struct DBI: Sendable, Hashable {
    let raw: UInt32

    /// LMDB's main database (MAIN_DBI in mdb.c), which lists the named ones.
    static let main = DBI(raw: 1)
}

/// Flags for opening a named database.
struct DBFlags: OptionSet, Sendable {
    let rawValue: UInt32
    static let create = DBFlags(rawValue: UInt32(MDB_CREATE))
    static let dupSort = DBFlags(rawValue: UInt32(MDB_DUPSORT))
    static let dupFixed = DBFlags(rawValue: UInt32(MDB_DUPFIXED))
}

/// Flags for a put.
struct PutFlags: OptionSet, Sendable {
    let rawValue: UInt32
    static let append = PutFlags(rawValue: UInt32(MDB_APPEND))
    static let appendDup = PutFlags(rawValue: UInt32(MDB_APPENDDUP))
    static let noOverwrite = PutFlags(rawValue: UInt32(MDB_NOOVERWRITE))
    static let noDupData = PutFlags(rawValue: UInt32(MDB_NODUPDATA))
}
