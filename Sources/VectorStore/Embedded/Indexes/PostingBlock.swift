import Foundation

/// Postings as the keyword index stores them: compressed blocks of up to `maxPostings`,
/// read a block at a time into the 16-byte `Posting` form that scoring reads.
///
/// Layout: a 20-byte header — first row u64 LE, last row u64 LE, postings u16 LE, body
/// bytes u16 LE — then the body: per posting its row's distance from the previous one
/// (none for the first), its frequency and its row's length in terms, as LEB128 varints.
/// A posting of a common term in a chunk of about a hundred terms takes 4 bytes instead
/// of 16: the postings were most of the bytes an ingest with a keyword index wrote (once
/// in a segment and again when folded into the term lists).
///
/// A term list in the store is a sequence of blocks keyed by term and first row
/// (`TermRowKey`); a term's postings in a segment are a run of blocks, one after another.
/// Blocks are canonical: the same postings always encode to the same bytes.
enum PostingBlock {
    static let headerBytes = 20
    static let maxPostings = 128
    /// A block takes no more postings once its body reaches this many bytes, so that a
    /// list block and its key stay an LMDB node (under half a page), not an overflow page.
    static let bodyLimit = 1536

    struct Header {
        var first: UInt64
        var last: UInt64
        var count: Int
        var bodyBytes: Int
        var bytes: Int { PostingBlock.headerBytes + bodyBytes }
    }

    static func damaged(_ why: String) -> StoreError { StoreError(.corrupted, "a keyword postings block is damaged (\(why))") }

