import CQuiverKernels
import Foundation
import Testing
import TestSupport
@testable import VectorStore

/// The f16 and int8 encodings: their kernels (SIMD against the portable path), and
/// collections that scan the compact vectors and rescore from float32 copies.
@Suite struct CompactEncodingTests {
    static let compact: [VectorEncoding] = [.float16, .int8]
    /// The int8 paths this CPU can run besides the portable one: the best (AVX-512 VNNI
    /// where present) and AVX2.
    static let int8Paths: [CompactKernels] = CompactKernels.vnniAvailable ? [.best, .avx2] : [.best]

    // MARK: Kernels

    /// The SIMD and portable half conversions give the same bits for every kind of float:
    /// normals, subnormal halves, ties to even, overflow to infinity, signed zeros.
    @Test func halfConversionsAgreeBitForBit() {
        var rng = SeededGenerator(seed: 7)
        var values: [Float] = [
            0, -0, 1, -1, 65504, 65519.99, 65520, -65520, 1e9, 6.1e-5, 6.0e-8, 5.96e-8, 2.98e-8, 1e-10, 0.333333, 2049, 2051,
            .leastNonzeroMagnitude, -.greatestFiniteMagnitude,
        ]
        for _ in 0..<4000 {
            let bits = UInt32(truncatingIfNeeded: rng.next())
            let f = Float(bitPattern: bits)
            if f.isFinite { values.append(f) }
            values.append(Float(Int(rng.next() % 200_001) - 100_000) / 1000)
        }
        let n = values.count
        var simd = [UInt16](repeating: 0, count: n)
        var portable = [UInt16](repeating: 0, count: n)
        quiver_f32_to_f16(values, &simd, n, CompactKernels.best.code)
        quiver_f32_to_f16(values, &portable, n, CompactKernels.portable.code)
        #expect(simd == portable)
        // Half of 1 is 0x3C00, 65520 rounds up to infinity, 2049 ties to even (2048).
        #expect(portable[2] == 0x3C00)
        #expect(portable[6] == 0x7C00 && portable[7] == 0xFC00)
        #expect(portable[15] == 0x6800)
        var backSIMD = [Float](repeating: 0, count: n)
        var backPortable = [Float](repeating: 0, count: n)
        quiver_f16_to_f32(portable, &backSIMD, n, CompactKernels.best.code)
        quiver_f16_to_f32(portable, &backPortable, n, CompactKernels.portable.code)
        #expect(backSIMD.map(\.bitPattern) == backPortable.map(\.bitPattern))
        // Within the half range the round trip is within half a unit in the last place.
        for (x, y) in zip(values, backPortable) where abs(x) >= 6.2e-5 && abs(x) <= 65504 {
            #expect(abs(x - y) <= abs(x) * 0x1p-11, "\(x) came back as \(y)")
        }
    }

    /// The int8 kernels sum in integers: SIMD and portable give the same scores for every
    /// batch size (the 4-query groups and the single-query loop) and any dimension (the
    /// 32-byte steps and the tail), and the scores approximate the float dot product.
    @Test(arguments: [1, 5, 31, 32, 50, 100, 384])
    func int8KernelsAgreeAndApproximateTheDotProduct(dim: Int) {
        var rng = SeededGenerator(seed: UInt64(dim))
        let codec = Int8Codec()
        let stride = codec.bytesPerVector(dimension: dim)
        let rows = 37
        let vectors = (0..<rows).map { _ in rng.vector(dim) }
        var stored = [UInt8](repeating: 0xAA, count: rows * stride)
        stored.withUnsafeMutableBytes { out in
            for (r, v) in vectors.enumerated() { v.withUnsafeBufferPointer { codec.encode($0, into: out.baseAddress! + r * stride) } }
        }
        for count in [1, 3, 4, 9, 40] {
            let queries = (0..<count).map { _ in rng.vector(dim) }
            let prepared = PreparedQueries(queries.flatMap { $0 }, count: count, dimension: dim, quantize: true)
            var portable = [Float](repeating: 0, count: rows * count)
            stored.withUnsafeBytes { s in
                Int8Codec(kernels: .portable).scoreTile(
                    s.baseAddress!, rows: rows, dimension: dim, queries: prepared, alpha: 2, scores: &portable)
                for kernels in Self.int8Paths {
                    var simd = [Float](repeating: 0, count: rows * count)
                    Int8Codec(kernels: kernels).scoreTile(
                        s.baseAddress!, rows: rows, dimension: dim, queries: prepared, alpha: 2, scores: &simd)
                    #expect(simd.map(\.bitPattern) == portable.map(\.bitPattern), "\(kernels), \(count) queries")
                }
            }
            for r in 0..<rows {
                for q in 0..<count {
                    let exact = 2 * zip(vectors[r], queries[q]).reduce(0) { $0 + Double($1.0) * Double($1.1) }
                    let bound =
                        2 * 0.03 * Double(vectors[r].map { abs($0) }.max()!) * Double(queries[q].map { abs($0) }.max()!)
                        * Double(dim).squareRoot() + 1e-6
                    #expect(abs(Double(portable[r * count + q]) - exact) <= bound, "row \(r) query \(q)")
                }
            }
        }
    }

