import Foundation

/// A check of an LMDB data file's B-trees, read with `pread`, made before LMDB is trusted
/// with them.
///
/// liblmdb trusts its pages: a damaged branch or leaf page can stop the process inside
/// it (`mdb.c: Assertion 'IS_LEAF(mp)' failed`, a bus error on a page number past the
/// map) before any error reaches Quiver. This walk reads every page one snapshot reaches
/// — the main database, each named database, their duplicate sub-trees and sub-pages,
/// overflow runs, and the free list — and checks what LMDB would otherwise assume: each
/// page names itself, has the type its depth needs, node offsets and sizes that fit in
/// it, child and overflow page numbers inside the file, keys in order, no page reached
/// twice, counts that match the database records, and no page both in use and free.
///
/// The layout is LMDB 0.9's on a 64-bit little-endian host (`mdb.c`): a 16-byte page
/// header (page number u64, pad u16, flags u16, lower u16, upper u16 — or, on an
/// overflow page, the page count u32), then u16 node offsets; a node is lo u16, hi u16,
/// flags u16, key size u16, key, data.
struct LMDBPages {
    /// A damaged part of the file.
    struct Damage: Error, Equatable {
        /// The named database the page belongs to; nil for LMDB's own trees (the main
        /// database and the free list).
        var database: String?
        /// What is wrong, naming the page.
        var problem: String
    }

    /// What a walk found.
    struct Report {
        /// The named databases whose pages are all sound, by name.
        var sound: Set<String> = []
        /// Every damaged database (or LMDB tree), with its first problem.
        var damage: [Damage] = []
        /// True when LMDB's own trees (main database, free list) are sound, so that
        /// opening named databases is safe.
        var mainIsSound = true
        /// Pages in use by the snapshot (meta pages included), for tests and reports.
        var pagesInUse = 0
        /// The page numbers in use (bit per page), for tests.
        var inUse: [UInt64] = []

        /// True when `page` is in use by the snapshot walked.
        func isInUse(_ page: Int) -> Bool {
            page / 64 < inUse.count && inUse[page / 64] & (1 << UInt64(page % 64)) != 0
        }
    }

    // Page flags (mdb.c).
    private static let branch: UInt16 = 0x01
    private static let leaf: UInt16 = 0x02
    private static let overflow: UInt16 = 0x04
    private static let leaf2: UInt16 = 0x20
    private static let subPage: UInt16 = 0x40
    /// Flags an in-memory page may carry that say nothing about its type.
    private static let bookkeeping: UInt16 = 0x10 | 0x4000 | 0x8000
    // Node flags.
    private static let bigData: UInt16 = 0x01
    private static let subData: UInt16 = 0x02
    private static let dupData: UInt16 = 0x04
    // Database flags.
    private static let reverseKey: UInt16 = 0x02
    private static let dupSort: UInt16 = 0x04
    private static let integerKey: UInt16 = 0x08
    private static let dupFixed: UInt16 = 0x10
    private static let integerDup: UInt16 = 0x20
    private static let reverseDup: UInt16 = 0x40
    private static let header = 16
    private static let nodeHeader = 8
    private static let invalidPage = UInt64.max

    /// An `MDB_db` record: 48 bytes.
    private struct DB {
        var pad: UInt32
        var flags: UInt16
        var depth: UInt16
        var branchPages: UInt64
        var leafPages: UInt64
        var overflowPages: UInt64
        var entries: UInt64
        var root: UInt64

        init(_ b: UnsafeRawBufferPointer, at o: Int) {
            pad = b.loadUnaligned(fromByteOffset: o, as: UInt32.self)
            flags = b.loadUnaligned(fromByteOffset: o + 4, as: UInt16.self)
            depth = b.loadUnaligned(fromByteOffset: o + 6, as: UInt16.self)
            branchPages = b.loadUnaligned(fromByteOffset: o + 8, as: UInt64.self)
            leafPages = b.loadUnaligned(fromByteOffset: o + 16, as: UInt64.self)
            overflowPages = b.loadUnaligned(fromByteOffset: o + 24, as: UInt64.self)
            entries = b.loadUnaligned(fromByteOffset: o + 32, as: UInt64.self)
            root = b.loadUnaligned(fromByteOffset: o + 40, as: UInt64.self)
        }