    /// The header of the block at `p`, checked to lie within `available` bytes.
    ///
    /// - Throws: `.corrupted` for a header that cannot be a block's.
    @inline(__always)
    static func header(_ p: UnsafeRawPointer, available: Int) throws -> Header {
        guard available >= headerBytes else { throw damaged("\(available) bytes, shorter than a header") }
        let h = Header(
            first: UInt64(littleEndian: p.loadUnaligned(as: UInt64.self)),
            last: UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 8, as: UInt64.self)),
            count: Int(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 16, as: UInt16.self))),
            bodyBytes: Int(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 18, as: UInt16.self))))
        guard h.count >= 1, h.count <= maxPostings, h.bytes <= available, h.first <= h.last else {
            throw damaged("header says \(h.count) postings in \(h.bodyBytes) bytes, rows \(h.first)…\(h.last), in \(available) bytes")
        }
        return h
    }

    /// Adds `delta` to the first and last rows of the block at `p` (renumbering a segment
    /// made with batch positions for rows: the body holds distances only).
    static func shiftRows(_ p: UnsafeMutableRawPointer, by delta: UInt64) {
        for offset in [0, 8] {
            let v = UInt64(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
            p.storeBytes(of: (v &+ delta).littleEndian, toByteOffset: offset, as: UInt64.self)
        }
    }

    @inline(__always)
    private static func putVarint(_ v: UInt64, _ out: inout [UInt8]) {
        var v = v
        while v >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    @inline(__always)
    private static func varint(_ p: UnsafeRawPointer, _ at: inout Int, _ end: Int) throws -> UInt64 {
        var v: UInt64 = 0
        var shift: UInt64 = 0
        while at < end {
            let b = p.load(fromByteOffset: at, as: UInt8.self)
            at += 1
            v |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return v }
            shift += 7
            if shift > 63 { throw damaged("a number runs over 10 bytes") }
        }
        throw damaged("a number runs past the block's end")
    }

    /// Appends blocks holding `count` postings (16-byte `Posting` form at `postings`, rows
    /// strictly ascending) to `out`, and returns how many blocks.
    @discardableResult
    static func append(_ postings: UnsafeRawPointer, count: Int, to out: inout [UInt8]) -> Int {
        var i = 0
        var blocks = 0
        while i < count {
            let start = out.count
            out.append(contentsOf: repeatElement(0, count: headerBytes))
            var n = 0
            var first: UInt64 = 0
            var previous: UInt64 = 0
            while i < count, n < maxPostings, out.count - start - headerBytes < bodyLimit {
                let p = postings + i * Posting.size
                let row = Posting.row(p)
                if n == 0 { first = row } else { putVarint(row &- previous, &out) }
                putVarint(UInt64(Posting.frequency(p)), &out)
                putVarint(UInt64(Posting.length(p)), &out)
                previous = row
                n += 1
                i += 1
            }
            out.withUnsafeMutableBytes { o in
                let h = o.baseAddress! + start
                h.storeBytes(of: first.littleEndian, as: UInt64.self)
                h.storeBytes(of: previous.littleEndian, toByteOffset: 8, as: UInt64.self)
                h.storeBytes(of: UInt16(n).littleEndian, toByteOffset: 16, as: UInt16.self)
                h.storeBytes(of: UInt16(o.count - start - headerBytes).littleEndian, toByteOffset: 18, as: UInt16.self)
            }
            blocks += 1
        }
        return blocks
    }

    /// Decodes the block at `p` (within `available` bytes) into `out`, which has room for
    /// `maxPostings` postings, and returns its header.
    ///
    /// - Throws: `.corrupted` when the body does not hold what the header says.
    @inline(__always)
    static func decode(_ p: UnsafeRawPointer, available: Int, into out: UnsafeMutableRawPointer) throws -> Header {
        var writer = PostingWriter(out: out)
        return try forEach(p, available: available, &writer)
    }

    /// Gives `visitor` each posting of the block at `p` (within `available` bytes) — row,
    /// frequency, row length — and returns its header: what a scorer that reads each
    /// posting once uses instead of decoding into the 16-byte form first. (A generic
    /// visitor rather than a closure: it is specialized and inlined, where a closure was
    /// called through a context per posting.)
    ///
    /// While 30 bytes of body remain (three numbers of at most 10 bytes), numbers are read
    /// without a bounds check per byte; the last postings are read checked. The visitor
    /// sees at most the header's count of postings, and may see some of a damaged block's
    /// (rows not ascending, numbers out of range) before the error: what it does with a
    /// row must be safe for any row.
    ///
    /// - Throws: `.corrupted` when the body does not hold what the header says.
    @inline(__always)
    static func forEach<V: PostingVisitor>(_ p: UnsafeRawPointer, available: Int, _ visitor: inout V) throws -> Header {
        let h = try header(p, available: available)
        var at = headerBytes
        let end = h.bytes
        var row = h.first
        var bad = false
        for j in 0..<h.count {
            var delta: UInt64 = 0
            var frequency: UInt64
            var length: UInt64
            if end - at >= 30 {
                if j > 0 { delta = fastVarint(p, &at, &bad) }
                frequency = fastVarint(p, &at, &bad)
                length = fastVarint(p, &at, &bad)
            } else {
                if j > 0 { delta = try varint(p, &at, end) }
                frequency = try varint(p, &at, end)
                length = try varint(p, &at, end)
            }
            if j > 0 {
                let (next, overflow) = row.addingReportingOverflow(delta)
                bad = bad || overflow || delta == 0
                row = next
            }
            bad = bad || frequency > UInt64(UInt32.max) || length > UInt64(UInt32.max)
            visitor.visit(row, UInt32(truncatingIfNeeded: frequency), UInt32(truncatingIfNeeded: length))
        }
        guard !bad else { throw damaged("rows do not ascend, or a number is out of range") }
        guard at == end, row == h.last else { throw damaged("its body disagrees with its header") }
        return h
    }

    /// A varint at `at`, at least 10 bytes before the end: no bounds check per byte; one
    /// of more than 10 bytes sets `bad` (and stops at 10).
    @inline(__always)
    private static func fastVarint(_ p: UnsafeRawPointer, _ at: inout Int, _ bad: inout Bool) -> UInt64 {
        var b = p.load(fromByteOffset: at, as: UInt8.self)
        at += 1
        if b < 0x80 { return UInt64(b) }
        var v = UInt64(b & 0x7F)
        var shift: UInt64 = 7
        repeat {
            b = p.load(fromByteOffset: at, as: UInt8.self)
            at += 1
            v |= UInt64(b & 0x7F) << shift
            shift += 7
        } while b >= 0x80 && shift < 70
        if b >= 0x80 { bad = true }
        return v
    }

    /// Decodes a run of blocks (`bytes` long, `count` postings in all) into `out`, which
    /// has room for `count` postings.
    ///
    /// - Throws: `.corrupted` when the blocks do not add up to the run.
    static func decodeRun(_ p: UnsafeRawPointer, bytes: Int, count: Int, into out: UnsafeMutableRawPointer) throws {
        var at = 0
        var n = 0
        while at < bytes {
            guard n + (try header(p + at, available: bytes - at)).count <= count else {
                throw damaged("a run holds more postings than its directory says")
            }
            let h = try decode(p + at, available: bytes - at, into: out + n * Posting.size)
            n += h.count
            at += h.bytes
        }
        guard n == count else { throw damaged("a run holds \(n) postings, its directory says \(count)") }
    }
}

