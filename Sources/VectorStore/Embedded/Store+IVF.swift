import Foundation

extension Store {
    /// Builds (or retrains) the partitioned (IVF) index of a collection: k-means over a
    /// sample of its vectors (outside any transaction), then the new centroids in one
    /// write transaction, then every row moved into its list in write transactions of
    /// `chunkRows` rows. Readers are never blocked, and every commit is a consistent
    /// index: rows not yet moved are in no list, which every search scans. A process killed
    /// mid-way leaves a usable index (searches stay correct, slower until a build finishes).
    /// Writers wait only while a chunk is written.
    ///
    /// From then on upserted vectors wait in no list (every search scores them) until more
    /// than `StoreOptions.ivfPendingRows` do; the write that passes it moves them all into
    /// their nearest lists in its own transaction. `LMDBCollection.ivfStatus()` says when a
    /// retrain would help.
    ///
    /// - Parameters:
    ///   - lists: centroids; nil: about √N (`IVFSettings.defaultLists`).
    ///   - nprobe: the collection's default lists probed per query; nil:
    ///     `IVFSettings.defaultNprobe(lists:)`.
    ///   - progress: called with (step, steps, phase) from the calling thread: "train"
    ///     per k-means iteration, "assign" as rows move.
    /// - Returns: the collection, opened again with its index (handles opened before
    ///   cannot write afterwards).
    /// - Throws: `.collectionNotFound`; `.invalidArgument` when `lists` or `nprobe` is
    ///   below 1 or the collection holds fewer vectors than lists.
    @discardableResult
    public func buildIVFIndex(
        of name: String, lists: Int? = nil, nprobe: Int? = nil, chunkRows: Int = 1 << 18,
        progress: ((Int, Int, String) -> Void)? = nil
    ) throws -> LMDBCollection {
        try buildIVFIndex(of: name, lists: lists, nprobe: nprobe, chunkRows: chunkRows, stopAfterChunks: nil, progress: progress)
    }

    /// `buildIVFIndex`, stopping after `stopAfterChunks` chunks have moved (tests: the
    /// state a process killed between two commits leaves).
    func buildIVFIndex(
        of name: String, lists: Int?, nprobe: Int?, chunkRows: Int, stopAfterChunks: Int?, progress: ((Int, Int, String) -> Void)?
    ) throws -> LMDBCollection {
        if let lists, lists < 1 {
            throw StoreError(.invalidArgument, "an IVF index needs at least 1 list, got \(lists)", input: "lists", collection: name)
        }
        if let nprobe, nprobe < 1 {
            throw StoreError(.invalidArgument, "nprobe must be at least 1, got \(nprobe)", input: "nprobe", collection: name)
        }
        let before = try collection(name)
        let live = try before.count()
        let k = lists ?? IVFSettings.defaultLists(rows: live)
        guard live >= k, live > 0 else {
            throw StoreError(
                .invalidArgument,
                "collection \"\(name)\" holds \(live) vectors, too few for an IVF index of \(k) lists; add vectors first",
                input: "lists", collection: name, expected: "at least \(k) vectors", actual: "\(live)")
        }
        let sample = try before.ivfSample(size: k * IVFSettings.samplePerList, seed: 0x4956_4653)
        guard sample.count >= k else {
            throw StoreError(.invalidArgument, "collection \"\(name)\" changed while sampling: \(sample.count) vectors for \(k) lists")
        }
        let info = before.info
        let existing = try env.openExisting([Format.IVFTable.centroids.name(cid: info.cid)])[0]
        let previous = try existing.map { dbi in try env.read { txn in try Self.lastIVFGeneration(Table(dbi: dbi), txn) } } ?? 0
        // Lloyd's k-means is an L2 method: dot-product collections cluster (and probe) by
        // L2 too (an inner-product assignment lets long centroids swallow the lists);
        // cosine vectors are unit, where both agree, and train spherically.
        let cosine = info.metric == .cosine
        let trainer = IVFTrainer(dimension: info.dimension, lists: k, l2: !cosine, spherical: cosine)
        let model = trainer.train(sample.vectors, count: sample.count, generation: previous + 1) { progress?($0, $1, "train") }
        try env.write(openingDatabases: true) { txn in
            let now = try self.info(named: name, txn)
            guard now.cid == info.cid else { throw StoreError(.collectionNotFound, "collection \"\(name)\" was dropped", collection: name) }
            let table = Format.IVFTable.centroids
            let dbi = try Self.openDB(env, table.name(cid: info.cid), txn, flags: table.flags)
            // A concurrent build may have committed since: never reuse a generation (blocks
            // tagged with an old one would pass for members of the new lists).
            let generation = max(model.generation, try Self.lastIVFGeneration(Table(dbi: dbi), txn) + 1)
            let stored = IVFCentroids(generation: generation, dimension: model.dimension, l2: model.l2, centroids: model.centroids)
            let centroids = Table<UTF8Key>(dbi: dbi)
            try centroids.put(txn, Format.IVFTable.centroidsKey, bytes: stored.bytes)
            try centroids.put(txn, Format.IVFTable.generationKey, bytes: withUnsafeBytes(of: generation.littleEndian) { Array($0) })
            var settings = now.settings
            settings.configuration[IVFSettings.listsKey] = String(k)
            settings.configuration[IVFSettings.nprobeKey] = String(nprobe ?? IVFSettings.defaultNprobe(lists: k))
            settings.configuration[IVFSettings.trainedKey] = String(sample.live)
            settings.configuration[IVFSettings.balanceKey] = nil  // recorded once every row is in its list
            try collectionsDB.put(txn, name, bytes: try Self.encodeInfo(CollectionInfo(name: name, settings: settings, cid: info.cid)))
            try raiseVersion(to: Format.ivfVersion, txn)
        }
        var after = try collection(name)
        _ = try after.moveIntoLists(chunkRows: max(1, chunkRows), stopAfterChunks: stopAfterChunks) { progress?($0, $1, "assign") }
        if stopAfterChunks == nil, let status = try after.ivfStatus(), status.rowsOutsideLists == 0 {
            try env.write { txn in
                let now = try self.info(named: name, txn)
                guard now.cid == info.cid, now.configuration[IVFSettings.listsKey] != nil else { return }
                var settings = now.settings
                settings.configuration[IVFSettings.balanceKey] = String(format: "%.3f", status.balance)
                try collectionsDB.put(txn, name, bytes: try Self.encodeInfo(CollectionInfo(name: name, settings: settings, cid: info.cid)))
            }
            after = try collection(name)
        }
        return after
    }

