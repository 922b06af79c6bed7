extension LMDBCollection {
    /// Evaluates a filter against the metadata index in `txn`'s snapshot.
    func evaluate(_ filter: Filter, _ txn: Transaction) throws -> RowSet {
        switch filter {
        case .equals(let field, let value):
            return .include(try postings(Self.key(field, value), txn))
        case .notEquals(let field, let value):
            return .exclude(try postings(Self.key(field, value), txn))
        case .isIn(let field, let values):
            var rows: [UInt64] = []
            for v in values { rows = SortedRows.union(rows, try postings(Self.key(field, v), txn)) }
            return .include(rows)
        case .notIn(let field, let values):
            return try evaluate(.isIn(field, values), txn).negated
        case .range(let field, let lower, let upper, let li, let ui):
            return .include(try rangePostings(field, lower: lower, upper: upper, lowerInclusive: li, upperInclusive: ui, txn))
        case .exists(let field):
            return .include(try postings(IndexKey.exists(field), txn))
        case .and(let list):
            var acc = RowSet.all
            for f in list { acc = RowSet.and(acc, try evaluate(f, txn)) }
            return acc
        case .or(let list):
            var acc = RowSet.include([])
            for f in list { acc = RowSet.or(acc, try evaluate(f, txn)) }
            return acc
        case .not(let inner):
            return try evaluate(inner, txn).negated
        }
    }

    private static func key(_ field: String, _ value: MetadataValue) -> [UInt8] {
        switch value {
        case .string(let s): return IndexKey.string(field, s)
        case .int(let i): return IndexKey.number(field, Double(i))
        case .double(let d): return IndexKey.number(field, d)
        case .bool(let b): return IndexKey.bool(field, b)
        case .strings: return IndexKey.prefix(field, 0)  // rejected by Filter.validate
        }
    }

    /// The sorted row ids stored under one index key.
    func postings(_ key: [UInt8], _ txn: Transaction) throws -> [UInt64] {
        try txn.withCursor(index.dbi) { c in
            var rows: [UInt64] = []
            let found = try key.withUnsafeBytes { try c.get(.set, key: $0) }
            guard let found else { return rows }
            try Self.readDuplicates(c, first: found.value, into: &rows)
            return rows
        }
    }

    /// Reads all duplicates of the cursor's key. `first` is the value the positioning
    /// call returned: a key with a single value has no duplicate page, and LMDB's
    /// MDB_GET_MULTIPLE then succeeds without returning data.
    private static func readDuplicates(_ c: Cursor, first: UnsafeRawBufferPointer, into rows: inout [UInt64]) throws {
        var page = try c.get(.getMultiple)
        if let p = page, p.value.count == 0 {
            rows.append(try RowIDValue.decode(first, "a metadata index entry"))
            return
        }
        while let p = page {
            RowIDValue.decodeAll(p.value, into: &rows)
            page = try c.get(.nextMultiple)
        }
    }

    private func rangePostings(
        _ field: String, lower: Double?, upper: Double?, lowerInclusive: Bool, upperInclusive: Bool, _ txn: Transaction
    ) throws -> [UInt64] {
        let prefix = IndexKey.prefix(field, IndexKey.numberTag)
        let start = lower.map { IndexKey.number(field, $0) } ?? prefix
        var lists: [[UInt64]] = []
        try txn.withCursor(index.dbi) { c in
            var entry = try start.withUnsafeBytes { try c.get(.setRange, key: $0) }
            while let e = entry {
                guard e.key.starts(with: prefix), let value = IndexKey.numberValue(e.key, prefixLength: prefix.count) else { break }
                if let upper, upperInclusive ? value > upper : value >= upper { break }
                let aboveLower = lower.map { lowerInclusive ? value >= $0 : value > $0 } ?? true
                if aboveLower {
                    var rows: [UInt64] = []
                    try Self.readDuplicates(c, first: e.value, into: &rows)
                    lists.append(rows)
                }
                entry = try c.get(.nextNoDup)
            }
        }
        return SortedRows.union(lists)
    }
}

extension LMDBCollection {
    /// How many distinct string values `field` has among live records (each element of a
    /// string list counts), read from the metadata index alone: no record is decoded, so
    /// counting the documents of a million chunks reads only their index keys.
    public func distinctStringValueCount(of field: String) throws -> Int {
        let prefix = IndexKey.prefix(field, IndexKey.stringTag)
        return try read { txn in
            try txn.withCursor(index.dbi) { c in
                var count = 0
                var entry = try prefix.withUnsafeBytes { try c.get(.setRange, key: $0) }
                while let e = entry, e.key.starts(with: prefix) {
                    count += 1
                    entry = try c.get(.nextNoDup)
                }
                return count
            }
        }
    }

    /// Async form of `distinctStringValueCount(of:)`, on the store's read queue.
    public func distinctStringValueCount(of field: String) async throws -> Int {
        try await onReadQueue { try self.distinctStringValueCount(of: field) }
    }
}
