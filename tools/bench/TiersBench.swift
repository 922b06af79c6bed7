import ArgumentParser
import Foundation
import Ingest
import QuiverCore
import Synthetic
import VectorStore

/// `quiver-bench tiers`: the compact encodings (f16, int8 with rescoring) against exact f32
/// in the same run. Recall on real vector distributions (GloVe 6B 50-d, angular; optionally
/// MiniLM vectors saved as .npy), speed at 1M × 384 on a clustered synthetic set, disk per
/// record and the durable upsert rate against the disk's own fdatasync rate.
struct TiersBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tiers", abstract: "Benchmark compact vector encodings (f16, int8 + exact rescoring) against exact f32.")

    @Option(help: "GloVe .npy (400000 × 50; default: ~/.cache/quiver/glove/glove-6B-50d.npy from tools/bench/fetch_glove.sh).")
    var glove: String?
    @Option(help: "More real vectors as .npy (float32, rows × dim), e.g. MiniLM vectors of a chunked corpus.") var npy: [String] = []
    @Option(help: "BEIR folder whose corpus is chunked (256 tokens) and embedded with the local model; its queries are the queries.")
    var beir: String?
    @Option(help: "Local model folder (default: where scripts/setup.sh installs it).") var modelDir: String?
    @Option(help: "Queries held out of each real set.") var realQueries = 1000
    @Option(help: "Vectors in the speed set.") var n = 1_000_000
    @Option(help: "Dimension of the speed set.") var dim = 384
    @Option(help: "Single queries timed per encoding.") var queries = 200
    @Option(help: "Vectors upserted durably per encoding for the disk-bound figure.") var durableN = 100_000
    @Option(help: "Top-k.") var k = 10
    @Option(parsing: .upToNextOption, help: "Oversampling factors whose recall is reported.") var oversampling: [Int] = [1, 2, 4, 8]
    @Option(help: "Seed.") var seed: UInt64 = 42
    @Option(help: "Work directory (default: a fresh temporary one, removed afterwards).") var dir: String?
    @Option(parsing: .upToNextOption, help: "Encodings of the speed set (f32 first for the speedups).") var encodings: [String] = [
        "f32", "f16", "i8",
    ]
    @Flag(help: "Skip the recall sets.") var skipRecall = false
    @Flag(help: "Skip the 1M speed set.") var skipSpeed = false
    @Flag(help: "Skip the durable upsert figures.") var skipUpsert = false
    @Flag(help: "Skip the IVF figures (GloVe and the clustered set).") var skipIvf = false
    @Option(help: "Vectors in the IVF clustered set (default: --n).") var ivfN: Int?
    @Option(parsing: .upToNextOption, help: "IVF sets are also measured in an int8 collection when this lists i8.")
    var ivfEncodings: [String] = ["f32", "i8"]
    @Option(help: "Largest IVF set compared with usearch's HNSW (its build takes minutes; 0 skips it).")
    var hnswMaxRows = 500_000
    @Option(help: "Single queries run again after the sweep, untimed, at --probe-repeat-nprobe (to profile a probe).")
    var probeRepeat = 0
    @Option(help: "nprobe of the --probe-repeat queries (0: the collection's default).") var probeRepeatNprobe = 1
    @Flag(help: "Print one flat JSON object.") var json = false

    static let encodings: [VectorEncoding] = [.float32, .float16, .int8]
    static func key(_ e: VectorEncoding) -> String { e == .float32 ? "f32" : e == .float16 ? "f16" : "int8" }

    func run() throws {
        var out: [(String, Double)] = []
        func note(_ key: String, _ value: Double) {
            out.append((key, value))
            if !json { FileHandle.standardError.write(Data("\(key) \(Self.format(value))\n".utf8)) }
        }
        note("load_1min", Machine.load())
        let root = dir ?? NSTemporaryDirectory() + "quiver-tiers-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { if dir == nil { try? FileManager.default.removeItem(atPath: root) } }

        // Recall on real sets.
        if !skipRecall { try recallSets(root: root, note: note) }
        if !skipSpeed { try speed(root: root + "/speed", note: note) }
        if !skipUpsert { try durableUpserts(root: root + "/durable", note: note) }
        if !skipIvf { try ivfSets(root: root + "/ivf", note: note) }
        note("load_1min_end", Machine.load())
        if json {
            print(Machine.json(out, text: [("compact_kernels", VectorEncoding.compactKernelInstructionSet)]))
        } else {
            for (key, value) in out { print(key.padding(toLength: 40, withPad: " ", startingAt: 0), Self.format(value)) }
            print("compact_kernels".padding(toLength: 40, withPad: " ", startingAt: 0), VectorEncoding.compactKernelInstructionSet)
        }
    }

    /// Recall on GloVe (when fetched), the .npy sets given, and MiniLM vectors of `--beir`.
    func recallSets(root: String, note: (String, Double) -> Void) throws {
        var realSets: [(name: String, path: String)] = []
        let defaultGlove = NSHomeDirectory() + "/.cache/quiver/glove/glove-6B-50d.npy"
        if let glove {
            realSets.append(("glove", glove))
        } else if FileManager.default.fileExists(atPath: defaultGlove) {
            realSets.append(("glove", defaultGlove))
        } else {
            FileHandle.standardError.write(Data("note: no GloVe vectors (run tools/bench/fetch_glove.sh); recall on them skipped\n".utf8))
        }
        for (i, path) in npy.enumerated() { realSets.append((i == 0 ? "npy" : "npy\(i + 1)", path)) }
        for set in realSets {
            let matrix = try NPY.load(set.path)
            try recall(set.name, matrix, queries: nil, root: root + "/\(set.name)", note: note)
        }
        if let beir {
            let (base, queries) = try minilmVectors(beir)
            try recall("minilm", base, queries: queries, root: root + "/minilm", note: note)
        }
    }

    static func format(_ v: Double) -> String { v == v.rounded() && abs(v) < 1e12 ? String(Int(v)) : String(format: "%.4f", v) }

    // MARK: Recall

    /// Holds out `realQueries` rows (every row-count/queries-th) as queries, stores the rest
    /// in one collection per encoding (cosine: the sets are angular), and measures recall@k
    /// of each compact encoding against exact f32 for each oversampling factor; plus int8
    /// with per-dimension scales, simulated here, to compare with the per-vector scales the
    /// store uses.
    func recall(_ name: String, _ m: NPY.Matrix, queries given: [[Float]]?, root: String, note: (String, Double) -> Void) throws {
        let stride = max(1, m.rows / realQueries)
        var queryRows: [Int] = []
        var baseRows: [Int] = []
        for r in 0..<m.rows {
            if given == nil && r % stride == 0 && queryRows.count < realQueries { queryRows.append(r) } else { baseRows.append(r) }
        }
        note("\(name)_vectors", Double(baseRows.count))
        note("\(name)_dim", Double(m.cols))
        var options = StoreOptions()
        options.durable = false
        let store = try Store(path: root, options: options)
        var collections: [VectorEncoding: LMDBCollection] = [:]
        for e in Self.encodings {
            let c = try store.createCollection("\(name)-\(e.rawValue)", dimension: m.cols, metric: .cosine, encoding: e)
            var start = 0
            while start < baseRows.count {
                let end = min(baseRows.count, start + 10_000)
                try c.upsert((start..<end).map { i in Record(id: "\(baseRows[i])", vector: m.row(baseRows[i])) })
                start = end
            }
            collections[e] = c
        }
        let queries = given ?? queryRows.map { m.row($0) }
        func search(_ e: VectorEncoding, oversampling: Int?) throws -> [[String]] {
            var all: [[String]] = []
            var start = 0
            while start < queries.count {
                let end = min(queries.count, start + 100)
                var request = SearchRequest(queries: Array(queries[start..<end]), k: k)
                request.oversampling = oversampling
                all += try collections[e]!.search(request).hits.map { $0.map(\.id) }
                start = end
            }
            return all
        }
        let exact = try search(.float32, oversampling: nil)
        func recallOf(_ found: [[String]]) -> Double {
            var hit = 0
            for (f, x) in zip(found, exact) { hit += Set(f).intersection(x).count }
            return Double(hit) / Double(exact.reduce(0) { $0 + $1.count })
        }
        for e in [VectorEncoding.float16, .int8] {
            for o in oversampling {
                note("\(name)_\(Self.key(e))_recall\(k)_os\(o)", recallOf(try search(e, oversampling: o)))
            }
            note("\(name)_\(Self.key(e))_recall\(k)", recallOf(try search(e, oversampling: nil)))
        }
        // Per-dimension int8 scales against per-vector ones, both simulated the same way
        // (a brute-force scan of the quantized base, the best `o × k` rescored exactly), on
        // up to 200 queries.
        let simulated = Array(queries.prefix(200))
        let truth = Array(exact.prefix(200))
        let base = baseRows.map { m.row($0) }.map(Self.unit)
        let baseIDs = baseRows.map { "\($0)" }
        for scheme in ["pervector", "perdim"] {
            let approx = scheme == "perdim" ? Self.perDimensionInt8(base) : base.map(Self.perVectorInt8)
            var hits = [1: 0, 4: 0]
            for (q, t) in zip(simulated, truth) {
                let u = Self.unit(q)
                let ranked = Self.topIndices(approx.map { Self.dot(u, $0) }, 4 * k)
                for o in [1, 4] {
                    let rescored = ranked.prefix(o * k).sorted { Self.dot(u, base[$0]) > Self.dot(u, base[$1]) }.prefix(k)
                    hits[o]! += Set(rescored.map { baseIDs[$0] }).intersection(t).count
                }
            }
            for o in [1, 4] {
                note("\(name)_int8_\(scheme)_sim_recall\(k)_os\(o)", Double(hits[o]!) / Double(truth.reduce(0) { $0 + $1.count }))
            }
        }
    }

    /// MiniLM vectors of the BEIR corpus, chunked as `quiver-bench retrieval` chunks it
    /// (title + text, 256 tokens, overlap 32), and of its queries (`MiniLMVectorCache`).
    func minilmVectors(_ folder: String) throws -> (NPY.Matrix, [[Float]]) {
        if let cached = try MiniLMVectorCache.load(folder) {
            return (cached.chunks, (0..<cached.queries.rows).map { cached.queries.row($0) })
        }
        let tag = URL(fileURLWithPath: folder).standardizedFileURL.lastPathComponent
        let data = try BEIRDataset.load(folder, split: "train")
        let embedder = try LocalEmbedder(directory: modelDir)
        let splitter = TokenSplitter(chunkSize: 256, chunkOverlap: 32, tokenizer: embedder.tokenizer)
        let texts = data.documents.map { $0.title.isEmpty ? $0.text : $0.title + "\n\n" + $0.text }
        let chunks = texts.split(with: splitter).flatMap { $0.map(\.text) }
        var vectors: [[Float]] = []
        let t0 = Machine.now()
        var start = 0
        while start < chunks.count {
            let end = min(chunks.count, start + 256)
            vectors += try embedder.embed(Array(chunks[start..<end]))
            start = end
            RetrievalBench.progress("embedding \(tag)", start, chunks.count, since: t0)
        }
        let queries = try embedder.embed(data.queries.map(\.text))
        try MiniLMVectorCache.save(folder, chunks: vectors, queries: queries)
        return (try NPY.load(MiniLMVectorCache.paths(folder).chunks), queries)
    }

    static func unit(_ v: [Float]) -> [Float] {
        let n = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return n > 0 ? v.map { $0 / n } : v
    }

    static func dot(_ a: [Float], _ b: [Float]) -> Float {
        var s: Float = 0
        for i in a.indices { s += a[i] * b[i] }
        return s
    }

    /// The indices of the `n` highest scores, best first (a bounded insertion: n is small).
    static func topIndices(_ scores: [Float], _ n: Int) -> [Int] {
        var top: [Int] = []
        top.reserveCapacity(n + 1)
        for (i, s) in scores.enumerated() {
            if top.count == n, let last = top.last, s <= scores[last] { continue }
            var at = top.count
            while at > 0 && scores[top[at - 1]] < s { at -= 1 }
            top.insert(i, at: at)
            if top.count > n { top.removeLast() }
        }
        return top
    }

    /// Symmetric per-vector int8, decoded: what the store's int8 encoding approximates.
    static func perVectorInt8(_ v: [Float]) -> [Float] {
        let m = v.map { abs($0) }.max() ?? 0
        guard m > 0 else { return v }
        let s = m / 127
        return v.map { ($0 / s).rounded() * s }
    }

    /// Asymmetric per-dimension int8 (each dimension's min…max in 255 steps), decoded.
    static func perDimensionInt8(_ rows: [[Float]]) -> [[Float]] {
        guard let d = rows.first?.count else { return rows }
        var lo = [Float](repeating: .infinity, count: d)
        var hi = [Float](repeating: -.infinity, count: d)
        for r in rows {
            for i in 0..<d {
                lo[i] = min(lo[i], r[i])
                hi[i] = max(hi[i], r[i])
            }
        }
        let step = (0..<d).map { max(hi[$0] - lo[$0], 1e-30) / 255 }
        return rows.map { r in (0..<d).map { i in ((r[i] - lo[i]) / step[i]).rounded() * step[i] + lo[i] } }
    }

    // MARK: Speed

    /// Clustered unit vectors: 1,000 random centres, each vector a centre plus noise.
    struct Clustered {
        let dim: Int
        let centres: [[Float]]
        init(dim: Int, seed: UInt64) {
            self.dim = dim
            var rng = SeededGenerator(seed: seed)
            centres = (0..<1000).map { _ in rng.unitVector(dim) }
        }
        func vector(_ i: Int, _ rng: inout SeededGenerator) -> [Float] {
            let c = centres[i % centres.count]
            return TiersBench.unit((0..<dim).map { c[$0] + 0.06 * rng.component() })
        }
    }

    func speed(root: String, note: (String, Double) -> Void) throws {
        note("n", Double(n))
        note("dim", Double(dim))
        let bw2 = Machine.readBandwidth(threads: 2)
        note("mem_bw_2t_gbs", bw2)
        note("sgemm_2t_gflops", Machine.sgemmRate(threads: 2))
        let data = Clustered(dim: dim, seed: seed)
        var qrng = SeededGenerator(seed: seed &+ 1)
        let qs = (0..<1000).map { data.vector($0 * 7, &qrng) }
        var options = StoreOptions()
        options.durable = false
        // Build every encoding's collection first, then time them interleaved (query by
        // query, batch by batch), so that load from other processes falls on all alike.
        let chosen = Self.encodings.filter { encodings.contains($0.rawValue) }
        var built: [(encoding: VectorEncoding, store: Store, collection: LMDBCollection)] = []
        defer { for e in chosen { try? FileManager.default.removeItem(atPath: root + "-" + e.rawValue) } }
        for e in chosen {
            let store = try Store(path: root + "-" + e.rawValue, options: options)
            let c = try store.createCollection("speed", dimension: dim, metric: .cosine, encoding: e)
            var rng = SeededGenerator(seed: seed &+ 2)
            let t0 = Machine.now()
            var i = 0
            while i < n {
                let end = min(n, i + 10_000)
                try c.upsert((i..<end).map { Record(id: "\($0)", vector: data.vector($0, &rng)) })
                i = end
            }
            try c.compact()
            note("\(Self.key(e))_build_s", Machine.now() - t0)
            note("\(Self.key(e))_file_bytes_per_record", Double(try store.fileSize()) / Double(n))
            _ = try c.search(qs[0], k: k)
            built.append((e, store, c))
        }
        var latency = [[Double]](repeating: [], count: built.count)
        var found = [[[String]]](repeating: [], count: built.count)
        for q in qs.prefix(queries) {
            for (i, b) in built.enumerated() {
                let t = Machine.now()
                let hits = try b.collection.search(q, k: k)
                latency[i].append(Machine.now() - t)
                found[i].append(hits.map(\.id))
            }
        }
        var best = [Double](repeating: .infinity, count: built.count)
        for _ in 0..<3 {
            for (i, b) in built.enumerated() {
                let t = Machine.now()
                _ = try b.collection.search(batch: qs, k: k)
                best[i] = min(best[i], Machine.now() - t)
            }
        }
        var singleP50: [VectorEncoding: Double] = [:]
        var batchBest: [VectorEncoding: Double] = [:]
        let exact = built.firstIndex { $0.encoding == .float32 }.map { found[$0] }
        for (i, b) in built.enumerated() {
            let key = Self.key(b.encoding)
            let sorted = latency[i].sorted()
            let p50 = sorted[sorted.count / 2]
            singleP50[b.encoding] = p50
            batchBest[b.encoding] = best[i]
            note("\(key)_single_p50_ms", p50 * 1000)
            note("\(key)_single_p99_ms", sorted[min(sorted.count - 1, sorted.count * 99 / 100)] * 1000)
            note("\(key)_single_gbs", Double(n * b.encoding.storedBytes(dimension: dim)) / p50 / 1e9)
            note("\(key)_batch1000_qps", 1000 / best[i])
            if b.encoding == .float32 {
                note("f32_single_bound_fraction", Double(n * dim * 4) / (bw2 * 1e9) / p50)
            } else if let exact {
                var hit = 0
                for (f, x) in zip(found[i], exact) { hit += Set(f).intersection(x).count }
                note("\(key)_speedset_recall\(k)", Double(hit) / Double(exact.count * k))
            }
        }
        for e in [VectorEncoding.float16, .int8] {
            guard let f32 = singleP50[.float32], let single = singleP50[e], let f32Batch = batchBest[.float32], let batch = batchBest[e]
            else { continue }
            note("\(Self.key(e))_single_speedup", f32 / single)
            note("\(Self.key(e))_batch1000_speedup", f32Batch / batch)
        }
    }

    // MARK: Durable upserts

    /// Durable upserts (fsync per commit, batches of 1,000) per encoding, as `quiver-bench
    /// store` measures f32: records per second × bytes written per record, against the
    /// disk's durable write rate in the same directory. The disk's rate swings between
    /// probes on this shared machine (216–1,481 MB/s within a minute), so it is probed after
    /// every encoding's upserts, twice: fdatasync'ed 2 MiB writes (`<enc>_disk_probe_mbs`)
    /// and LMDB's own durable commits of one value as large as a batch's writes
    /// (`<enc>_lmdb_commit_mbs`; `Machine.diskProbes`). The fastest of all the probes is
    /// `disk_write_mbs`, every `…_disk_bound_fraction`'s reference: conservative and
    /// comparable. The fastest LMDB probe is `lmdb_commit_mbs`, the ceiling of any durable
    /// LMDB write path of that commit size; `…_vs_lmdb_commit` divides each upsert rate
    /// by it.
    /// `<enc>_upsert_pipelined_…`: the same durable upserts with two batches in flight
    /// (bytes per record taken from the serial run: the same records, batches and
    /// commits).
    func durableUpserts(root: String, note: (String, Double) -> Void) throws {
        let data = Clustered(dim: dim, seed: seed)
        let filler = String(repeating: "lorem ipsum dolor sit amet ", count: 19).prefix(490)
        var rates: [(key: String, perSecond: Double, perRecord: Double)] = []
        var disk = 0.0
        var lmdbCommit = 0.0
        for e in Self.encodings {
            let path = root + "-" + e.rawValue
            defer { try? FileManager.default.removeItem(atPath: path) }
            let store = try Store(path: path)
            let c = try store.createCollection("durable", dimension: dim, metric: .cosine, encoding: e)
            let written0 = Machine.bytesWritten()
            let seconds = try timedUpserts(c, data: data, filler: filler)
            let perRecord = (Machine.bytesWritten() - written0) / Double(durableN)
            let probes = Machine.diskProbes(directory: path, commitBytes: Int(perRecord * 1000))
            let unsynced = try unsyncedUpsertsPerSecond(e, root: root + "-nosync-" + e.rawValue, data: data, filler: filler)
            disk = max(disk, probes.best)
            lmdbCommit = max(lmdbCommit, probes.lmdb)
            let key = Self.key(e)
            note("\(key)_lmdb_commit_mbs", probes.lmdb)
            rates.append((key + "_upsert", Double(durableN) / seconds, perRecord))
            note("\(key)_upsert_per_s", Double(durableN) / seconds)
            note("\(key)_upsert_bytes_written_per_record", perRecord)
            note("\(key)_disk_probe_mbs", probes.fdatasync)
            // The same upserts without fsync: what the CPU allows, so 1 − durable / unsynced
            // is the share of a durable upsert spent waiting for the disk.
            note("\(key)_upsert_nosync_per_s", unsynced)
            note("\(key)_upsert_sync_wait_fraction", 1 - (Double(durableN) / seconds) / unsynced)
            // The same durable upserts with two in flight (the async form, as the ingest
            // pipeline writes): one batch is prepared while the one before commits.
            let pipelined = try pipelinedUpsertsPerSecond(e, root: root + "-pipelined-" + e.rawValue, data: data, filler: filler)
            rates.append((key + "_upsert_pipelined", pipelined, perRecord))
            note("\(key)_upsert_pipelined_per_s", pipelined)
            try c.compact()
            note("\(key)_bytes_per_record", Double(try store.fileSize()) / Double(durableN))
        }
        note("disk_write_mbs", disk)
        note("lmdb_commit_mbs", lmdbCommit)
        for r in rates {
            note("\(r.key)_disk_bound_fraction", r.perSecond * r.perRecord / (disk * 1e6))
            note("\(r.key)_vs_lmdb_commit", r.perSecond * r.perRecord / (lmdbCommit * 1e6))
        }
    }
}