/// What `PostingBlock.forEach` gives each posting to.
protocol PostingVisitor {
    /// One posting: its row, the term's frequency in it, the row's length in terms.
    mutating func visit(_ row: UInt64, _ frequency: UInt32, _ length: UInt32)
}

/// Writes postings in the 16-byte `Posting` form, one after another.
struct PostingWriter: PostingVisitor {
    var out: UnsafeMutableRawPointer

    @inline(__always)
    mutating func visit(_ row: UInt64, _ frequency: UInt32, _ length: UInt32) {
        out.storeBytes(of: row.bigEndian, as: UInt64.self)
        out.storeBytes(of: frequency.littleEndian, toByteOffset: 8, as: UInt32.self)
        out.storeBytes(of: length.littleEndian, toByteOffset: 12, as: UInt32.self)
        out += Posting.size
    }
}

/// Memory postings are decoded into (16-byte `Posting` form), kept across uses and freed
/// with its owner.
final class PostingScratch {
    private(set) var pointer: UnsafeMutableRawPointer
    private var capacity: Int

    init(postings: Int = PostingBlock.maxPostings) {
        capacity = max(postings, 1)
        pointer = UnsafeMutableRawPointer.allocate(byteCount: capacity * Posting.size, alignment: 16)
    }

    deinit { pointer.deallocate() }

    /// Room for `postings` postings (the contents are not kept when it grows).
    func reserve(_ postings: Int) -> UnsafeMutableRawPointer {
        if postings > capacity {
            pointer.deallocate()
            capacity = max(postings, capacity * 2)
            pointer = UnsafeMutableRawPointer.allocate(byteCount: capacity * Posting.size, alignment: 16)
        }
        return pointer
    }
}

/// Segment bytes (`KeywordSegment` layout) built a term at a time, terms in byte order.
struct SegmentWriter {
    private var directory: [(termOffset: Int, termLength: Int, postingsOffset: Int, bytes: Int, count: Int)] = []
    private var terms: [UInt8] = []
    private var postings: [UInt8] = []

    var isEmpty: Bool { directory.isEmpty }

    /// Adds a term (after every term added so far) with `count` postings (16-byte form,
    /// rows ascending); a term without postings is left out.
    mutating func add(term: UnsafeRawBufferPointer, postings p: UnsafeRawPointer, count: Int) {
        guard count > 0 else { return }
        let start = postings.count
        PostingBlock.append(p, count: count, to: &postings)
        directory.append((terms.count, term.count, start, postings.count - start, count))
        terms.append(contentsOf: term)
    }

    /// The segment, its last row `last`.
    func finish(last: UInt64) -> [UInt8] {
        let directoryEnd = KeywordSegment.headerBytes + directory.count * KeywordSegment.entryBytes
        let postingsStart = directoryEnd + terms.count
        let size = postingsStart + postings.count
        return [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            let o = UnsafeMutableRawBufferPointer(buffer)
            let base = o.baseAddress!
            KeywordSegment.writeHeader(o, terms: directory.count, last: last)
            for (i, e) in directory.enumerated() {
                KeywordSegment.writeEntry(
                    o, i, termOffset: directoryEnd + e.termOffset, termLength: e.termLength,
                    postingsOffset: postingsStart + e.postingsOffset, bytes: e.bytes, count: e.count)
            }
            terms.withUnsafeBytes { if let b = $0.baseAddress { (base + directoryEnd).copyMemory(from: b, byteCount: $0.count) } }
            postings.withUnsafeBytes { if let b = $0.baseAddress { (base + postingsStart).copyMemory(from: b, byteCount: $0.count) } }
            initialized = size
        }
    }
}
