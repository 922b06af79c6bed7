import Foundation

extension LMDBCollection {
    /// Bytes a row takes in a block: its stored vector and, in a compact collection, its
    /// float32 copy.
    var blockRowBytes: Int {
        codec.bytesPerVector(dimension: info.dimension) + BlockLayout.copyBytes(codec: codec, dim: info.dimension)
    }

    /// Rows in a full block: `maxBlockBytes` of stored vectors and float32 copies.
    var maxBlockRows: Int { max(64, store.options.maxBlockBytes / blockRowBytes) }

    /// Blocks with at least this many live rows (1 MiB of vectors and copies) are left
    /// alone by the tier merges unless mostly deleted: rewriting them costs a second write
    /// of every vector (upserts of 1000 records went from 87k to 61k records/s with it) and
    /// buys search nothing measurable, since scans work in tiles of at most 8192 rows anyway.
    var settledBlockRows: Int { min(maxBlockRows / 2, max(64, (1 << 20) / blockRowBytes)) }

    /// A size tier of blocks of one IVF list (nil: in no list), whose blocks merge together.
    private struct MergeGroup: Hashable {
        var list: IVFListTag?
        var tier: Int
    }

    /// Size tier of a block by live rows: tier t holds about 1024·F^t rows.
    private func tier(_ live: Int) -> Int {
        let f = Double(max(2, store.options.mergeFactor))
        guard live > 1024 else { return 0 }
        return Int((log(Double(live) / 1024) / log(f)).rounded(.down)) + 1
    }

    /// Keeps the number of small blocks logarithmic (merges `mergeFactor` blocks of a size
    /// tier into one) and rewrites blocks that are mostly tombstones, so repeated upserts of the
    /// same ids do not grow the file without bound. Runs inside each write. Blocks merge only
    /// with blocks of their own IVF list (or, outside any list, with each other). `first`:
    /// the blocks as the caller just read them (saves a walk); `scope`: only blocks it
    /// admits are considered (a write that added rows outside the lists and moved none
    /// changed no list).
    func maintain(
        _ counters: inout CollectionCounters, _ txn: Transaction, first: [BlockView]? = nil, scope: ((BlockView) -> Bool)? = nil
    ) throws {
        let factor = max(2, store.options.mergeFactor)
        var given = first
        for _ in 0..<8 {
            var views = try given ?? blockViews(txn)
            given = nil
            if let scope { views = views.filter(scope) }
            let half = settledBlockRows
            if let sparse = views.first(where: \.isMostlyDeleted) {
                // Merge the sparse block with its tier's peers if any, else alone.
                let tag = sparse.list
                let peers = views.filter {
                    $0.blockNo != sparse.blockNo && $0.live < half && tier($0.live) == tier(sparse.live) && $0.list == tag
                }
                try merge([sparse] + peers.prefix(factor - 1), &counters, txn)
                continue
            }
            var byTier: [MergeGroup: [BlockView]] = [:]
            for v in views where v.live < half { byTier[MergeGroup(list: v.list, tier: tier(v.live)), default: []].append(v) }
            // Groups are disjoint: every full one merges in this pass (an IVF index has a
            // group per list).
            let full = byTier.filter { $0.value.count >= factor }.sorted { $0.key.tier < $1.key.tier }
            guard !full.isEmpty else { return }
            for (_, group) in full {
                // Read again: a merge's writes may move pages that other views point into.
                let fresh = try group.prefix(factor * 2).compactMap { try blockView($0.blockNo, txn) }
                try merge(fresh, &counters, txn)
            }
        }
    }