        /// `db` with other flags (an order to check keys by).
        init(flags: UInt16, _ db: DB) {
            self = db
            self.flags = flags
        }
    }

    /// A failure inside one tree.
    private struct Bad: Error { var why: String }

    private let fd: Int32
    private let pageSize: Int
    private let lastPage: UInt64
    private var used: [UInt64]
    private var free: [UInt64]
    private var freeWalked = false
    private var page: [UInt8]
    private var named: [(name: String, db: DB)] = []

    private init(fd: Int32, pageSize: Int, lastPage: UInt64) {
        self.fd = fd
        self.pageSize = pageSize
        self.lastPage = lastPage
        let words = Int(lastPage / 64) + 1
        used = [UInt64](repeating: 0, count: words)
        free = [UInt64](repeating: 0, count: words)
        page = [UInt8](repeating: 0, count: pageSize)
    }

    /// Walks the snapshot of transaction `transaction` in `dataFile`, whose meta page
    /// must still be on disk (the caller holds a read transaction of it open, so that no
    /// page it reaches is reused meanwhile). Returns nil when no meta page records that
    /// transaction any more (two commits since: begin again).
    ///
    /// - Throws: `.storage` when the file cannot be read.
    static func walk(dataFile: String, transaction: UInt64) throws -> Report? {
        let fd = open(dataFile, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw StoreError(.storage, "cannot read \(dataFile) to check its pages: \(String(cString: strerror(errno)))", path: dataFile)
        }
        defer { close(fd) }
        var head = [UInt8](repeating: 0, count: 2 << 16)
        let got = head.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard got > 0 else {
            return Report(damage: [Damage(database: nil, problem: "the file is empty or cannot be read")], mainIsSound: false)
        }
        head.removeSubrange(got...)
        guard let newest = LMDBFile.meta(head) else {
            return Report(damage: [Damage(database: nil, problem: "neither meta page is valid")], mainIsSound: false)
        }
        let size = newest.pageSize
        // The meta page of `transaction`: page 0 or 1.
        var metaAt: Int?
        for m in 0..<2 where (m + 1) * size <= head.count {
            let txn = head.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: m * size + header + 128, as: UInt64.self) }
            if txn == transaction { metaAt = m * size }
        }
        guard let metaAt else { return nil }
        let (last, freeDB, mainDB) = head.withUnsafeBytes { b in
            (
                b.loadUnaligned(fromByteOffset: metaAt + header + 120, as: UInt64.self),
                DB(b, at: metaAt + header + 24), DB(b, at: metaAt + header + 72)
            )
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw StoreError(.storage, "cannot stat \(dataFile)", path: dataFile) }
        let filePages = UInt64(st.st_size) / UInt64(size)
        guard last >= 1, last < filePages else {
            return Report(
                damage: [Damage(database: nil, problem: "the meta page's last page \(last) is outside the file's \(filePages) pages")],
                mainIsSound: false)
        }
        var walker = LMDBPages(fd: fd, pageSize: size, lastPage: last)
        walker.mark(0)
        walker.mark(1)
        return walker.run(freeDB: freeDB, mainDB: mainDB)
    }

    private mutating func run(freeDB: DB, mainDB: DB) -> Report {
        var report = Report()
        do {
            try tree(freeDB, isFreeList: true)
            freeWalked = true
        } catch let bad as Bad {
            report.damage.append(Damage(database: nil, problem: "the free list: " + bad.why))
            report.mainIsSound = false
        } catch {}
        do {
            try tree(mainDB, isMain: true)
        } catch let bad as Bad {
            report.damage.append(Damage(database: nil, problem: "the main database: " + bad.why))
            report.mainIsSound = false
            report.inUse = used
            return report
        } catch {}
        for (name, db) in named {
            do {
                try tree(db)
                report.sound.insert(name)
            } catch let bad as Bad {
                report.damage.append(Damage(database: name, problem: bad.why))
            } catch {}
        }
        if freeWalked {
            for w in used.indices where used[w] & free[w] != 0 {
                let page = w * 64 + (used[w] & free[w]).trailingZeroBitCount
                report.damage.append(Damage(database: nil, problem: "page \(page) is both in use and on the free list"))
                report.mainIsSound = false
                break
            }
        }
        report.pagesInUse = used.reduce(0) { $0 + $1.nonzeroBitCount }
        report.inUse = used
        return report
    }

    // MARK: Pages

    private mutating func mark(_ p: UInt64) {
        used[Int(p / 64)] |= 1 << (p % 64)
    }

    /// Marks page `p` in use, refusing page numbers outside the snapshot and pages reached
    /// before.
    private mutating func claim(_ p: UInt64, from: String) throws {
        guard p >= 2, p <= lastPage else { throw Bad(why: "\(from) points at page \(p), outside pages 2…\(lastPage)") }
        let (w, bit) = (Int(p / 64), UInt64(1) << (p % 64))
        guard used[w] & bit == 0 else { throw Bad(why: "page \(p) is reached twice (from \(from))") }
        used[w] |= bit
    }

    /// Reads page `p` into `page`.
    private mutating func read(_ p: UInt64) throws {
        let offset = off_t(p) * off_t(pageSize)
        let got = page.withUnsafeMutableBytes { pread(fd, $0.baseAddress, pageSize, offset) }
        guard got == pageSize else {
            throw Bad(why: "page \(p) cannot be read (\(got < 0 ? String(cString: strerror(errno)) : "short read"))")
        }
    }

    private func u16(_ o: Int) -> UInt16 { page.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: o, as: UInt16.self) } }
    private func u32(_ o: Int) -> UInt32 { page.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: o, as: UInt32.self) } }
    private func u64(_ o: Int) -> UInt64 { page.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: o, as: UInt64.self) } }

    // MARK: Trees

    /// Counts of one tree's pages and entries, compared with its `MDB_db` record.
    private struct Tally {
        var branch: UInt64 = 0
        var leaf: UInt64 = 0
        var overflow: UInt64 = 0
        var entries: UInt64 = 0
        /// Pages of duplicate sub-trees (whether a database's record counts them is not
        /// relied on).
        var sub: (branch: UInt64, leaf: UInt64, overflow: UInt64) = (0, 0, 0)
    }

    private mutating func tree(_ db: DB, isMain: Bool = false, isFreeList: Bool = false, isDuplicates: Bool = false) throws {
        if db.root == Self.invalidPage {
            guard db.depth == 0, db.entries == 0, db.branchPages == 0, db.leafPages == 0, db.overflowPages == 0 else {
                throw Bad(why: "an empty tree records \(db.entries) entries and depth \(db.depth)")
            }
            return
        }
        guard db.depth >= 1, db.depth <= 64 else { throw Bad(why: "the tree records depth \(db.depth)") }
        if isMain || isFreeList || isDuplicates {
            guard db.flags & Self.dupSort == 0 else { throw Bad(why: "the tree records flags \(db.flags)") }
        }
        var tally = Tally()
        try node(db.root, level: 1, db, &tally, isMain: isMain, isFreeList: isFreeList, isDuplicates: isDuplicates, from: "its record")
        let recorded = (db.branchPages, db.leafPages, db.overflowPages, db.entries)
        let withSub = (tally.branch + tally.sub.branch, tally.leaf + tally.sub.leaf, tally.overflow + tally.sub.overflow, tally.entries)
        guard recorded == (tally.branch, tally.leaf, tally.overflow, tally.entries) || recorded == withSub else {
            throw Bad(
                why: "its record counts \(db.branchPages) branch, \(db.leafPages) leaf, \(db.overflowPages) overflow pages and "
                    + "\(db.entries) entries; its pages hold \(tally.branch), \(tally.leaf), \(tally.overflow) and \(tally.entries)")
        }
    }

    private mutating func node(
        _ p: UInt64, level: Int, _ db: DB, _ tally: inout Tally, isMain: Bool, isFreeList: Bool, isDuplicates: Bool, from: String
    ) throws {
        try claim(p, from: from)
        try read(p)
        guard u64(0) == p else { throw Bad(why: "page \(p) names itself page \(u64(0))") }
        let flags = u16(10) & ~Self.bookkeeping
        let isLeaf = level == Int(db.depth)
        let fixed = isDuplicates && db.flags & Self.dupFixed != 0
        let expected = isLeaf ? (fixed ? Self.leaf | Self.leaf2 : Self.leaf) : Self.branch
        guard flags == expected || (isLeaf && fixed && flags == Self.leaf) else {
            throw Bad(
                why:
                    "page \(p) at depth \(level) of \(db.depth) has flags \(String(flags, radix: 16)), expected \(String(expected, radix: 16))"
            )
        }
        let (lower, upper) = (Int(u16(12)), Int(u16(14)))
        guard lower >= Self.header, lower <= upper, upper <= pageSize, (lower - Self.header) % 2 == 0 else {
            throw Bad(why: "page \(p) has free-space bounds \(lower)…\(upper)")
        }
        let count = (lower - Self.header) / 2
        if isLeaf { tally.leaf += 1 } else { tally.branch += 1 }
        guard count > 0 || (isLeaf && level == 1) else { throw Bad(why: "page \(p) holds no node") }
        if flags & Self.leaf2 != 0 {
            let k = Int(db.pad)
            guard k > 0, Self.header + count * k <= pageSize else { throw Bad(why: "page \(p) holds \(count) keys of \(k) bytes") }
            for i in 1..<max(count, 1) where compare(Self.header + (i - 1) * k, k, Self.header + i * k, k, db) >= 0 {
                throw Bad(why: "page \(p) keys \(i - 1) and \(i) are out of order")
            }
            tally.entries += UInt64(count)
            return
        }
        var previous: (Int, Int)?
        // Children and sub-trees are visited after this page's nodes are read: `page`
        // is reused by every read.
        var children: [UInt64] = []
        var overflows: [(UInt64, Int)] = []
        var subTrees: [DB] = []
        for i in 0..<count {
            let at = Int(u16(Self.header + 2 * i))
            guard at >= upper, at + Self.nodeHeader <= pageSize else {
                throw Bad(why: "page \(p) node \(i) is at offset \(at), outside \(upper)…\(pageSize)")
            }
            let lo = UInt64(u16(at))
            let hi = UInt64(u16(at + 2))
            let nodeFlags = u16(at + 4)
            let keySize = Int(u16(at + 6))
            let key = at + Self.nodeHeader
            guard key + keySize <= pageSize else { throw Bad(why: "page \(p) node \(i) has a \(keySize)-byte key past the page end") }
            if isLeaf || i > 0 {
                if let (pk, pn) = previous, compare(pk, pn, key, keySize, db, integer: isFreeList) >= 0 {
                    throw Bad(why: "page \(p) keys \(i - 1) and \(i) are out of order")
                }
                previous = (key, keySize)
            }
            if !isLeaf {
                children.append(lo | hi << 16 | UInt64(nodeFlags) << 32)
                continue
            }
            let dataSize = Int(lo | hi << 16)
            let data = key + keySize
            if nodeFlags & Self.bigData != 0 {
                guard nodeFlags & (Self.subData | Self.dupData) == 0, data + 8 <= pageSize else {
                    throw Bad(why: "page \(p) node \(i) has flags \(nodeFlags)")
                }
                overflows.append((u64(data), dataSize))
                tally.entries += 1
                continue
            }
            guard data + dataSize <= pageSize else {
                throw Bad(why: "page \(p) node \(i) has \(dataSize) bytes of data past the page end")
            }
            switch nodeFlags {
            case 0:
                tally.entries += 1
                if isFreeList { try freePages(data, dataSize, page: p) }
            case Self.subData where isMain:
                guard dataSize == 48 else { throw Bad(why: "page \(p) node \(i) is a database record of \(dataSize) bytes") }
                let name = String(decoding: page[key..<(key + keySize)], as: UTF8.self)
                named.append((name, page.withUnsafeBytes { DB($0, at: data) }))
                tally.entries += 1
            case Self.dupData | Self.subData where db.flags & Self.dupSort != 0:
                guard dataSize == 48 else { throw Bad(why: "page \(p) node \(i) is a duplicates record of \(dataSize) bytes") }
                subTrees.append(page.withUnsafeBytes { DB($0, at: data) })
            case Self.dupData where db.flags & Self.dupSort != 0:
                tally.entries += UInt64(try subPage(at: data, size: dataSize, db, page: p, node: i))
            default:
                throw Bad(why: "page \(p) node \(i) has flags \(nodeFlags)")
            }
        }
        for (j, child) in children.enumerated() {
            try node(
                child, level: level + 1, db, &tally, isMain: isMain, isFreeList: isFreeList, isDuplicates: isDuplicates,
                from: "page \(p) node \(j)")
        }
        for (first, size) in overflows { try overflowRun(first, size, &tally, isFreeList: isFreeList, from: "page \(p)") }
        for stored in subTrees {
            // LMDB records a sub-tree's own flags (DUPFIXED, INTEGERKEY for INTEGERDUP);
            // its keys are the duplicates, in the parent's duplicate order.
            let dup = DB(flags: stored.flags | (db.flags & Self.reverseDup != 0 ? Self.reverseKey : 0), stored)
            guard dup.root != Self.invalidPage, dup.depth >= 1, dup.depth <= 64 else {
                throw Bad(why: "a duplicates tree under page \(p) records root \(dup.root) and depth \(dup.depth)")
            }
            var inner = Tally()
            try node(dup.root, level: 1, dup, &inner, isMain: false, isFreeList: false, isDuplicates: true, from: "page \(p)")
            guard
                (inner.branch, inner.leaf, inner.overflow, inner.entries) == (
                    dup.branchPages, dup.leafPages, dup.overflowPages, dup.entries
                )
            else {
                throw Bad(
                    why: "a duplicates tree under page \(p) records \(dup.branchPages) branch, \(dup.leafPages) leaf pages and "
                        + "\(dup.entries) entries; it holds \(inner.branch), \(inner.leaf) and \(inner.entries)")
            }
            tally.sub.branch += inner.branch
            tally.sub.leaf += inner.leaf
            tally.entries += inner.entries
        }
    }

    /// A sub-page of duplicates inside a leaf node: a page header and nodes (or fixed-size
    /// keys) within the node's data. Returns its entry count.
    private func subPage(at start: Int, size: Int, _ db: DB, page p: UInt64, node i: Int) throws -> Int {
        guard size >= Self.header else { throw Bad(why: "page \(p) node \(i) holds a sub-page of \(size) bytes") }
        let flags = u16(start + 10) & ~Self.bookkeeping
        let fixed = db.flags & Self.dupFixed != 0
        guard flags == Self.leaf | Self.subPage | (fixed ? Self.leaf2 : 0) else {
            throw Bad(why: "page \(p) node \(i) holds a sub-page with flags \(String(flags, radix: 16))")
        }
        let (lower, upper) = (Int(u16(start + 12)), Int(u16(start + 14)))
        guard lower >= Self.header, lower <= upper, upper <= size, (lower - Self.header) % 2 == 0 else {
            throw Bad(why: "page \(p) node \(i) holds a sub-page with bounds \(lower)…\(upper) in \(size) bytes")
        }
        let count = (lower - Self.header) / 2
        guard count > 0 else { throw Bad(why: "page \(p) node \(i) holds an empty sub-page") }
        let dupOrder = DB(flags: db.flags & Self.reverseDup != 0 ? Self.reverseKey : 0, db)
        if fixed {
            let k = Int(u16(start + 8))
            guard k > 0, Self.header + count * k <= size else {
                throw Bad(why: "page \(p) node \(i) holds \(count) duplicates of \(k) bytes")
            }
            for j in 1..<count where compare(start + Self.header + (j - 1) * k, k, start + Self.header + j * k, k, dupOrder) >= 0 {
                throw Bad(why: "page \(p) node \(i) duplicates \(j - 1) and \(j) are out of order")
            }
            return count
        }
        var previous: (Int, Int)?
        for j in 0..<count {
            let at = Int(u16(start + Self.header + 2 * j))
            guard at >= upper, at + Self.nodeHeader <= size else {
                throw Bad(why: "page \(p) node \(i) sub-node \(j) is outside its sub-page")
            }
            let keySize = Int(u16(start + at + 6))
            guard at + Self.nodeHeader + keySize <= size else { throw Bad(why: "page \(p) node \(i) sub-node \(j) runs past its sub-page") }
            let key = start + at + Self.nodeHeader
            if let (pk, pn) = previous, compare(pk, pn, key, keySize, dupOrder) >= 0 {
                throw Bad(why: "page \(p) node \(i) duplicates \(j - 1) and \(j) are out of order")
            }
            previous = (key, keySize)
        }
        return count
    }

    /// An overflow run: its first page names itself, is an overflow page, and the run
    /// holds the data and stays inside the file.
    private mutating func overflowRun(_ first: UInt64, _ size: Int, _ tally: inout Tally, isFreeList: Bool, from: String) throws {
        try claim(first, from: from)
        try read(first)
        guard u64(0) == first, u16(10) & ~Self.bookkeeping == Self.overflow else {
            throw Bad(why: "overflow page \(first) (from \(from)) names itself page \(u64(0)) with flags \(String(u16(10), radix: 16))")
        }
        let pages = UInt64(u32(12))
        guard pages >= 1, pages <= lastPage, first + pages - 1 <= lastPage,
            UInt64(size) + UInt64(Self.header) <= pages * UInt64(pageSize)
        else { throw Bad(why: "overflow page \(first) records \(pages) pages for \(size) bytes, past the last page \(lastPage)") }
        for q in (first + 1)..<(first + pages) { try claim(q, from: "overflow page \(first)") }
        tally.overflow += pages
        if isFreeList {
            // A long free list: read it whole.
            var bytes = [UInt8](repeating: 0, count: size)
            let got = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, size, off_t(first) * off_t(pageSize) + off_t(Self.header)) }
            guard got == size else { throw Bad(why: "overflow page \(first) cannot be read") }
            try freePages(bytes, page: first)
        }
    }

    /// A free-list entry: a count, then that many page numbers.
    private mutating func freePages(_ at: Int, _ size: Int, page p: UInt64) throws {
        try freePages(Array(page[at..<(at + size)]), page: p)
    }

    private mutating func freePages(_ bytes: [UInt8], page p: UInt64) throws {
        guard bytes.count >= 8 else { throw Bad(why: "page \(p) holds a free-list entry of \(bytes.count) bytes") }
        let count = bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        guard count <= UInt64(bytes.count / 8 - 1) else {
            throw Bad(why: "page \(p) holds a free-list entry of \(count) pages in \(bytes.count) bytes")
        }
        for j in 0..<Int(count) {
            let q = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 8 + 8 * j, as: UInt64.self) }
            guard q >= 2, q <= lastPage else { throw Bad(why: "page \(p) lists free page \(q), outside pages 2…\(lastPage)") }
            free[Int(q / 64)] |= 1 << (q % 64)
        }
    }

    /// LMDB's order: bytes compared as unsigned, a prefix first; integer keys (the free
    /// list's transaction ids) as native integers; reverse orders are not checked (0).
    private func compare(_ a: Int, _ an: Int, _ b: Int, _ bn: Int, _ db: DB, integer: Bool = false) -> Int {
        if db.flags & Self.reverseKey != 0 { return -1 }
        if integer || db.flags & Self.integerKey != 0, an == bn, an == 8 {
            let (x, y) = (u64(a), u64(b))
            return x < y ? -1 : x == y ? 0 : 1
        }
        let n = min(an, bn)
        let c = page.withUnsafeBytes { memcmp($0.baseAddress! + a, $0.baseAddress! + b, n) }
        if c != 0 { return Int(c) }
        return an < bn ? -1 : an == bn ? 0 : 1
    }
}