extension TiersBench {
    /// Upserts per second of `durableN` records as `durableUpserts` writes them, into a
    /// store opened without fsync (`StoreOptions.durable` false).
    func unsyncedUpsertsPerSecond(_ e: VectorEncoding, root: String, data: Clustered, filler: Substring) throws -> Double {
        defer { try? FileManager.default.removeItem(atPath: root) }
        var options = StoreOptions()
        options.durable = false
        let store = try Store(path: root, options: options)
        let c = try store.createCollection("durable", dimension: dim, metric: .cosine, encoding: e)
        return Double(durableN) / (try timedUpserts(c, data: data, filler: filler))
    }

    /// Durable upserts per second of `durableN` records in batches of 1,000 through the
    /// async `upsert`, two batches in flight (each call returns once its batch is durable);
    /// the batches are made before the clock starts.
    func pipelinedUpsertsPerSecond(_ e: VectorEncoding, root: String, data: Clustered, filler: Substring) throws -> Double {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = try Store(path: root)
        let c = try store.createCollection("durable", dimension: dim, metric: .cosine, encoding: e)
        var rng = SeededGenerator(seed: seed &+ 3)
        let batches = stride(from: 0, to: durableN, by: 1000).map { i in
            (i..<min(durableN, i + 1000)).map { Record(id: "doc\($0)", vector: data.vector($0, &rng), text: "record \($0) " + filler) }
        }
        let t = Machine.now()
        try BlockingExecutor.wait {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (i, batch) in batches.enumerated() {
                    if i >= 2 { try await group.next() }
                    group.addTask { try await c.upsert(batch) }
                }
                try await group.waitForAll()
            }
        }
        return Double(durableN) / (Machine.now() - t)
    }

    /// Seconds spent in `upsert` for `durableN` records in batches of 1,000 (the records
    /// made outside the timed calls).
    func timedUpserts(_ c: LMDBCollection, data: Clustered, filler: Substring) throws -> Double {
        var rng = SeededGenerator(seed: seed &+ 3)
        var seconds = 0.0
        var i = 0
        while i < durableN {
            let end = min(durableN, i + 1000)
            let batch = (i..<end).map { Record(id: "doc\($0)", vector: data.vector($0, &rng), text: "record \($0) " + filler) }
            let t = Machine.now()
            try c.upsert(batch)
            seconds += Machine.now() - t
            i = end
        }
        return seconds
    }
}

