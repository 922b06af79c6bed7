/// The vectors of an OpenAI embeddings answer read straight from its bytes: the `data`
/// list's `index` and base64 `embedding` of each item, without building Foundation's
/// object tree (`JSONSerialization` took 1.1–1.8 ms of a 64 × 384 answer, most of a batch's
/// client time; a 1536-dimensional one is four times larger).
///
/// A shortcut, not a second parser of record: it returns nil for anything it does not
/// handle exactly as the general path would, and the caller then parses the answer with
/// `JSONSerialization` (which reports the errors). It handles ASCII bodies that are one
/// valid JSON object, whose `data` items hold an integer `index` (or none) and a base64
/// string `embedding`; escapes in keys or in the base64 text, non-ASCII bytes, number
/// arrays, repeated keys and nesting deeper than 64 levels all go to the general path.
/// Every other value is checked against the JSON grammar as it is skipped, so a body
/// `JSONSerialization` would refuse is never accepted here.
struct EmbeddingResponseScanner {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var at = 0

    private init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    /// Vectors by position (each item's `index`, else its place in the list), or nil.
    static func vectors(_ body: [UInt8]) -> [[Float]]? {
        body.withUnsafeBufferPointer { buffer in
            var scanner = EmbeddingResponseScanner(buffer)
            return scanner.document()
        }
    }

    private mutating func document() -> [[Float]]? {
        var data: [(index: Int?, vector: [Float])]?
        skipSpace()
        let read = object { s, key in
            guard key == "data" else { return s.skipValue(depth: 1) }
            data = s.items()
            return data != nil
        }
        skipSpace()
        guard read, at == bytes.count, let data else { return nil }
        var vectors = [[Float]?](repeating: nil, count: data.count)
        for (position, item) in data.enumerated() {
            let index = item.index ?? position
            guard index >= 0, index < vectors.count, vectors[index] == nil else { return nil }
            vectors[index] = item.vector
        }
        return vectors.compactMap { $0 }  // each position filled once: as many as items
    }

    /// The `data` list: each item's `index` (nil when absent) and vector.
    private mutating func items() -> [(index: Int?, vector: [Float])]? {
        guard next(0x5B) else { return nil }  // [
        var out: [(index: Int?, vector: [Float])] = []
        skipSpace()
        if next(0x5D) { return out }
        repeat {
            skipSpace()
            var index: Int?
            var vector: [Float]?
            let read = object { s, key in
                switch key {
                case "index":
                    index = s.integer()
                    return index != nil
                case "embedding":
                    vector = s.base64Floats()
                    return vector != nil
                default:
                    return s.skipValue(depth: 3)
                }
            }
            guard read, let vector else { return nil }
            out.append((index, vector))
            skipSpace()
        } while next(0x2C)
        guard next(0x5D) else { return nil }
        return out
    }

    /// Walks an object whose keys have no escapes and are not repeated, calling `member`
    /// with each key to read its value (and say whether it could); false when anything
    /// else is off.
    private mutating func object(_ member: (inout EmbeddingResponseScanner, String) -> Bool) -> Bool {
        guard next(0x7B) else { return false }  // {
        var keys: Set<String> = []
        skipSpace()
        if next(0x7D) { return true }
        repeat {
            skipSpace()
            guard let key = key(), keys.insert(key).inserted else { return false }
            skipSpace()
            guard next(0x3A) else { return false }  // :
            skipSpace()
            guard member(&self, key) else { return false }
            skipSpace()
        } while next(0x2C)  // ,
        return next(0x7D)
    }

    // MARK: Values

