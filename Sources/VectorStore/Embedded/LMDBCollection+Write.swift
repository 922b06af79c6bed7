import Foundation

/// A record validated and encoded for writing.
struct PreparedRecord {
    var id: String
    var vector: [Float]
    var normSquared: Float
    var encoded: [UInt8]
    /// The vector in a compact collection's encoding (empty for float32, whose stored
    /// form is `vector`): encoded while the batch is prepared, on all cores and outside
    /// the write transaction.
    var compact: [UInt8] = []
    /// Per secondary index (in `LMDBCollection.indexes` order), the record's entries; none
    /// for an index that ``SecondaryIndex/preparesBatches``.
    var indexEntries: [[[UInt8]]]
}

/// A batch validated, encoded and analyzed for writing.
struct PreparedBatch {
    var records: [PreparedRecord]
    /// The keyword index's share of the records (positions in `records`), when there is one.
    var keyword: KeywordBatch?
}

extension LMDBCollection {
    // MARK: Upsert

    /// Validates, encodes and analyzes a batch; the last record of an id wins. Large
    /// batches are prepared on all cores (normalizing, encoding and the keyword index's
    /// analysis cost more than the LMDB writes).
    func prepare(_ records: [Record]) throws -> PreparedBatch {
        var lastIndex: [String: Int] = [:]
        lastIndex.reserveCapacity(records.count)
        for (i, r) in records.enumerated() { lastIndex[r.id] = i }
        let kept = records.indices.filter { lastIndex[records[$0].id] == $0 }
        // A record superseded by a later one of its id is not written, but the batch is
        // still refused when it is invalid (nothing is written when any record is).
        for i in records.indices where lastIndex[records[i].id] != i { _ = try prepareOne(records[i], position: i, indexing: false) }
        let workers = kept.count >= 512 ? min(ProcessInfoCores.count, kept.count / 256) : 1
        if workers <= 1 {
            let prepared = try kept.map { try prepareOne(records[$0], position: $0) }
            guard let keywordIndex else { return PreparedBatch(records: prepared) }
            var builder = KeywordBatch.Builder(firstPosition: 0)
            for i in kept { builder.add(records[i], keywordIndex) }
            return PreparedBatch(records: prepared, keyword: KeywordBatch([builder]))
        }
        let results = UnsafeMutableBufferPointer<Result<PreparedRecord, Error>>.allocate(capacity: kept.count)
        defer { results.deallocate() }
        let builders = UnsafeMutableBufferPointer<KeywordBatch.Builder?>.allocate(capacity: workers)
        builders.initialize(repeating: nil)
        defer {
            builders.baseAddress?.deinitialize(count: workers)
            builders.deallocate()
        }
        let job = PrepareJob(collection: self, records: records, kept: kept, workers: workers, results: results, builders: builders)
        DispatchQueue.concurrentPerform(iterations: workers) { job.run($0) }
        defer { results.baseAddress?.deinitialize(count: kept.count) }
        // Errors surface in batch order, as the serial path would raise them.
        let prepared = try results.map { try $0.get() }
        guard keywordIndex != nil else { return PreparedBatch(records: prepared) }
        return PreparedBatch(records: prepared, keyword: KeywordBatch(builders.compactMap { $0 }))
    }

    /// Checks `records` as `write(upsert:deleting:)` would, writing nothing.
    public func validate(_ records: [Record]) throws {
        // The checks alone: index entries (the keyword index analyzes the text) are for writing.
        for (i, r) in records.enumerated() { _ = try prepareOne(r, position: i, indexing: false) }
    }