    /// Quantizing to int8 gives the same bytes on every path: the scale, the sum and each
    /// component, ties (x.5 after scaling) rounded to even, for dimensions around the
    /// 32-component steps.
    @Test func int8QuantizationAgreesBitForBit() {
        var rng = SeededGenerator(seed: 17)
        for dim in [1, 5, 8, 31, 32, 33, 50, 64, 100, 384] {
            var vectors = (0..<20).map { _ in rng.vector(dim) }
            // Scale 1 (the largest component is 127): every other component a tie.
            vectors.append((0..<dim).map { $0 == 0 ? 127 : Float($0 % 9) - 4.5 })
            vectors.append([Float](repeating: 0, count: dim))
            for v in vectors {
                var simd = [UInt8](repeating: 0xAA, count: Int(QUIVER_I8_HEADER) + dim)
                var portable = simd
                quiver_quantize_i8(v, dim, &simd, CompactKernels.best.code)
                quiver_quantize_i8(v, dim, &portable, CompactKernels.portable.code)
                #expect(simd == portable, "dimension \(dim)")
            }
        }
        var tie = [UInt8](repeating: 0, count: Int(QUIVER_I8_HEADER) + 4)
        quiver_quantize_i8([127, 0.5, 1.5, -2.5], 4, &tie, CompactKernels.best.code)
        #expect(tie[8...].map { Int8(bitPattern: $0) } == [127, 0, 2, -2])
    }

    /// The AVX2 kernels add two steps' pair sums in 16 bits before widening: at the
    /// extremes (every component ±max, so each code is ±127 and each query code 63 or 1)
    /// the sums stay exact, for one query and for batches, and equal the dot product.
    @Test(arguments: [64, 96, 384])
    func int8SumsDoNotSaturateAtTheExtremes(dim: Int) {
        let codec = Int8Codec()
        let stride = codec.bytesPerVector(dimension: dim)
        let patterns: [[Float]] = [
            [Float](repeating: 1, count: dim), [Float](repeating: -1, count: dim), (0..<dim).map { $0 % 2 == 0 ? 1 : -1 },
        ]
        var stored = [UInt8](repeating: 0, count: patterns.count * stride)
        stored.withUnsafeMutableBytes { out in
            for (r, v) in patterns.enumerated() { v.withUnsafeBufferPointer { codec.encode($0, into: out.baseAddress! + r * stride) } }
        }
        for count in [1, 3, 8] {
            let queries = (0..<count).map { patterns[$0 % patterns.count] }
            let prepared = PreparedQueries(queries.flatMap { $0 }, count: count, dimension: dim, quantize: true)
            var portable = [Float](repeating: 0, count: patterns.count * count)
            stored.withUnsafeBytes { s in
                Int8Codec(kernels: .portable).scoreTile(
                    s.baseAddress!, rows: patterns.count, dimension: dim, queries: prepared, alpha: 1, scores: &portable)
            }
            for kernels in Self.int8Paths {
                var simd = [Float](repeating: 0, count: patterns.count * count)
                stored.withUnsafeBytes { s in
                    Int8Codec(kernels: kernels).scoreTile(
                        s.baseAddress!, rows: patterns.count, dimension: dim, queries: prepared, alpha: 1, scores: &simd)
                }
                #expect(simd.map(\.bitPattern) == portable.map(\.bitPattern), "\(kernels), \(count) queries")
                for r in patterns.indices {
                    for q in 0..<count {
                        let exact = zip(patterns[r], queries[q]).reduce(Float(0)) { $0 + $1.0 * $1.1 }
                        let got = simd[r * count + q]
                        #expect(abs(got - exact) <= 1e-3 * Float(dim), "\(kernels) row \(r) query \(q): \(got) vs \(exact)")
                    }
                }
            }
        }
    }

