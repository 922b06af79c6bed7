import ArgumentParser
import Foundation
import VectorStore

/// `quiver-bench sgemm`: sgemm GFLOP/s at each thread count, both ways (OpenBLAS's
/// threads on one product; that many threads each on its own single-threaded product),
/// with whatever core this process loaded. The other benchmarks run it as a child with
/// `OPENBLAS_CORETYPE` forced, to measure the machine's best kernel in the same run
/// (``Machine/bestSgemm(threads:m:n:k:)``).
struct SgemmBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sgemm", abstract: "Measure sgemm with the kernel core this process loads (set OPENBLAS_CORETYPE to force one).")

    @Option(parsing: .upToNextOption, help: "Thread counts.") var threads = [1, 2]
    @Option(help: "Rows of the product.") var m = 2048
    @Option(help: "Columns of the product.") var n = 2048
    @Option(help: "Inner dimension.") var k = 384
    @Flag(help: "Print one JSON object.") var json = false

    func run() throws {
        let status = BLAS.load()
        var object: [String: Any] = ["core": status.core ?? "portable", "choice": status.choice.rawValue]
        for t in threads where t > 0 {
            object["t\(t)_openblas_threads_gflops"] = Machine.sgemmRate(threads: t, m: m, n: n, k: k)
            object["t\(t)_own_threads_gflops"] = Machine.concurrentSgemmRate(threads: t, m: m, n: n, k: k)
        }
        if json {
            print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
        } else {
            for (key, value) in object.sorted(by: { $0.key < $1.key }) {
                print(key.padding(toLength: 34, withPad: " ", startingAt: 0), value)
            }
        }
    }
}

/// The best sgemm this machine runs: every kernel core its CPU can execute, each
/// measured in a child process with that core forced.
struct BestSgemm {
    /// The fastest core at the largest thread count.
    var core: String
    /// Per thread count: the best GFLOP/s over cores and both threading schemes.
    var gflops: [Int: Double]
    /// Per core and thread count, for the record.
    var byCore: [String: [Int: Double]]
}

extension Machine {
    /// Cores worth measuring for this CPU: the AVX2/AVX-512 ones it can run, else the
    /// best older one Quiver would choose.
    static func candidateCores(for cpu: CPUInfo = .current) -> [String] {
        let modern = ["Cooperlake", "SkylakeX", "Zen", "Haswell"].filter { OpenBLASCore.missing(for: $0, on: cpu) == nil }
        if !modern.isEmpty { return modern }
        return OpenBLASCore.best(for: cpu).map { [$0] } ?? []
    }

    /// Runs `quiver-bench sgemm` once per candidate core with `OPENBLAS_CORETYPE` forced
    /// and keeps, per thread count, the fastest of everything measured. Nil when no child
    /// could run (then there is no better reference than this process's own).
    static func bestSgemm(threads: [Int], m: Int, n: Int, k: Int) -> BestSgemm? {
        let me = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var byCore: [String: [Int: Double]] = [:]
        for core in candidateCores() {
            let p = Process()
            p.executableURL = me
            p.arguments = ["sgemm", "--json", "--m", "\(m)", "--n", "\(n)", "--k", "\(k)", "--threads"] + threads.map(String.init)
            var environment = ProcessInfo.processInfo.environment
            environment["OPENBLAS_CORETYPE"] = core
            p.environment = environment
            let pipe = Pipe()
            p.standardOutput = pipe
            p.standardError = FileHandle.nullDevice
            guard (try? p.run()) != nil else { continue }
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            guard p.terminationStatus == 0, let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
                (object["core"] as? String)?.lowercased() == core.lowercased()
            else { continue }
            var rates: [Int: Double] = [:]
            for t in threads {
                rates[t] = max(object["t\(t)_openblas_threads_gflops"] as? Double ?? 0, object["t\(t)_own_threads_gflops"] as? Double ?? 0)
            }
            byCore[core] = rates
        }
        guard let top = threads.max(), let winner = byCore.max(by: { ($0.value[top] ?? 0) < ($1.value[top] ?? 0) }) else { return nil }
        var best: [Int: Double] = [:]
        for t in threads { best[t] = byCore.values.map { $0[t] ?? 0 }.max() ?? 0 }
        return BestSgemm(core: winner.key, gflops: best, byCore: byCore)
    }
}
