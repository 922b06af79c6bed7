import VectorStore

/// Bound parameters of one statement: each value gets the next `$n`; values never become
/// SQL text.
struct SQLParameters {
    private(set) var values: [String?] = []

    /// Adds `value` and returns its placeholder with a cast, e.g. `$3::jsonb`.
    mutating func bind(_ value: String?, as type: String) -> String {
        values.append(value)
        return "$\(values.count)::\(type)"
    }
}

/// A `Filter` as a SQL condition over a record table's `metadata` (jsonb) and
/// `double_fields` columns. Field names and values are bound parameters, never SQL text;
/// the GIN index serves `@>` (equality) and `?` (exists).
///
/// Every condition is TRUE or FALSE, never NULL, so that `NOT` negates it exactly (a
/// record without the field matches `notEquals`).
enum SQLFilter {
    static func condition(_ filter: Filter, _ p: inout SQLParameters) -> String {
        switch filter {
        case .equals(let field, let value):
            return equals(field, value, &p)
        case .notEquals(let field, let value):
            return "NOT " + equals(field, value, &p)
        case .isIn(let field, let values):
            guard !values.isEmpty else { return "FALSE" }
            return "(" + values.map { equals(field, $0, &p) }.joined(separator: " OR ") + ")"
        case .notIn(let field, let values):
            guard !values.isEmpty else { return "TRUE" }
            return "NOT (" + values.map { equals(field, $0, &p) }.joined(separator: " OR ") + ")"
        case .range(let field, let lower, let upper, let li, let ui):
            let f = p.bind(field, as: "text")
            let number = "(CASE WHEN jsonb_typeof(metadata->\(f)) = 'number' THEN (metadata->>\(f))::float8 END)"
            var parts = ["jsonb_typeof(metadata->\(f)) = 'number'"]
            if let lower { parts.append("\(number) \(li ? ">=" : ">") \(p.bind(String(lower), as: "float8"))") }
            if let upper { parts.append("\(number) \(ui ? "<=" : "<") \(p.bind(String(upper), as: "float8"))") }
            return "COALESCE(" + parts.joined(separator: " AND ") + ", FALSE)"
        case .exists(let field):
            return "(metadata ? \(p.bind(field, as: "text")))"
        case .and(let list):
            guard !list.isEmpty else { return "TRUE" }
            return "(" + list.map { condition($0, &p) }.joined(separator: " AND ") + ")"
        case .or(let list):
            guard !list.isEmpty else { return "FALSE" }
            return "(" + list.map { condition($0, &p) }.joined(separator: " OR ") + ")"
        case .not(let inner):
            return "NOT " + condition(inner, &p)
        }
    }

    /// The field equals the value, or (for a string) a list holding it. Numbers compare as
    /// numbers (jsonb compares decimals exactly: 2010 equals 2010.0).
    private static func equals(_ field: String, _ value: MetadataValue, _ p: inout SQLParameters) -> String {
        let key = SQLText.json(field)
        switch value {
        case .string(let s):
            let scalar = p.bind("{\(key):\(SQLText.json(s))}", as: "jsonb")
            let list = p.bind("{\(key):[\(SQLText.json(s))]}", as: "jsonb")
            return "(metadata @> \(scalar) OR metadata @> \(list))"
        case .double(let d) where !d.isFinite:
            // Stored as a string (JSON has no infinity), marked as a double.
            let stored = p.bind("{\(key):\(SQLText.json(value))}", as: "jsonb")
            return "(metadata @> \(stored) AND COALESCE(double_fields ? \(p.bind(field, as: "text")), FALSE))"
        case .int, .double, .bool:
            return "(metadata @> \(p.bind("{\(key):\(SQLText.json(value))}", as: "jsonb")))"
        case .strings:
            // Refused by validation before a filter gets here.
            return "FALSE"
        }
    }
}
