import Foundation

/// The on-disk format, declared in one place: database names, key layouts and value
/// codecs. `Store.open` checks `Format.version`; any change here that old readers cannot
/// read must bump it.
enum Format {
    /// Written on creation and checked on open.
    static let version: UInt32 = 1
    static let magic: [UInt8] = Array("quiver-store".utf8)

    // Environment-wide databases.
    static let metaDB = "quiver.meta"  // "magic" → magic bytes, "version" → u32 LE
    static let collectionsDB = "quiver.collections"  // name (UTF-8) → CollectionDescriptor JSON
    static let stateDB = "quiver.state"  // cid u32 BE → CollectionCounters (24 bytes)
    static let trashDB = "quiver.trash"  // database name → empty; dropped on next open

    /// Per-collection databases, named by the collection's never-reused numeric id.
    enum Table: String, CaseIterable {
        case blocks = "b"  // blockNo u64 BE → block value (see BlockLayout)
        case tombs = "t"  // blockNo u64 BE → dead u32 LE + bitmap (bit i = slot i deleted)
        case records = "r"  // rowid u64 BE → RecordCodec bytes
        case locations = "l"  // rowid u64 BE → blockNo u64 LE + slot u32 LE
        case ids = "i"  // record id (UTF-8) → rowid u64 BE
        case index = "x"  // IndexKey → rowid u64 BE (DUPSORT | DUPFIXED)

        func name(cid: UInt32) -> String { "c\(cid).\(rawValue)" }
        var flags: DBFlags { self == .index ? [.create, .dupSort, .dupFixed] : [.create] }
    }

    // Limits that keep keys under LMDB's 511-byte maximum and values sane.
    static let maxIDBytes = 256
    static let maxFieldNameBytes = 128
    static let maxMetadataBytes = 64 * 1024
    static let maxCollectionNameBytes = 128
}

/// Mutable per-collection counters, stored in `quiver.state`.
struct CollectionCounters {
    var nextRowID: UInt64 = 1
    var nextBlockNo: UInt64 = 1
    var live: UInt64 = 0

    static let size = 24

    init() {}

    init(bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count == Self.size else {
            throw StoreError(.corrupted, "collection counters have \(bytes.count) bytes, expected \(Self.size)")
        }
        nextRowID = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        nextBlockNo = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        live = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 16, as: UInt64.self))
    }

    var bytes: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(Self.size)
        for v in [nextRowID, nextBlockNo, live] { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        return out
    }
}

/// A record's location: which block and which slot in it.
struct RowLocation: Equatable {
    var block: UInt64
    var slot: UInt32

    static let size = 12

    init(block: UInt64, slot: UInt32) {
        self.block = block
        self.slot = slot
    }

    init(bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count == Self.size else {
            throw StoreError(.corrupted, "row location has \(bytes.count) bytes, expected \(Self.size)")
        }
        block = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        slot = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
    }

    func withBytes<T>(_ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        var raw: (UInt64, UInt32) = (block.littleEndian, slot.littleEndian)
        return try withUnsafeBytes(of: &raw) { try body(UnsafeRawBufferPointer(rebasing: $0[0..<Self.size])) }
    }
}

/// Layout of a block value: a 64-byte header (magic u32, count u32, dim u32, encoding u8
/// at offset 12 — 0 for f32, which blocks written before encodings were recorded have —
/// then zeros), `count` stored vectors of the collection's encoding, `count` float32
/// squared norms, padding to 8, `count` u64 LE row ids (ascending). Values are padded to at
/// least `minBytes` so LMDB always stores them in overflow pages, which start 16-byte
/// aligned in the map: f32 vectors are read in place by BLAS.
struct BlockLayout {
    static let magic: UInt32 = 0x3142_5651  // "QVB1"
    static let headerBytes = 64
    static let encodingOffset = 12
    static let minBytes = 4096

    let count: Int
    let dim: Int
    let codec: any VectorCodec

    var bytesPerVector: Int { codec.bytesPerVector(dimension: dim) }
    var vectorsOffset: Int { Self.headerBytes }
    var normsOffset: Int { vectorsOffset + count * bytesPerVector }
    var rowIDsOffset: Int { (normsOffset + count * 4 + 7) & ~7 }
    var totalBytes: Int { max(Self.minBytes, rowIDsOffset + count * 8) }

    func writeHeader(_ out: UnsafeMutableRawBufferPointer) {
        out.storeBytes(of: Self.magic.littleEndian, toByteOffset: 0, as: UInt32.self)
        out.storeBytes(of: UInt32(count).littleEndian, toByteOffset: 4, as: UInt32.self)
        out.storeBytes(of: UInt32(dim).littleEndian, toByteOffset: 8, as: UInt32.self)
        for i in 12..<Self.headerBytes { out[i] = 0 }
        out[Self.encodingOffset] = codec.headerCode
    }
}

/// A block read in place from the map. Valid only inside its transaction.
struct BlockView {
    let blockNo: UInt64
    let count: Int
    let dim: Int
    /// The codec of the block's (and collection's) encoding.
    let codec: any VectorCodec
    /// Bytes one stored vector takes.
    let bytesPerVector: Int
    /// The first stored vector.
    let vectors: UnsafeRawPointer
    let normsSquared: UnsafePointer<Float>
    let rowIDs: UnsafeRawPointer
    /// Tombstone bitmap (nil when nothing in the block is deleted) and dead count.
    var tombs: UnsafeRawBufferPointer?
    var dead: Int