/// NumPy `.npy` files of float32 (C or Fortran order), read whole.
enum NPY {
    struct Matrix {
        let rows: Int
        let cols: Int
        let fortran: Bool
        let data: [Float]
        func row(_ r: Int) -> [Float] {
            fortran ? (0..<cols).map { data[$0 * rows + r] } : Array(data[(r * cols)..<((r + 1) * cols)])
        }
    }

    /// Writes `rows` (all of one length) as a C-order float32 .npy file.
    static func save(_ rows: [[Float]], to path: String) throws {
        let cols = rows.first?.count ?? 0
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(rows.count), \(cols)), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var data = Data([0x93]) + Data("NUMPY".utf8) + Data([1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)])
        data += Data(header.utf8)
        for r in rows { r.withUnsafeBytes { data += Data($0) } }
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    static func load(_ path: String) throws -> Matrix {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        guard bytes.count > 10, bytes.prefix(6) == Data([0x93]) + Data("NUMPY".utf8) else {
            throw ValidationError("\(path) is not a .npy file")
        }
        let major = bytes[6]
        let headerLength: Int
        let headerStart: Int
        if major == 1 {
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        } else {
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            headerStart = 12
        }
        let header = String(decoding: bytes[headerStart..<(headerStart + headerLength)], as: UTF8.self)
        guard header.contains("'<f4'") else { throw ValidationError("\(path): only little-endian float32 (<f4) is read, header \(header)") }
        let fortran = header.contains("'fortran_order': True")
        guard let open = header.range(of: "'shape': ("), let close = header[open.upperBound...].firstIndex(of: ")") else {
            throw ValidationError("\(path): no shape in header \(header)")
        }
        let dims = header[open.upperBound..<close].split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard dims.count == 2 else { throw ValidationError("\(path): expected a 2-d array, header \(header)") }
        let start = headerStart + headerLength
        let count = dims[0] * dims[1]
        guard bytes.count - start >= count * 4 else { throw ValidationError("\(path) is truncated") }
        let data = bytes.withUnsafeBytes { raw in
            (0..<count).map { raw.loadUnaligned(fromByteOffset: start + $0 * 4, as: Float.self) }
        }
        return Matrix(rows: dims[0], cols: dims[1], fortran: fortran, data: data)
    }
}
