import Foundation

/// The coarse quantizer of a partitioned (IVF) index: `lists` centroids of the collection's
/// dimension, stored as one value of the centroid table (`Format.IVFTable`).
///
/// A vector belongs to the list whose centroid scores highest: `x·c` for cosine (the
/// centroids are unit vectors: spherical k-means), `x·c − |c|²/2` (the nearest centroid)
/// for L2 and dot. Scores of many vectors against every centroid are one sgemm.
///
/// Value layout: a 64-byte header (magic u32 "QVI1", generation u32, lists u32, dimension
/// u32, kind u8 at 16: 0 inner product, 1 L2; then zeros), `lists × dimension` f32 LE
/// centroids, `lists` f32 LE half squared norms (zeros under inner product).
struct IVFCentroids: Sendable {
    static let magic: UInt32 = 0x3149_5651  // "QVI1"
    static let headerBytes = 64

    /// Bumped by every (re)training; blocks assigned with another generation are in no list.
    let generation: UInt32
    let lists: Int
    let dimension: Int
    /// Whether the nearest centroid is by L2 (else by inner product).
    let l2: Bool
    /// `lists × dimension`, row-major.
    let centroids: [Float]
    /// `|c|²/2` per centroid under L2, zeros otherwise.
    let halfNormsSquared: [Float]

    init(generation: UInt32, dimension: Int, l2: Bool, centroids: [Float]) {
        self.generation = generation
        self.dimension = dimension
        self.l2 = l2
        self.centroids = centroids
        lists = centroids.count / max(1, dimension)
        var halves = [Float](repeating: 0, count: lists)
        if l2 {
            for c in 0..<lists {
                var s: Float = 0
                for j in 0..<dimension { s += centroids[c * dimension + j] * centroids[c * dimension + j] }
                halves[c] = s / 2
            }
        }
        halfNormsSquared = halves
    }