    init(blockNo: UInt64, value: UnsafeRawBufferPointer, expectedDim: Int, encoding: VectorEncoding) throws {
        guard value.count >= BlockLayout.headerBytes, let base = value.baseAddress else {
            throw StoreError(.corrupted, "block \(blockNo) is \(value.count) bytes, shorter than its header")
        }
        let magic = UInt32(littleEndian: value.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
        let count = Int(UInt32(littleEndian: value.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
        let dim = Int(UInt32(littleEndian: value.loadUnaligned(fromByteOffset: 8, as: UInt32.self)))
        guard magic == BlockLayout.magic else { throw StoreError(.corrupted, "block \(blockNo) has a bad magic number") }
        guard dim == expectedDim else {
            throw StoreError(.corrupted, "block \(blockNo) has dimension \(dim), collection has \(expectedDim)")
        }
        let code = value[BlockLayout.encodingOffset]
        guard VectorEncoding.fromHeaderCode(code) == encoding else {
            throw StoreError(
                .corrupted, "block \(blockNo) has vector encoding code \(code), the collection stores \(encoding.rawValue)")
        }
        let codec = encoding.codec
        let layout = BlockLayout(count: count, dim: dim, codec: codec)
        guard value.count >= layout.rowIDsOffset + count * 8 else {
            throw StoreError(.corrupted, "block \(blockNo) is \(value.count) bytes, \(count) rows need \(layout.totalBytes)")
        }
        // Overflow pages are 16-byte aligned; anything else means the value was stored inline.
        guard Int(bitPattern: base) % 16 == 0 else {
            throw StoreError(.corrupted, "block \(blockNo) is not 16-byte aligned in the map")
        }
        self.blockNo = blockNo
        self.count = count
        self.dim = dim
        self.codec = codec
        bytesPerVector = layout.bytesPerVector
        vectors = UnsafeRawPointer(base + layout.vectorsOffset)
        normsSquared = (base + layout.normsOffset).assumingMemoryBound(to: Float.self)
        rowIDs = base + layout.rowIDsOffset
        tombs = nil
        dead = 0
    }

    /// The stored vector of `slot`.
    @inline(__always) func vector(_ slot: Int) -> UnsafeRawPointer { vectors + slot * bytesPerVector }

    @inline(__always) func rowID(_ slot: Int) -> UInt64 {
        UInt64(littleEndian: rowIDs.loadUnaligned(fromByteOffset: slot * 8, as: UInt64.self))
    }

    @inline(__always) func isDeleted(_ slot: Int) -> Bool {
        guard let tombs else { return false }
        return tombs[4 + slot >> 3] & (1 << UInt8(slot & 7)) != 0
    }

    var live: Int { count - dead }
}

/// Order-preserving keys for the metadata index: `field 0x00 tag value`.
enum IndexKey {
    static let existsTag: UInt8 = UInt8(ascii: "e")
    static let stringTag: UInt8 = UInt8(ascii: "s")
    static let numberTag: UInt8 = UInt8(ascii: "n")
    static let boolTag: UInt8 = UInt8(ascii: "b")
    /// Longer strings are indexed by a prefix plus a hash (0xFF never occurs in UTF-8).
    /// Keeps the longest key (field 128 + 2 + 360 + 1 + 8 = 499 bytes) under LMDB's 511.
    static let maxVerbatimString = 360

    static func prefix(_ field: String, _ tag: UInt8) -> [UInt8] {
        var k = Array(field.utf8)
        k.append(0)
        k.append(tag)
        return k
    }

    static func exists(_ field: String) -> [UInt8] { prefix(field, existsTag) }

    static func string(_ field: String, _ value: String) -> [UInt8] {
        var k = prefix(field, stringTag)
        let bytes = Array(value.utf8)
        if bytes.count <= maxVerbatimString {
            k += bytes
        } else {
            k += bytes[0..<maxVerbatimString]
            k.append(0xFF)
            var h: UInt64 = 0xcbf2_9ce4_8422_2325
            for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
            withUnsafeBytes(of: h.bigEndian) { k += $0 }
        }
        return k
    }

    static func number(_ field: String, _ value: Double) -> [UInt8] {
        var k = prefix(field, numberTag)
        withUnsafeBytes(of: orderedBits(value).bigEndian) { k += $0 }
        return k
    }

    static func bool(_ field: String, _ value: Bool) -> [UInt8] {
        var k = prefix(field, boolTag)
        k.append(value ? 1 : 0)
        return k
    }

    /// Maps a double to an unsigned integer with the same order (and -0 == +0).
    static func orderedBits(_ value: Double) -> UInt64 {
        let v = value == 0 ? 0.0 : value
        let bits = v.bitPattern
        return bits & (1 << 63) != 0 ? ~bits : bits | (1 << 63)
    }

    /// Every index key a metadata dictionary produces.
    static func keys(for metadata: [String: MetadataValue]) -> [[UInt8]] {
        var out: [[UInt8]] = []
        out.reserveCapacity(metadata.count * 2)
        for (field, value) in metadata {
            out.append(exists(field))
            switch value {
            case .string(let s): out.append(string(field, s))
            case .int(let i): out.append(number(field, Double(i)))
            case .double(let d): out.append(number(field, d))
            case .bool(let b): out.append(bool(field, b))
            case .strings(let list):
                for s in Set(list) { out.append(string(field, s)) }
            }
        }
        return out
    }
}
