import CQuiverKernels
import Foundation

/// The on-disk format, declared in one place: database names, key layouts (`KeyCodec`s:
/// every table is a `Table<KeyCodec>`, and no other code builds key bytes) and value
/// codecs. `Store.open` checks `Format.version`; any change here that old readers cannot
/// read must bump it. A store written by format 1 is a test fixture
/// (`Tests/VectorStoreTests/Fixtures/format-1`) that every later format must open.
///
/// Collections record their vector encoding (absent: f32, which format-1 readers also
/// read). Creating a collection of a compact encoding (f16, int8) raises the store's
/// version to `compactEncodingsVersion`, so that older readers refuse the store instead
/// of reading its blocks as f32; a store of f32 collections stays at version 1.
///
/// Building a partitioned (IVF) index raises the version to `ivfVersion`: its blocks each
/// belong to one list (header bytes older readers ignore), and an older writer would
/// merge blocks across lists and leave the centroid table behind when dropping.
///
/// Writing records raises the version to `sealedRecordsVersion`: records carry a checksum
/// (`RecordCodec`) that older readers would take for an unknown record version.
///
/// Writing a block of a compact collection raises the version to `blockCopiesVersion`:
/// the block carries its rows' float32 copies after the row ids (header flag
/// `BlockLayout.copiesFlagOffset`), where older readers look them up in the collection's
/// float32 table, which no longer holds them. Blocks written before keep their copies in
/// that table until a merge rewrites them.
enum Format {
    /// The newest version this Quiver reads and writes; checked on open.
    static let version: UInt32 = 6
    /// Written when a store is created.
    static let baseVersion: UInt32 = 1
    /// The version of a store holding a collection of a compact encoding.
    static let compactEncodingsVersion: UInt32 = 2
    /// The version of a store holding a collection with a partitioned (IVF) index.
    static let ivfVersion: UInt32 = 3
    /// The version of a store holding a keyword index whose postings are compressed
    /// blocks (`PostingBlock`); older readers expected 16-byte duplicates, and would
    /// rebuild the index beside the blocks, which then go stale.
    static let keywordBlocksVersion: UInt32 = 4
    /// The version of a store holding records sealed with a checksum (`RecordCodec`
    /// version 2), which older readers cannot decode.
    static let sealedRecordsVersion: UInt32 = 5
    /// The version of a store holding blocks that carry their rows' float32 copies.
    static let blockCopiesVersion: UInt32 = 6
    static let magic: [UInt8] = Array("quiver-store".utf8)

    // Environment-wide databases.
    static let metaDB = "quiver.meta"  // UTF8Key MetaKey → magic bytes, version u32 LE, next cid u32 LE
    static let collectionsDB = "quiver.collections"  // UTF8Key name → CollectionInfo JSON
    static let stateDB = "quiver.state"  // U32Key cid → CollectionCounters (24 bytes)
    static let trashDB = "quiver.trash"  // UTF8Key database name → empty; dropped on next open
    /// The environment-wide databases, in the order `Store` opens them.
    static let storeTables = [metaDB, collectionsDB, stateDB, trashDB]

    /// The prefix of every table name of the collection numbered `cid`.
    static func tablePrefix(cid: UInt32) -> String { "c\(cid)." }

    /// Per-collection databases, named by the collection's never-reused numeric id.
    enum Table: String, CaseIterable {
        case blocks = "b"  // U64Key blockNo → block value (BlockLayout)
        case tombs = "t"  // U64Key blockNo → dead u32 LE + bitmap (bit i = slot i deleted)
        case records = "r"  // U64Key rowid → RecordCodec bytes
        case locations = "l"  // U64Key rowid → RowLocation (blockNo u64 LE + slot u32 LE)
        case ids = "i"  // UTF8Key record id → RowIDValue (rowid u64 BE)
        case index = "x"  // IndexKeyBytes (IndexKey) → RowIDValue duplicates (DUPSORT | DUPFIXED)

        func name(cid: UInt32) -> String { tablePrefix(cid: cid) + rawValue }
        var flags: DBFlags { self == .index ? [.create, .dupSort, .dupFixed] : [.create] }
    }

