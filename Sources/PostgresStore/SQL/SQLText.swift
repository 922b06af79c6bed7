import Foundation
import VectorStore

/// How values travel to and from PostgreSQL as text parameters and results: pgvector's
/// `[x,y,…]` literals, array literals for `unnest`, and JSON for `jsonb`. Every value is a
/// bound parameter; none of this text is ever spliced into SQL.
enum SQLText {
    /// pgvector's text form; Swift's shortest round-trip digits, which pgvector reads back
    /// to the same `Float`.
    static func vector(_ v: [Float]) -> String {
        var s = "["
        s.reserveCapacity(v.count * 12)
        for (i, x) in v.enumerated() {
            if i > 0 { s += "," }
            s += x.description
        }
        return s + "]"
    }

    /// Parses pgvector's text form `[x,y,…]` in place.
    static func parseVector(_ bytes: UnsafeBufferPointer<UInt8>, dimension: Int) -> [Float]? {
        guard let base = bytes.baseAddress, bytes.count >= 2 else { return nil }
        var out = [Float]()
        out.reserveCapacity(dimension)
        // strtof stops at ',' and ']'; pgvector writes no spaces.
        return base.withMemoryRebound(to: CChar.self, capacity: bytes.count) { start -> [Float]? in
            var p = start + 1
            let end = start + bytes.count
            while p < end && p.pointee != CChar(UInt8(ascii: "]")) {
                var next: UnsafeMutablePointer<CChar>?
                let x = strtof(p, &next)
                guard let next, next > UnsafeMutablePointer(mutating: p) else { return nil }
                out.append(x)
                p = UnsafePointer(next)
                if p < end && p.pointee == CChar(UInt8(ascii: ",")) { p += 1 }
            }
            return out.count == dimension ? out : nil
        }
    }

    /// A one-dimensional array literal (`{"a","b"}`) of the strings, each quoted; nil
    /// elements are NULL.
    static func array(_ elements: [String?]) -> String {
        var s = "{"
        for (i, e) in elements.enumerated() {
            if i > 0 { s += "," }
            guard let e else {
                s += "NULL"
                continue
            }
            s += "\""
            for ch in e.unicodeScalars {
                if ch == "\"" || ch == "\\" { s += "\\" }
                s.unicodeScalars.append(ch)
            }
            s += "\""
        }
        return s + "}"
    }

    /// A JSON string literal.
    static func json(_ s: String) -> String {
        var out = "\""
        for ch in s.unicodeScalars {
            switch ch {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if ch.value < 0x20 {
                    out += String(format: "\\u%04x", ch.value)
                } else {
                    out.unicodeScalars.append(ch)
                }
            }
        }
        return out + "\""
    }

    /// A metadata value as JSON: strings, numbers, booleans and string lists as
    /// themselves; a non-finite double (which JSON cannot hold) as the string `inf`,
    /// `-inf`.
    static func json(_ value: MetadataValue) -> String {
        switch value {
        case .string(let s): return json(s)
        case .int(let i): return String(i)
        case .double(let d): return d.isFinite ? d.description : json(d.description)
        case .bool(let b): return b ? "true" : "false"
        case .strings(let l): return "[" + l.map { json($0) }.joined(separator: ",") + "]"
        }
    }

    /// A record's metadata as a `jsonb` object, and the JSON array of the fields that hold
    /// doubles (nil when none): jsonb keeps numbers as decimals, so `2.0` and `2` would
    /// read back alike without it.
    static func metadata(_ m: [String: MetadataValue]) -> (json: String, doubles: String?) {
        var parts: [String] = []
        parts.reserveCapacity(m.count)
        var doubles: [String] = []
        for (k, v) in m.sorted(by: { $0.key < $1.key }) {
            parts.append(json(k) + ":" + json(v))
            if case .double = v { doubles.append(json(k)) }
        }
        return ("{" + parts.joined(separator: ",") + "}", doubles.isEmpty ? nil : "[" + doubles.joined(separator: ",") + "]")
    }

    /// Reads back what `metadata(_:)` wrote.
    ///
    /// - Throws: `.corrupted` when the stored JSON does not decode.
    static func decodeMetadata(_ json: String, doubles: String?) throws -> [String: MetadataValue] {
        let decoder = JSONDecoder()
        do {
            var m = try decoder.decode([String: MetadataValue].self, from: Data(json.utf8))
            if let doubles {
                for field in try decoder.decode([String].self, from: Data(doubles.utf8)) {
                    switch m[field] {
                    case .int(let i)?: m[field] = .double(Double(i))
                    case .string(let s)?: m[field] = .double(Double(s) ?? .nan)
                    default: break
                    }
                }
            }
            return m
        } catch {
            throw StoreError(.corrupted, "stored metadata does not decode", underlying: "\(error)")
        }
    }
}