    /// Builds or retrains the IVF index of a collection, on the store's writer queue.
    @discardableResult
    public func buildIVFIndex(of name: String, lists: Int? = nil, nprobe: Int? = nil) async throws -> LMDBCollection {
        try await run(on: writeQueue) { try self.buildIVFIndex(of: name, lists: lists, nprobe: nprobe) }
    }

    /// Retrains a collection's IVF index when `ivfStatus().needsRetrain` says it drifted:
    /// the largest list holds more than 4× the mean, the collection grew 4× since training,
    /// or rows sit outside the lists. A collection that grew gets lists for its new size
    /// (about √N) and their default `nprobe`; otherwise it keeps its lists and `nprobe`.
    /// Like `buildIVFIndex`, readers are never blocked and a retrain killed mid-way leaves a
    /// usable index. `quiver index` calls this after every run.
    ///
    /// - Returns: the status that called for the retrain, or nil when none was needed (or
    ///   the collection has no IVF index).
    /// - Throws: `.collectionNotFound`; what `buildIVFIndex` throws.
    @discardableResult
    public func retrainIVFIfNeeded(of name: String, progress: ((Int, Int, String) -> Void)? = nil) throws -> IVFStatus? {
        let current = try collection(name)
        guard let status = try current.ivfStatus(), status.needsRetrain else { return nil }
        let grew = status.grewSinceTraining
        let lists = grew ? IVFSettings.defaultLists(rows: status.liveRows) : status.lists
        guard status.liveRows >= lists else { return nil }  // shrank below its lists: nothing better to train
        _ = try buildIVFIndex(
            of: name, lists: lists, nprobe: grew ? nil : status.nprobe, chunkRows: 1 << 18, stopAfterChunks: nil, progress: progress)
        return status
    }

    /// `retrainIVFIfNeeded(of:)` on the store's writer queue.
    @discardableResult
    public func retrainIVFIfNeeded(of name: String) async throws -> IVFStatus? {
        try await run(on: writeQueue) { try self.retrainIVFIfNeeded(of: name) }
    }

    /// Removes a collection's IVF index, on the store's writer queue.
    @discardableResult
    public func dropIVFIndex(of name: String) async throws -> Bool {
        try await run(on: writeQueue) { try self.dropIVFIndex(of: name) }
    }

    /// Removes a collection's IVF index (its centroids; its blocks leave their lists):
    /// searches scan again. Returns false when it had none.
    @discardableResult
    public func dropIVFIndex(of name: String) throws -> Bool {
        try env.write(openingDatabases: true) { txn in
            let old = try info(named: name, txn)
            guard old.configuration[IVFSettings.listsKey] != nil else { return false }
            // The generation stays: blocks keep their tags, which a later build must not reuse.
            if let dbi = try env.database(Format.IVFTable.centroids.name(cid: old.cid), flags: [], in: txn) {
                try Table<UTF8Key>(dbi: dbi).delete(txn, Format.IVFTable.centroidsKey)
            }
            var settings = old.settings
            for key in [IVFSettings.listsKey, IVFSettings.nprobeKey, IVFSettings.trainedKey, IVFSettings.balanceKey] {
                settings.configuration[key] = nil
            }
            try collectionsDB.put(txn, name, bytes: try Self.encodeInfo(CollectionInfo(name: name, settings: settings, cid: old.cid)))
            return true
        }
    }

    /// The newest IVF generation a collection ever had (0: never built).
    static func lastIVFGeneration(_ table: Table<UTF8Key>, _ txn: Transaction) throws -> UInt32 {
        guard let v = try table.get(txn, Format.IVFTable.generationKey), v.count == 4 else { return 0 }
        return UInt32(littleEndian: v.loadUnaligned(as: UInt32.self))
    }
}