    /// A collection's keyword-index tables, there when it has a keyword index (a
    /// collection created before keyword indexes gets them from `buildKeywordIndex`).
    enum KeywordTable: String, CaseIterable {
        case postings = "kb"  // TermRowKey (term, first row) → PostingBlock, a term's blocks ascending by row
        case stats = "ks"  // UTF8Key "docs" → KeywordStats (16 bytes)
        case segments = "kg"  // U64Key first row → KeywordSegment (the postings of one write's rows)
        case deleted = "kd"  // U64Key row → 1 byte: rows deleted while their postings are in a segment
        case frequencies = "kn"  // term UTF-8 bytes → u64 LE: the term's postings in its list (blocks)

        func name(cid: UInt32) -> String { tablePrefix(cid: cid) + rawValue }
        var flags: DBFlags { [.create] }

        /// The term lists of keyword indexes built before `keywordBlocksVersion`: term →
        /// 16-byte postings as duplicates (DUPSORT | DUPFIXED). A collection that has it
        /// and no `postings` table has such an index, which is rebuilt, not read.
        static func legacyPostingsName(cid: UInt32) -> String { "c\(cid).kp" }
    }

    /// A compact-encoding collection's float32 copies of its vectors, from which searches
    /// rescore their candidates (and `get` returns vectors).
    enum RescoreTable: String, CaseIterable {
        case full = "v"  // U64Key rowid → dimension × f32 LE (normalized under cosine)

        func name(cid: UInt32) -> String { tablePrefix(cid: cid) + rawValue }
        var flags: DBFlags { [.create] }
    }

    /// A collection's partitioned (IVF) index: its centroids. Which list a vector is in is
    /// the list of its block (`BlockLayout.ivfGenerationOffset`), so a probe scores whole
    /// blocks in place.
    enum IVFTable: String, CaseIterable {
        case centroids = "pc"  // UTF8Key "centroids" → IVFCentroids bytes, "generation" → u32 LE

        func name(cid: UInt32) -> String { tablePrefix(cid: cid) + rawValue }
        var flags: DBFlags { [.create] }
        /// The centroid table's keys: the centroids (absent after the index is dropped) and
        /// the last generation ever trained (u32 LE; kept, so none is reused).
        static let centroidsKey = "centroids"
        static let generationKey = "generation"
    }

    /// Tables per collection, at most.
    static let tablesPerCollection =
        Table.allCases.count + KeywordTable.allCases.count + 1 + RescoreTable.allCases.count + IVFTable.allCases.count

    /// Every table name a collection may have (a format 1–3 keyword index's too).
    static func allTableNames(cid: UInt32) -> [String] {
        Table.allCases.map { $0.name(cid: cid) } + KeywordTable.allCases.map { $0.name(cid: cid) }
            + [KeywordTable.legacyPostingsName(cid: cid)]
            + RescoreTable.allCases.map { $0.name(cid: cid) } + IVFTable.allCases.map { $0.name(cid: cid) }
    }

    // Limits that keep keys under LMDB's 511-byte maximum and values sane.
    static let maxIDBytes = 256
    static let maxFieldNameBytes = 128
    static let maxMetadataBytes = 64 * 1024
    static let maxCollectionNameBytes = 128
}

// MARK: Typed tables

/// How keys of one layout become LMDB key bytes and back. Every key of the store is
/// built by one of these; no other code builds key bytes.
protocol KeyCodec {
    associatedtype Value
    /// Runs `body` with the key bytes of `value`.
    static func withBytes<R>(_ value: Value, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R
    /// The value of key bytes read from a cursor.
    static func decode(_ bytes: UnsafeRawBufferPointer) throws -> Value
}

/// A keyword term list's block key: the term's UTF-8 bytes, a 0 byte (terms hold none,
/// `KeywordIndex.indexable`), and the block's first row as 8 big-endian bytes. A term's
/// blocks are adjacent and ascend by row (a longer term that starts with this one sorts
/// after them: its next byte is above 0, where a row's first byte is 0 below 2^56).
enum TermRowKey {
    static func withBytes<R>(_ term: UnsafeRawBufferPointer, _ row: UInt64, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeTemporaryAllocation(byteCount: term.count + 9, alignment: 8) { k in
            if let t = term.baseAddress, term.count > 0 { k.baseAddress!.copyMemory(from: t, byteCount: term.count) }
            k[term.count] = 0
            k.storeBytes(of: row.bigEndian, toByteOffset: term.count + 1, as: UInt64.self)
            return try body(UnsafeRawBufferPointer(k))
        }
    }

