import ArgumentParser
import Foundation
import Synthetic
import VectorStore

/// The partitioned (IVF) index figures of `quiver-bench tiers`.
extension TiersBench {
    /// One IVF set: `count` vectors from `vector(i)` (cosine, f32), `queries` held out.
    struct IVFSet {
        var name: String
        var count: Int
        var dim: Int
        var vector: (Int) -> [Float]
        var queries: [[Float]]
    }

    /// Builds the set's collection (each record with `bucket` = i mod 100, so
    /// `bucket == 0` passes 1 % of rows), times 10k inserts into it flat (removed again),
    /// takes the exact top k (a scan), builds the IVF index (√N lists), sweeps nprobe
    /// (recall@k against the exact top k, single-query p50), measures the default nprobe, a
    /// 1 % and a 50 % filter, faiss `IndexIVFFlat` with the same lists and usearch's HNSW on
    /// the same vectors in the same run, the same set in an int8 collection with its own
    /// IVF index, and 10k inserts into the index. Keys are prefixed by `prefix` ("" for the
    /// speed set).
    func ivf(_ set: IVFSet, prefix: String, root: String, note: (String, Double) -> Void) throws {
        var options = StoreOptions()
        options.durable = false
        try? FileManager.default.removeItem(atPath: root)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = try Store(path: root, options: options)
        var c = try store.createCollection("ivf", dimension: set.dim, metric: .cosine)
        func records(_ range: Range<Int>, id: String = "") -> [Record] {
            range.map { Record(id: "\(id)\($0)", vector: set.vector($0), metadata: ["bucket": .int(Int64($0 % 100))]) }
        }
        try fill(c, set.count) { records($0) }
        let extra = 10_000
        // Inserts per second, and the process's CPU seconds for them (steadier than the
        // wall clock on a shared machine: other processes' load does not count).
        func timeInserts(_ c: LMDBCollection, tag: String) throws -> (rate: Double, cpu: Double) {
            let t = Machine.now()
            let cpu = Machine.cpuSeconds()
            var j = 0
            while j < extra {
                try c.upsert(records(j..<(j + 100), id: tag))
                j += 100
            }
            return (Double(extra) / (Machine.now() - t), Machine.cpuSeconds() - cpu)
        }
        let (flatInserts, flatCPU) = try timeInserts(c, tag: "flat-")
        // The timed rows are copies of the set's first rows: removed again, so that the
        // collection searched holds the set and nothing else, as faiss's and usearch's do.
        _ = try c.delete(ids: (0..<extra).map { "flat-\($0)" })
        try c.compact()
        let queries = set.queries
        func run(_ nprobe: Int?, filter: Filter? = nil) throws -> Searches {
            try searches(c, queries, nprobe: nprobe, filter: filter)
        }
        let exact = try run(0)
        note("\(prefix)exact_p50_ms", exact.p50 * 1000)
        let t0 = Machine.now()
        c = try store.buildIVFIndex(of: "ivf")
        note("\(prefix)ivf_build_s", Machine.now() - t0)
        guard let status = try c.ivfStatus() else { throw ValidationError("the IVF index was not built") }
        note("\(prefix)ivf_lists", Double(status.lists))
        let sweep = try sweepNprobe(c, queries, lists: status.lists, truth: exact.ids, key: "\(prefix)ivf", note: note)
        let byDefault = try run(nil)
        note("\(prefix)ivf_nprobe_default", Double(status.nprobe))
        note("\(prefix)ivf_recall\(k)", recall(byDefault.ids, exact.ids))
        note("\(prefix)ivf_p50_ms", byDefault.p50 * 1000)
        note("\(prefix)ivf_speedup", exact.p50 / byDefault.p50)
        note("\(prefix)ivf_rows_scored", Double(byDefault.plan.rowsScored))
        FileHandle.standardError.write(Data("\(prefix)plan: \(byDefault.plan)\n".utf8))
        // Filters: 1 % of rows (gather path), half of them (a masked probe).
        let one = Filter.equals("bucket", .int(0))
        let oneExact = try run(0, filter: one)
        let oneIVF = try run(nil, filter: one)
        note("\(prefix)ivf_filtered_recall\(k)", recall(oneIVF.ids, oneExact.ids))
        note("\(prefix)ivf_filtered_p50_ms", oneIVF.p50 * 1000)
        note("\(prefix)ivf_filtered_path_is_gather", oneIVF.plan.access == "gather" ? 1 : 0)
        let half = Filter.range("bucket", lower: 0, upper: 49)
        let halfExact = try run(0, filter: half)
        let halfIVF = try run(nil, filter: half)
        note("\(prefix)ivf_filtered50_recall\(k)", recall(halfIVF.ids, halfExact.ids))
        note("\(prefix)ivf_filtered50_speedup", halfExact.p50 / halfIVF.p50)
        note("\(prefix)exact_filtered50_p50_ms", halfExact.p50 * 1000)
        note("\(prefix)ivf_filtered50_p50_ms", halfIVF.p50 * 1000)
        // faiss IndexIVFFlat, same lists, same vectors, same run.
        // The set's vectors and queries as .npy for the references, written once for both.
        let npy = (base: root + "-reference-base.npy", queries: root + "-reference-queries.npy")
        defer {
            try? FileManager.default.removeItem(atPath: npy.base)
            try? FileManager.default.removeItem(atPath: npy.queries)
        }
        try Self.streamNPY(rows: set.count, cols: set.dim, to: npy.base) { set.vector($0) }
        try NPY.save(set.queries, to: npy.queries)
        let faiss = try faissIVF(npy, lists: status.lists)
        if let faiss {
            let mine = sweep.first { $0.recall >= 0.95 }
            let theirs = faiss.first { $0.recall >= 0.95 }
            for f in faiss {
                note("\(prefix)faiss_ivf_recall\(k)_np\(f.nprobe)", f.recall)
                note("\(prefix)faiss_ivf_p50_ms_np\(f.nprobe)", f.p50 * 1000)
            }
            if let mine, let theirs {
                note("\(prefix)ivf_nprobe_at_095", Double(mine.nprobe))
                note("\(prefix)faiss_nprobe_at_095", Double(theirs.nprobe))
                note("\(prefix)ivf_vs_faiss", theirs.p50 / mine.p50)
            }
        }
        // usearch HNSW at the same recall, the second reference (its build is minutes
        // at 400k × 50 on two cores, so sets above --hnsw-max-rows skip it).
        if set.count <= hnswMaxRows, let hnsw = try usearchHNSW(npy) {
            note("\(prefix)usearch_build_s", hnsw.build)
            for h in hnsw.rows {
                note("\(prefix)usearch_recall\(k)_ef\(h.ef)", h.recall)
                note("\(prefix)usearch_p50_ms_ef\(h.ef)", h.p50 * 1000)
            }
            if let mine = sweep.first(where: { $0.recall >= 0.95 }), let theirs = hnsw.rows.first(where: { $0.recall >= 0.95 }) {
                note("\(prefix)usearch_ef_at_095", Double(theirs.ef))
                note("\(prefix)ivf_vs_usearch", theirs.p50 / mine.p50)
            }
        }
        if ivfEncodings.contains("i8") {
            let int8 = try compactIVF(set, prefix: prefix, store: store, exact: exact, note: note)
            // The int8 index at recall ≥ 0.95 against faiss IndexIVFFlat at recall ≥ 0.95.
            if let mine = int8.first(where: { $0.recall >= 0.95 }), let theirs = faiss?.first(where: { $0.recall >= 0.95 }) {
                note("\(prefix)int8_ivf_nprobe_at_095", Double(mine.nprobe))
                note("\(prefix)int8_ivf_vs_faiss", theirs.p50 / mine.p50)
            }
        }
        // A search (nprobe 1) right after a write of one record, 100 times, before the timed
        // inserts (whose rows would be scored by every search, outside the lists): the first
        // read of each new snapshot walks the collection's blocks (reads of one snapshot
        // share the walk), so this is `ivf_p50_ms_np1` plus a walk of every list's blocks.
        var afterWrite: [Double] = []
        for i in 0..<100 {
            try c.upsert(records(i..<(i + 1), id: "after-write-"))
            var r = SearchRequest(queries: [queries[i % queries.count]], k: k)
            r.nprobe = 1
            let t = Machine.now()
            _ = try c.search(r)
            afterWrite.append(Machine.now() - t)
        }
        afterWrite.sort()
        note("\(prefix)ivf_search_after_write_p50_ms", afterWrite[afterWrite.count / 2] * 1000)
        let (ivfInserts, ivfCPU) = try timeInserts(c, tag: "ivf-")
        // Rows the inserts left outside the lists (below the limit; the write that passed
        // it filed the rest, inside the timed loop).
        if let after = try c.ivfStatus() {
            note("\(prefix)ivf_pending_limit", Double(after.pendingLimit))
            note("\(prefix)ivf_rows_outside_after_inserts", Double(after.rowsOutsideLists))
        }
        note("\(prefix)flat_insert_per_s", flatInserts)
        note("\(prefix)ivf_insert_per_s", ivfInserts)
        note("\(prefix)ivf_insert_ratio", ivfInserts / flatInserts)
        note("\(prefix)flat_insert_cpu_s", flatCPU)
        note("\(prefix)ivf_insert_cpu_s", ivfCPU)
        note("\(prefix)ivf_insert_cpu_ratio", flatCPU / max(ivfCPU, 1e-9))
        let report = try store.check()
        note("\(prefix)ivf_check_ok", report.isHealthy ? 1 : 0)
    }