    /// Rewrites `sources` as new blocks of at most `maxBlockRows` live rows each, sorted
    /// by row id, updates the moved rows' locations, and deletes the sources.
    func merge(_ sources: [BlockView], balanced: Bool = true, _ counters: inout CollectionCounters, _ txn: Transaction) throws {
        // The sources' list when they share one; blocks of several lists leave theirs.
        let tag = sources.first?.list
        let list = sources.allSatisfy { $0.list == tag } ? tag : nil
        var rows: [(row: UInt64, src: Int, slot: Int)] = []
        rows.reserveCapacity(sources.reduce(0) { $0 + $1.live })
        for (i, v) in sources.enumerated() {
            for slot in 0..<v.count where !v.isDeleted(slot) {
                rows.append((v.rowID(slot), i, slot))
            }
        }
        rows.sort { $0.row < $1.row }
        let dim = info.dimension
        // Copy the live rows out before writing: a source written earlier in this same
        // transaction is a dirty page that LMDB may spill (and free) during the puts below.
        // Stored vectors move as bytes: a merge never re-encodes.
        let bytesPerVector = codec.bytesPerVector(dimension: dim)
        var vectors = [UInt8](repeating: 0, count: rows.count * bytesPerVector)
        var normsSquared = [Float](repeating: 0, count: rows.count)
        vectors.withUnsafeMutableBytes { out in
            for (i, r) in rows.enumerated() {
                (out.baseAddress! + i * bytesPerVector).copyMemory(from: sources[r.src].vector(r.slot), byteCount: bytesPerVector)
                normsSquared[i] = sources[r.src].normsSquared[r.slot]
            }
        }
        // A compact block's float32 copies move with it (from the float32 table for rows of
        // blocks written before blocks carried them).
        var copies = [Float](repeating: 0, count: codec.isCompact ? rows.count * dim : 0)
        if codec.isCompact {
            try copies.withUnsafeMutableBufferPointer { out in
                for (i, r) in rows.enumerated() { try exactVector(sources[r.src], slot: r.slot, into: out.baseAddress! + i * dim, txn) }
            }
        }
        let fromTable = rows.filter { sources[$0.src].copies == nil }.map(\.row)
        let sourceBlocks = sources.map(\.blockNo)
        try writeBlocks(
            rows: rows.map(\.row), vectors: vectors, normsSquared: normsSquared, copies: copies, list: list, balanced: balanced,
            &counters, txn)
        for blockNo in sourceBlocks {
            try blocks.delete(txn, blockNo)
            try tombs.delete(txn, blockNo)
        }
        try dropTableCopies(fromTable, txn)
    }

    /// Deletes the float32-table copies of `rows`, now carried by their blocks.
    func dropTableCopies(_ rows: [UInt64], _ txn: Transaction) throws {
        guard let fullVectors else { return }
        for row in rows { _ = try fullVectors.delete(txn, row) }
    }

    /// Writes rows (ascending ids, their stored vectors as bytes, squared norms and, in a
    /// compact collection, float32 copies) as new blocks of at most `maxBlockRows` rows, in
    /// `list`, and points the rows' locations at them.
    func writeBlocks(
        rows: [UInt64], vectors: [UInt8], normsSquared: [Float], copies: [Float], list: IVFListTag?, balanced: Bool,
        _ counters: inout CollectionCounters, _ txn: Transaction
    ) throws {
        precondition(copies.count == (codec.isCompact ? rows.count * info.dimension : 0), "float32 copies for every row")
        if codec.isCompact && !rows.isEmpty { try store.raiseVersion(to: Format.blockCopiesVersion, txn) }
        let dim = info.dimension
        let bytesPerVector = codec.bytesPerVector(dimension: dim)
        let outputs = rows.isEmpty ? 0 : (rows.count + maxBlockRows - 1) / maxBlockRows
        var start = 0
        for o in 0..<outputs {
            // Balanced: every output gets total/outputs rows (±1); otherwise full blocks
            // first and the remainder last.
            let end = balanced ? rows.count * (o + 1) / outputs : min(rows.count, (o + 1) * maxBlockRows)
            let n = end - start
            let blockNo = counters.nextBlockNo
            counters.nextBlockNo += 1
            let layout = BlockLayout(count: n, dim: dim, codec: codec, list: list)
            let out = try blocks.reserve(txn, blockNo, size: layout.totalBytes)
            guard let base = out.baseAddress else { throw StoreError(.storage, "LMDB reserved no space for block \(blockNo)") }
            layout.writeHeader(out)
            let norms = (base + layout.normsOffset).assumingMemoryBound(to: Float.self)
            vectors.withUnsafeBytes { v in
                (base + layout.vectorsOffset).copyMemory(from: v.baseAddress! + start * bytesPerVector, byteCount: n * bytesPerVector)
            }
            for i in 0..<n {
                norms[i] = normsSquared[start + i]
                out.storeBytes(of: rows[start + i].littleEndian, toByteOffset: layout.rowIDsOffset + i * 8, as: UInt64.self)
            }
            if codec.isCompact {
                copies.withUnsafeBytes { c in
                    (base + layout.copiesOffset).copyMemory(from: c.baseAddress! + start * dim * 4, byteCount: n * dim * 4)
                }
            }
            let endByte = layout.endOffset
            if endByte < out.count { (base + endByte).initializeMemory(as: UInt8.self, repeating: 0, count: out.count - endByte) }
            layout.seal(out)
            // Only now touch other tables: the reserved space is valid until the next write.
            for i in 0..<n {
                try RowLocation(block: blockNo, slot: UInt32(i)).withBytes { try locations.put(txn, rows[start + i], $0) }
            }
            start = end
        }
    }