    /// The single-query int8 kernel reads rows 32 bytes at a time past their end when the
    /// dimension is not a multiple of 32, but never past the block: rows that end exactly at
    /// a page with no access (a block at the end of the memory map) score like the portable
    /// path, for every dimension whose padded read would cross it.
    @Test(arguments: [5, 31, 50, 63, 100])
    func int8SingleQueryStaysInsideTheBlock(dim: Int) throws {
        var rng = SeededGenerator(seed: UInt64(dim) &+ 11)
        let codec = Int8Codec()
        let stride = codec.bytesPerVector(dimension: dim)
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let rows = page / stride
        let map = try #require(mmap(nil, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0))
        try #require(map != MAP_FAILED)
        defer { munmap(map, 2 * page) }
        // Without the page guard the test could not catch a read past the block.
        try #require(mprotect(map + page, page, PROT_NONE) == 0)
        let block = map + page - rows * stride
        for r in 0..<rows { rng.vector(dim).withUnsafeBufferPointer { codec.encode($0, into: block + r * stride) } }
        let query = rng.vector(dim)
        let prepared = PreparedQueries(query, count: 1, dimension: dim, quantize: true)
        var portable = [Float](repeating: 0, count: rows)
        Int8Codec(kernels: .portable).scoreTile(
            UnsafeRawPointer(block), rows: rows, dimension: dim, queries: prepared, alpha: 1, scores: &portable)
        for kernels in Self.int8Paths {
            for count in [1, 5] {
                // The rows at the guard page with one query and with a batch (a batch's rows
                // are read by the tiled kernels, whose last step is masked).
                let batch = PreparedQueries(
                    (0..<count).flatMap { _ in query }, count: count, dimension: dim, quantize: true)
                var simd = [Float](repeating: 0, count: rows * count)
                Int8Codec(kernels: kernels).scoreTile(
                    UnsafeRawPointer(block), rows: rows, dimension: dim, queries: batch, alpha: 1, scores: &simd)
                let expected = portable.flatMap { [Float](repeating: $0, count: count) }
                #expect(simd.map(\.bitPattern) == expected.map(\.bitPattern), "\(kernels), \(count) queries")
            }
        }
    }

    /// The f16 kernels (fused for small batches, converted tiles for large ones) agree
    /// with the portable path and with the dot product of the decoded vectors.
    @Test(arguments: [3, 384])
    func float16KernelsAgree(dim: Int) {
        var rng = SeededGenerator(seed: 99)
        let codec = Float16Codec()
        let stride = codec.bytesPerVector(dimension: dim)
        let rows = 21
        var stored = [UInt8](repeating: 0, count: rows * stride)
        stored.withUnsafeMutableBytes { out in
            for r in 0..<rows { rng.vector(dim).withUnsafeBufferPointer { codec.encode($0, into: out.baseAddress! + r * stride) } }
        }
        for count in [1, 2, 40] {
            let queries = (0..<count).flatMap { _ in rng.vector(dim) }
            let prepared = PreparedQueries(queries, count: count, dimension: dim, quantize: false)
            var simd = [Float](repeating: 0, count: rows * count)
            var portable = [Float](repeating: 0, count: rows * count)
            stored.withUnsafeBytes { s in
                codec.scoreTile(s.baseAddress!, rows: rows, dimension: dim, queries: prepared, alpha: 1, scores: &simd)
                Float16Codec(kernels: .portable).scoreTile(
                    s.baseAddress!, rows: rows, dimension: dim, queries: prepared, alpha: 1, scores: &portable)
                for r in 0..<rows {
                    let x = codec.decode(s.baseAddress! + r * stride, dimension: dim)
                    for q in 0..<count {
                        let exact = zip(x, queries[(q * dim)...]).reduce(0) { $0 + Double($1.0) * Double($1.1) }
                        #expect(abs(Double(simd[r * count + q]) - exact) < 1e-3 * Double(dim))
                        #expect(abs(simd[r * count + q] - portable[r * count + q]) < 1e-3 * Float(dim))
                    }
                }
            }
        }
    }