    /// The same set in an int8 collection (per-vector scales, exact rescoring from the
    /// float32 copies) with its own IVF index: lists scanned as int8, a quarter of f32's
    /// bytes. Recall and speedup are against the f32 collection's exact scan (`exact`), keys
    /// `<prefix>int8_ivf_…`; returns the nprobe sweep (recall, single-query p50).
    func compactIVF(
        _ set: IVFSet, prefix: String, store: Store, exact: Searches, note: (String, Double) -> Void
    ) throws -> [(nprobe: Int, recall: Double, p50: Double)] {
        var c = try store.createCollection("ivf-int8", dimension: set.dim, metric: .cosine, encoding: .int8)
        try fill(c, set.count) { $0.map { Record(id: "\($0)", vector: set.vector($0)) } }
        c = try store.buildIVFIndex(of: "ivf-int8")
        let queries = set.queries
        let key = "\(prefix)int8_"
        let own = try searches(c, queries, nprobe: 0)
        note("\(key)exact_p50_ms", own.p50 * 1000)
        let lists = try c.ivfStatus()?.lists ?? 0
        let sweep = try sweepNprobe(c, queries, lists: lists, truth: exact.ids, key: "\(key)ivf", note: note)
        let byDefault = try searches(c, queries, nprobe: nil)
        note("\(key)ivf_recall\(k)", recall(byDefault.ids, exact.ids))
        note("\(key)ivf_p50_ms", byDefault.p50 * 1000)
        note("\(key)ivf_speedup", exact.p50 / byDefault.p50)
        note("\(key)ivf_rows_scored", Double(byDefault.plan.rowsScored))
        FileHandle.standardError.write(Data("\(key)plan: \(byDefault.plan)\n".utf8))
        return sweep
    }

