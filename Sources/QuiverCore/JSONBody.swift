import Foundation

/// Writes JSON text from the `[String: Any]` trees request bodies are built from, in one
/// pass over UTF-8 bytes. Foundation's `JSONSerialization` on Linux escapes strings
/// character by character: a 64-text embedding request took it about 1.4 ms, and building
/// request bodies was 17 % of the client's CPU in `quiver-bench parallelrag`.
///
/// Strings, `Bool`, `Int`, `Double`, `Float`, `NSNull`, arrays, `[String: Any]` and
/// ``JSONValue`` are written directly; any other value (an `NSNumber` from a parsed
/// document, say) goes through `JSONSerialization`. Keys come out in the dictionary's
/// order, as `JSONSerialization` writes them.
///
/// ```swift
/// let body = try JSONBody.encode(["model": "m", "input": ["a \"quoted\" text"]])
/// ```
public enum JSONBody {
    /// The JSON text of `object`.
    ///
    /// - Throws: `QuiverError.invalidArgument` for a value JSON cannot hold (a NaN or an
    ///   infinite number, a type `JSONSerialization` does not write either).
    public static func encode(_ object: Any) throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        try write(object, into: &out)
        return out
    }

    /// Appends `value`'s JSON text to `out`.
    public static func write(_ value: Any, into out: inout [UInt8]) throws {
        if let s = value as? String {
            appendString(s, into: &out)
            return
        }
        let type = Swift.type(of: value)
        if type == Bool.self, let b = value as? Bool {
            out.append(contentsOf: b ? Self.trueBytes : Self.falseBytes)
        } else if type == Int.self, let i = value as? Int {
            out.append(contentsOf: String(i).utf8)
        } else if type == Double.self, let d = value as? Double {
            try appendNumber(d, into: &out)
        } else if type == Float.self, let f = value as? Float {
            try appendNumber(Double(f), into: &out)
        } else if value is NSNull {
            out.append(contentsOf: Self.nullBytes)
        } else if let j = value as? JSONValue {
            try write(j, into: &out)
        } else if let object = value as? [String: Any] {
            try writeObject(object, into: &out) { try write($0, into: &$1) }
        } else if let array = value as? [Any] {
            try writeArray(array, into: &out) { try write($0, into: &$1) }
        } else {
            // An NSNumber, an NSString subclass, a wider integer: as Foundation writes it.
            guard JSONSerialization.isValidJSONObject([value]) else {
                throw QuiverError(.invalidArgument, "a value of type \(type) cannot be written as JSON")
            }
            let data = try JSONSerialization.data(withJSONObject: [value])
            out.append(contentsOf: data.dropFirst().dropLast())  // without the array's brackets
        }
    }

    /// Appends a ``JSONValue``'s text to `out`.
    public static func write(_ value: JSONValue, into out: inout [UInt8]) throws {
        switch value {
        case .null: out.append(contentsOf: Self.nullBytes)
        case .bool(let b): out.append(contentsOf: b ? Self.trueBytes : Self.falseBytes)
        case .int(let i): out.append(contentsOf: String(i).utf8)
        case .double(let d): try appendNumber(d, into: &out)
        case .string(let s): appendString(s, into: &out)
        case .array(let items): try writeArray(items, into: &out) { try write($0, into: &$1) }
        case .object(let members): try writeObject(members, into: &out) { try write($0, into: &$1) }
        }
    }

    private static func writeObject<V>(
        _ members: [String: V], into out: inout [UInt8], _ element: (V, inout [UInt8]) throws -> Void
    ) throws {
        out.append(UInt8(ascii: "{"))
        var first = true
        for (key, v) in members {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            appendString(key, into: &out)
            out.append(UInt8(ascii: ":"))
            try element(v, &out)
        }
        out.append(UInt8(ascii: "}"))
    }

    private static func writeArray<V>(_ items: [V], into out: inout [UInt8], _ element: (V, inout [UInt8]) throws -> Void) throws {
        out.append(UInt8(ascii: "["))
        for (i, v) in items.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            try element(v, &out)
        }
        out.append(UInt8(ascii: "]"))
    }

    /// Appends `s` as a JSON string: quoted, with `"`, `\` and the control characters
    /// U+0000–U+001F escaped, everything else as its UTF-8 bytes.
    public static func appendString(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { bytes in
            var runStart = 0
            for i in 0..<bytes.count {
                let b = bytes[i]
                guard b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") else { continue }
                if runStart < i { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<i])) }
                runStart = i + 1
                out.append(UInt8(ascii: "\\"))
                switch b {
                case UInt8(ascii: "\""): out.append(UInt8(ascii: "\""))
                case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\"))
                case 0x0A: out.append(UInt8(ascii: "n"))
                case 0x0D: out.append(UInt8(ascii: "r"))
                case 0x09: out.append(UInt8(ascii: "t"))
                case 0x08: out.append(UInt8(ascii: "b"))
                case 0x0C: out.append(UInt8(ascii: "f"))
                default:
                    out.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex(b >> 4), hex(b & 0xF)])
                }
            }
            if runStart < bytes.count { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart...])) }
        }
        out.append(UInt8(ascii: "\""))
    }

    private static func appendNumber(_ d: Double, into out: inout [UInt8]) throws {
        guard d.isFinite else { throw QuiverError(.invalidArgument, "\(d) cannot be written as JSON") }
        // Integral values as integers (JSON has one number type; 2.0 reads back as 2).
        if d == d.rounded(), abs(d) < 1e15 {
            out.append(contentsOf: String(Int64(d)).utf8)
        } else {
            out.append(contentsOf: "\(d)".utf8)  // shortest round-trip form; "1e-05" is valid JSON
        }
    }

    @inline(__always) private static func hex(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }

    private static let trueBytes = Array("true".utf8)
    private static let falseBytes = Array("false".utf8)
    private static let nullBytes = Array("null".utf8)
}