    // MARK: Collections

    /// A compact collection with rescoring of every row returns exactly the f32 answer:
    /// the compact scan, the float32 copies and rescoring are plumbed right, through
    /// inserts, replacements, deletes and compaction, for every metric.
    @Test(arguments: compact, Metric.allCases)
    func fullRescoringIsExact(encoding: VectorEncoding, metric: Metric) throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try Store(path: dir.path)
        let c = try store.createCollection("c", dimension: 24, metric: metric, encoding: encoding)
        var rng = SeededGenerator(seed: 5)
        var ref = BruteForce(metric: metric)
        var batch: [Record] = []
        for i in 0..<1500 {
            batch.append(Record(id: "id\(i)", vector: rng.vector(24), metadata: ["even": .bool(i % 2 == 0), "n": .int(Int64(i))]))
            if batch.count == 300 {
                try c.upsert(batch)
                ref.upsert(batch)
                batch = []
            }
        }
        let replaced = stride(from: 1, to: 1500, by: 9).map { Record(id: "id\($0)", vector: rng.vector(24), metadata: ["n": .int(-1)]) }
        try c.upsert(replaced)
        ref.upsert(replaced)
        let gone = stride(from: 4, to: 1500, by: 7).map { "id\($0)" }
        try c.delete(ids: gone)
        ref.delete(gone)
        for round in 0..<2 {
            if round == 1 { try c.compact() }
            for _ in 0..<4 {
                let q = rng.vector(24)
                var request = SearchRequest(queries: [q], k: 10)
                request.oversampling = 10_000
                let hits = try c.search(request).hits[0]
                let expected = ref.search(q, k: 10)
                #expect(hits.map(\.id) == expected.map(\.id))
                for (h, e) in zip(hits, expected) { #expect(abs(Double(h.score) - e.score) < 1e-4) }
            }
            // A selective filter gathers float32 vectors: exact whatever the oversampling.
            let q = rng.vector(24)
            let filtered = try c.search(q, k: 5, filter: .equals("n", .int(-1)))
            #expect(filtered.map(\.id) == ref.search(q, k: 5) { $0["n"] == .int(-1) }.map(\.id))
            #expect(try store.check().isHealthy)
        }
        // `get` returns the vector as written (unit length under cosine), not its
        // compact approximation.
        let original = replaced[3]
        let got = try #require(try c.get(original.id))
        var expected = original.vector
        if metric == .cosine {
            let norm = expected.reduce(0) { $0 + $1 * $1 }.squareRoot()
            expected = expected.map { $0 * (1 / norm) }
        }
        #expect(got.vector.map(\.bitPattern) == expected.map(\.bitPattern))
        #expect(try c.count() == ref.records.count)
    }

    /// A store in a new temporary directory holding one cosine collection "c".
    static func cosineCollection(_ encoding: VectorEncoding, dimension: Int) throws -> (TemporaryDirectory, Store, LMDBCollection) {
        let dir = TemporaryDirectory()
        do {
            let store = try Store(path: dir.path)
            return (dir, store, try store.createCollection("c", dimension: dimension, metric: .cosine, encoding: encoding))
        } catch {
            dir.remove()
            throw error
        }
    }

    /// With the default oversampling the compact encodings find nearly all of the exact
    /// top 10 on clustered vectors (the benchmark measures real ones), and the scan's plan
    /// is reported.
    @Test(arguments: compact)
    func defaultOversamplingFindsTheExactNeighbours(encoding: VectorEncoding) throws {
        let dim = 64
        let (dir, _, c) = try Self.cosineCollection(encoding, dimension: dim)
        defer { dir.remove() }
        var rng = SeededGenerator(seed: 11)
        let centers = (0..<20).map { _ in rng.vector(dim) }
        var ref = BruteForce(metric: .cosine)
        let records = (0..<4000).map { i -> Record in
            let center = centers[i % centers.count]
            let noise = rng.vector(dim)
            return Record(id: "r\(i)", vector: zip(center, noise).map { $0 + 0.4 * $1 })
        }
        try c.upsert(records)
        ref.upsert(records)
        var found = 0
        let queries = (0..<50).map { i in zip(centers[i % 20], rng.vector(dim)).map { $0 + 0.4 * $1 } }
        let response = try c.search(SearchRequest(queries: queries, k: 10))
        for (q, hits) in zip(queries, response.hits) {
            found += Set(hits.map(\.id)).intersection(ref.search(q, k: 10).map(\.id)).count
        }
        let recall = Double(found) / 500
        #expect(recall >= 0.97, "recall@10 \(recall) with \(encoding.rawValue)")
        #expect(response.plan.access == ScanPath.name)
        #expect(response.plan[SearchPlan.Figure.rescored] == 40)
        #expect(response.plan.description.hasSuffix("rescored from f32 40"), "\(response.plan)")
    }