    /// Upserts rows 0..<count from `records` in batches of 10,000, then compacts.
    func fill(_ c: LMDBCollection, _ count: Int, _ records: (Range<Int>) -> [Record]) throws {
        var i = 0
        while i < count {
            let end = min(count, i + 10_000)
            try c.upsert(records(i..<end))
            i = end
        }
        try c.compact()
    }

    /// Each query's hit ids, the median single-query time of the first `--queries`, and the
    /// last plan.
    typealias Searches = (ids: [[String]], p50: Double, plan: SearchPlan)

    /// Runs `queries` one at a time (top k, `nprobe`: 0 exact, nil the default). The p50 is
    /// of the first `--queries` of them as they run, or with `passes`, of those queries run
    /// again after all of them (warm, as `faiss_ivf.py` times faiss after its recall pass)
    /// `passes` times: the smallest pass p50 (the same for faiss), so that a burst of load
    /// from other processes on this shared machine does not decide a comparison.
    func searches(_ c: LMDBCollection, _ queries: [[Float]], nprobe: Int?, filter: Filter? = nil, passes: Int = 0) throws -> Searches {
        let timed = min(queries.count, self.queries)
        var ids: [[String]] = []
        var times: [Double] = []
        var plan = SearchPlan(access: "")
        func request(_ q: [Float]) -> SearchRequest {
            var r = SearchRequest(queries: [q], k: k, filter: filter)
            r.nprobe = nprobe
            return r
        }
        for (qi, q) in queries.enumerated() {
            let t = Machine.now()
            let response = try c.search(request(q))
            if qi < timed && passes == 0 { times.append(Machine.now() - t) }
            ids.append(response.hits[0].map(\.id))
            plan = response.plan
        }
        guard passes > 0 else {
            times.sort()
            return (ids, times[times.count / 2], plan)
        }
        var best = Double.infinity
        for _ in 0..<passes {
            times = []
            for q in queries.prefix(timed) {
                let t = Machine.now()
                _ = try c.search(request(q))
                times.append(Machine.now() - t)
            }
            times.sort()
            best = min(best, times[times.count / 2])
        }
        return (ids, best, plan)
    }