    func prepareOne(_ r: Record, position i: Int, indexing: Bool = true) throws -> PreparedRecord {
        let (vector, normSq) = try BackendChecks.checkRecord(r, position: i, info: info)
        if info.encoding == .float16, let j = vector.firstIndex(where: { abs($0) > Float16Codec.largest }) {
            throw StoreError(
                .invalidVector, "record \"\(r.id)\": vector component \(j) is \(vector[j]), beyond the f16 range of ±65504",
                input: "component \(j)", collection: info.name, recordID: r.id, expected: "at most 65504 in magnitude",
                actual: "\(vector[j])")
        }
        var compact: [UInt8] = []
        if indexing && codec.isCompact {
            let bytes = codec.bytesPerVector(dimension: info.dimension)
            compact = [UInt8](unsafeUninitializedCapacity: bytes) { out, n in
                vector.withUnsafeBufferPointer { codec.encode($0, into: out.baseAddress!) }
                n = bytes
            }
        }
        return PreparedRecord(
            id: r.id, vector: vector, normSquared: normSq,
            encoded: RecordCodec.encode(id: r.id, text: r.text, metadata: r.metadata), compact: compact,
            indexEntries: indexing ? indexes.map { $0.preparesBatches ? [] : $0.entries(for: r) } : [])
    }

    /// Writes a prepared batch as blocks of at most `maxBlockRows`, in one transaction.
    /// With an IVF index the blocks are in no list (every search scores them) until the
    /// rows outside the lists pass the pending limit (`StoreOptions.ivfPendingRows`); then
    /// this write moves them all into their nearest lists, one block per list touched.
    func applyUpsert(_ batch: PreparedBatch, _ txn: Transaction) throws {
        let all = batch.records
        // Sealed records; a compact collection's blocks also carry their float32 copies.
        if !all.isEmpty {
            try store.raiseVersion(to: codec.isCompact ? Format.blockCopiesVersion : Format.sealedRecordsVersion, txn)
        }
        let model = try ivfCentroids(txn)
        // The row each record is given, by position in the batch (for the keyword index).
        var rows = [UInt64](repeating: 0, count: all.count)
        var start = 0
        while start < all.count {
            let end = min(all.count, start + maxBlockRows)
            let firstRow = try applyUpsertBlock(all[start..<end], maintaining: model == nil, txn)
            for position in start..<end { rows[position] = firstRow + UInt64(position - start) }
            start = end
        }
        if let keyword = batch.keyword, let keywordIndex { try keywordIndex.insert(keyword, rows: rows, txn) }
        if let model {
            var counters = try counters(txn)
            try fileOutsideRows(model, &counters, txn)
            try setCounters(counters, txn)
        }
    }

    /// Writes one block of records, given rows from the first returned, in order; the
    /// indexes that prepare whole batches are the caller's to write.
    private func applyUpsertBlock(
        _ batch: ArraySlice<PreparedRecord>, maintaining: Bool = true, _ txn: Transaction
    ) throws -> UInt64 {
        var counters = try counters(txn)
        var tombs = TombEditor()
        var indexed = [[(row: UInt64, entries: [[UInt8]])]](repeating: [], count: indexes.count)
        let blockNo = counters.nextBlockNo
        counters.nextBlockNo += 1
        let firstRow = counters.nextRowID
        // Through the buffer: iterating the slice copied each record (four retains and
        // releases per record per loop).
        try batch.withUnsafeBufferPointer { prepared in
            for slot in prepared.indices {
                if let old = try rowID(of: prepared[slot].id, txn) {
                    try removeRow(old, &tombs, txn)
                    counters.live -= 1
                }
                let row = firstRow + UInt64(slot)
                try withUnsafeBytes(of: row.bigEndian) { try ids.put(txn, prepared[slot].id, $0) }
                try records.put(txn, row, bytes: prepared[slot].encoded, .append)
                try RowLocation(block: blockNo, slot: UInt32(slot)).withBytes { try locations.put(txn, row, $0, .append) }
                for i in indexes.indices { indexed[i].append((row, prepared[slot].indexEntries[i])) }
            }
        }
        counters.nextRowID += UInt64(batch.count)

        let dim = info.dimension
        let layout = BlockLayout(count: batch.count, dim: dim, codec: codec)
        let out = try blocks.reserve(txn, blockNo, size: layout.totalBytes)
        layout.writeHeader(out)
        guard let base = out.baseAddress else { throw StoreError(.storage, "LMDB reserved no space for block \(blockNo)") }
        let vecs = base + layout.vectorsOffset
        let norms = (base + layout.normsOffset).assumingMemoryBound(to: Float.self)
        // A compact block carries the float32 copies its candidates are rescored from.
        let copies = codec.isCompact ? (base + layout.copiesOffset).assumingMemoryBound(to: Float.self) : nil
        batch.withUnsafeBufferPointer { prepared in
            for slot in prepared.indices {
                let target = vecs + slot * layout.bytesPerVector
                prepared[slot].vector.withUnsafeBufferPointer { v in
                    if let copies {
                        prepared[slot].compact.withUnsafeBytes {
                            precondition($0.count == layout.bytesPerVector, "a compact vector was not encoded when its batch was prepared")
                            target.copyMemory(from: $0.baseAddress!, byteCount: $0.count)
                        }
                        (copies + slot * dim).update(from: v.baseAddress!, count: dim)
                    } else {
                        codec.encode(v, into: target)
                    }
                }
                norms[slot] = prepared[slot].normSquared
                out.storeBytes(of: (firstRow + UInt64(slot)).littleEndian, toByteOffset: layout.rowIDsOffset + slot * 8, as: UInt64.self)
            }
        }
        let end = layout.endOffset
        if end < out.count { (base + end).initializeMemory(as: UInt8.self, repeating: 0, count: out.count - end) }
        layout.seal(out)

        for (index, rows) in zip(indexes, indexed) where !index.preparesBatches { try index.insert(rows, txn) }
        try tombs.flush(self, txn)
        counters.live += UInt64(batch.count)
        // A settled block and no deletes leave nothing to merge: skip the block scan.
        if maintaining && (batch.count < settledBlockRows || !tombs.isEmpty) {
            try maintain(&counters, txn)
        }
        try setCounters(counters, txn)
        return firstRow
    }

