import Foundation

/// Configuration keys and defaults of a collection's partitioned (IVF) index.
public enum IVFSettings {
    /// Configuration key holding the number of lists (its presence means the collection
    /// has an IVF index).
    public static let listsKey = "ivf.lists"
    /// Configuration key holding the collection's default `nprobe`.
    public static let nprobeKey = "ivf.nprobe"
    /// Configuration key holding the live rows the centroids were trained for.
    public static let trainedKey = "ivf.trained"
    /// Configuration key holding the largest list over the mean list right after the last
    /// build (how even k-means could make the lists of these vectors).
    public static let balanceKey = "ivf.balance"

    /// Lists for `rows` vectors when none are asked for: about √rows.
    public static func defaultLists(rows: Int) -> Int { max(1, Int(Double(rows).squareRoot().rounded())) }

    /// Lists probed when neither the request, the store options nor the collection say:
    /// 2.2·√lists (rounded up), at least 8. Measured with `quiver-bench tiers` on real
    /// vectors: recall@10 needs a larger share of the lists when there are fewer of them.
    /// GloVe 400k (640 lists): nprobe 32 gave 0.931, 64 gave 0.972 (2.2·√640 = 56);
    /// MiniLM vectors of SciFact's 9,634 chunks (140 lists): 16 gave 0.928, 32 gave 0.974
    /// (27), where lists/12, the rule before, probed 12 for 0.905. Clustered synthetic
    /// sets need far fewer (1M, 1,005 lists: recall 1.0 from nprobe 2; 70).
    public static func defaultNprobe(lists: Int) -> Int {
        min(lists, max(8, Int((2.2 * Double(lists).squareRoot()).rounded(.up))))
    }

    /// Sample vectors per list that k-means trains on (all rows when fewer).
    public static let samplePerList = 64

    /// Rows writes leave outside the lists by default (`StoreOptions.ivfPendingRows`): a
    /// quarter of the rows a query probing `nprobe` of `lists` scores, so they add at most
    /// a quarter to a search's work; at least 1,024 and at most 65,536.
    public static func defaultPendingRows(rows: Int, lists: Int, nprobe: Int) -> Int {
        let probed = rows / max(1, lists) * nprobe
        return min(65_536, max(1024, probed / 4))
    }
}

/// The state of a collection's IVF index, from `LMDBCollection.ivfStatus()`.
public struct IVFStatus: Sendable, Hashable {
    /// Lists (centroids).
    public var lists: Int
    /// Training generation: 1 after the first build, +1 per retrain.
    public var generation: Int
    /// The collection's default number of lists probed per query.
    public var nprobe: Int
    /// Live rows when the centroids were trained.
    public var trainedRows: Int
    /// Live rows now.
    public var liveRows: Int
    /// Live rows in the largest list.
    public var largestList: Int
    /// Live rows in no list (written since writes last filed rows into lists, before the
    /// index, or left by an interrupted retrain): every search scores them.
    public var rowsOutsideLists: Int
    /// Rows outside the lists that writes leave there (`StoreOptions.ivfPendingRows`):
    /// the write that takes them past this moves them all into their lists.
    public var pendingLimit: Int
    /// The largest list over the mean right after the last build (nil: not recorded, or
    /// the build was interrupted).
    public var trainedBalance: Double?

    /// The largest list over the mean now.
    public var balance: Double { Double(largestList) / max(1, meanList) }

    /// Mean live rows per list.
    public var meanList: Double { lists == 0 ? 0 : Double(liveRows - rowsOutsideLists) / Double(lists) }

    /// True when the collection holds 4× the rows its centroids were trained for.
    public var grewSinceTraining: Bool { liveRows >= 4 * max(1, trainedRows) }