    /// The first row of `key` when it is a key of `term`'s blocks, else nil.
    @inline(__always)
    static func row(_ key: UnsafeRawBufferPointer, of term: UnsafeRawBufferPointer) -> UInt64? {
        guard key.count == term.count + 9, key[term.count] == 0 else { return nil }
        if term.count > 0, memcmp(key.baseAddress!, term.baseAddress!, term.count) != 0 { return nil }
        return UInt64(bigEndian: key.loadUnaligned(fromByteOffset: term.count + 1, as: UInt64.self))
    }

    /// The term and first row of a key, nil when it is not one.
    static func split(_ key: UnsafeRawBufferPointer) -> (term: UnsafeRawBufferPointer, row: UInt64)? {
        guard key.count >= 10, key[key.count - 9] == 0 else { return nil }
        let term = UnsafeRawBufferPointer(rebasing: key[0..<key.count - 9])
        return (term, UInt64(bigEndian: key.loadUnaligned(fromByteOffset: key.count - 8, as: UInt64.self)))
    }
}

/// A u64 as 8 big-endian bytes (row ids, block numbers): keys sort numerically, so appends
/// in order can use `MDB_APPEND`.
enum U64Key: KeyCodec {
    static func withBytes<R>(_ value: UInt64, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        var be = value.bigEndian
        return try withUnsafeBytes(of: &be) { try body($0) }
    }

    static func decode(_ bytes: UnsafeRawBufferPointer) throws -> UInt64 {
        guard bytes.count == 8 else { throw StoreError(.corrupted, "a numeric key has \(bytes.count) bytes, expected 8") }
        return UInt64(bigEndian: bytes.loadUnaligned(as: UInt64.self))
    }
}

/// A u32 as 4 big-endian bytes (collection numbers).
enum U32Key: KeyCodec {
    static func withBytes<R>(_ value: UInt32, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        var be = value.bigEndian
        return try withUnsafeBytes(of: &be) { try body($0) }
    }

    static func decode(_ bytes: UnsafeRawBufferPointer) throws -> UInt32 {
        guard bytes.count == 4 else { throw StoreError(.corrupted, "a collection number key has \(bytes.count) bytes, expected 4") }
        return UInt32(bigEndian: bytes.loadUnaligned(as: UInt32.self))
    }
}

/// A string as its UTF-8 bytes (collection names, record ids, metadata keys, table names).
enum UTF8Key: KeyCodec {
    static func withBytes<R>(_ value: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        var value = value
        return try value.withUTF8 { try body(UnsafeRawBufferPointer($0)) }
    }

    static func decode(_ bytes: UnsafeRawBufferPointer) throws -> String { String(decoding: bytes, as: UTF8.self) }
}

/// Key bytes already laid out by `IndexKey` (the metadata index).
enum IndexKeyBytes: KeyCodec {
    static func withBytes<R>(_ value: [UInt8], _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try value.withUnsafeBytes { try body($0) }
    }

    static func decode(_ bytes: UnsafeRawBufferPointer) throws -> [UInt8] { Array(bytes) }
}

/// An LMDB table whose keys have one layout. Values are bytes, read in place from the map
/// (valid only inside the transaction) and decoded by the value types below.
struct Table<Key: KeyCodec> {
    let dbi: DBI

    /// The value under `key`, or nil. An empty key (an empty id or name) is never stored:
    /// LMDB refuses one (MDB_BAD_VALSIZE) instead of missing it, so it is missing here.
    func get(_ txn: Transaction, _ key: Key.Value) throws -> UnsafeRawBufferPointer? {
        try Key.withBytes(key) { $0.isEmpty ? nil : try txn.get(dbi, $0) }
    }

