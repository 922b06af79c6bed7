import Foundation

/// Checks of an LMDB data file made before LMDB maps it.
///
/// LMDB trusts the file: a `data.mdb` shorter than its meta page says (a truncated copy, a
/// full disk during a copy) is mapped as if whole, and the first read past its end kills
/// the process with SIGBUS inside liblmdb. The meta pages (the first two pages) record the
/// last page in use, so the size the file must have is known before mapping it.
enum LMDBFile {
    /// What the meta pages say about a data file.
    struct Meta: Equatable {
        /// The page size the file was written with.
        var pageSize: Int
        /// The last page number in use.
        var lastPage: UInt64
        /// The transaction id of the newest meta page.
        var transaction: UInt64
        /// The bytes the file must hold: every page up to the last in use (`UInt64.max` for
        /// a damaged meta page whose last page number has no size).
        var requiredBytes: UInt64 {
            let (pages, overflow) = lastPage.addingReportingOverflow(1)
            let (bytes, tooMany) = pages.multipliedReportingOverflow(by: UInt64(pageSize))
            return overflow || tooMany ? .max : bytes
        }
    }

    /// The layout of a meta page (lmdb.h 0.9.x, 64-bit): a 16-byte page header, then
    /// MDB_meta: magic (u32), version (u32), address (8), map size (8), two MDB_db of 48
    /// bytes (the free list's `md_pad` holds the page size), last page (8), txnid (8).
    private static let pageHeader = 16
    private static let magic: UInt32 = 0xBEEF_C0DE

    /// Reads the newest valid meta page of `bytes` (the file's first two pages or more),
    /// nil when neither is a valid LMDB meta page.
    static func meta(_ bytes: [UInt8]) -> Meta? {
        func u32(_ at: Int) -> UInt32? {
            guard at + 4 <= bytes.count else { return nil }
            return bytes[at..<(at + 4)].reversed().reduce(0) { $0 << 8 | UInt32($1) }
        }
        func u64(_ at: Int) -> UInt64? {
            guard at + 8 <= bytes.count else { return nil }
            return bytes[at..<(at + 8)].reversed().reduce(0) { $0 << 8 | UInt64($1) }
        }
        func page(at offset: Int) -> Meta? {
            let m = offset + pageHeader
            guard u32(m) == magic, let size = u32(m + 24), size >= 512, size <= 1 << 16, size & (size - 1) == 0,
                let last = u64(m + 120), let txn = u64(m + 128)
            else { return nil }
            return Meta(pageSize: Int(size), lastPage: last, transaction: txn)
        }
        guard let first = page(at: 0) else { return nil }
        guard let second = page(at: first.pageSize), second.pageSize == first.pageSize else { return first }
        return second.transaction > first.transaction ? second : first
    }

    /// True when a meta page (the first, or the second after a page of the first's size)
    /// carries LMDB's magic number but a page size LMDB cannot use: liblmdb takes the size
    /// as it is and divides by it (SIGFPE for 0).
    static func hasDamagedMeta(_ bytes: [UInt8]) -> Bool {
        func u32(_ at: Int) -> UInt32? {
            guard at >= 0, at + 4 <= bytes.count else { return nil }
            return bytes[at..<(at + 4)].reversed().reduce(0) { $0 << 8 | UInt32($1) }
        }
        func valid(_ size: UInt32) -> Bool { size >= 512 && size <= 1 << 16 && size & (size - 1) == 0 }
        guard u32(pageHeader) == magic, let size = u32(pageHeader + 24) else { return false }
        guard valid(size) else { return true }
        guard u32(Int(size) + pageHeader) == magic, let second = u32(Int(size) + pageHeader + 24) else { return false }
        return !valid(second)
    }

    /// Throws `.corrupted` when `dataFile` is shorter than its meta page requires, or
    /// empty while `allowEmpty` is false. A missing file, or one whose first page is not
    /// LMDB's, passes: LMDB creates the one and rejects the other.
    static func checkSize(_ dataFile: String, allowEmpty: Bool) throws {
        let fd = open(dataFile, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return }  // missing, or unreadable: mdb_env_open reports it
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return }
        let size = UInt64(st.st_size)
        if size == 0 {
            guard allowEmpty else {
                throw StoreError(
                    .corrupted,
                    "\(dataFile) is empty (0 bytes): it holds no store. A creation may have been interrupted; "
                        + "remove the directory to start again, or restore it from a backup",
                    path: dataFile)
            }
            return
        }
        // Two pages of the largest page size LMDB uses.
        var head = [UInt8](repeating: 0, count: 2 << 16)
        let got = head.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard got > 0 else { return }
        head.removeSubrange(got...)
        if hasDamagedMeta(head) {
            throw StoreError(
                .corrupted, "\(dataFile) is damaged: an LMDB meta page records an impossible page size; restore it from a backup",
                path: dataFile)
        }
        guard let meta = meta(head) else { return }  // not LMDB's: mdb_env_open says so
        guard size >= meta.requiredBytes else {
            throw StoreError(
                .corrupted,
                "\(dataFile) is truncated or damaged: its LMDB meta page says \(meta.requiredBytes) bytes "
                    + "(pages 0…\(meta.lastPage) of \(meta.pageSize) bytes), the file has \(size); restore it from a backup",
                path: dataFile, expected: "\(meta.requiredBytes) bytes", actual: "\(size) bytes")
        }
    }

    /// A process other than this one that has the environment of `directory` open, or nil.
    ///
    /// Every process with an LMDB environment open holds a shared `fcntl` lock on byte 0 of
    /// its `lock.mdb` (LMDB's exclusive-open check), so asking for a write lock there
    /// (F_GETLK: nothing is locked) names one of them. This process's own locks never
    /// conflict with its own request. The descriptor stays open in `holder` until
    /// ``release(_:)``: closing a descriptor of a file drops every fcntl lock this process
    /// holds on it, LMDB's too.
    static func otherUser(of directory: String, holder: inout Int32) -> pid_t? {
        if holder < 0 { holder = open(directory + "/lock.mdb", O_RDWR | O_CLOEXEC) }
        guard holder >= 0 else { return nil }  // no lock file: nobody has it open
        var lock = flock()
        lock.l_type = Int16(F_WRLCK)
        lock.l_whence = Int16(SEEK_SET)
        lock.l_start = 0
        lock.l_len = 1
        guard fcntl(holder, F_GETLK, &lock) == 0 else { return nil }
        return lock.l_type == Int16(F_UNLCK) ? nil : lock.l_pid
    }

    /// Closes a descriptor from ``otherUser(of:holder:)``; call only once this process no
    /// longer has the environment open.
    static func release(_ holder: Int32) {
        if holder >= 0 { close(holder) }
    }
}