    /// Why a retrain (`Store.buildIVFIndex`) would make searches faster, or nil: the
    /// collection grew 4× since training, more rows sit outside the lists than writes
    /// leave there (`pendingLimit`: an interrupted retrain), or the lists drifted
    /// out of balance (the largest holds more than 4× the mean, and twice the share it had
    /// right after the last build: vectors that k-means cannot spread evenly do not call
    /// for a retrain after every write).
    public var retrainReason: String? {
        if grewSinceTraining { return "the collection grew from \(trainedRows) to \(liveRows) vectors" }
        if rowsOutsideLists > pendingLimit { return "\(rowsOutsideLists) vectors are in no list" }
        if balance > 4 && balance > 2 * (trainedBalance ?? 0) {
            return String(format: "its largest list holds %.1f× the mean", balance)
        }
        return nil
    }

    /// True when `retrainReason` has one.
    public var needsRetrain: Bool { retrainReason != nil }
}

extension LMDBCollection {
    /// The IVF centroids in `txn`, or nil when the collection has no IVF index.
    func ivfCentroids(_ txn: Transaction) throws -> IVFCentroids? {
        guard let ivfTable, let bytes = try ivfTable.get(txn, Format.IVFTable.centroidsKey) else { return nil }
        if bytes.count >= IVFCentroids.headerBytes, let cached = ivfCache.withLock({ $0 }),
            cached.generation == UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        {
            return cached
        }
        let model = try IVFCentroids(bytes: bytes, collection: info.name)
        ivfCache.withLock { $0 = model }
        guard model.dimension == info.dimension else {
            throw StoreError(
                .corrupted,
                "the IVF centroids of collection \"\(info.name)\" have dimension \(model.dimension), the collection \(info.dimension)",
                collection: info.name)
        }
        return model
    }

    /// The collection's default nprobe: the store's option, else the one recorded at build.
    func defaultNprobe(lists: Int) -> Int {
        if let n = store.options.nprobe { return n }
        if let s = info.configuration[IVFSettings.nprobeKey], let n = Int(s), n > 0 { return n }
        return IVFSettings.defaultNprobe(lists: lists)
    }

    /// Rows outside the lists that writes leave there: the store's option, else
    /// `IVFSettings.defaultPendingRows` for `live` rows.
    func pendingLimit(live: Int, lists: Int) -> Int {
        if let n = store.options.ivfPendingRows { return max(0, n) }
        return IVFSettings.defaultPendingRows(rows: live, lists: lists, nprobe: defaultNprobe(lists: lists))
    }

    /// After a write: when more live rows sit outside the lists of `model` than the
    /// pending limit, moves them into their lists in this transaction (at most 4× the
    /// limit's rows, and at least one block, per write: an interrupted retrain's leftovers
    /// are filed over several writes). Rows are assigned to their nearest list then, in
    /// bulk: each list gets one new block per move, not one per write.
    /// Then keeps the small blocks merged (`maintain`): when no rows moved, only those
    /// outside the lists and mostly deleted ones, from the same walk over the blocks.
    func fileOutsideRows(_ model: IVFCentroids, _ counters: inout CollectionCounters, _ txn: Transaction) throws {
        let views = try blockViews(txn)
        let outside = views.filter { $0.list?.generation != model.generation }
        let pending = outside.reduce(0) { $0 + $1.live }
        let limit = pendingLimit(live: Int(counters.live), lists: model.lists)
        guard pending > limit else {
            // Replaced rows may have left a list's block mostly tombstones: that one too.
            try maintain(
                &counters, txn, first: views,
                scope: { $0.list?.generation != model.generation || $0.isMostlyDeleted })
            return
        }
        try moveRows(of: Self.upTo(max(4 * limit, 1024), rowsOf: outside).blocks, model, &counters, txn)
        try maintain(&counters, txn)
    }

    /// The first of `views` whose live rows fit in `budget` together (the first always),
    /// and their live rows.
    static func upTo(_ budget: Int, rowsOf views: [BlockView]) -> (blocks: [BlockView], rows: Int) {
        var chosen: [BlockView] = []
        var rows = 0
        for v in views where chosen.isEmpty || rows + v.live <= budget {
            chosen.append(v)
            rows += v.live
        }
        return (chosen, rows)
    }

