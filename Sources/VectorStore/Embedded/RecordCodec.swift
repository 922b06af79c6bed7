/// Binary codec for the `records` table: version byte, id, text, then metadata fields
/// sorted by name. Integers are LEB128 varints; numbers are little-endian.
enum RecordCodec {
    static let version: UInt8 = 1

    enum Tag: UInt8 {
        case string = 1
        case int = 2
        case double = 3
        case bool = 4
        case strings = 5
    }

    static func encode(id: String, text: String, metadata: [String: MetadataValue]) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(id.utf8.count + text.utf8.count + 16 + metadata.count * 24)
        out.append(version)
        appendString(&out, id)
        appendString(&out, text)
        appendVarint(&out, UInt64(metadata.count))
        for key in metadata.keys.sorted() {
            guard let value = metadata[key] else { continue }
            appendString(&out, key)
            switch value {
            case .string(let s):
                out.append(Tag.string.rawValue)
                appendString(&out, s)
            case .int(let i):
                out.append(Tag.int.rawValue)
                withUnsafeBytes(of: i.littleEndian) { out += $0 }
            case .double(let d):
                out.append(Tag.double.rawValue)
                withUnsafeBytes(of: d.bitPattern.littleEndian) { out += $0 }
            case .bool(let b):
                out.append(Tag.bool.rawValue)
                out.append(b ? 1 : 0)
            case .strings(let list):
                out.append(Tag.strings.rawValue)
                appendVarint(&out, UInt64(list.count))
                for s in list { appendString(&out, s) }
            }
        }
        return out
    }

    /// Size of the encoded metadata alone, for the size limit.
    static func metadataSize(_ metadata: [String: MetadataValue]) -> Int {
        var n = 0
        for (k, v) in metadata {
            n += k.utf8.count + 2
            switch v {
            case .string(let s): n += s.utf8.count + 2
            case .int, .double: n += 8
            case .bool: n += 1
            case .strings(let l): n += l.reduce(2) { $0 + $1.utf8.count + 2 }
            }
        }
        return n
    }

    struct Decoded {
        var id: String
        var text: String
        var metadata: [String: MetadataValue]
    }

    static func decode(_ bytes: UnsafeRawBufferPointer, rowID: UInt64) throws -> Decoded {
        var r = Reader(bytes: bytes, rowID: rowID)
        guard try r.byte() == version else { throw r.fail("unknown record version") }
        let id = try r.string()
        let text = try r.string()
        let n = try r.varint()
        var metadata = [String: MetadataValue](minimumCapacity: Int(min(n, 64)))
        for _ in 0..<n {
            let key = try r.string()
            guard let tag = Tag(rawValue: try r.byte()) else { throw r.fail("unknown metadata tag") }
            switch tag {
            case .string: metadata[key] = .string(try r.string())
            case .int: metadata[key] = .int(Int64(bitPattern: try r.u64()))
            case .double: metadata[key] = .double(Double(bitPattern: try r.u64()))
            case .bool: metadata[key] = .bool(try r.byte() != 0)
            case .strings:
                let count = try r.varint()
                var list: [String] = []
                for _ in 0..<count { list.append(try r.string()) }
                metadata[key] = .strings(list)
            }
        }
        guard r.offset == bytes.count else { throw r.fail("trailing bytes") }
        return Decoded(id: id, text: text, metadata: metadata)
    }

    /// Decodes only the id.
    static func decodeID(_ bytes: UnsafeRawBufferPointer, rowID: UInt64) throws -> String {
        var r = Reader(bytes: bytes, rowID: rowID)
        guard try r.byte() == version else { throw r.fail("unknown record version") }
        return try r.string()
    }

    private static func appendString(_ out: inout [UInt8], _ s: String) {
        appendVarint(&out, UInt64(s.utf8.count))
        out.append(contentsOf: s.utf8)
    }

    private static func appendVarint(_ out: inout [UInt8], _ value: UInt64) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    private struct Reader {
        let bytes: UnsafeRawBufferPointer
        let rowID: UInt64
        var offset = 0

        init(bytes: UnsafeRawBufferPointer, rowID: UInt64) {
            self.bytes = bytes
            self.rowID = rowID
        }

        func fail(_ why: String) -> StoreError {
            StoreError(.corrupted, "record row \(rowID) does not decode: \(why) at byte \(offset)")
        }

        mutating func byte() throws -> UInt8 {
            guard offset < bytes.count else { throw fail("truncated") }
            defer { offset += 1 }
            return bytes[offset]
        }

        mutating func varint() throws -> UInt64 {
            var result: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                let b = try byte()
                result |= UInt64(b & 0x7F) << shift
                if b & 0x80 == 0 { return result }
                shift += 7
                if shift > 63 { throw fail("varint too long") }
            }
        }

        mutating func u64() throws -> UInt64 {
            guard offset + 8 <= bytes.count else { throw fail("truncated") }
            defer { offset += 8 }
            return UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
        }

        mutating func string() throws -> String {
            let n = Int(try varint())
            guard n >= 0, offset + n <= bytes.count else { throw fail("truncated string") }
            defer { offset += n }
            return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)]), as: UTF8.self)
        }
    }
}
