/// A metadata value: string, integer, double, bool, or a list of strings.
///
/// Integers and doubles compare as numbers in filters (`1` equals `1.0`); integers beyond
/// 2^53 lose precision in the index.
public enum MetadataValue: Sendable, Hashable, Codable, CustomStringConvertible {
    /// A string; filterable by equality.
    case string(String)
    /// An integer; filterable by equality and range.
    case int(Int64)
    /// A double; filterable by equality and range.
    case double(Double)
    /// A bool; filterable by equality.
    case bool(Bool)
    /// A list of strings; `equals` matches any element.
    case strings([String])

    /// The value as text (lists as `[a, b]`).
    public var description: String {
        switch self {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .double(let d): return String(d)
        case .bool(let b): return String(b)
        case .strings(let l): return "[" + l.joined(separator: ", ") + "]"
        }
    }

    /// The numeric value of an `.int` or `.double`.
    public var number: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }

    /// Decodes a JSON scalar or list of strings (JSON integers become `.int`).
    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let i = try? c.decode(Int64.self) {
            self = .int(i)
        } else if let d = try? c.decode(Double.self) {
            self = .double(d)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else {
            self = .strings(try c.decode([String].self))
        }
    }

    /// Encodes as the plain JSON scalar or list.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .string(let s): try c.encode(s)
        case .int(let i): try c.encode(i)
        case .double(let d): try c.encode(d)
        case .bool(let b): try c.encode(b)
        case .strings(let l): try c.encode(l)
        }
    }
}

extension MetadataValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral
{
    /// `"text"` as `.string`.
    public init(stringLiteral value: String) { self = .string(value) }
    /// `42` as `.int`.
    public init(integerLiteral value: Int64) { self = .int(value) }
    /// `4.2` as `.double`.
    public init(floatLiteral value: Double) { self = .double(value) }
    /// `true` as `.bool`.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    /// `["a", "b"]` as `.strings`.
    public init(arrayLiteral elements: String...) { self = .strings(elements) }
}
