import CLMDB
import Foundation
import VectorStore

/// The machine's own limits, measured in the same run as the figures they bound.
enum Machine {
    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Memory read bandwidth in GB/s: a SIMD sum over a 1 GiB array, split over threads.
    static func readBandwidth(threads: Int) -> Double {
        let count = (1 << 30) / 4
        let buf = UnsafeMutablePointer<Float>.allocate(capacity: count)
        defer { buf.deallocate() }
        buf.initialize(repeating: 1, count: count)
        let sink = UnsafeMutablePointer<Float>.allocate(capacity: threads)
        defer { sink.deallocate() }
        let job = ScanJob(buf: buf, count: count, threads: threads, sink: sink)
        var best = Double.infinity
        for _ in 0..<5 {
            let t0 = now()
            DispatchQueue.concurrentPerform(iterations: threads) { job.run($0) }
            best = min(best, now() - t0)
        }
        return Double(count * 4) / best / 1e9
    }

    private struct ScanJob: @unchecked Sendable {
        let buf: UnsafeMutablePointer<Float>
        let count: Int
        let threads: Int
        let sink: UnsafeMutablePointer<Float>

        func run(_ w: Int) {
            let lo = count * w / threads / 16 * 16
            let hi = w == threads - 1 ? count : count * (w + 1) / threads / 16 * 16
            var acc = SIMD16<Float>(repeating: 0)
            var acc2 = SIMD16<Float>(repeating: 0)
            var i = lo
            let raw = UnsafeRawPointer(buf)
            while i + 32 <= hi {
                acc += raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
                acc2 += raw.loadUnaligned(fromByteOffset: (i + 16) * 4, as: SIMD16<Float>.self)
                i += 32
            }
            sink[w] = (acc + acc2).sum()
        }
    }

    /// cblas_sgemm GFLOP/s on a large product, with OpenBLAS using `threads` threads.
    static func sgemmRate(threads: Int, m: Int = 2048, n: Int = 2048, k: Int = 384) -> Double {
        BLAS.setLibraryThreads(threads)
        defer { BLAS.setLibraryThreads(1) }
        let a = [Float](repeating: 0.5, count: m * k)
        let b = [Float](repeating: 0.25, count: n * k)
        var c = [Float](repeating: 0, count: m * n)
        var best = Double.infinity
        for _ in 0..<7 {
            let t0 = now()
            BLAS.sgemm(transposeB: true, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: k, c: &c, ldc: n)
            best = min(best, now() - t0)
        }
        return 2 * Double(m) * Double(n) * Double(k) / best / 1e9
    }

