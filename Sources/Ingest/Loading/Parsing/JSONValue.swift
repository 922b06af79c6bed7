import VectorStore

/// A JSON value as `JSONDecoder` reads it: unlike `JSONSerialization` on Linux, it keeps
/// booleans apart from numbers and integers apart from doubles.
indirect enum JSONValue: Decodable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let i = try? c.decode(Int64.self) {
            self = .int(i)
        } else if let d = try? c.decode(Double.self) {
            self = .double(d)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([JSONValue].self) {
            self = .array(a)
        } else {
            self = .object(try c.decode([String: JSONValue].self))
        }
    }

    /// The metadata form of a scalar or a list of strings; nil for anything else.
    var metadata: MetadataValue? {
        switch self {
        case .bool(let b): return .bool(b)
        case .int(let i): return .int(i)
        case .double(let d): return .double(d)
        case .string(let s): return .string(s)
        case .array(let items):
            let strings = items.compactMap { if case .string(let s) = $0 { return s } else { return nil } }
            return strings.count == items.count ? .strings(strings) : nil
        default: return nil
        }
    }
}