    /// Removes a row's location, record and index entries and marks its slot dead. The
    /// caller removes the id entry when the id is not being rewritten.
    func removeRow(_ row: UInt64, _ tombs: inout TombEditor, _ txn: Transaction) throws {
        guard let loc = try location(of: row, txn) else {
            throw StoreError(.corrupted, "row \(row) of \"\(info.name)\" has no location")
        }
        let carriesCopy = try tombs.mark(loc, self, txn)
        try locations.delete(txn, row)
        guard let bytes = try records.get(txn, row) else {
            throw StoreError(.corrupted, "row \(row) of \"\(info.name)\" has no record")
        }
        // Unverified: a record that fails its checksum must still be removable (deleted, or
        // replaced by re-indexing its document); its index entries go as far as its bytes
        // still name them.
        let decoded = try RecordCodec.decode(bytes, rowID: row, collection: info.name, verify: false)
        for index in indexes { try index.remove(row: row, record: decoded, txn) }
        try records.delete(txn, row)
        // A block written before blocks carried copies has the row's copy in the table.
        if !carriesCopy, let fullVectors { try fullVectors.delete(txn, row) }
    }

    // MARK: Delete

    /// Deletes the records with these ids; unknown ids are ignored. Returns how many
    /// were deleted. One transaction.
    @discardableResult
    public func delete(ids: [String]) throws -> Int {
        try write { txn in try applyDelete(ids: ids, txn) }
    }

    /// Deletes the records with these ids, on the store's writer queue.
    @discardableResult
    public func delete(ids: [String]) async throws -> Int {
        try await onWriteQueue { try self.delete(ids: ids) }
    }

    /// Deletes every record matching `filter`. Returns how many were deleted.
    @discardableResult
    public func delete(where filter: Filter) throws -> Int {
        try filter.validate()
        return try write { txn in
            let rows = try matchingRows(filter, txn)
            var idList: [String] = []
            idList.reserveCapacity(rows.count)
            for row in rows {
                guard let bytes = try records.get(txn, row) else { continue }
                idList.append(try RecordCodec.decodeID(bytes, rowID: row))
            }
            return try applyDelete(ids: idList, txn)
        }
    }

