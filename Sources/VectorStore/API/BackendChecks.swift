/// The argument checks every backend makes, declared once so that each refuses the same
/// inputs with the same codes and typed fields (the conformance suite matches them).
///
/// ```swift
/// let stored = try BackendChecks.checkRecord(record, position: 0, info: collection.info)
/// ```
///
/// Thread safety: pure functions.
public enum BackendChecks {
    /// Largest dimension a collection may have.
    public static let maxDimension = 65536
    /// Longest record id, in UTF-8 bytes.
    public static var maxIDBytes: Int { Format.maxIDBytes }
    /// Longest metadata field name, in UTF-8 bytes.
    public static var maxFieldNameBytes: Int { Format.maxFieldNameBytes }
    /// Largest encoded metadata of one record, in bytes.
    public static var maxMetadataBytes: Int { Format.maxMetadataBytes }
    /// Longest collection name, in UTF-8 bytes.
    public static var maxCollectionNameBytes: Int { Format.maxCollectionNameBytes }

    /// Checks a new collection's name and settings.
    ///
    /// - Throws: `.invalidArgument` naming the bad name or dimension.
    public static func checkNewCollection(_ name: String, _ settings: CollectionSettings) throws {
        try checkName(name)
        guard settings.dimension > 0 && settings.dimension <= maxDimension else {
            throw StoreError(.invalidArgument, "collection \"\(name)\": dimension must be 1...\(maxDimension), got \(settings.dimension)")
        }
    }

    /// Checks a collection name: 1 to `maxCollectionNameBytes` bytes without NUL.
    ///
    /// - Throws: `.invalidArgument`.
    public static func checkName(_ name: String) throws {
        let n = name.utf8.count
        guard n > 0 && n <= Format.maxCollectionNameBytes && !name.utf8.contains(0) else {
            throw StoreError(
                .invalidArgument, "collection name \"\(name.prefix(40))\" must be 1-\(Format.maxCollectionNameBytes) bytes without NUL")
        }
    }

    /// Whether a name could belong to a collection (a name that cannot is never found).
    public static func isPossibleName(_ name: String) -> Bool { (try? checkName(name)) != nil }

    /// Throws `.collectionExists` naming the first setting of `info` that differs from
    /// `settings` (only the configuration keys given in `settings` are compared).
    public static func check(_ info: CollectionInfo, against settings: CollectionSettings) throws {
        let name = info.name
        if info.dimension != settings.dimension {
            throw StoreError(
                .collectionExists, "collection \"\(name)\" has dimension \(info.dimension), not \(settings.dimension)", input: "dimension",
                collection: name, expected: "\(info.dimension)", actual: "\(settings.dimension)")
        }
        if info.metric != settings.metric {
            throw StoreError(
                .collectionExists, "collection \"\(name)\" uses metric \(info.metric.rawValue), not \(settings.metric.rawValue)",
                input: "metric", collection: name, expected: info.metric.rawValue, actual: settings.metric.rawValue)
        }
        if info.encoding != settings.encoding {
            throw StoreError(
                .collectionExists,
                "collection \"\(name)\" stores \(info.encoding.rawValue) vectors, not \(settings.encoding.rawValue)", input: "encoding",
                collection: name, expected: info.encoding.rawValue, actual: settings.encoding.rawValue)
        }
        for (key, value) in settings.configuration.sorted(by: { $0.key < $1.key }) where info.configuration[key] != value {
            throw StoreError(
                .collectionExists,
                "collection \"\(name)\" was created with \(key)=\(info.configuration[key] ?? "(unset)"), not \(value)", input: key,
                collection: name, expected: info.configuration[key], actual: value)
        }
    }

    /// Whether an id could be stored (1 to `maxIDBytes` bytes without NUL); an id that
    /// cannot is simply absent from reads and deletes.
    public static func isStorableID(_ id: String) -> Bool {
        let n = id.utf8.count
        return n > 0 && n <= Format.maxIDBytes && !id.utf8.contains(0)
    }

    /// The sum of the squares of `v`'s components, eight lanes at a time.
    static func squaredNorm(_ v: [Float]) -> Float {
        v.withUnsafeBytes { raw in
            let n = raw.count / MemoryLayout<Float>.stride
            var lanes = SIMD8<Float>()
            var i = 0
            while i + 8 <= n {
                let x = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
                lanes += x * x
                i += 8
            }
            var sum = lanes.sum()
            while i < n {
                let x = raw.loadUnaligned(fromByteOffset: i * 4, as: Float.self)
                sum += x * x
                i += 1
            }
            return sum
        }
    }

