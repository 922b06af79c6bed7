import Foundation
import TestSupport
import Testing

@testable import VectorStore

/// `check()` walks every page from the file (`LMDBPages`) before LMDB reads any: damage
/// that used to stop liblmdb inside the process (an assertion, a bus error) is reported
/// with its collection, table and page, in process.
@Suite struct PageWalkTests {
    static let pageSize = 4096

    /// A store with deep trees, duplicate sub-trees (one metadata value on 6,000 rows), a
    /// keyword index, a compact collection and a free list (deletes and replacements).
    static func build(_ dir: TemporaryDirectory) throws {
        let store = try Store(path: dir.path)
        var settings = CollectionSettings(dimension: 8, metric: .cosine)
        settings.keywordAnalyzer = .english
        let docs = try store.createCollection("docs", settings: settings)
        for batch in 0..<6 {
            try docs.upsert(
                (0..<1000).map { j in
                    let i = batch * 1000 + j
                    return Record(
                        id: "doc-\(i)-" + String(repeating: "x", count: i % 40), vector: (0..<8).map { Float(($0 * 5 + i) % 11) + 0.25 },
                        text: "lighthouse keeper number \(i) rowed out \(i % 17)", metadata: ["all": "same", "n": .int(Int64(i % 9))])
                })
        }
        try docs.delete(ids: (0..<700).map { "doc-\($0)-" + String(repeating: "x", count: $0 % 40) })
        let small = try store.createCollection("small", dimension: 4, metric: .dot, encoding: .int8)
        try small.upsert((0..<50).map { Record(id: "s\($0)", vector: [Float($0), 1, 2, 3], text: "s") })
    }

    @Test func soundStoresWalkClean() throws {
        let dir = TemporaryDirectory("quiver-pages")
        defer { dir.remove() }
        try Self.build(dir)
        let store = try Store(path: dir.path)
        let walk = try store.env.checkPages()
        #expect(walk.damage.isEmpty, "\(walk.damage)")
        #expect(walk.mainIsSound)
        let names = try store.env.read { txn in
            var out: [String] = []
            try txn.withCursor(DBI.main) { c in
                var e = try c.get(.first)
                while let entry = e {
                    out.append(String(decoding: entry.key, as: UTF8.self))
                    e = try c.get(.next)
                }
            }
            return out
        }
        #expect(walk.sound == Set(names), "\(walk.sound) vs \(names)")
        let fileSize = try #require(try FileManager.default.attributesOfItem(atPath: dir.sub("data.mdb"))[.size] as? Int)
        #expect(walk.pagesInUse > 100 && walk.pagesInUse <= fileSize / Self.pageSize, "\(walk.pagesInUse)")
        // The walk reached duplicate sub-trees (LEAF2 pages): the index table holds 5,300
        // rows under one key.
        #expect(try store.collection("docs").search([1, 1, 1, 1, 1, 1, 1, 1], k: 3, filter: .equals("all", "same")).count == 3)
        let report = try store.check()
        #expect(report.isHealthy, "\(report)")
    }

    /// Pages of the file by type, read raw.
    struct RawPage {
        let number: Int
        let flags: UInt16
        let keys: Int
    }

    static func pages(_ bytes: [UInt8]) -> [RawPage] {
        bytes.withUnsafeBytes { b in
            (2..<(b.count / pageSize)).compactMap { p in
                let o = p * pageSize
                guard b.loadUnaligned(fromByteOffset: o, as: UInt64.self) == UInt64(p) else { return nil }
                let flags = b.loadUnaligned(fromByteOffset: o + 10, as: UInt16.self)
                let lower = Int(b.loadUnaligned(fromByteOffset: o + 12, as: UInt16.self))
                return RawPage(number: p, flags: flags, keys: max(0, (lower - 16) / 2))
            }
        }
    }

    /// The main database's and the free list's roots (from the newest meta page): damage
    /// there is for `checkPagesOnOpen`, not for a check of an open store.
    static func lmdbRoots(_ bytes: [UInt8]) -> Set<Int> {
        bytes.withUnsafeBytes { b in
            let metas = [0, pageSize].map { (txn: b.loadUnaligned(fromByteOffset: $0 + 144, as: UInt64.self), at: $0) }
            let m = metas.max { $0.txn < $1.txn }!.at
            return [
                Int(b.loadUnaligned(fromByteOffset: m + 80, as: UInt64.self)),
                Int(b.loadUnaligned(fromByteOffset: m + 128, as: UInt64.self)),
            ]
        }
    }