    /// Deletes every record matching `filter`, on the store's writer queue.
    @discardableResult
    public func delete(where filter: Filter) async throws -> Int {
        try await onWriteQueue { try self.delete(where: filter) }
    }

    func applyDelete(ids list: [String], _ txn: Transaction) throws -> Int {
        var counters = try counters(txn)
        var tombs = TombEditor()
        var removed = 0
        for id in list {
            guard let row = try rowID(of: id, txn) else { continue }
            try removeRow(row, &tombs, txn)
            try ids.delete(txn, id)
            removed += 1
        }
        guard removed > 0 else { return 0 }
        try tombs.flush(self, txn)
        counters.live -= UInt64(removed)
        try maintain(&counters, txn)
        try setCounters(counters, txn)
        return removed
    }

    /// The live rows `filter` admits, ascending (a negation subtracts from every row).
    func matchingRows(_ filter: Filter, _ txn: Transaction) throws -> [UInt64] {
        switch try evaluate(filter, txn) {
        case .include(let r): return r
        case .exclude(let r): return SortedRows.subtract(try allRows(txn), r)
        }
    }

    /// Every live row id, ascending.
    func allRows(_ txn: Transaction) throws -> [UInt64] {
        var rows: [UInt64] = []
        try txn.withCursor(locations.dbi) { c in
            var e = try c.get(.first)
            while let entry = e {
                rows.append(try U64Key.decode(entry.key))
                e = try c.get(.next)
            }
        }
        return rows
    }
}

/// Accumulates tombstone edits of one transaction, one bitmap per touched block.
struct TombEditor {
    private var edits: [UInt64: (count: Int, bytes: [UInt8], carriesCopies: Bool)] = [:]

    /// True when no slot was marked.
    var isEmpty: Bool { edits.isEmpty }

    /// Marks the slot at `loc` dead. Returns whether its block carries the rows' float32
    /// copies (read from the header with the count, once per block).
    @discardableResult
    mutating func mark(_ loc: RowLocation, _ c: LMDBCollection, _ txn: Transaction) throws -> Bool {
        if edits[loc.block] == nil {
            guard let value = try c.blocks.get(txn, loc.block) else {
                throw StoreError(.corrupted, "block \(loc.block) of \"\(c.info.name)\" is missing")
            }
            let count = Int(UInt32(littleEndian: value.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
            let carriesCopies = value.count > BlockLayout.copiesFlagOffset && value[BlockLayout.copiesFlagOffset] == 1
            var bytes = [UInt8](repeating: 0, count: 4 + (count + 7) / 8)
            if let existing = try c.tombs.get(txn, loc.block) {
                guard existing.count == bytes.count else {
                    throw StoreError(.corrupted, "tombstones of block \(loc.block) have \(existing.count) bytes, expected \(bytes.count)")
                }
                bytes = Array(existing)
            }
            edits[loc.block] = (count, bytes, carriesCopies)
        }
        let slot = Int(loc.slot)
        guard var edit = edits[loc.block], slot < edit.count else {
            throw StoreError(.corrupted, "slot \(slot) is outside block \(loc.block)")
        }
        let mask: UInt8 = 1 << UInt8(slot & 7)
        if edit.bytes[4 + slot >> 3] & mask == 0 {
            edit.bytes[4 + slot >> 3] |= mask
            let dead = UInt32(littleEndian: edit.bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }) + 1
            withUnsafeBytes(of: dead.littleEndian) { for i in 0..<4 { edit.bytes[i] = $0[i] } }
        }
        edits[loc.block] = edit
        return edit.carriesCopies
    }

    /// Writes the bitmaps; a block with no live row left is deleted at once.
    func flush(_ c: LMDBCollection, _ txn: Transaction) throws {
        for (block, edit) in edits {
            let dead = Int(UInt32(littleEndian: edit.bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }))
            if dead >= edit.count {
                try c.blocks.delete(txn, block)
                try c.tombs.delete(txn, block)
            } else {
                try edit.bytes.withUnsafeBytes { try c.tombs.put(txn, block, $0) }
            }
        }
    }
}