    /// Checks one record of a write batch (at `position`) and returns the vector as it is
    /// stored (the unit vector under `.cosine`) with its squared norm.
    ///
    /// - Throws: `.invalidID`, `.dimensionMismatch`, `.invalidVector`, `.invalidMetadata`.
    public static func checkRecord(_ r: Record, position i: Int, info: CollectionInfo) throws -> (vector: [Float], normSquared: Float) {
        let dim = info.dimension
        let idBytes = r.id.utf8.count
        guard idBytes > 0 else {
            throw StoreError(
                .invalidID, "record at position \(i) of the batch has an empty id", input: "batch position \(i)",
                collection: info.name, recordID: r.id)
        }
        guard idBytes <= Format.maxIDBytes, !r.id.utf8.contains(0) else {
            throw StoreError(
                .invalidID,
                "record id \"\(r.id.prefix(40))…\" at position \(i) is \(idBytes) bytes; ids are 1-\(Format.maxIDBytes) bytes without NUL",
                input: "batch position \(i)", collection: info.name, recordID: String(r.id.prefix(40)),
                expected: "1-\(Format.maxIDBytes) bytes without NUL", actual: "\(idBytes) bytes")
        }
        guard r.vector.count == dim else {
            throw StoreError(
                .dimensionMismatch,
                "record \"\(r.id)\": vector has \(r.vector.count) components, collection \"\(info.name)\" expects \(dim)",
                collection: info.name, recordID: r.id, expected: "\(dim)", actual: "\(r.vector.count)")
        }
        // Eight lanes at a time: a NaN or an infinity makes the sum non-finite, and only
        // then are the components looked at one by one (or the squares overflowed).
        var normSq = Self.squaredNorm(r.vector)
        if !normSq.isFinite, let j = r.vector.firstIndex(where: { !$0.isFinite }) {
            let x = r.vector[j]
            throw StoreError(
                .invalidVector, "record \"\(r.id)\": vector component \(j) is \(x)", input: "component \(j)",
                collection: info.name, recordID: r.id, expected: "a finite number", actual: "\(x)")
        }
        var vector = r.vector
        if info.metric == .cosine {
            guard normSq > 0 && normSq.isFinite else {
                throw StoreError(
                    .invalidVector, "record \"\(r.id)\": a zero (or overflowing) vector has no cosine similarity",
                    collection: info.name, recordID: r.id)
            }
            let inv = 1 / normSq.squareRoot()
            for j in 0..<dim { vector[j] *= inv }
            normSq = 1
        } else if !normSq.isFinite {
            throw StoreError(
                .invalidVector, "record \"\(r.id)\": the vector's squared norm overflows Float", collection: info.name, recordID: r.id)
        }
        for (key, value) in r.metadata {
            let n = key.utf8.count
            guard n > 0 && n <= Format.maxFieldNameBytes && !key.utf8.contains(0) else {
                throw StoreError(
                    .invalidMetadata,
                    "record \"\(r.id)\": metadata field name \"\(key.prefix(40))\" must be 1-\(Format.maxFieldNameBytes) bytes without NUL",
                    input: String(key.prefix(40)), collection: info.name, recordID: r.id)
            }
            // NaN lies in no order: the index and `Filter.matches` would disagree on which
            // ranges hold it (and JSON cannot carry it).
            if case .double(let d) = value, d.isNaN {
                throw StoreError(
                    .invalidMetadata, "record \"\(r.id)\": metadata field \"\(key.prefix(40))\" is NaN", input: String(key.prefix(40)),
                    collection: info.name, recordID: r.id, expected: "a number", actual: "NaN")
            }
        }
        let metaSize = RecordCodec.metadataSize(r.metadata)
        guard metaSize <= Format.maxMetadataBytes else {
            throw StoreError(
                .invalidMetadata,
                "record \"\(r.id)\": metadata is \(metaSize) bytes, the limit is \(Format.maxMetadataBytes)",
                collection: info.name, recordID: r.id, expected: "at most \(Format.maxMetadataBytes) bytes", actual: "\(metaSize) bytes")
        }
        return (vector, normSq)
    }

    /// Checks `k` of a search.
    ///
    /// - Throws: `.invalidArgument` for `k < 1`.
    public static func checkK(_ k: Int) throws {
        guard k >= 1 else {
            throw StoreError(.invalidArgument, "k must be at least 1, got \(k)", input: "k", expected: "at least 1", actual: "\(k)")
        }
    }

    /// Checks query vectors against a collection.
    ///
    /// - Throws: `.dimensionMismatch`, `.invalidVector` (non-finite, or zero under cosine).
    public static func checkQueries(_ queries: [[Float]], info: CollectionInfo) throws {
        let dim = info.dimension
        for (i, q) in queries.enumerated() {
            guard q.count == dim else {
                throw StoreError(
                    .dimensionMismatch,
                    "query \(i) has \(q.count) components, collection \"\(info.name)\" expects \(dim)", input: "query \(i)",
                    collection: info.name, expected: "\(dim)", actual: "\(q.count)")
            }
            for (j, x) in q.enumerated() where !x.isFinite {
                throw StoreError(.invalidVector, "query \(i): component \(j) is \(x)", input: "query \(i)", actual: "\(x)")
            }
            if info.metric == .cosine && q.allSatisfy({ $0 == 0 }) {
                throw StoreError(.invalidVector, "query \(i) is a zero vector; cosine is undefined", input: "query \(i)")
            }
        }
    }

    /// Checks a filter is well formed (field names, no lists in comparisons, no NaN).
    ///
    /// - Throws: `.invalidArgument`.
    public static func checkFilter(_ filter: Filter?) throws { try filter?.validate() }

    /// Checks a configuration change: no empty key, and none of the keys that say how the
    /// keyword index was made (only building or dropping the index changes those).
    ///
    /// - Throws: `.invalidArgument` naming the key.
    public static func checkConfigurationChange(_ changes: [String: String?], collection name: String) throws {
        for key in changes.keys where key.isEmpty {
            throw StoreError(.invalidArgument, "a configuration key must not be empty", input: "configuration key", collection: name)
        }
        let keywordKeys = [KeywordIndexSettings.configurationKey, KeywordIndexSettings.stemmerKey, KeywordIndexSettings.fieldsKey]
        if let key = keywordKeys.first(where: { changes.keys.contains($0) }) {
            throw StoreError(
                .invalidArgument,
                "\(key) describes how the keyword index was made; change it with buildKeywordIndex "
                    + "or dropKeywordIndex (`quiver reindex --keyword`)", input: key, collection: name)
        }
    }
}