    /// Timed passes of an nprobe sweep (here and in `faiss_ivf.py`).
    static let sweepPasses = 3

    /// Recall@k of `found` against `truth`, query by query.
    func recall(_ found: [[String]], _ truth: [[String]]) -> Double {
        var hit = 0
        for (f, x) in zip(found, truth) { hit += Set(f).intersection(x).count }
        return Double(hit) / Double(max(1, truth.reduce(0) { $0 + $1.count }))
    }

    /// nprobe 1, 2, 4 … 128 (up to `lists`): `<key>_recall<k>_np<P>` against `truth` and
    /// `<key>_p50_ms_np<P>`; then the `--probe-repeat` queries, untimed (to profile a probe).
    func sweepNprobe(
        _ c: LMDBCollection, _ queries: [[Float]], lists: Int, truth: [[String]], key: String, note: (String, Double) -> Void
    ) throws -> [(nprobe: Int, recall: Double, p50: Double)] {
        var sweep: [(nprobe: Int, recall: Double, p50: Double)] = []
        for p in [1, 2, 4, 8, 16, 32, 64, 128] where p <= lists {
            let r = try searches(c, queries, nprobe: p, passes: Self.sweepPasses)
            sweep.append((p, recall(r.ids, truth), r.p50))
            note("\(key)_recall\(k)_np\(p)", sweep.last!.recall)
            note("\(key)_p50_ms_np\(p)", r.p50 * 1000)
        }
        for i in 0..<probeRepeat {
            var r = SearchRequest(queries: [queries[i % queries.count]], k: k)
            r.nprobe = probeRepeatNprobe == 0 ? nil : probeRepeatNprobe
            _ = try c.search(r)
        }
        return sweep
    }

    /// The IVF sets: GloVe (when fetched; its held-out rows are the queries, as for
    /// recall), MiniLM vectors of `--beir` (its queries are the queries) and `ivfN` clustered vectors of `dim` dimensions (the speed set's generator,
    /// seeded per row).
    func ivfSets(root: String, note: (String, Double) -> Void) throws {
        let defaultGlove = NSHomeDirectory() + "/.cache/quiver/glove/glove-6B-50d.npy"
        let glovePath = glove ?? (FileManager.default.fileExists(atPath: defaultGlove) ? defaultGlove : nil)
        if let glovePath {
            let m = try NPY.load(glovePath)
            let stride = max(1, m.rows / realQueries)
            var queryRows: [Int] = []
            var baseRows: [Int] = []
            for r in 0..<m.rows {
                if r % stride == 0 && queryRows.count < realQueries { queryRows.append(r) } else { baseRows.append(r) }
            }
            let set = IVFSet(
                name: "glove", count: baseRows.count, dim: m.cols, vector: { m.row(baseRows[$0]) }, queries: queryRows.map { m.row($0) })
            try ivf(set, prefix: "glove_", root: root + "/glove", note: note)
        }
        if let beir {
            // Small (9,634 chunks of SciFact): recall on a real text distribution; its speed
            // figures are per-query overhead more than scanning.
            let (base, queries) = try minilmVectors(beir)
            // The 10k timed inserts read rows past the set's end: they wrap.
            let set = IVFSet(name: "minilm", count: base.rows, dim: base.cols, vector: { base.row($0 % base.rows) }, queries: queries)
            try ivf(set, prefix: "minilm_", root: root + "/minilm", note: note)
        }
        let count = ivfN ?? n
        let data = Clustered(dim: dim, seed: seed)
        let base = seed
        var qrng = SeededGenerator(seed: seed &+ 1)
        let queries = (0..<realQueries).map { data.vector($0 * 7, &qrng) }
        let set = IVFSet(
            name: "clustered", count: count, dim: dim,
            vector: { i in
                var rng = SeededGenerator(seed: base &+ 7 &+ UInt64(i))
                return data.vector(i, &rng)
            }, queries: queries)
        note("ivf_n", Double(count))
        try ivf(set, prefix: "", root: root + "/clustered", note: note)
    }