    /// The state of the IVF index (list sizes, balance), or nil without one.
    public func ivfStatus() throws -> IVFStatus? {
        try read { txn in
            guard let model = try ivfCentroids(txn) else { return nil }
            var sizes = [Int](repeating: 0, count: model.lists)
            var outside = 0
            var live = 0
            for v in try blockViews(txn) {
                live += v.live
                if let tag = v.list, tag.generation == model.generation, Int(tag.list) < model.lists {
                    sizes[Int(tag.list)] += v.live
                } else {
                    outside += v.live
                }
            }
            let trained = Int(info.configuration[IVFSettings.trainedKey] ?? "") ?? live
            return IVFStatus(
                lists: model.lists, generation: Int(model.generation), nprobe: defaultNprobe(lists: model.lists), trainedRows: trained,
                liveRows: live, largestList: sizes.max() ?? 0, rowsOutsideLists: outside,
                pendingLimit: pendingLimit(live: live, lists: model.lists),
                trainedBalance: info.configuration[IVFSettings.balanceKey].flatMap(Double.init))
        }
    }

    /// The state of the IVF index, read on the store's queue.
    public func ivfStatus() async throws -> IVFStatus? {
        try await onReadQueue { try self.ivfStatus() }
    }

    /// Up to `size` live vectors drawn uniformly (seeded), exact float32, from one snapshot.
    func ivfSample(size: Int, seed: UInt64) throws -> (vectors: [Float], count: Int, live: Int) {
        try read { txn in
            let views = try blockViews(txn)
            let live = views.reduce(0) { $0 + $1.live }
            let dim = info.dimension
            var out = [Float]()
            out.reserveCapacity(min(size, live) * dim)
            var rng = SplitMix64(seed: seed)
            var remaining = live
            var wanted = min(size, live)
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: dim)
            defer { buffer.deallocate() }
            // Selection sampling (Knuth's algorithm S): each row kept with probability
            // wanted/remaining, which draws exactly `wanted` rows.
            for v in views {
                for slot in 0..<v.count where !v.isDeleted(slot) {
                    if wanted > 0 && Int(rng.next() % UInt64(remaining)) < wanted {
                        try exactVector(v, slot: slot, into: buffer, txn)
                        out.append(contentsOf: UnsafeBufferPointer(start: buffer, count: dim))
                        wanted -= 1
                    }
                    remaining -= 1
                }
            }
            return (out, out.count / max(1, dim), live)
        }
    }

    /// Moves every row in no list of the current generation into its list, `chunkRows`
    /// rows per write transaction (readers never wait: each commit is a consistent
    /// snapshot in which unmoved rows are still scanned by every search), then joins each
    /// list's fragments. Returns rows moved.
    func moveIntoLists(chunkRows: Int, stopAfterChunks: Int? = nil, progress: ((Int, Int) -> Void)?) throws -> Int {
        var moved = 0
        var chunks = 0
        let total = try read { txn in
            guard let model = try ivfCentroids(txn) else { return 0 }
            return try blockViews(txn).filter { $0.list?.generation != model.generation }.reduce(0) { $0 + $1.live }
        }
        progress?(0, total)
        while true {
            let n = try write { txn -> Int in
                guard let model = try ivfCentroids(txn) else { return 0 }
                var counters = try counters(txn)
                let stale = try blockViews(txn).filter { $0.list?.generation != model.generation }
                guard !stale.isEmpty else { return 0 }
                let (chosen, rows) = Self.upTo(chunkRows, rowsOf: stale)
                try moveRows(of: chosen, model, &counters, txn)
                try setCounters(counters, txn)
                return max(1, rows)
            }
            if n == 0 { break }
            moved += n
            chunks += 1
            progress?(min(moved, total), total)
            if let stop = stopAfterChunks, chunks >= stop { return moved }
        }
        try joinFragments()
        return moved
    }

    /// Rewrites the live rows of `sources` into blocks of their lists and deletes the sources.
    private func moveRows(of sources: [BlockView], _ model: IVFCentroids, _ counters: inout CollectionCounters, _ txn: Transaction)
        throws
    {
        let dim = info.dimension
        let bytesPerVector = codec.bytesPerVector(dimension: dim)
        var rows: [UInt64] = []
        var stored: [UInt8] = []
        var norms: [Float] = []
        var decoded: [Float] = []
        let live = sources.reduce(0) { $0 + $1.live }
        rows.reserveCapacity(live)
        stored.reserveCapacity(live * bytesPerVector)
        norms.reserveCapacity(live)
        decoded = [Float](repeating: 0, count: live * dim)
        var fromTable: [UInt64] = []
        // Copied out before any write: the sources' pages may move once this transaction writes.
        try decoded.withUnsafeMutableBufferPointer { out in
            for v in sources {
                for slot in 0..<v.count where !v.isDeleted(slot) {
                    let i = rows.count
                    rows.append(v.rowID(slot))
                    stored.append(contentsOf: UnsafeRawBufferPointer(start: v.vector(slot), count: bytesPerVector))
                    norms.append(v.normsSquared[slot])
                    try exactVector(v, slot: slot, into: out.baseAddress! + i * dim, txn)
                    // A block written before blocks carried copies has them in the float32 table.
                    if v.copies == nil { fromTable.append(v.rowID(slot)) }
                }
            }
        }
        let lists = IVFTrainer.assignConcurrently(model, decoded, count: rows.count)
        let order = rows.indices.sorted { lists[$0] != lists[$1] ? lists[$0] < lists[$1] : rows[$0] < rows[$1] }
        for b in sources.map(\.blockNo) {
            try blocks.delete(txn, b)
            try tombs.delete(txn, b)
        }
        var start = 0
        while start < order.count {
            let list = lists[order[start]]
            var end = start
            while end < order.count && lists[order[end]] == list { end += 1 }
            var groupStored = [UInt8]()
            groupStored.reserveCapacity((end - start) * bytesPerVector)
            for i in order[start..<end] { groupStored += stored[(i * bytesPerVector)..<((i + 1) * bytesPerVector)] }
            var groupCopies = [Float]()
            if codec.isCompact {
                groupCopies.reserveCapacity((end - start) * dim)
                for i in order[start..<end] { groupCopies += decoded[(i * dim)..<((i + 1) * dim)] }
            }
            try writeBlocks(
                rows: order[start..<end].map { rows[$0] }, vectors: groupStored, normsSquared: order[start..<end].map { norms[$0] },
                copies: groupCopies, list: IVFListTag(generation: model.generation, list: list), balanced: true, &counters, txn)
            start = end
        }
        try dropTableCopies(fromTable, txn)
    }

    /// Merges each list's small blocks into one, a few thousand lists per transaction.
    private func joinFragments() throws {
        while true {
            let more = try write { txn -> Bool in
                guard let model = try ivfCentroids(txn) else { return false }
                var counters = try counters(txn)
                var byList: [UInt32: [BlockView]] = [:]
                for v in try blockViews(txn) where v.list?.generation == model.generation && v.live < settledBlockRows {
                    byList[v.list?.list ?? 0, default: []].append(v)
                }
                let fragmented = byList.filter { $0.value.count > 1 }.sorted { $0.key < $1.key }
                guard !fragmented.isEmpty else { return false }
                var rows = 0
                for (_, group) in fragmented {
                    let fresh = try group.compactMap { try blockView($0.blockNo, txn) }
                    try merge(fresh, &counters, txn)
                    rows += fresh.reduce(0) { $0 + $1.live }
                    if rows >= 1 << 18 { break }
                }
                try setCounters(counters, txn)
                return true
            }
            if !more { break }
        }
    }
}