    /// Damage of the kinds that stopped liblmdb — out-of-order keys, a node offset or key
    /// size past the page, a child page number past the file, a child pointing back at its
    /// parent, a leaf relabelled a branch — each reported by `check()` in this process as
    /// damage of the collection's table, naming the page; other collections still check.
    @Test(arguments: ["swapped keys", "node offset", "key size", "child past file", "child loop", "leaf as branch"])
    func craftedDamageIsReportedInProcess(_ kind: String) throws {
        let dir = TemporaryDirectory("quiver-pages-damage")
        defer { dir.remove() }
        try Self.build(dir)
        let path = dir.sub("data.mdb")
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let roots = Self.lmdbRoots(bytes)
        // Pages in use (a free page may still name itself: damage there is no damage).
        let walk = try Store(path: dir.path).env.checkPages()
        let all = Self.pages(bytes).filter { !roots.contains($0.number) && walk.isInUse($0.number) }
        let leaf = try #require(all.first { $0.flags == 0x02 && $0.keys >= 10 })  // not one of the few-key Quiver tables
        let branch = try #require(all.first { $0.flags == 0x01 && $0.keys >= 2 })
        func u16(_ page: Int, _ at: Int, _ value: UInt16) {
            bytes[page * Self.pageSize + at] = UInt8(value & 0xFF)
            bytes[page * Self.pageSize + at + 1] = UInt8(value >> 8)
        }
        func read16(_ page: Int, _ at: Int) -> UInt16 {
            UInt16(bytes[page * Self.pageSize + at]) | UInt16(bytes[page * Self.pageSize + at + 1]) << 8
        }
        let damaged: Int
        switch kind {
        case "swapped keys":
            let (a, b) = (read16(leaf.number, 16), read16(leaf.number, 18))
            u16(leaf.number, 16, b)
            u16(leaf.number, 18, a)
            damaged = leaf.number
        case "node offset":
            u16(leaf.number, 18, 0xFFF0)
            damaged = leaf.number
        case "key size":
            u16(leaf.number, Int(read16(leaf.number, 18)) + 6, 0xFFFF)
            damaged = leaf.number
        case "child past file", "child loop":
            // Node 1's child page number: lo, hi, and the top word in the node's flags.
            let node = Int(read16(branch.number, 18))
            let target = kind == "child loop" ? UInt64(branch.number) : UInt64(bytes.count / Self.pageSize + 1000)
            u16(branch.number, node, UInt16(target & 0xFFFF))
            u16(branch.number, node + 2, UInt16(target >> 16 & 0xFFFF))
            u16(branch.number, node + 4, UInt16(target >> 32 & 0xFFFF))
            damaged = branch.number
        default:
            u16(leaf.number, 10, 0x01)
            damaged = leaf.number
        }
        try Data(bytes).write(to: URL(fileURLWithPath: path))

        let store = try Store(path: dir.path)
        let report = try store.check()
        #expect(!report.isHealthy)
        let problem = try #require(report.problems.first { $0.contains("is damaged") }, "\(report.problems)")
        #expect(problem.hasPrefix("docs: its table c") || problem.hasPrefix("small: its table c"), "\(problem)")
        #expect(problem.contains("page \(damaged)"), "\(kind): \(problem)")
        // The collection whose tables are sound is still checked through LMDB.
        #expect(report.counts.count == 1, "\(report)")
        #expect(report.damagedCollections.count == 1 && report.counts[report.damagedCollections.first ?? ""] == nil, "\(report)")
    }

    /// `checkPagesOnOpen` refuses a store whose LMDB main database is damaged before LMDB
    /// reads it (here: its root page relabelled), with the page named; without it the
    /// page is LMDB's to read.
    @Test func checkPagesOnOpenRefusesADamagedMainDatabase() throws {
        let dir = TemporaryDirectory("quiver-pages-main")
        defer { dir.remove() }
        try Self.build(dir)
        let path = dir.sub("data.mdb")
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let mainRoot = bytes.withUnsafeBytes { b in
            let metas = [0, Self.pageSize].map { (txn: b.loadUnaligned(fromByteOffset: $0 + 144, as: UInt64.self), at: $0) }
            return Int(b.loadUnaligned(fromByteOffset: metas.max { $0.txn < $1.txn }!.at + 128, as: UInt64.self))
        }
        bytes[mainRoot * Self.pageSize] ^= 0xFF  // the page no longer names itself
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        var options = StoreOptions()
        options.checkPagesOnOpen = true
        let error = #expect(throws: StoreError.self) { try Store(path: dir.path, options: options) }
        #expect(error?.code == .corrupted, "\(String(describing: error))")
        #expect(error?.message.contains("the main database: page \(mainRoot) names itself") == true, "\(String(describing: error))")
    }
}
