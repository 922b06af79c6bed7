import VectorStore

// JSON documents are decoded into QuiverCore's `JSONValue` (it keeps booleans apart from
// numbers and integers apart from doubles, unlike `JSONSerialization` on Linux).
extension JSONValue {
    /// The metadata form of a scalar or a list of strings; nil for anything else.
    var metadata: MetadataValue? {
        switch self {
        case .bool(let b): return .bool(b)
        case .int(let i): return .int(Int64(i))
        case .double(let d): return .double(d)
        case .string(let s): return .string(s)
        case .array(let items):
            let strings = items.compactMap { if case .string(let s) = $0 { return s } else { return nil } }
            return strings.count == items.count ? .strings(strings) : nil
        default: return nil
        }
    }
}