    /// Stores `value` under `key`.
    func put(_ txn: Transaction, _ key: Key.Value, _ value: UnsafeRawBufferPointer, _ flags: PutFlags = []) throws {
        try Key.withBytes(key) { try txn.put(dbi, $0, value, flags) }
    }

    /// Stores `value` under `key`.
    func put(_ txn: Transaction, _ key: Key.Value, bytes value: [UInt8], _ flags: PutFlags = []) throws {
        try value.withUnsafeBytes { v in try put(txn, key, v, flags) }
    }

    /// Reserves `size` bytes under `key` to fill before the transaction's next write.
    func reserve(_ txn: Transaction, _ key: Key.Value, size: Int) throws -> UnsafeMutableRawBufferPointer {
        try Key.withBytes(key) { try txn.reserve(dbi, $0, size: size) }
    }

    /// Deletes `key` (only the duplicate `value` when given); false when nothing was there.
    @discardableResult
    func delete(_ txn: Transaction, _ key: Key.Value, value: UnsafeRawBufferPointer? = nil) throws -> Bool {
        try Key.withBytes(key) { $0.isEmpty ? false : try txn.delete(dbi, $0, value: value) }
    }

    /// Puts many row ids (big-endian u64) under one key of a duplicate-sorted table.
    func putRows(_ txn: Transaction, _ key: Key.Value, _ rows: [UInt64]) throws {
        let be = rows.map { $0.bigEndian }
        try Key.withBytes(key) { k in try be.withUnsafeBytes { try txn.putMultiple(dbi, k, values: $0, elementSize: 8) } }
    }

    /// Deletes one row id from the duplicates under `key`.
    @discardableResult
    func deleteRow(_ txn: Transaction, _ key: Key.Value, _ row: UInt64) throws -> Bool {
        var be = row.bigEndian
        return try withUnsafeBytes(of: &be) { r in try delete(txn, key, value: r) }
    }
}

/// A row id stored as a value (the id table, the metadata index): 8 big-endian bytes.
enum RowIDValue {
    static func decode(_ bytes: UnsafeRawBufferPointer, _ what: @autoclosure () -> String) throws -> UInt64 {
        guard bytes.count == 8 else { throw StoreError(.corrupted, "\(what()) maps to \(bytes.count) bytes, expected 8") }
        return UInt64(bigEndian: bytes.loadUnaligned(as: UInt64.self))
    }

    /// Appends every row id of a page of duplicates (`MDB_GET_MULTIPLE`).
    static func decodeAll(_ page: UnsafeRawBufferPointer, into rows: inout [UInt64]) {
        for i in 0..<page.count / 8 { rows.append(UInt64(bigEndian: page.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self))) }
    }
}

/// Keys of the `quiver.meta` table.
enum MetaKey {
    static let magic = "magic"
    static let version = "version"
    static let nextCollectionID = "next-cid"
    /// u64 LE: the transaction id of the last commit that changed the store
    /// (`LMDBEnvironment.commitStamp`).
    static let commit = "commit"
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
        // Counts become `Int`s; a damaged counter must not trap on the conversion.
        guard live <= UInt64(Int.max) else {
            throw StoreError(.corrupted, "collection counters say \(live) live records")
        }
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
/// checksum kind u8 at 13, checksum u64 at 16, IVF generation u32 and list u32 at 24 and
/// 28 — zero for a block in no list — then zeros), `count` stored vectors of the collection's encoding, `count` float32
/// squared norms, padding to 8, `count` u64 LE row ids (ascending), and in a compact
/// collection's blocks (copies flag 1 at byte 14) `count` float32 copies of the vectors as
/// written, for rescoring: a scan reads only the stored vectors before them, and a
/// candidate's copy is found from its slot, with no lookup. Values are padded to at
/// least `minBytes` so LMDB always stores them in overflow pages, which start 16-byte
/// aligned in the map: f32 vectors are read in place by BLAS.
struct BlockLayout {
    static let magic: UInt32 = 0x3142_5651  // "QVB1"
    static let headerBytes = 64
    static let encodingOffset = 12
    /// 4080, not 4096: with LMDB's 16-byte page header a 4096-byte value takes two overflow
    /// pages, and a multi-page allocation scans the free list for a contiguous run (slow once
    /// a rewrite has freed much of the file); 4080 bytes fit one page and stay above the
    /// inline limit (about 2 KB), so the value is still page-aligned.
    static let minBytes = 4080

