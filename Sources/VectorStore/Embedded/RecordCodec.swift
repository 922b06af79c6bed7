import CQuiverKernels

/// Binary codec for the `records` table: version byte, id, text, then metadata fields
/// sorted by name. Integers are LEB128 varints; numbers are little-endian.
///
/// Version 2 records are sealed: after the version byte, the XXH64 of everything after
/// it (8 bytes, little-endian), then the fields as in version 1. Damaged text or metadata
/// then fails `decode` (and `check`) with an error naming the row, where version 1 records
/// decoded to whatever the damaged bytes said. Writing sealed records raises the store's
/// format version to `Format.sealedRecordsVersion`; version 1 records still decode (they
/// cannot be verified; `compact()` rewrites them sealed).
enum RecordCodec {
    /// Records written before checksums.
    static let unsealedVersion: UInt8 = 1
    /// Records sealed with a checksum; what `encode` writes.
    static let version: UInt8 = 2
    /// Version byte and checksum.
    static let sealedHeader = 9

    enum Tag: UInt8 {
        case string = 1
        case int = 2
        case double = 3
        case bool = 4
        case strings = 5
    }

    static func encode(id: String, text: String, metadata: [String: MetadataValue]) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(sealedHeader + id.utf8.count + text.utf8.count + 16 + metadata.count * 24)
        out.append(version)
        out += [UInt8](repeating: 0, count: 8)
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
        seal(&out)
        return out
    }

    /// Writes the checksum of `out[sealedHeader...]` into a sealed record's header.
    private static func seal(_ out: inout [UInt8]) {
        out.withUnsafeMutableBytes { b in
            let sum = quiver_xxh64(b.baseAddress! + sealedHeader, b.count - sealedHeader).littleEndian
            withUnsafeBytes(of: sum) { (b.baseAddress! + 1).copyMemory(from: $0.baseAddress!, byteCount: 8) }
        }
    }

    /// A version 1 record rewritten sealed (the same fields); nil when `bytes` is not an
    /// unsealed record.
    static func sealed(_ bytes: UnsafeRawBufferPointer) -> [UInt8]? {
        guard bytes.first == unsealedVersion else { return nil }
        var out = [UInt8](repeating: 0, count: sealedHeader + bytes.count - 1)
        out[0] = version
        out.withUnsafeMutableBytes {
            $0.baseAddress!.advanced(by: sealedHeader).copyMemory(from: bytes.baseAddress! + 1, byteCount: bytes.count - 1)
        }
        seal(&out)
        return out
    }

    /// Whether a record's checksum matches its bytes: nil for a record written before
    /// checksums (or too short or of an unknown version to say), which cannot be verified.
    static func checksumMatches(_ bytes: UnsafeRawBufferPointer) -> Bool? {
        guard bytes.first == version, bytes.count >= sealedHeader else { return nil }
        let stored = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 1, as: UInt64.self))
        return quiver_xxh64(bytes.baseAddress! + sealedHeader, bytes.count - sealedHeader) == stored
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

    /// Decodes a record; a sealed one is verified first unless `verify` is false (removing
    /// a damaged record must still be possible).
    ///
    /// - Throws: `.corrupted` naming the row (and `collection`), for a record that fails its
    ///   checksum or does not decode.
    static func decode(
        _ bytes: UnsafeRawBufferPointer, rowID: UInt64, collection: String? = nil, verify: Bool = true
    ) throws -> Decoded {
        var r = try Reader(fields: bytes, rowID: rowID, collection: collection)
        if verify, checksumMatches(bytes) == false {
            let stored = (try? decodeID(bytes, rowID: rowID)).map { " (id \"\($0)\" as stored)" } ?? ""
            throw StoreError(
                .corrupted,
                "record row \(rowID)\(collection.map { " of \"\($0)\"" } ?? "")\(stored) fails its checksum: its text or "
                    + "metadata is damaged. `quiver check` lists every damaged record; delete and re-index the document, "
                    + "or restore the store from a backup",
                input: "row \(rowID)", collection: collection)
        }
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
        var r = try Reader(fields: bytes, rowID: rowID, collection: nil)
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
        let collection: String?
        var offset = 0

        /// A reader placed at the first field (after the version byte, and the checksum
        /// of a sealed record).
        init(fields bytes: UnsafeRawBufferPointer, rowID: UInt64, collection: String?) throws {
            self.bytes = bytes
            self.rowID = rowID
            self.collection = collection
            switch try byte() {
            case RecordCodec.unsealedVersion: break
            case RecordCodec.version:
                guard bytes.count >= RecordCodec.sealedHeader else { throw fail("truncated") }
                offset = RecordCodec.sealedHeader
            default: throw fail("unknown record version")
            }
        }

        func fail(_ why: String) -> StoreError {
            StoreError(
                .corrupted,
                "record row \(rowID)\(collection.map { " of \"\($0)\"" } ?? "") does not decode: \(why) at byte \(offset)",
                input: "row \(rowID)", collection: collection)
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