    /// Decodes a stored value (copied out: values of this size may sit at any alignment).
    init(bytes: UnsafeRawBufferPointer, collection: String) throws {
        func bad(_ why: String) -> StoreError {
            StoreError(.corrupted, "the IVF centroids of collection \"\(collection)\" \(why)", collection: collection)
        }
        guard bytes.count >= Self.headerBytes else { throw bad("are \(bytes.count) bytes, shorter than their header") }
        guard UInt32(littleEndian: bytes.loadUnaligned(as: UInt32.self)) == Self.magic else { throw bad("have a bad magic number") }
        generation = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        lists = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self)))
        dimension = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 12, as: UInt32.self)))
        l2 = bytes[16] == 1
        guard generation > 0, lists > 0, dimension > 0 else { throw bad("record \(lists) lists of dimension \(dimension)") }
        let expected = Self.headerBytes + lists * dimension * 4 + lists * 4
        guard bytes.count == expected else { throw bad("are \(bytes.count) bytes, \(lists) lists need \(expected)") }
        let normsStart = expected - lists * 4
        var c = [Float](repeating: 0, count: lists * dimension)
        c.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[Self.headerBytes..<normsStart])) }
        var h = [Float](repeating: 0, count: lists)
        h.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[normsStart..<expected])) }
        centroids = c
        halfNormsSquared = h
    }

    /// The stored value.
    var bytes: [UInt8] {
        var out = [UInt8](repeating: 0, count: Self.headerBytes)
        out.withUnsafeMutableBytes { h in
            h.storeBytes(of: Self.magic.littleEndian, toByteOffset: 0, as: UInt32.self)
            h.storeBytes(of: generation.littleEndian, toByteOffset: 4, as: UInt32.self)
            h.storeBytes(of: UInt32(lists).littleEndian, toByteOffset: 8, as: UInt32.self)
            h.storeBytes(of: UInt32(dimension).littleEndian, toByteOffset: 12, as: UInt32.self)
            h[16] = l2 ? 1 : 0
        }
        centroids.withUnsafeBytes { out += $0 }
        halfNormsSquared.withUnsafeBytes { out += $0 }
        return out
    }

    /// Rows scored against the centroids per sgemm.
    static let tileRows = 1024

    /// `scores[r · lists + c]` = the score of vector `r` against centroid `c` (higher is
    /// nearer), for `rows` contiguous vectors.
    func score(_ vectors: UnsafePointer<Float>, rows: Int, into scores: UnsafeMutablePointer<Float>) {
        centroids.withUnsafeBufferPointer { c in
            BLAS.sgemm(
                transposeB: true, m: rows, n: lists, k: dimension, a: vectors, lda: dimension, b: c.baseAddress!, ldb: dimension,
                c: scores, ldc: lists)
        }
        if l2 {
            for r in 0..<rows {
                let s = scores + r * lists
                for c in 0..<lists { s[c] -= halfNormsSquared[c] }
            }
        }
    }

    /// The list of each of `rows` contiguous vectors, tile by tile.
    func assign(_ vectors: UnsafePointer<Float>, rows: Int) -> [UInt32] {
        var out = [UInt32](repeating: 0, count: rows)
        let tile = min(rows, Self.tileRows)
        guard tile > 0 else { return out }
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: tile * lists)
        defer { scores.deallocate() }
        var start = 0
        while start < rows {
            let n = min(tile, rows - start)
            score(vectors + start * dimension, rows: n, into: scores)
            for r in 0..<n {
                let s = scores + r * lists
                var best = 0
                for c in 1..<max(1, lists) where s[c] > s[best] { best = c }
                out[start + r] = UInt32(best)
            }
            start += n
        }
        return out
    }

    /// The lists `nprobe` nearest to each of `count` queries (`count × dimension`), united
    /// (a batch probes every list one of its queries wants), as one flag per list.
    func probe(_ queries: [Float], count: Int, nprobe: Int) -> [Bool] {
        let n = min(max(1, nprobe), lists)
        guard n < lists else { return [Bool](repeating: true, count: lists) }
        var chosen = [Bool](repeating: false, count: lists)
        // The centroids as the tile's rows and the queries as its columns: the batch
        // kernels read the centroids in place, where an sgemm with the queries as rows
        // packed all of them (1.5 MB at 1,000 lists of 384) for every search.
        let tile = UnsafeMutablePointer<Float>.allocate(capacity: count * lists)
        defer { tile.deallocate() }
        centroids.withUnsafeBufferPointer { c in
            queries.withUnsafeBufferPointer { q in
                BLASKernels.scoreTile(
                    c.baseAddress!, rows: lists, dim: dimension, queries: q.baseAddress!, count: count, alpha: 1, scores: tile)
            }
        }
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: lists)
        defer { scores.deallocate() }
        for q in 0..<count {
            for c in 0..<lists { scores[c] = tile[c * count + q] - halfNormsSquared[c] }
            for c in Self.best(n, of: UnsafeBufferPointer(start: scores, count: lists)) { chosen[c] = true }
        }
        return chosen
    }

    /// The indices of the `n` highest scores (ties: the lower index), in no particular
    /// order: a bounded selection, O(count · log n), where a sort of every list was
    /// O(count · log count) per query.
    static func best(_ n: Int, of s: UnsafeBufferPointer<Float>) -> [Int] {
        // A binary min-heap of the n best so far; the root is the worst kept.
        var heap = [Int]()
        heap.reserveCapacity(n)
        @inline(__always) func worse(_ a: Int, _ b: Int) -> Bool { s[a] < s[b] || (s[a] == s[b] && a > b) }
        func siftDown(_ start: Int) {
            var i = start
            while true {
                let l = 2 * i + 1
                let r = l + 1
                var m = i
                if l < heap.count && worse(heap[l], heap[m]) { m = l }
                if r < heap.count && worse(heap[r], heap[m]) { m = r }
                if m == i { return }
                heap.swapAt(i, m)
                i = m
            }
        }
        for i in 0..<s.count {
            if heap.count < n {
                heap.append(i)
                var c = heap.count - 1
                while c > 0 {
                    let p = (c - 1) / 2
                    guard worse(heap[c], heap[p]) else { break }
                    heap.swapAt(c, p)
                    c = p
                }
            } else if worse(heap[0], i) {
                heap[0] = i
                siftDown(0)
            }
        }
        return heap
    }
}