    /// Reclaims the space of deleted records: rewrites every block holding tombstones or
    /// written before block checksums (and every record written before record checksums),
    /// and packs blocks under 1 MiB into full ones, one
    /// transaction per output block so readers
    /// and the file's free list keep up. With an IVF index, first moves the rows that
    /// writes left outside the lists into them.
    /// Returns the number of blocks afterwards. The file itself does not shrink (LMDB
    /// reuses the freed pages); `Store.copy(to:compact:)` writes a minimal copy. Also folds
    /// the keyword index's segments into its term lists (what searches read fastest).
    @discardableResult
    public func compact() throws -> Int {
        if try read({ try ivfCentroids($0) }) != nil { _ = try moveIntoLists(chunkRows: 1 << 16, progress: nil) }
        while true {
            let more = try write { txn -> Bool in
                var counters = try counters(txn)
                let views = try blockViews(txn)
                // Settled blocks (1 MiB or more) without deletes stay: rewriting them would
                // only move data, and grow the file while LMDB looks for contiguous free
                // runs for the new copies (measured: 1.14× → 1.9× the data at 100k).
                // Blocks written before checksums are rewritten too, sealed.
                let candidates = views.filter { $0.dead > 0 || $0.live < settledBlockRows || !$0.isSealed }
                if candidates.count == 0 || (candidates.count == 1 && candidates[0].dead == 0 && candidates[0].isSealed) {
                    return false
                }
                var group: [BlockView] = []
                var total = 0
                // Blocks of one IVF list at a time: the first list (or the blocks in none)
                // with work left, i.e. more than one candidate or a dirty one.
                let byList = Dictionary(grouping: candidates, by: \.list)
                guard let first = candidates.first(where: { $0.dead > 0 || !$0.isSealed || (byList[$0.list]?.count ?? 0) > 1 })
                else { return false }
                let tag = first.list
                for v in candidates where v.list == tag {
                    group.append(v)
                    total += v.live
                    if total >= maxBlockRows { break }
                }
                if group.count == 1 && group[0].dead == 0 && group[0].isSealed { return false }
                try merge(group, balanced: false, &counters, txn)
                try setCounters(counters, txn)
                return true
            }
            if !more { break }
        }
        try sealRecords()
        // The keyword index's segments fold into its term lists: searches read them best.
        if let keywordIndex, keywordIndex.staleReason == nil {
            try write { txn in try keywordIndex.fold(txn) }
        }
        return try read { txn in try blockViews(txn).count }
    }

    /// Rewrites the records written before record checksums sealed (the same fields), a
    /// few thousand per transaction; raises the store's format version when it rewrites
    /// any. Returns how many it rewrote.
    @discardableResult
    func sealRecords() throws -> Int {
        var from: UInt64 = 0
        var rewritten = 0
        while true {
            let (sealed, next) = try write { txn -> ([(UInt64, [UInt8])], UInt64?) in
                var found: [(UInt64, [UInt8])] = []
                var next: UInt64?
                try txn.withCursor(records.dbi) { c in
                    var e = try U64Key.withBytes(from) { try c.get(.setRange, key: $0) }
                    while let entry = e {
                        let row = try U64Key.decode(entry.key)
                        if found.count == 4096 {
                            next = row
                            return
                        }
                        if let bytes = RecordCodec.sealed(entry.value) { found.append((row, bytes)) }
                        e = try c.get(.next)
                    }
                }
                if !found.isEmpty { try store.raiseVersion(to: Format.sealedRecordsVersion, txn) }
                for (row, bytes) in found { try records.put(txn, row, bytes: bytes) }
                return (found, next)
            }
            rewritten += sealed.count
            guard let next else { return rewritten }
            from = next
        }
    }

    /// Reclaims deleted records' space, on the store's writer queue.
    @discardableResult
    public func compact() async throws -> Int {
        try await onWriteQueue { try self.compact() }
    }
}