/// One parallel `prepare`: each worker fills its own contiguous range of `results`.
///
/// `@unchecked Sendable`: `results` is written at disjoint indices by the workers and read
/// only after `concurrentPerform` returns; everything else is immutable.
private struct PrepareJob: @unchecked Sendable {
    let collection: LMDBCollection
    let records: [Record]
    let kept: [Int]
    let workers: Int
    let results: UnsafeMutableBufferPointer<Result<PreparedRecord, Error>>
    /// Per worker, the keyword index's postings of its range (positions in `kept`).
    let builders: UnsafeMutableBufferPointer<KeywordBatch.Builder?>

    func run(_ w: Int) {
        let lo = kept.count * w / workers
        let hi = kept.count * (w + 1) / workers
        for j in lo..<hi {
            let i = kept[j]
            (results.baseAddress! + j).initialize(to: Result { try collection.prepareOne(records[i], position: i) })
        }
        guard let keywordIndex = collection.keywordIndex else { return }
        var builder = KeywordBatch.Builder(firstPosition: lo)
        for j in lo..<hi { builder.add(records[kept[j]], keywordIndex) }
        builders[w] = builder
    }
}

extension LMDBCollection {
    /// Upserts `records`, deletes `ids` and every record matching `filter` (evaluated in
    /// the transaction) in one transaction: all or nothing (an id both deleted and
    /// upserted is upserted). For replacing a document's chunks atomically.
    ///
    /// - Throws: the errors of `upsert`, or of the filter; nothing is written when any
    ///   record is invalid.
    public func write(upsert records: [Record], deleting ids: [String], deletingWhere filter: Filter?) throws {
        try filter?.validate()
        let prepared = try prepare(records)
        try write { txn in try applyWrite(prepared, deleting: try stale(ids, filter, keeping: records, txn), txn) }
    }

    /// Upserts and deletes in one transaction, on the store's writer queue.
    public func write(upsert records: [Record], deleting ids: [String], deletingWhere filter: Filter?) async throws {
        try filter?.validate()
        let prepared = try await onReadQueue { try self.prepare(records) }
        try await onWriteQueue {
            try self.write { txn in try self.applyWrite(prepared, deleting: try self.stale(ids, filter, keeping: records, txn), txn) }
        }
    }

    /// `ids` and the ids of the records matching `filter` now, less those being upserted.
    private func stale(_ ids: [String], _ filter: Filter?, keeping records: [Record], _ txn: Transaction) throws -> [String] {
        var all = ids
        if let filter {
            for row in try matchingRows(filter, txn) {
                guard let bytes = try self.records.get(txn, row) else { continue }
                all.append(try RecordCodec.decodeID(bytes, rowID: row))
            }
        }
        return Self.stale(all, keeping: records)
    }

    private static func stale(_ ids: [String], keeping records: [Record]) -> [String] {
        guard !ids.isEmpty else { return [] }
        let keep = Set(records.map(\.id))
        return ids.filter { !keep.contains($0) }
    }

    private func applyWrite(_ prepared: PreparedBatch, deleting stale: [String], _ txn: Transaction) throws {
        if !stale.isEmpty { _ = try applyDelete(ids: stale, txn) }
        if !prepared.records.isEmpty { try applyUpsert(prepared, txn) }
    }

    /// Ids and metadata (no texts, no vectors) of the records matching `filter`, from the
    /// index, in one snapshot.
    public func metadata(where filter: Filter) throws -> [String: [String: MetadataValue]] {
        try filter.validate()
        return try read { txn in
            let rows = try matchingRows(filter, txn)
            var out: [String: [String: MetadataValue]] = [:]
            for row in rows {
                guard let bytes = try records.get(txn, row) else { continue }
                let decoded = try RecordCodec.decode(bytes, rowID: row, collection: info.name)
                out[decoded.id] = decoded.metadata
            }
            return out
        }
    }

    /// Ids and metadata of the records matching `filter`, read on the store's queue.
    public func metadata(where filter: Filter) async throws -> [String: [String: MetadataValue]] {
        try await onReadQueue { try self.metadata(where: filter) }
    }
}