    /// faiss-cpu's `IndexIVFFlat` (inner product on unit vectors, `lists` lists) over the
    /// same vectors: recall@k against its exact flat index and single-query p50 per nprobe,
    /// from `tools/bench/faiss_ivf.py`; nil (with a note) when faiss is not installed.
    func faissIVF(_ npy: (base: String, queries: String), lists: Int) throws -> [(nprobe: Int, recall: Double, p50: Double)]? {
        guard
            let out = try reference("faiss_ivf.py", npy, ["--lists", "\(lists)", "--passes", "\(Self.sweepPasses)"], install: "faiss-cpu"),
            let rows = out as? [[String: Double]]
        else { return nil }
        return rows.compactMap { r in
            guard let n = r["nprobe"], let rec = r["recall"], let p50 = r["p50"] else { return nil }
            return (Int(n), rec, p50)
        }
    }

    /// usearch's HNSW index (cosine, its default graph parameters) over the same vectors:
    /// build seconds, and recall@k against the exact top k with single-query p50 per
    /// `expansion_search`, from `tools/bench/usearch_hnsw.py`; nil (with a note) when usearch
    /// is not installed.
    func usearchHNSW(_ npy: (base: String, queries: String)) throws -> (build: Double, rows: [(ef: Int, recall: Double, p50: Double)])? {
        guard let out = try reference("usearch_hnsw.py", npy, ["--passes", "\(Self.sweepPasses)"], install: "usearch"),
            let object = out as? [String: Any], let build = object["build_s"] as? Double,
            let rows = object["rows"] as? [[String: Double]]
        else { return nil }
        return (
            build,
            rows.compactMap { r in
                guard let ef = r["ef"], let rec = r["recall"], let p50 = r["p50"] else { return nil }
                return (Int(ef), rec, p50)
            }
        )
    }

    /// Runs `tools/bench/<script>` over the set's vectors and queries (`npy`) and returns
    /// its JSON output; nil, with a note naming the pip package, when the script fails (the
    /// package is not installed).
    func reference(_ script: String, _ npy: (base: String, queries: String), _ arguments: [String], install: String) throws -> Any? {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(script).path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments =
            ["python3", path, "--base", npy.base, "--queries", npy.queries, "--k", "\(k)", "--timed", "\(self.queries)"] + arguments
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0, let out = try? JSONSerialization.jsonObject(with: data) else {
            FileHandle.standardError.write(Data("note: \(script) comparison skipped (pip install \(install))\n".utf8))
            return nil
        }
        return out
    }

    /// Writes `rows` vectors from `row` as a C-order float32 .npy file, streaming.
    static func streamNPY(rows: Int, cols: Int, to path: String, _ row: (Int) -> [Float]) throws {
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(rows), \(cols)), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        guard let h = FileHandle(forWritingAtPath: path) else { throw ValidationError("cannot write \(path)") }
        defer { try? h.close() }
        h.write(Data([0x93]) + Data("NUMPY".utf8) + Data([1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)]))
        h.write(Data(header.utf8))
        var buffer = Data()
        for r in 0..<rows {
            row(r).withUnsafeBytes { buffer += Data($0) }
            if buffer.count >= 1 << 24 {
                h.write(buffer)
                buffer.removeAll(keepingCapacity: true)
            }
        }
        h.write(buffer)
    }
}
