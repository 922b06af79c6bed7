/// A metadata filter. Filtering happens before top-k: a search with a filter returns k
/// hits whenever k matching records exist.
///
/// On a list-of-strings field, `equals` and `isIn` match when any element matches.
/// `notEquals` and `notIn` also match records that lack the field (they are the negation
/// of `equals` / `isIn`). Ranges compare numbers (integers and doubles alike).
///
/// ```swift
/// let filter: Filter = .and([.equals("lang", "en"), .range("year", lower: 2020)])
/// ```
public indirect enum Filter: Sendable, Hashable {
    /// The field equals the value (for a list field: contains it).
    case equals(String, MetadataValue)
    /// The field is absent or differs from the value.
    case notEquals(String, MetadataValue)
    /// The field equals one of the values.
    case isIn(String, [MetadataValue])
    /// The field is absent or equals none of the values.
    case notIn(String, [MetadataValue])
    /// The numeric field lies in the range; a nil bound is open.
    case range(String, lower: Double? = nil, upper: Double? = nil, lowerInclusive: Bool = true, upperInclusive: Bool = true)
    /// The record has the field, with any value.
    case exists(String)
    /// Every filter matches (an empty list matches everything).
    case and([Filter])
    /// At least one filter matches (an empty list matches nothing).
    case or([Filter])
    /// The filter does not match.
    case not(Filter)

    /// Evaluates the filter against one record's metadata, with the same semantics the
    /// store's index uses.
    public func matches(_ metadata: [String: MetadataValue]) -> Bool {
        switch self {
        case .equals(let field, let value):
            guard let stored = metadata[field] else { return false }
            return Self.valueMatches(stored, value)
        case .notEquals(let field, let value):
            return !Filter.equals(field, value).matches(metadata)
        case .isIn(let field, let values):
            return values.contains { Filter.equals(field, $0).matches(metadata) }
        case .notIn(let field, let values):
            return !Filter.isIn(field, values).matches(metadata)
        case .range(let field, let lower, let upper, let li, let ui):
            guard let n = metadata[field]?.number else { return false }
            if let lower { if li ? n < lower : n <= lower { return false } }
            if let upper { if ui ? n > upper : n >= upper { return false } }
            return true
        case .exists(let field):
            return metadata[field] != nil
        case .and(let list):
            return list.allSatisfy { $0.matches(metadata) }
        case .or(let list):
            return list.contains { $0.matches(metadata) }
        case .not(let inner):
            return !inner.matches(metadata)
        }
    }

    private static func valueMatches(_ stored: MetadataValue, _ wanted: MetadataValue) -> Bool {
        switch (stored, wanted) {
        case (.string(let a), .string(let b)): return a == b
        case (.strings(let list), .string(let b)): return list.contains(b)
        case (.bool(let a), .bool(let b)): return a == b
        default:
            if let a = stored.number, let b = wanted.number { return a == b }
            return false
        }
    }

    /// Checks the filter is well formed (no list values in comparisons, no NaN bounds).
    func validate() throws {
        switch self {
        case .equals(let f, let v), .notEquals(let f, let v):
            try Self.checkField(f)
            try Self.checkScalar(v, f)
        case .isIn(let f, let vs), .notIn(let f, let vs):
            try Self.checkField(f)
            for v in vs { try Self.checkScalar(v, f) }
        case .range(let f, let lo, let hi, _, _):
            try Self.checkField(f)
            if lo?.isNaN == true || hi?.isNaN == true {
                throw StoreError(.invalidArgument, "range filter on \"\(f)\" has a NaN bound")
            }
        case .exists(let f):
            try Self.checkField(f)
        case .and(let l), .or(let l):
            for x in l { try x.validate() }
        case .not(let x):
            try x.validate()
        }
    }

    private static func checkField(_ f: String) throws {
        if f.isEmpty || f.utf8.count > Format.maxFieldNameBytes || f.utf8.contains(0) {
            throw StoreError(
                .invalidArgument, "filter field name \"\(f.prefix(40))\" must be 1-\(Format.maxFieldNameBytes) bytes without NUL")
        }
    }

    private static func checkScalar(_ v: MetadataValue, _ f: String) throws {
        if case .strings = v {
            throw StoreError(.invalidArgument, "filter on \"\(f)\" compares with a list; use .isIn for several values")
        }
        if case .double(let d) = v, d.isNaN {
            throw StoreError(.invalidArgument, "filter on \"\(f)\" compares with NaN")
        }
    }
}