    /// Resident memory in MB (VmRSS) of this process.
    static func rssMB() -> Double {
        guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in s.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let kb = line.split(separator: " ").compactMap { Double($0) }.first ?? 0
            return kb / 1024
        }
        return 0
    }

    /// Durable write bandwidth of the disk holding `directory`, in MB/s: 256 commits of
    /// 2 MiB, each written and fdatasync'ed, as a store's commits are.
    static func diskWriteMBps(directory: String) -> Double {
        let path = directory + "/.quiver-bench-disk-probe"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { return 0 }
        defer {
            close(fd)
            unlink(path)
        }
        let chunk = 2 << 20
        let buf = [UInt8](repeating: 0x5A, count: chunk)
        let t0 = now()
        for i in 0..<256 {
            _ = buf.withUnsafeBytes { pwrite(fd, $0.baseAddress, chunk, off_t(i * chunk)) }
            fdatasync(fd)
        }
        return Double(256 * chunk) / (now() - t0) / 1e6
    }

    /// The disk's durable write rate in `directory`, probed both ways one after the other:
    /// fdatasync'ed 2 MiB writes (`diskWriteMBps`) and LMDB's own durable commits of
    /// `commitBytes` each (`lmdbCommitMBps`). Either alone swung several-fold within a
    /// minute on this shared disk; the disk writes at least as fast as the faster showed.
    struct DiskProbes {
        let fdatasync: Double
        let lmdb: Double
        var best: Double { max(fdatasync, lmdb) }
    }

    static func diskProbes(directory: String, commitBytes: Int) -> DiskProbes {
        DiskProbes(fdatasync: diskWriteMBps(directory: directory), lmdb: lmdbCommitMBps(directory: directory, bytes: commitBytes))
    }

    /// LMDB's own durable commits in a fresh environment under `directory`: `commits`
    /// write transactions, each reserving one value of `bytes` bytes under the next key
    /// (`MDB_APPEND`) and filling it, as a store's upserts commit their blocks; LMDB's
    /// defaults (a commit fdatasyncs the data, then writes the meta page synchronously,
    /// holding the writer lock throughout). MB/s of bytes passed to write calls (the same
    /// measure as the upserts'): the ceiling any durable LMDB write of that size meets on
    /// this disk, with nothing but LMDB's commit in the way. 0 when LMDB fails.
    static func lmdbCommitMBps(directory: String, bytes: Int, commits: Int = 50) -> Double {
        let dir = directory + "/.quiver-bench-lmdb-probe"
        try? FileManager.default.removeItem(atPath: dir)
        guard (try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)) != nil else { return 0 }
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var env: OpaquePointer?
        guard mdb_env_create(&env) == 0, let env else { return 0 }
        defer { mdb_env_close(env) }
        guard mdb_env_set_mapsize(env, max(1 << 30, 4 * bytes * commits)) == 0,
            mdb_env_open(env, dir, UInt32(MDB_NOTLS), 0o600) == 0
        else { return 0 }
        let written0 = bytesWritten()
        let t0 = now()
        for i in 0..<commits {
            var txn: OpaquePointer?
            guard mdb_txn_begin(env, nil, 0, &txn) == 0, let txn else { return 0 }
            var dbi: MDB_dbi = 0
            var key = UInt64(i).bigEndian
            var k = MDB_val(mv_size: 8, mv_data: &key)
            var v = MDB_val(mv_size: bytes, mv_data: nil)
            guard mdb_dbi_open(txn, nil, 0, &dbi) == 0, mdb_put(txn, dbi, &k, &v, UInt32(MDB_RESERVE | MDB_APPEND)) == 0,
                let out = v.mv_data
            else {
                mdb_txn_abort(txn)
                return 0
            }
            memset(out, 0x5A, bytes)
            guard mdb_txn_commit(txn) == 0 else { return 0 }
        }
        return (bytesWritten() - written0) / (now() - t0) / 1e6
    }

    /// Bytes this process passed to write syscalls so far (`wchar` of /proc/self/io).
    static func bytesWritten() -> Double {
        guard let s = try? String(contentsOfFile: "/proc/self/io", encoding: .utf8) else { return 0 }
        for line in s.split(separator: "\n") where line.hasPrefix("wchar:") {
            return Double(line.split(separator: " ").last ?? "") ?? 0
        }
        return 0
    }

    /// One flat JSON object: the figures, then text fields (which BLAS core ran).
    static func json(_ figures: [(String, Double)], text: [(String, String)] = []) -> String {
        let quoted = text.map { pair in
            let escaped = pair.1.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            return "\"\(pair.0)\": \"\(escaped)\""
        }
        return "{" + (figures.map { "\"\($0.0)\": \(StoreBench.format($0.1))" } + quoted).joined(separator: ", ") + "}"
    }

    /// The core this process's BLAS runs, and the fastest one measured in children.
    static func coreFields(_ best: BestSgemm?) -> [(String, String)] {
        [("blas_core", BLAS.status.core ?? "portable"), ("sgemm_best_core", best?.core ?? "unmeasured")]
    }

    /// CPU seconds (user + system) this process used so far, all threads.
    static func cpuSeconds() -> Double {
        var usage = rusage()
        guard getrusage(RUSAGE_SELF.rawValue, &usage) == 0 else { return 0 }
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// The 1-minute load average.
    static func load() -> Double {
        guard let s = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return -1 }
        return Double(s.split(separator: " ").first ?? "") ?? -1
    }

    /// GFLOP/s of `threads` threads each running single-threaded sgemm (m × n × k) on its
    /// own matrices at the same time: the best of 5 rounds.
    static func concurrentSgemmRate(threads: Int, m: Int, n: Int, k: Int) -> Double {
        let a = [Float](repeating: 0.5, count: m * k)
        let b = [Float](repeating: 0.25, count: n * k)
        let outputs = (0..<threads).map { _ in UnsafeMutablePointer<Float>.allocate(capacity: m * n) }
        defer { for c in outputs { c.deallocate() } }
        let targets = outputs.map { OutputMatrix(pointer: $0) }
        var best = Double.infinity
        for _ in 0..<5 {
            let t0 = Machine.now()
            DispatchQueue.concurrentPerform(iterations: threads) { i in
                BLAS.sgemm(transposeB: true, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: k, c: targets[i].pointer, ldc: n)
            }
            best = min(best, Machine.now() - t0)
        }
        return 2 * Double(m) * Double(n) * Double(k) * Double(threads) / best / 1e9
    }
}

/// One thread's output matrix in `concurrentSgemmRate`.
private struct OutputMatrix: @unchecked Sendable {
    // @unchecked: each thread writes only its own matrix, and the caller waits for all.
    let pointer: UnsafeMutablePointer<Float>
}
