/// What `Store.check()` found.
public struct CheckReport: Sendable, CustomStringConvertible {
    /// Live records per collection.
    public var counts: [String: Int] = [:]
    /// Every inconsistency found; empty for a healthy store.
    public var problems: [String] = []
    /// Vector blocks whose checksum was verified.
    public var verifiedBlocks = 0
    /// Vector blocks written before Quiver sealed blocks with checksums, which cannot be
    /// verified (`compact()` rewrites them sealed).
    public var unsealedBlocks = 0
    /// Records (text and metadata) whose checksum was verified.
    public var verifiedRecords = 0
    /// Records written before Quiver sealed records with checksums, which cannot be
    /// verified (`compact()` rewrites them sealed).
    public var unsealedRecords = 0
    /// Collections whose tables hold damaged pages: reported from the page walk and not
    /// read through LMDB (reading them may stop the process inside liblmdb).
    public var damagedCollections: Set<String> = []
    /// True when no problem was found.
    public var isHealthy: Bool { problems.isEmpty }

    /// An empty report (reports of single collections can be merged into one).
    public init() {}

    /// `ok — name: N records, …` or the first problems found.
    public var description: String {
        let summary = counts.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value) records" }.joined(separator: ", ")
        if problems.isEmpty { return "ok — " + (summary.isEmpty ? "no collections" : summary) }
        return "\(problems.count) problem(s): " + problems.prefix(20).joined(separator: "; ")
    }
}

extension Store {
    /// Checks the integrity of every collection in one snapshot: every id resolves to a
    /// location, a live slot whose row id matches, and a record carrying that id; counts
    /// agree; every block decodes; every index entry names a live row; every vector block
    /// and record sealed with a checksum matches it.
    ///
    /// LMDB trusts its pages: on a damaged page liblmdb itself can stop the process (an
    /// assertion, a bus error) before Quiver can report anything. So the check first walks
    /// every page of the snapshot from the file (`LMDBPages`: types, bounds, page numbers,
    /// key order, counts, the free list) and reads through LMDB only the collections whose
    /// tables are sound; a damaged table is reported with its collection and page. (The
    /// store was opened before: opening reads LMDB's main database, so damage there can
    /// still stop `Store(path:)`; `quiver check` runs in a child process for that reason.)
    public func check() throws -> CheckReport { try check(reading: nil) }

    /// Checks the store as ``check()`` does, calling `reading` with each collection's name
    /// before reading it through LMDB (a progress line, or what a crash report names).
    public func check(reading: ((String) -> Void)?) throws -> CheckReport {
        var report = CheckReport()
        let pages = try env.checkPages()
        let shared = Self.storeWideDamage(pages)
        guard shared.isEmpty else {
            report.problems += shared.map(Self.describe)
            return report
        }
        let all = try collections(includingReserved: true)
        for info in all {
            reading?(info.name)
            try check(info, pages, into: &report)
        }
        // Tables of no collection (a dropped one's, until the next open removes them).
        let prefixes = all.map { Format.tablePrefix(cid: $0.cid) }
        for d in pages.damage where !prefixes.contains(where: { d.database?.hasPrefix($0) == true }) {
            report.problems.append(Self.describe(d))
        }
        return report
    }

    /// Checks one collection (see ``check()``).
    ///
    /// - Throws: `.collectionNotFound`, or a storage error.
    public func check(collection name: String) throws -> CheckReport {
        var report = CheckReport()
        let pages = try env.checkPages()
        let shared = Self.storeWideDamage(pages)
        guard shared.isEmpty else {
            report.problems += shared.map(Self.describe)
            return report
        }
        guard let info = try collections(includingReserved: true).first(where: { $0.name == name }) else {
            throw StoreError(.collectionNotFound, "no collection \"\(name)\" in \(path)", collection: name)
        }
        try check(info, pages, into: &report)
        return report
    }

    /// One collection: its damaged tables if the page walk found any, else its contents.
    private func check(_ info: CollectionInfo, _ pages: LMDBPages.Report, into report: inout CheckReport) throws {
        let prefix = Format.tablePrefix(cid: info.cid)
        let damaged = pages.damage.filter { $0.database?.hasPrefix(prefix) == true }
        guard damaged.isEmpty else {
            report.damagedCollections.insert(info.name)
            for d in damaged {
                report.problems.append("\(info.name): its table \(d.database ?? "") is damaged: \(d.problem); restore a backup")
            }
            return
        }
        try collection(info.name).check(into: &report)
    }