    let count: Int
    let dim: Int
    let codec: any VectorCodec
    /// The IVF list the block's rows belong to, or nil.
    var list: IVFListTag? = nil

    /// Where a block's IVF generation (u32 LE; 0: in no list) and list number (u32 LE) are.
    static let ivfGenerationOffset = 24
    static let ivfListOffset = 28

    var bytesPerVector: Int { codec.bytesPerVector(dimension: dim) }
    var vectorsOffset: Int { Self.headerBytes }
    var normsOffset: Int { Self.normsOffset(count: count, bytesPerVector: bytesPerVector) }
    var rowIDsOffset: Int { Self.rowIDsOffset(count: count, bytesPerVector: bytesPerVector) }
    /// Where the float32 copies start (in a block that carries them).
    var copiesOffset: Int { rowIDsOffset + count * 8 }
    /// The end of the block's data: after the copies when it carries them.
    var endOffset: Int { copiesOffset + count * Self.copyBytes(codec: codec, dim: dim) }
    var totalBytes: Int { max(Self.minBytes, endOffset) }

    /// Header byte saying whether the block carries float32 copies of its rows (1) or not
    /// (0: an f32 block, or a compact one written before `Format.blockCopiesVersion`, whose
    /// copies are in the collection's float32 table).
    static let copiesFlagOffset = 14
    /// Bytes of one row's float32 copy in a block of `codec`: every compact block written
    /// now carries them; f32 blocks need none.
    static func copyBytes(codec: any VectorCodec, dim: Int) -> Int { codec.isCompact ? dim * 4 : 0 }

    /// Where the squared norms of a block of `count` vectors of `bytesPerVector` start.
    static func normsOffset(count: Int, bytesPerVector: Int) -> Int { headerBytes + count * bytesPerVector }
    /// Where the row ids of such a block start (after the norms, aligned to 8).
    static func rowIDsOffset(count: Int, bytesPerVector: Int) -> Int {
        (normsOffset(count: count, bytesPerVector: bytesPerVector) + count * 4 + 7) & ~7
    }

    /// Header byte saying how the block is sealed: 0 for blocks written before checksums
    /// (readers of any version ignore header bytes they do not know, so sealed blocks stay
    /// readable by them and old blocks by this one), 1 for XXH64.
    static let checksumKindOffset = 13
    static let xxh64Kind: UInt8 = 1
    /// Where the checksum is: 8 bytes, little-endian.
    static let checksumOffset = 16

    /// The bytes the checksum covers: everything after the header up to the last row id
    /// or float32 copy (vectors, squared norms, alignment padding, row ids, copies).
    var sealedRange: Range<Int> { Self.headerBytes..<endOffset }

    func writeHeader(_ out: UnsafeMutableRawBufferPointer) {
        out.storeBytes(of: Self.magic.littleEndian, toByteOffset: 0, as: UInt32.self)
        out.storeBytes(of: UInt32(count).littleEndian, toByteOffset: 4, as: UInt32.self)
        out.storeBytes(of: UInt32(dim).littleEndian, toByteOffset: 8, as: UInt32.self)
        for i in 12..<Self.headerBytes { out[i] = 0 }
        out[Self.encodingOffset] = codec.headerCode
        if codec.isCompact { out[Self.copiesFlagOffset] = 1 }
        if let list {
            out.storeBytes(of: list.generation.littleEndian, toByteOffset: Self.ivfGenerationOffset, as: UInt32.self)
            out.storeBytes(of: list.list.littleEndian, toByteOffset: Self.ivfListOffset, as: UInt32.self)
        }
    }