    /// A batch large enough to be prepared on all cores, with ids repeated in it: each
    /// kept record's compact vector (encoded while the batch is prepared, outside the
    /// write) sits in its own slot. Without rescoring beyond k (oversampling 1), every
    /// record's own vector finds it first, and a superseded record's vector does not.
    @Test(arguments: compact)
    func compactVectorsPreparedInParallelLandInTheirSlots(encoding: VectorEncoding) throws {
        let dim = 48
        let (dir, store, c) = try Self.cosineCollection(encoding, dimension: dim)
        defer { dir.remove() }
        var rng = SeededGenerator(seed: 23)
        // 1,200 records, the ids of the last 200 repeating the first 200 with new vectors.
        let first = (0..<1000).map { Record(id: "r\($0)", vector: rng.vector(dim)) }
        let repeats = (0..<200).map { Record(id: "r\($0)", vector: rng.vector(dim)) }
        try c.upsert(first + repeats)
        #expect(try c.count() == 1000)
        let kept = repeats + first[200...]
        for r in kept.enumerated().filter({ $0.offset % 7 == 0 }).map(\.element) {
            var request = SearchRequest(queries: [r.vector], k: 1)
            request.oversampling = 1
            #expect(try c.search(request).hits[0].map(\.id) == [r.id])
        }
        // The superseded vectors are not stored: the nearest to one is not its id's record
        // at score 1.
        let stale = try c.search(first[0].vector, k: 1)
        #expect(stale.first?.id != "r0" || (stale.first?.score ?? 1) < 0.99)
        #expect(try store.check().isHealthy)
    }

