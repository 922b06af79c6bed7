import ArgumentParser
import Foundation
import Synthetic
import VectorStore
import CQuiverKernels

/// `quiver-bench store`: open, search and upsert figures for a synthetic collection,
/// each next to the machine's bound measured in the same run.
struct StoreBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store", abstract: "Benchmark the vector store on synthetic normalized vectors.")

    @Option(help: "Vectors.") var n = 100_000
    @Option(help: "Dimension.") var dim = 384
    @Option(help: "Top-k.") var k = 10
    @Option(help: "Seed.") var seed: UInt64 = 42
    @Option(help: "Store directory (default: a fresh temporary one, removed afterwards).") var dir: String?
    @Option(help: "Single queries to time.") var queries = 200
    @Option(help: "Search threads (default: active processors).") var threads = ProcessInfoCores.count
    @Option(help: "Full block size in MiB (the store's default: 16).") var blockMB = 16
    @Flag(inversion: .prefixedNo, help: "fsync each commit (the store's default).") var durable = true
    @Flag(help: "Print one flat JSON object.") var json = false
    @Flag(help: "Stop after the upsert phase (for profiling).") var upsertOnly = false

    var options: StoreOptions {
        var o = StoreOptions()
        o.searchThreads = threads
        o.durable = durable
        o.maxBlockBytes = blockMB << 20
        return o
    }

    func run() throws {
        var out: [(String, Double)] = []
        func note(_ key: String, _ value: Double) { out.append((key, value)) }
        note("n", Double(n))
        note("dim", Double(dim))
        note("load_1min", Machine.load())

        let bw1 = upsertOnly ? 0 : Machine.readBandwidth(threads: 1)
        let bw2 = upsertOnly ? 0 : Machine.readBandwidth(threads: 2)
        let sg1 = upsertOnly ? 0 : Machine.sgemmRate(threads: 1)
        let sg2 = upsertOnly ? 0 : Machine.sgemmRate(threads: 2)
        note("mem_bw_1t_gbs", bw1)
        note("mem_bw_2t_gbs", bw2)
        note("sgemm_1t_gflops", sg1)
        note("sgemm_2t_gflops", sg2)
        // The machine's best kernel (children with the core forced), both threading schemes;
        // never below this process's own figure.
        let best = upsertOnly ? nil : Machine.bestSgemm(threads: [2], m: 2048, n: 2048, k: 384)
        let sgBest = upsertOnly ? 0 : max(best?.gflops[2] ?? 0, sg2, Machine.concurrentSgemmRate(threads: 2, m: 2048, n: 2048, k: 384))
        note("sgemm_best_gflops", sgBest)

        let path = dir ?? NSTemporaryDirectory() + "quiver-bench-\(UUID().uuidString)"
        defer { if dir == nil { try? FileManager.default.removeItem(atPath: path) } }
        var rng = SeededGenerator(seed: seed)
        let filler = String(repeating: "lorem ipsum dolor sit amet ", count: 19).prefix(490)
        var rawBytes = 0.0

        // Upsert in batches of 1000.
        do {
            let store = try Store(path: path, options: options)
            let c = try store.createCollection("bench", dimension: dim, metric: .cosine)
            var upsertSeconds = 0.0
            let written0 = Machine.bytesWritten()
            var i = 0
            while i < n {
                let m = min(1000, n - i)
                let batch = (0..<m).map { j -> Record in
                    let id = i + j
                    let text = "record \(id) " + filler
                    rawBytes += Double(dim * 4 + text.utf8.count)
                    return Record(
                        id: "doc\(id / 20)#\(id % 20)", vector: rng.unitVector(dim), text: text,
                        metadata: [
                            "source": .string("doc\(id / 20)"), "lang": .string(["en", "de", "fr", "ja"][id % 4]),
                            "page": .int(Int64(id % 50)),
                        ])
                }
                let t0 = Machine.now()
                try c.upsert(batch)
                upsertSeconds += Machine.now() - t0
                i += m
            }
            note("upsert_per_s", Double(n) / upsertSeconds)
            let perRecord = (Machine.bytesWritten() - written0) / Double(n)
            note("upsert_bytes_written_per_record", perRecord)
            // The disk's own limit for that many bytes, measured right after, same directory.
            let disk = Machine.diskProbes(directory: path, commitBytes: Int(perRecord * 1000))
            note("disk_probe_mbs", disk.fdatasync)
            note("lmdb_commit_mbs", disk.lmdb)
            note("disk_write_mbs", disk.best)
            note("upsert_disk_bound_fraction", Double(n) / upsertSeconds * perRecord / (disk.best * 1e6))
            note("file_size_ratio_before_compact", Double(try store.fileSize()) / rawBytes)
            let t0 = Machine.now()
            let blocks = try c.compact()
            note("compact_s", Machine.now() - t0)
            note("blocks", Double(blocks))
            note("file_size_ratio", Double(try store.fileSize()) / rawBytes)
            let copy = path + "-copy"
            try store.copy(to: copy, compact: true)
            let copySize = (try FileManager.default.attributesOfItem(atPath: copy + "/data.mdb")[.size] as? NSNumber)?.doubleValue ?? 0
            try? FileManager.default.removeItem(atPath: copy)
            note("compact_copy_size_ratio", copySize / rawBytes)
            note("file_bytes_per_vector", Double(try store.fileSize()) / Double(n))
        }

        if upsertOnly {
            for (key, value) in out { print(key, Self.format(value)) }
            return
        }
        // Open: a fresh Store in this process after the writer's was closed.
        let rss0 = Machine.rssMB()
        let t0 = Machine.now()
        let store = try Store(path: path, options: options)
        let c = try store.collection("bench")
        let count = try c.count()
        note("open_ms", (Machine.now() - t0) * 1000)
        note("open_rss_mb", Machine.rssMB() - rss0)
        guard count == n else { throw ValidationError("store holds \(count) records, expected \(n)") }

        // Single queries: warm the map once, then time.
        let qs = (0..<max(queries, 1000)).map { _ in rng.unitVector(dim) }
        _ = try c.search(qs[0], k: k)
        var lat: [Double] = []
        for q in qs.prefix(queries) {
            let t = Machine.now()
            _ = try c.search(q, k: k)
            lat.append(Machine.now() - t)
        }
        lat.sort()
        let p50 = lat[lat.count / 2]
        let p99 = lat[min(lat.count - 1, lat.count * 99 / 100)]
        let bytes = Double(n * dim * 4)
        note("single_p50_ms", p50 * 1000)
        note("single_p99_ms", p99 * 1000)
        note("single_gbs", bytes / p50 / 1e9)
        note("single_bound_fraction", bytes / (bw2 * 1e9) / p50)

        // Batches.
        for b in [1, 16, 256, 1000] {
            let batch = Array(qs.prefix(b))
            var reps = 0
            var best = Double.infinity
            let start = Machine.now()
            while reps < 3 || (Machine.now() - start < 2 && reps < 50) {
                let t = Machine.now()
                _ = try c.search(batch: batch, k: k)
                best = min(best, Machine.now() - t)
                reps += 1
            }
            note("batch\(b)_qps", Double(b) / best)
            if b == 1 {
                note("batch1_bound_fraction", bytes / (bw2 * 1e9) / best)
            } else {
                let flops = 2 * Double(b) * Double(n) * Double(dim)
                note("batch\(b)_gflops", flops / best / 1e9)
                note("batch\(b)_bound_fraction", flops / (sg2 * 1e9) / best)
                note("batch\(b)_bound_fraction_best", flops / (sgBest * 1e9) / best)
            }
        }

        // Filters: a selective one (about 0.5 % of rows) should gather its rows, a broad one
        // (75 %) scan with a mask; both next to the unfiltered p50.
        for (name, filter) in [
            ("filter_selective", Filter.and([.equals("lang", "en"), .equals("page", 4)])),
            ("filter_broad", Filter.notEquals("lang", "ja")),
        ] {
            var times: [Double] = []
            var plan: SearchPlan?
            for q in qs.prefix(50) {
                let t = Machine.now()
                plan = try c.searchExplained(batch: [q], k: k, filter: filter).plan
                times.append(Machine.now() - t)
            }
            times.sort()
            note("\(name)_p50_ms", times[times.count / 2] * 1000)
            note("\(name)_vs_unfiltered", times[times.count / 2] / p50)
            note("\(name)_gathered", plan?.access == "gather" ? 1 : 0)
        }

        // Re-upserting the same ids (10 % of them, 5 times, then 5 times more) must not grow
        // the file without bound: replaced rows are tombstones that merges and compaction
        // reclaim, and later writes reuse the freed pages.
        do {
            let before = Double(try store.fileSize())
            let ids = Array(stride(from: 0, to: n, by: 10))
            var sizes: [Double] = []
            for _ in 0..<2 {
                for _ in 0..<5 {
                    var i = 0
                    while i < ids.count {
                        let slice = ids[i..<min(ids.count, i + 1000)]
                        try c.upsert(
                            slice.map { id in
                                Record(
                                    id: "doc\(id / 20)#\(id % 20)", vector: rng.unitVector(dim), text: "record \(id) " + filler,
                                    metadata: [
                                        "source": .string("doc\(id / 20)"), "lang": .string(["en", "de", "fr", "ja"][id % 4]),
                                        "page": .int(Int64(id % 50)),
                                    ])
                            })
                        i += 1000
                    }
                }
                _ = try c.compact()
                sizes.append(Double(try store.fileSize()))
            }
            note("reupsert_file_growth", sizes[0] / before)
            note("reupsert_file_growth_second", sizes[1] / sizes[0])
            guard try c.count() == n else { throw ValidationError("re-upserts changed the record count") }
        }

        // The same kernel over an in-RAM array (not the map), single thread: separates the
        // kernel's speed from the map's (page size, TLB).
        do {
            let count = n * dim
            let arr = UnsafeMutablePointer<Float>.allocate(capacity: count)
            defer { arr.deallocate() }
            arr.initialize(repeating: 0.01, count: count)
            let q = qs.prefix(16).flatMap { $0 }
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: 256 * 16)
            defer { scores.deallocate() }
            for nq in [1, 16] {
                var best = Double.infinity
                for _ in 0..<5 {
                    let t = Machine.now()
                    var r = 0
                    while r < n {
                        let rows = min(256, n - r)
                        quiver_score_tile(arr + r * dim, rows, dim, q, nq, 1, scores)
                        r += rows
                    }
                    best = min(best, Machine.now() - t)
                }
                note("kernel_ram_1t_nq\(nq)_gbs", bytes / best / 1e9)
                note("kernel_ram_1t_nq\(nq)_gflops", 2 * Double(nq) * Double(count) / best / 1e9)
            }
        }

        if json {
            print(Machine.json(out, text: Machine.coreFields(best)))
        } else {
            for (key, value) in out { print(key.padding(toLength: 34, withPad: " ", startingAt: 0), Self.format(value)) }
            for (k, v) in Machine.coreFields(best) { print(k.padding(toLength: 34, withPad: " ", startingAt: 0), v) }
        }
    }

    static func format(_ v: Double) -> String {
        if v.isNaN || v.isInfinite { return "null" }
        if v == v.rounded() && abs(v) < 1e15 { return String(Int64(v)) }
        return String(format: "%.4g", v)
    }
}