    /// Writes the checksum of a filled block into its header. Call last, once the
    /// vectors, norms and row ids are in place.
    func seal(_ out: UnsafeMutableRawBufferPointer) {
        guard let base = out.baseAddress else { return }
        let sum = quiver_xxh64(base + sealedRange.lowerBound, sealedRange.count)
        out.storeBytes(of: sum.littleEndian, toByteOffset: Self.checksumOffset, as: UInt64.self)
        out[Self.checksumKindOffset] = Self.xxh64Kind
    }
}

/// Which IVF list a block belongs to: the generation of the centroids it was assigned
/// with (a retrain makes a new one; blocks of an older one are in no list until moved) and
/// the list's number.
struct IVFListTag: Hashable {
    var generation: UInt32
    var list: UInt32
}

/// A block read in place from the map. Valid only inside its transaction. Trivially
/// copyable (no existential or reference inside): a probe copies a view per block.
struct BlockView {
    let blockNo: UInt64
    let count: Int
    let dim: Int
    /// The block's (and collection's) encoding.
    let encoding: VectorEncoding
    /// The codec of the encoding.
    var codec: any VectorCodec { encoding.codec }
    /// Bytes one stored vector takes.
    let bytesPerVector: Int
    /// The first stored vector.
    let vectors: UnsafeRawPointer
    let normsSquared: UnsafePointer<Float>
    let rowIDs: UnsafeRawPointer
    /// Tombstone bitmap (nil when nothing in the block is deleted) and dead count.
    var tombs: UnsafeRawBufferPointer?
    var dead: Int

    /// What a block's header says, checked against its value: with the value's size and
    /// place, enough to make the view without reading the header again.
    struct Header {
        /// Where the value was and its size in bytes: a committed value never moves, and a
        /// rewritten one lands elsewhere (LMDB copies on write).
        let address: UInt
        let size: Int
        let count: Int
        let bytesPerVector: Int
        /// Whether the block carries its rows' float32 copies.
        let copies: Bool
        let list: IVFListTag?
        /// Where the checksum's bytes end (the end of the copies, or of the row ids).
        let end: Int

        /// Reads and checks the header of block `blockNo`'s `value` (one cache line).
        init(blockNo: UInt64, value: UnsafeRawBufferPointer, expectedDim: Int, encoding: VectorEncoding) throws {
            guard value.count >= BlockLayout.headerBytes else {
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
            let codec = encoding.codec
            guard code == codec.headerCode else {
                throw StoreError(
                    .corrupted, "block \(blockNo) has vector encoding code \(code), the collection stores \(encoding.rawValue)")
            }
            let bytesPerVector = codec.bytesPerVector(dimension: dim)
            let rowIDsOffset = BlockLayout.rowIDsOffset(count: count, bytesPerVector: bytesPerVector)
            let copiesFlag = value[BlockLayout.copiesFlagOffset]
            guard copiesFlag == 0 || (copiesFlag == 1 && codec.isCompact) else {
                throw StoreError(
                    .corrupted, "block \(blockNo) has float32 copies flag \(copiesFlag), impossible for \(encoding.rawValue) blocks")
            }
            let end = rowIDsOffset + count * 8 + (copiesFlag == 1 ? count * dim * 4 : 0)
            guard value.count >= end else {
                throw StoreError(
                    .corrupted, "block \(blockNo) is \(value.count) bytes, \(count) rows need \(max(BlockLayout.minBytes, end))")
            }
            let generation = UInt32(littleEndian: value.loadUnaligned(fromByteOffset: BlockLayout.ivfGenerationOffset, as: UInt32.self))
            let listNo = UInt32(littleEndian: value.loadUnaligned(fromByteOffset: BlockLayout.ivfListOffset, as: UInt32.self))
            address = UInt(bitPattern: value.baseAddress)
            size = value.count
            self.count = count
            self.bytesPerVector = bytesPerVector
            copies = copiesFlag == 1
            list = generation == 0 ? nil : IVFListTag(generation: generation, list: listNo)
            self.end = end
        }
    }

    init(blockNo: UInt64, value: UnsafeRawBufferPointer, expectedDim: Int, encoding: VectorEncoding) throws {
        let header = try Header(blockNo: blockNo, value: value, expectedDim: expectedDim, encoding: encoding)
        try self.init(blockNo: blockNo, value: value, header: header, dim: expectedDim, encoding: encoding)
    }