    /// The encoding is recorded and checked on open; a compact collection raises the
    /// store's format version (older Quivers then refuse the store rather than read int8
    /// blocks as floats), a store of f32 collections stays at version 1.
    @Test func encodingIsRecordedAndRaisesTheFormatVersion() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        do {
            let store = try Store(path: dir.path)
            _ = try store.createCollection("plain", dimension: 4, metric: .dot)
            #expect(try store.formatVersion() == 1)
            let c = try store.createCollection("small", dimension: 4, metric: .dot, encoding: .int8)
            #expect(try store.formatVersion() == 2)
            try c.upsert([Record(id: "a", vector: [1, 2, 3, 4])])
            // Sealed records, and a block carrying its float32 copies.
            #expect(try store.formatVersion() == Int(Format.blockCopiesVersion))
        }
        let store = try Store(path: dir.path)
        #expect(try store.collection("small").info.encoding == .int8)
        let error = #expect(throws: StoreError.self) {
            try store.openOrCreateCollection("small", dimension: 4, metric: .dot, encoding: .float16)
        }
        #expect(error?.code == .collectionExists)
        #expect(error?.input == "encoding")
        #expect(try store.openOrCreateCollection("small", dimension: 4, metric: .dot, encoding: .int8).get("a")?.vector == [1, 2, 3, 4])
    }

    /// Half precision cannot hold components beyond ±65504: such a record is refused with
    /// an error naming it and the component, and nothing of its batch is written.
    @Test func float16RefusesComponentsOutOfRange() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try Store(path: dir.path)
        let c = try store.createCollection("c", dimension: 3, metric: .dot, encoding: .float16)
        let error = #expect(throws: StoreError.self) {
            try c.upsert([Record(id: "ok", vector: [1, 2, 3]), Record(id: "big", vector: [1, 70000, 3])])
        }
        #expect(error?.code == .invalidVector)
        #expect(error?.recordID == "big")
        #expect(error?.message.contains("component 1") == true)
        #expect(try c.count() == 0)
        // Under cosine vectors are unit length before encoding: any finite vector fits.
        let unit = try store.createCollection("u", dimension: 3, metric: .cosine, encoding: .float16)
        try unit.upsert([Record(id: "big", vector: [1, 70000, 3])])
        #expect(try unit.search([0, 1, 0], k: 1).first?.id == "big")
    }

    /// `check()` finds a compact collection's damaged float32 copies: in a block (the
    /// checksum, and the record named when a copy is not finite), and in the float32 table
    /// of a block written before blocks carried copies (missing there: `check()` names
    /// the record and reading it is an error, not a wrong vector).
    @Test func checkFindsMissingFloat32Vectors() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try Store(path: dir.path)
        let c = try store.createCollection("c", dimension: 4, metric: .l2, encoding: .int8)
        try c.upsert((0..<10).map { Record(id: "r\($0)", vector: [Float($0), 1, 2, 3]) })
        #expect(try store.check().isHealthy)
        #expect(try store.env.read { txn in try c.fullVectors.map { try txn.count($0.dbi) } } == 0)
        // A copy in the block made non-finite (the block written back as it was otherwise,
        // its checksum not updated).
        try store.env.write { txn in
            let row = try #require(try c.rowID(of: "r3", txn))
            let loc = try #require(try c.location(of: row, txn))
            let view = try #require(try c.blockView(loc.block, txn))
            let value = try #require(try c.blocks.get(txn, loc.block))
            let copy = try #require(view.copy(Int(loc.slot)))
            var bytes = Array(value)
            let offset = UnsafeRawPointer(copy) - UnsafeRawPointer(value.baseAddress!) + 2 * 4
            withUnsafeBytes(of: Float.nan) { for i in 0..<4 { bytes[offset + i] = $0[i] } }
            try c.blocks.put(txn, loc.block, bytes: bytes)
        }
        var report = try store.check()
        #expect(report.problems.contains { $0.contains("\"r3\"") && $0.contains("non-finite") })
        #expect(report.problems.contains { $0.contains("checksum") })

        let legacy = try store.createCollection("legacy", dimension: 4, metric: .l2, encoding: .int8)
        try legacy.upsert((0..<10).map { Record(id: "r\($0)", vector: [Float($0), 1, 2, 3]) })
        try Self.writeAsFormat5(store, legacy)
        #expect(try store.env.read { txn in try legacy.fullVectors.map { try txn.count($0.dbi) } } == 10)
        #expect(try legacy.get("r3")?.vector == [3, 1, 2, 3])
        // Deleting or replacing a row of a format-5 block removes its table copy.
        #expect(try legacy.delete(ids: ["r5"]) == 1)
        try legacy.upsert([Record(id: "r6", vector: [6, 1, 2, 4])])
        #expect(try store.env.read { txn in try legacy.fullVectors.map { try txn.count($0.dbi) } } == 8)
        #expect(try legacy.get("r6")?.vector == [6, 1, 2, 4])
        let healthy = try store.check()
        #expect(!healthy.problems.contains { $0.contains("legacy") }, "\(healthy.problems)")
        try store.env.write { txn in
            let row = try #require(try legacy.rowID(of: "r3", txn))
            try legacy.fullVectors?.delete(txn, row)
        }
        report = try store.check()
        #expect(report.problems.contains { $0.contains("\"r3\"") && $0.contains("no float32 vector") })
        let error = #expect(throws: StoreError.self) { try legacy.get("r3") }
        #expect(error?.code == .corrupted)
    }

    /// Blocks written before blocks carried float32 copies (format 5: copies in the
    /// collection's float32 table) are read as before, and a merge moves their copies into
    /// the new blocks and out of the table; searches rescore the same before and after.
    @Test(arguments: [false, true])
    func blocksOfFormat5AreReadAndMigratedByMerges(withIVF: Bool) throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try Store(path: dir.path)
        let c = try store.createCollection("c", dimension: 16, metric: .cosine, encoding: .int8)
        var rng = SeededGenerator(seed: 21)
        let vectors = (0..<600).map { _ in rng.vector(16) }
        for start in stride(from: 0, to: 600, by: 100) {
            try c.upsert((start..<(start + 100)).map { Record(id: "r\($0)", vector: vectors[$0]) })
        }
        let queries = (0..<5).map { _ in rng.vector(16) }
        var request = SearchRequest(queries: queries, k: 10)
        request.oversampling = 600  // every row rescored: the exact answer
        let before = try c.search(request).hits.map { $0.map(\.id) }
        try Self.writeAsFormat5(store, c)
        #expect(try store.env.read { txn in try c.blockViews(txn).allSatisfy { $0.copies == nil } })
        #expect(try store.env.read { txn in try c.fullVectors.map { try txn.count($0.dbi) } } == 600)
        #expect(try store.check().isHealthy)
        #expect(try c.search(request).hits.map { $0.map(\.id) } == before)
        let after = withIVF ? try store.buildIVFIndex(of: "c", lists: 8) : c
        if !withIVF { try c.compact() }
        #expect(try store.env.read { txn in try after.blockViews(txn).allSatisfy { $0.copies != nil } })
        #expect(try store.env.read { txn in try after.fullVectors.map { try txn.count($0.dbi) } } == 0)
        #expect(try store.check().isHealthy)
        #expect(try store.formatVersion() == Int(Format.blockCopiesVersion))
        request.nprobe = 8
        #expect(try after.search(request).hits.map { $0.map(\.id) } == before)
        let norm = vectors[7].reduce(0) { $0 + $1 * $1 }.squareRoot()
        let got = try #require(try after.get("r7")?.vector)
        #expect(zip(got, vectors[7]).allSatisfy { abs($0 - $1 / norm) < 1e-6 })
    }

    /// Rewrites every block of `c` as format 5 wrote compact blocks: no float32 copies
    /// (copies flag 0, the value ending after the row ids, sealed again), the copies in
    /// the collection's float32 table instead, and the store's version 5.
    static func writeAsFormat5(_ store: Store, _ c: LMDBCollection) throws {
        let table = try #require(c.fullVectors)
        try store.env.write { txn in
            let dim = c.info.dimension
            var rewritten: [(blockNo: UInt64, value: [UInt8], rows: [UInt64], copies: [Float])] = []
            for v in try c.blockViews(txn) {
                let copies = try #require(v.copies)
                let value = try #require(try c.blocks.get(txn, v.blockNo))
                let layout = BlockLayout(count: v.count, dim: dim, codec: c.codec)
                var bytes = Array(UnsafeRawBufferPointer(rebasing: value[0..<max(BlockLayout.minBytes, layout.copiesOffset)]))
                bytes[BlockLayout.copiesFlagOffset] = 0
                if bytes.count > layout.copiesOffset { for i in layout.copiesOffset..<bytes.count { bytes[i] = 0 } }
                let sealed = layout.copiesOffset - BlockLayout.headerBytes
                let sum = bytes.withUnsafeBytes { quiver_xxh64($0.baseAddress! + BlockLayout.headerBytes, sealed) }
                withUnsafeBytes(of: sum.littleEndian) { for i in 0..<8 { bytes[BlockLayout.checksumOffset + i] = $0[i] } }
                let floats = Array(UnsafeBufferPointer(start: copies.assumingMemoryBound(to: Float.self), count: v.count * dim))
                rewritten.append((v.blockNo, bytes, (0..<v.count).map(v.rowID), floats))
            }
            for b in rewritten {
                try c.blocks.put(txn, b.blockNo, bytes: b.value)
                for (i, row) in b.rows.enumerated() {
                    try b.copies[(i * dim)..<((i + 1) * dim)].withUnsafeBytes { try table.put(txn, row, $0) }
                }
            }
            try store.metaDB.put(txn, MetaKey.version, bytes: withUnsafeBytes(of: UInt32(5).littleEndian) { Array($0) })
        }
    }

    /// An oversampling below 1 is refused.
    @Test func oversamplingMustBePositive() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try Store(path: dir.path)
        let c = try store.createCollection("c", dimension: 2, metric: .dot, encoding: .int8)
        var request = SearchRequest(queries: [[1, 0]], k: 1)
        request.oversampling = 0
        let error = #expect(throws: StoreError.self) { try c.search(request) }
        #expect(error?.code == .invalidArgument)
    }
}
