import Foundation

/// Terms (byte strings of at most 255 bytes) mapped to dense ids `0..<count` in the order
/// they were first seen, the bytes kept in one arena: what the keyword index counts a
/// record's terms with and groups a batch's postings by.
///
/// A `Dictionary<String, _>` (or `<[UInt8], _>`) made a String or an array per term and
/// hashed it with SipHash: that was most of the keyword index's share of an ingest. Here
/// a term costs one multiply-mix hash and, when new, an append to the arena.
struct TermTable {
    /// The terms' bytes, one after another.
    private var arena: [UInt8] = []
    /// Term `id`'s bytes start at `starts[id]` in the arena and are `lengths[id]` long.
    private var starts: [UInt32] = []
    private var lengths: [UInt8] = []
    private var hashes: [UInt64] = []
    /// Open addressing, linear probing: a term id, or -1 for an empty slot. The count is a
    /// power of two, at least twice the terms.
    private var slots: [Int32]

    /// A table sized for about `expected` terms (it grows past that).
    init(expected: Int = 64) {
        var n = 16
        while n < 2 * expected { n <<= 1 }
        slots = [Int32](repeating: -1, count: n)
        arena.reserveCapacity(8 * expected)
        starts.reserveCapacity(expected)
        lengths.reserveCapacity(expected)
        hashes.reserveCapacity(expected)
    }

    /// How many distinct terms the table holds.
    var count: Int { starts.count }

    /// The id of `term` (at most 255 bytes), added when it is new.
    @inline(__always)
    mutating func id(of term: UnsafeRawBufferPointer) -> Int {
        let hash = Self.hash(term)
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let id = Int(slots[slot])
            if id < 0 { break }
            if hashes[id] == hash && Int(lengths[id]) == term.count && equals(id, term) { return id }
            slot = (slot + 1) & mask
        }
        let id = starts.count
        starts.append(UInt32(arena.count))
        lengths.append(UInt8(term.count))
        hashes.append(hash)
        arena.append(contentsOf: term)
        slots[slot] = Int32(id)
        if 2 * starts.count > slots.count { grow() }
        return id
    }

    /// Calls `body` with term `id`'s bytes.
    @inline(__always)
    func withTerm<R>(_ id: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let start = Int(starts[id])
        let length = Int(lengths[id])
        return try arena.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[start..<start + length])) }
    }

    /// The byte length of term `id`.
    func length(_ id: Int) -> Int { Int(lengths[id]) }

    /// The bytes of every term, added up.
    var totalBytes: Int { arena.count }

    /// The ids in the terms' byte order (the order of LMDB keys and of a segment's directory).
    ///
    /// Sorted by each term's first eight bytes as one big-endian integer (zero-padded), and
    /// only terms whose first eight bytes agree are compared in full: a comparison closure
    /// that called memcmp for every pair was most of the sort.
    func sortedIDs() -> [Int] {
        arena.withUnsafeBytes { a in
            guard let base = a.baseAddress else { return Array(0..<count) }
            var keys: [(prefix: UInt64, id: Int32)] = []
            keys.reserveCapacity(count)
            for id in 0..<count {
                let start = Int(starts[id])
                let length = Int(lengths[id])
                var prefix: UInt64 = 0
                for i in 0..<8 { prefix = prefix << 8 | UInt64(i < length ? base.load(fromByteOffset: start + i, as: UInt8.self) : 0) }
                keys.append((prefix, Int32(id)))
            }
            keys.sort { x, y in
                if x.prefix != y.prefix { return x.prefix < y.prefix }
                let lx = Int(lengths[Int(x.id)])
                let ly = Int(lengths[Int(y.id)])
                let n = min(lx, ly)
                let c = n == 0 ? 0 : memcmp(base + Int(starts[Int(x.id)]), base + Int(starts[Int(y.id)]), n)
                return c != 0 ? c < 0 : lx < ly
            }
            return keys.map { Int($0.id) }
        }
    }

    @inline(__always)
    private func equals(_ id: Int, _ term: UnsafeRawBufferPointer) -> Bool {
        guard let b = term.baseAddress, !term.isEmpty else { return true }
        let start = Int(starts[id])
        return arena.withUnsafeBytes { memcmp($0.baseAddress! + start, b, term.count) == 0 }
    }

    private mutating func grow() {
        let n = slots.count * 2
        var fresh = [Int32](repeating: -1, count: n)
        let mask = n - 1
        for id in 0..<starts.count {
            var slot = Int(truncatingIfNeeded: hashes[id]) & mask
            while fresh[slot] >= 0 { slot = (slot + 1) & mask }
            fresh[slot] = Int32(id)
        }
        slots = fresh
    }

    /// Chosen per process, so that a hostile document cannot be written to make its terms
    /// collide (which would make a batch's grouping quadratic).
    private static let seed = UInt64.random(in: .min ... .max)

    /// A 64-bit hash of `bytes`, eight at a time with a multiply-xorshift mix, seeded per
    /// process.
    @inline(__always)
    static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = seed ^ (0x9E37_79B9_7F4A_7C15 &* UInt64(bytes.count &+ 1))
        var i = 0
        let n = bytes.count
        while i + 8 <= n {
            h = mix(h ^ bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            i += 8
        }
        if i < n {
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            while i < n {
                tail |= UInt64(bytes[i]) << shift
                shift += 8
                i += 1
            }
            h = mix(h ^ tail)
        }
        return mix(h)
    }

    @inline(__always)
    private static func mix(_ x: UInt64) -> UInt64 {
        var z = x &* 0xBF58_476D_1CE4_E5B9
        z ^= z >> 31
        z = z &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 29)
    }
}