    /// The view of `value` whose header is `header` (read from this value, or from the
    /// same block at the same address and size in an earlier snapshot): reads nothing
    /// from `value`.
    init(blockNo: UInt64, value: UnsafeRawBufferPointer, header: Header, dim: Int, encoding: VectorEncoding) throws {
        guard value.count == header.size, let base = value.baseAddress else {
            throw StoreError(.corrupted, "block \(blockNo) is \(value.count) bytes, its header was read from \(header.size)")
        }
        // Overflow pages are 16-byte aligned; anything else means the value was stored inline.
        guard Int(bitPattern: base) % 16 == 0 else {
            throw StoreError(.corrupted, "block \(blockNo) is not 16-byte aligned in the map")
        }
        let count = header.count
        let rowIDsOffset = BlockLayout.rowIDsOffset(count: count, bytesPerVector: header.bytesPerVector)
        self.blockNo = blockNo
        self.count = count
        self.dim = dim
        self.encoding = encoding
        bytesPerVector = header.bytesPerVector
        vectors = UnsafeRawPointer(base + BlockLayout.headerBytes)
        normsSquared = (base + BlockLayout.normsOffset(count: count, bytesPerVector: header.bytesPerVector))
            .assumingMemoryBound(to: Float.self)
        rowIDs = base + rowIDsOffset
        tombs = nil
        dead = 0
        self.header = UnsafeRawPointer(base)
        sealedRange = BlockLayout.headerBytes..<header.end
        copies = header.copies ? UnsafeRawPointer(base + rowIDsOffset + count * 8) : nil
        list = header.list
    }

    private let header: UnsafeRawPointer
    private let sealedRange: Range<Int>

    /// The IVF list the block's rows belong to (nil: in no list, scanned by every search).
    /// Read once, with the header: an IVF probe asks every block per query, and the
    /// headers lie on as many pages as there are blocks.
    let list: IVFListTag?

    /// True when the block carries a checksum (written by a Quiver with block checksums).
    var isSealed: Bool { header.load(fromByteOffset: BlockLayout.checksumKindOffset, as: UInt8.self) == BlockLayout.xxh64Kind }

    /// Whether the block's bytes still match its checksum: nil for a block written before
    /// checksums, or sealed with a kind this Quiver does not know. Reads the whole block.
    func verifyChecksum() -> Bool? {
        guard isSealed else { return nil }
        let stored = UInt64(littleEndian: header.loadUnaligned(fromByteOffset: BlockLayout.checksumOffset, as: UInt64.self))
        return quiver_xxh64(header + sealedRange.lowerBound, sealedRange.count) == stored
    }

    /// The stored vector of `slot`.
    @inline(__always) func vector(_ slot: Int) -> UnsafeRawPointer { vectors + slot * bytesPerVector }

    /// The float32 copies of a compact block's rows (8-byte aligned), or nil when the block
    /// carries none (f32 blocks, and compact ones written before `Format.blockCopiesVersion`).
    let copies: UnsafeRawPointer?

    /// The float32 copy of `slot`'s vector, when the block carries copies.
    @inline(__always) func copy(_ slot: Int) -> UnsafePointer<Float>? {
        copies.map { ($0 + slot * dim * 4).assumingMemoryBound(to: Float.self) }
    }

    @inline(__always) func rowID(_ slot: Int) -> UInt64 {
        UInt64(littleEndian: rowIDs.loadUnaligned(fromByteOffset: slot * 8, as: UInt64.self))
    }

    @inline(__always) func isDeleted(_ slot: Int) -> Bool {
        guard let tombs else { return false }
        return tombs[4 + slot >> 3] & (1 << UInt8(slot & 7)) != 0
    }

    var live: Int { count - dead }

    /// At least half the block's slots are deleted: the tier merges rewrite it.
    var isMostlyDeleted: Bool { dead > 0 && dead * 2 >= count }
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

    /// The number of a number key (`prefix(field, numberTag)` then 8 bytes), or nil for a
    /// key of another shape.
    static func numberValue(_ key: UnsafeRawBufferPointer, prefixLength: Int) -> Double? {
        guard key.count == prefixLength + 8 else { return nil }
        let bits = UInt64(bigEndian: key.loadUnaligned(fromByteOffset: prefixLength, as: UInt64.self))
        return Double(bitPattern: bits & (1 << 63) != 0 ? bits & ~(1 << 63) : ~bits)
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