    /// A key without escapes.
    private mutating func key() -> String? {
        guard next(0x22) else { return nil }
        let start = at
        while at < bytes.count, bytes[at] != 0x22 {
            let b = bytes[at]
            guard b >= 0x20, b < 0x80, b != 0x5C else { return nil }
            at += 1
        }
        guard at < bytes.count else { return nil }
        let key = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<at]), as: UTF8.self)
        at += 1
        return key
    }

    /// A JSON integer literal that fits an `Int` (no fraction, no exponent).
    private mutating func integer() -> Int? {
        let negative = next(0x2D)
        guard at < bytes.count, isDigit(bytes[at]) else { return nil }
        if bytes[at] == 0x30, at + 1 < bytes.count, isDigit(bytes[at + 1]) { return nil }  // leading zero
        var value = 0
        while at < bytes.count, isDigit(bytes[at]) {
            let (times, o1) = value.multipliedReportingOverflow(by: 10)
            let (plus, o2) = times.addingReportingOverflow(Int(bytes[at] - 0x30))
            guard !o1, !o2 else { return nil }
            value = plus
            at += 1
        }
        if at < bytes.count, bytes[at] == 0x2E || bytes[at] == 0x65 || bytes[at] == 0x45 { return nil }  // . e E
        return negative ? -value : value
    }

    /// A base64 string (standard alphabet, padded, as `Data(base64Encoded:)` takes it) of
    /// little-endian float32s.
    private mutating func base64Floats() -> [Float]? {
        guard next(0x22) else { return nil }
        let start = at
        while at < bytes.count, bytes[at] != 0x22 { at += 1 }
        guard at < bytes.count else { return nil }
        let end = at
        at += 1
        let length = end - start
        guard length % 4 == 0 else { return nil }
        var padding = 0
        if length > 0, bytes[end - 1] == 0x3D { padding += 1 }
        if length > 1, bytes[end - 2] == 0x3D { padding += 1 }
        let decodedCount = length / 4 * 3 - padding
        guard decodedCount % 4 == 0 else { return nil }
        var out = [Float](repeating: 0, count: decodedCount / 4)
        let ok = out.withUnsafeMutableBytes { raw -> Bool in
            var o = 0
            var i = start
            while i < end {
                let a = Self.sextet[Int(bytes[i])]
                let b = Self.sextet[Int(bytes[i + 1])]
                guard a < 64, b < 64 else { return false }
                let last = i + 4 == end
                let c3 = bytes[i + 2]
                let c4 = bytes[i + 3]
                if last && c4 == 0x3D {
                    if c3 == 0x3D {
                        guard b & 0x0F == 0 else { return false }  // the bits padding drops must be zero
                        raw[o] = a << 2 | b >> 4
                        o += 1
                    } else {
                        let c = Self.sextet[Int(c3)]
                        guard c < 64, c & 0x03 == 0 else { return false }
                        raw[o] = a << 2 | b >> 4
                        raw[o + 1] = (b & 0x0F) << 4 | c >> 2
                        o += 2
                    }
                } else {
                    let c = Self.sextet[Int(c3)]
                    let d = Self.sextet[Int(c4)]
                    guard c < 64, d < 64 else { return false }
                    raw[o] = a << 2 | b >> 4
                    raw[o + 1] = (b & 0x0F) << 4 | c >> 2
                    raw[o + 2] = (c & 0x03) << 6 | d
                    o += 3
                }
                i += 4
            }
            return o == decodedCount
        }
        guard ok else { return nil }
        #if _endian(big)
            for j in out.indices { out[j] = Float(bitPattern: UInt32(littleEndian: out[j].bitPattern)) }
        #endif
        return out
    }

    /// Skips one value, checking it against the JSON grammar.
    private mutating func skipValue(depth: Int) -> Bool {
        guard depth <= 64, at < bytes.count else { return false }
        switch bytes[at] {
        case 0x22: return skipString()
        case 0x7B:
            at += 1
            skipSpace()
            if next(0x7D) { return true }
            repeat {
                skipSpace()
                guard skipString() else { return false }
                skipSpace()
                guard next(0x3A) else { return false }
                skipSpace()
                guard skipValue(depth: depth + 1) else { return false }
                skipSpace()
            } while next(0x2C)
            return next(0x7D)
        case 0x5B:
            at += 1
            skipSpace()
            if next(0x5D) { return true }
            repeat {
                skipSpace()
                guard skipValue(depth: depth + 1) else { return false }
                skipSpace()
            } while next(0x2C)
            return next(0x5D)
        case 0x74: return literal("true")
        case 0x66: return literal("false")
        case 0x6E: return literal("null")
        default: return skipNumber()
        }
    }

    private mutating func skipString() -> Bool {
        guard next(0x22) else { return false }
        while at < bytes.count {
            let b = bytes[at]
            at += 1
            switch b {
            case 0x22: return true
            case 0x5C:
                guard at < bytes.count else { return false }
                let e = bytes[at]
                at += 1
                switch e {
                case 0x22, 0x5C, 0x2F, 0x62, 0x66, 0x6E, 0x72, 0x74: continue
                case 0x75:  // \uXXXX: lone surrogates go to the general path
                    guard at + 4 <= bytes.count else { return false }
                    var unit = 0
                    for h in bytes[at..<at + 4] {
                        guard let v = hexValue(h) else { return false }
                        unit = unit << 4 | v
                    }
                    guard !(0xD800...0xDFFF).contains(unit) else { return false }
                    at += 4
                default: return false
                }
            default:
                guard b >= 0x20, b < 0x80 else { return false }
            }
        }
        return false
    }

    private mutating func skipNumber() -> Bool {
        _ = next(0x2D)
        guard at < bytes.count, isDigit(bytes[at]) else { return false }
        if bytes[at] == 0x30 {
            at += 1
        } else {
            while at < bytes.count, isDigit(bytes[at]) { at += 1 }
        }
        if next(0x2E) {
            guard at < bytes.count, isDigit(bytes[at]) else { return false }
            while at < bytes.count, isDigit(bytes[at]) { at += 1 }
        }
        if at < bytes.count, bytes[at] == 0x65 || bytes[at] == 0x45 {
            at += 1
            if !next(0x2B) { _ = next(0x2D) }
            guard at < bytes.count, isDigit(bytes[at]) else { return false }
            while at < bytes.count, isDigit(bytes[at]) { at += 1 }
        }
        return true
    }

    private mutating func literal(_ word: StaticString) -> Bool {
        let n = word.utf8CodeUnitCount
        guard at + n <= bytes.count else { return false }
        for i in 0..<n where bytes[at + i] != word.utf8Start[i] { return false }
        at += n
        return true
    }

    // MARK: Bytes

    private mutating func next(_ byte: UInt8) -> Bool {
        guard at < bytes.count, bytes[at] == byte else { return false }
        at += 1
        return true
    }

    private mutating func skipSpace() {
        while at < bytes.count, bytes[at] == 0x20 || bytes[at] == 0x0A || bytes[at] == 0x0D || bytes[at] == 0x09 { at += 1 }
    }

    private func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    private func hexValue(_ b: UInt8) -> Int? {
        switch b {
        case 0x30...0x39: return Int(b - 0x30)
        case 0x41...0x46: return Int(b - 0x41 + 10)
        case 0x61...0x66: return Int(b - 0x61 + 10)
        default: return nil
        }
    }

    /// Base64 digit values by byte; 255 for bytes outside the alphabet.
    private static let sextet: [UInt8] = {
        var table = [UInt8](repeating: 255, count: 256)
        for (i, c) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() { table[Int(c)] = UInt8(i) }
        return table
    }()
}