    /// Damage that no collection can be checked past: in LMDB's own trees (the main
    /// database, the free list) or in the store-wide Quiver tables.
    static func storeWideDamage(_ pages: LMDBPages.Report) -> [LMDBPages.Damage] {
        pages.damage.filter { $0.database.map(Format.storeTables.contains) ?? true }
    }

    /// A damaged part of the file, for a report or an error.
    static func describe(_ damage: LMDBPages.Damage) -> String {
        "the store file is damaged: "
            + (damage.database.map { "table \($0): " } ?? "") + damage.problem
            + "; restore it from a backup (LMDB cannot read it safely)"
    }

    /// Checks integrity, on the store's read queue.
    public func check() async throws -> CheckReport {
        try await run(on: readQueue) { try self.check() }
    }
}

extension LMDBCollection {
    func check(into report: inout CheckReport) throws {
        let name = info.name
        func problem(_ s: String) { report.problems.append("\(name): \(s)") }
        try read { txn in
            let counters = try counters(txn)
            var views: [UInt64: BlockView] = [:]
            var blockLive = 0
            do {
                for v in try blockViews(txn, trustingHeaders: false) {
                    views[v.blockNo] = v
                    blockLive += v.live
                    switch v.verifyChecksum() {
                    case true?: report.verifiedBlocks += 1
                    case nil: report.unsealedBlocks += 1
                    case false?:
                        let first = v.count > 0 ? v.rowID(0) : 0
                        let last = v.count > 0 ? v.rowID(v.count - 1) : 0
                        var named: [String] = []
                        for s in 0..<min(v.count, 5) {
                            if let bytes = try records.get(txn, v.rowID(s)), let id = try? RecordCodec.decodeID(bytes, rowID: v.rowID(s)) {
                                named.append("\"\(id)\"")
                            }
                        }
                        problem(
                            "vector block \(v.blockNo) fails its checksum (damaged vectors, norms or row ids): \(v.count) rows, "
                                + "row ids \(first)…\(last) as stored"
                                + (named.isEmpty ? "" : ", records \(named.joined(separator: ", "))\(v.count > named.count ? ", …" : "")"))
                    }
                    if v.blockNo >= counters.nextBlockNo { problem("block \(v.blockNo) is beyond the block counter") }
                    var prev: UInt64 = 0
                    for s in 0..<v.count {
                        let r = v.rowID(s)
                        if r <= prev {
                            problem("block \(v.blockNo) row ids are not ascending at slot \(s)")
                            break
                        }
                        prev = r
                    }
                }
            } catch let e as StoreError {
                problem("blocks do not decode: \(e)")
            }
            var idCount = 0
            // Records whose float32 copy is in the table (their blocks carry none).
            var tableCopies = 0
            try txn.withCursor(ids.dbi) { c in
                var e = try c.get(.first)
                while let entry = e {
                    idCount += 1
                    let id = try UTF8Key.decode(entry.key)
                    guard entry.value.count == 8 else {
                        problem("id \"\(id)\" has a malformed row")
                        e = try c.get(.next)
                        continue
                    }
                    let row = try RowIDValue.decode(entry.value, "id \"\(id)\"")
                    let loc = try location(of: row, txn)
                    if let loc {
                        if let v = views[loc.block] {
                            if Int(loc.slot) >= v.count {
                                problem("id \"\(id)\" points past block \(loc.block)")
                            } else if v.isDeleted(Int(loc.slot)) {
                                problem("id \"\(id)\" points at a deleted slot")
                            } else if v.rowID(Int(loc.slot)) != row {
                                problem("id \"\(id)\": slot holds row \(v.rowID(Int(loc.slot))), not \(row)")
                            }
                        } else {
                            problem("id \"\(id)\" points at missing block \(loc.block)")
                        }
                    } else {
                        problem("id \"\(id)\" (row \(row)) has no location")
                    }
                    if let bytes = try records.get(txn, row) {
                        switch RecordCodec.checksumMatches(bytes) {
                        case true?: report.verifiedRecords += 1
                        case nil: report.unsealedRecords += 1
                        case false?:
                            problem(
                                "the record of id \"\(id)\" (row \(row)) fails its checksum: its text or metadata is damaged; "
                                    + "delete and re-index its document, or restore a backup")
                        }
                        do {
                            let stored = try RecordCodec.decodeID(bytes, rowID: row)
                            if stored != id { problem("row \(row) holds record \"\(stored)\", not \"\(id)\"") }
                        } catch { problem("record of id \"\(id)\" does not decode") }
                    } else {
                        problem("id \"\(id)\" (row \(row)) has no record")
                    }
                    if let loc, let block = views[loc.block], Int(loc.slot) < block.count, let copy = block.copy(Int(loc.slot)) {
                        // The block's checksum covers its copies; a copy written non-finite is named here.
                        if (0..<info.dimension).contains(where: { !copy[$0].isFinite }) {
                            problem("the float32 vector of id \"\(id)\" holds a non-finite component")
                        }
                    } else if let fullVectors {
                        tableCopies += 1
                        if let bytes = try fullVectors.get(txn, row) {
                            if bytes.count != info.dimension * 4 {
                                problem("the float32 vector of id \"\(id)\" is \(bytes.count) bytes, expected \(info.dimension * 4)")
                            } else if (0..<info.dimension).contains(where: {
                                !bytes.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self).isFinite
                            }) {
                                problem("the float32 vector of id \"\(id)\" holds a non-finite component")
                            }
                        } else {
                            problem("id \"\(id)\" (row \(row)) has no float32 vector to rescore from")
                        }
                    }
                    e = try c.get(.next)
                }
            }
            let locCount = try txn.count(locations.dbi)
            let recCount = try txn.count(records.dbi)
            if idCount != Int(counters.live) || locCount != idCount || recCount != idCount || blockLive != idCount {
                problem(
                    "counts disagree: \(idCount) ids, \(locCount) locations, \(recCount) records, \(blockLive) live slots, counter \(counters.live)"
                )
            }
            if let fullVectors, try txn.count(fullVectors.dbi) != tableCopies {
                problem(
                    "\(try txn.count(fullVectors.dbi)) float32 vectors in the table for \(tableCopies) records in blocks without copies")
            }
            // An index to rebuild (another stemmer's terms, or postings in an earlier
            // format) is reported as such; its entries are not read.
            let stale = keywordIndex?.staleReason
            if let stale { problem(stale) }
            for index in indexes where stale == nil || index.name != KeywordIndex.name {
                do {
                    let dangling = try index.danglingEntries(txn) { row in try locations.get(txn, row) != nil }
                    if dangling > 0 { problem("\(dangling) \(index.name) index entries name rows that do not exist") }
                } catch let e as StoreError where e.code == .corrupted {
                    problem("the \(index.name) index is damaged: \(e.message); rebuild it")
                }
            }
            if let keywordIndex, stale == nil {
                let stats = try keywordIndex.readStats(txn)
                if stats.documents != counters.live {
                    problem(
                        "the keyword index counts \(stats.documents) documents, the collection has \(counters.live) records; "
                            + "rebuild it with `quiver reindex --keyword`")
                }
            }
            try checkIVF(views: Array(views.values), txn, problem)
            report.counts[name] = idCount
        }
    }

    /// The IVF index: centroids that decode, with the collection's dimension and the
    /// recorded list count, and every block in a list of the current generation naming an
    /// existing list. (A row is in exactly one list because it is in exactly one block,
    /// which the location checks above verify.)
    private func checkIVF(views: [BlockView], _ txn: Transaction, _ problem: (String) -> Void) throws {
        guard let ivfTable else { return }
        let model: IVFCentroids
        do {
            guard let m = try ivfCentroids(txn) else {
                problem("the collection records an IVF index but has no centroids; rebuild it with `quiver reindex --ivf`")
                return
            }
            model = m
        } catch let e as StoreError {
            problem("IVF centroids do not decode: \(e)")
            return
        }
        if let recorded = info.configuration[IVFSettings.listsKey], recorded != String(model.lists) {
            problem("the IVF index records \(recorded) lists but has \(model.lists) centroids")
        }
        if !model.centroids.allSatisfy(\.isFinite) { problem("an IVF centroid holds a non-finite component") }
        let last = try Store.lastIVFGeneration(ivfTable, txn)
        if last < model.generation { problem("IVF generation \(model.generation) is newer than the last recorded, \(last)") }
        for v in views {
            guard let tag = v.list else { continue }
            if tag.generation > model.generation {
                problem("block \(v.blockNo) is in IVF generation \(tag.generation), newer than the centroids' \(model.generation)")
            } else if tag.generation == model.generation && Int(tag.list) >= model.lists {
                problem("block \(v.blockNo) is in IVF list \(tag.list), beyond the \(model.lists) lists")
            }
        }
    }
}