/// Postings grouped by term: added in any order of terms, read back with each term's
/// postings contiguous (in the order they were added) and the terms in byte order: the
/// layout of a segment, and the order the term lists are written in.
struct PostingGroups {
    /// The terms seen.
    private(set) var terms = TermTable(expected: 1024)
    /// Per term id, its postings.
    private var counts: [Int] = []
    /// Per posting added, its term id.
    private var termOf: [Int32] = []
    /// The postings, as added (`Posting.size` bytes each).
    private var added: [UInt8] = []

    /// The id of `term`, added (with no posting yet) when it is new.
    @inline(__always)
    mutating func id(of term: UnsafeRawBufferPointer) -> Int {
        let id = terms.id(of: term)
        if id == counts.count { counts.append(0) }
        return id
    }

    /// Adds a posting (`Posting.size` bytes at `posting`) to term `id`.
    @inline(__always)
    mutating func add(_ id: Int, _ posting: UnsafeRawPointer) {
        counts[id] += 1
        termOf.append(Int32(id))
        added.append(contentsOf: UnsafeRawBufferPointer(start: posting, count: Posting.size))
    }

    /// How many postings term `id` has.
    func count(of id: Int) -> Int { counts[id] }

    /// The terms with postings in byte order, the first posting of each (indexed by term id,
    /// counted in postings), and the postings grouped in that order.
    func grouped() -> (order: [Int], first: [Int], postings: [UInt8]) {
        let order = terms.sortedIDs().filter { counts[$0] > 0 }
        var first = [Int](repeating: 0, count: counts.count)
        var at = 0
        for id in order {
            first[id] = at
            at += counts[id]
        }
        var cursor = first
        var out = [UInt8](repeating: 0, count: added.count)
        out.withUnsafeMutableBytes { o in
            added.withUnsafeBytes { a in
                guard let to = o.baseAddress, let from = a.baseAddress else { return }
                for (i, t) in termOf.enumerated() {
                    let id = Int(t)
                    (to + cursor[id] * Posting.size).copyMemory(from: from + i * Posting.size, byteCount: Posting.size)
                    cursor[id] += 1
                }
            }
        }
        return (order, first, out)
    }
}
