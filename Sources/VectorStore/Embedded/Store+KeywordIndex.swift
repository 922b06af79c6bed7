import Foundation
import TextAnalysis
import QuiverCore

/// One analyzer per settings for the process: each holds a pool of stemmers.
enum AnalyzerCache {
    private static let analyzers = PosixMutex<[AnalyzerSettings: TextAnalyzer]>([:])

    static func analyzer(_ settings: AnalyzerSettings) throws -> TextAnalyzer {
        if let a = analyzers.withLock({ $0[settings] }) { return a }
        let a = try TextAnalyzer(settings)
        return analyzers.withLock { cache in
            if let existing = cache[settings] { return existing }
            cache[settings] = a
            return a
        }
    }
}

extension Store {
    /// Builds (or rebuilds, with another analyzer) the keyword index of a collection from
    /// the texts it holds, without touching its vectors, in one write transaction: readers
    /// see the collection without the index until it commits, with the whole index after.
    /// Texts are analyzed on all cores. `progress` is called with (rows indexed, rows) as
    /// the work goes on, from the calling thread.
    ///
    /// Handles opened before cannot write afterwards (their writes would miss the index):
    /// open the collection again.
    ///
    /// `fields` names metadata fields whose string values are indexed with each record's
    /// text (`KeywordIndexSettings.fieldsKey`), such as the "title" every chunk of a
    /// document carries; nil keeps the fields the collection records.
    ///
    /// - Returns: the collection, opened again with its index.
    /// - Throws: `.collectionNotFound`, `.invalidArgument` for an unknown language or a
    ///   bad field name.
    @discardableResult
    public func buildKeywordIndex(
        of name: String, analyzer settings: AnalyzerSettings = .english, fields: [String]? = nil,
        progress: ((Int, Int) -> Void)? = nil
    ) throws -> LMDBCollection {
        let analyzer = try AnalyzerCache.analyzer(settings)
        if let fields { try KeywordIndexSettings.validate(fields: fields) }
        try env.write(openingDatabases: true) { txn in
            let old = try info(named: name, txn)
            var dbis: [DBI] = []
            for table in Format.KeywordTable.allCases {
                let dbi = try Self.openDB(env, table.name(cid: old.cid), txn, flags: table.flags)
                try txn.clear(dbi)
                dbis.append(dbi)
            }
            // An index built before postings were compressed leaves its lists behind.
            if let legacy = try env.database(Format.KeywordTable.legacyPostingsName(cid: old.cid), flags: [], in: txn) {
                try txn.clear(legacy)
            }
            try raiseVersion(to: Format.keywordBlocksVersion, txn)
            var newSettings = old.settings
            if let fields { newSettings.keywordFields = fields }
            let index = KeywordIndex(
                postings: Table(dbi: dbis[0]), stats: Table(dbi: dbis[1]), segments: Table(dbi: dbis[2]), deleted: Table(dbi: dbis[3]),
                frequencies: Table(dbi: dbis[4]), analyzer: analyzer, fields: newSettings.keywordFields, policy: options.keywordSegments)
            newSettings.keywordAnalyzer = settings
            newSettings.configuration[KeywordIndexSettings.stemmerKey] = analyzer.stemmerFingerprint
            let info = CollectionInfo(name: name, settings: newSettings, cid: old.cid)
            try collectionsDB.put(txn, name, bytes: try Self.encodeInfo(info))
            let records = try Table<U64Key>(dbi: required(Format.Table.records.name(cid: old.cid), txn))
            let total = try txn.count(records.dbi)
            var done = 0
            progress?(0, total)
            var batch: [(row: UInt64, record: Record)] = []
            func flush() throws {
                let entries = Self.analyzeConcurrently(batch.map(\.record), index)
                try index.insert(zip(batch, entries).map { ($0.row, $1) }, txn)
                done += batch.count
                batch.removeAll(keepingCapacity: true)
                progress?(done, total)
            }
            try txn.withCursor(records.dbi) { c in
                var e = try c.get(.first)
                while let entry = e {
                    let row = try U64Key.decode(entry.key)
                    let record = try RecordCodec.decode(entry.value, rowID: row, collection: name)
                    batch.append((row, Record(id: "", vector: [], text: record.text, metadata: record.metadata)))
                    if batch.count == 4096 { try flush() }
                    e = try c.get(.next)
                }
            }
            if !batch.isEmpty { try flush() }
            // Searches read the lists best: fold what the batches left in segments.
            try index.fold(txn)
        }
        return try collection(name)
    }

    /// Removes a collection's keyword index (its postings and its analyzer record); keyword
    /// and hybrid searches of it are refused until one is built again. Returns false when
    /// it had none.
    @discardableResult
    public func dropKeywordIndex(of name: String) throws -> Bool {
        try env.write(openingDatabases: true) { txn in
            let old = try info(named: name, txn)
            guard old.configuration[KeywordIndexSettings.configurationKey] != nil else { return false }
            for name in Format.KeywordTable.allCases.map({ $0.name(cid: old.cid) }) + [Format.KeywordTable.legacyPostingsName(cid: old.cid)]
            {
                if let dbi = try env.database(name, flags: [], in: txn) { try txn.clear(dbi) }
            }
            var settings = old.settings
            settings.keywordAnalyzer = nil
            settings.configuration[KeywordIndexSettings.stemmerKey] = nil
            settings.keywordFields = []
            try collectionsDB.put(txn, name, bytes: try Self.encodeInfo(CollectionInfo(name: name, settings: settings, cid: old.cid)))
            return true
        }
    }

    private func required(_ table: String, _ txn: Transaction) throws -> DBI {
        guard let dbi = try env.database(table, flags: [], in: txn) else {
            throw StoreError(.corrupted, "table \(table) is missing")
        }
        return dbi
    }

    /// The index entries of each record (its text and indexed fields), computed on all cores.
    private static func analyzeConcurrently(_ records: [Record], _ index: KeywordIndex) -> [[[UInt8]]] {
        let out = UnsafeMutableBufferPointer<[[UInt8]]>.allocate(capacity: records.count)
        out.initialize(repeating: [])
        defer {
            out.baseAddress?.deinitialize(count: records.count)
            out.deallocate()
        }
        let job = AnalyzeJob(
            records: records, index: index, out: out, workers: max(1, min(ProcessInfoCores.count, records.count / 64)))
        if job.workers == 1 { job.run(0) } else { DispatchQueue.concurrentPerform(iterations: job.workers) { job.run($0) } }
        return Array(out)
    }
}

/// One parallel analysis: each worker fills its own contiguous range of `out`.
///
/// `@unchecked Sendable`: `out` is written at disjoint indices and read after
/// `concurrentPerform` returns; the rest is immutable.
private struct AnalyzeJob: @unchecked Sendable {
    let records: [Record]
    let index: KeywordIndex
    let out: UnsafeMutableBufferPointer<[[UInt8]]>
    let workers: Int

    func run(_ w: Int) {
        for i in records.count * w / workers..<records.count * (w + 1) / workers {
            out[i] = index.entries(for: records[i])
        }
    }
}
