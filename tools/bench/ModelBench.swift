import ArgumentParser
import Foundation
import Ingest
import VectorStore

/// `quiver-bench model`: the local all-MiniLM-L6-v2 embedding the 256 reference chunks of
/// 128 tokens, tokenization included, at each thread count, next to `cblas_sgemm` at the
/// same thread count measured in the same run.
///
/// The reference product is 2048 × 1536 × 384 (m × n × k): the FFN up-projection of 16
/// chunks of 128 tokens, the model's largest and most frequent GEMM shape. It runs two
/// ways at each thread count — OpenBLAS using that many threads on one product, and that
/// many threads each running single-threaded sgemm on its own product (the model's own
/// scheme) — and the faster sets the reference, so the fraction is never flattered by a
/// reference that suffers more from a busy machine than the model does. The model's GFLOP/s count the FLOPs of its matrix products
/// from the shapes (``LocalModel/flops(length:)``: 2.87 GFLOP per 128-token chunk), not
/// the element-wise work (bias, GELU, softmax, LayerNorm, pooling) that it also does.
struct ModelBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model", abstract: "Benchmark the local all-MiniLM-L6-v2 embedder against sgemm at the same thread count.")

    @Option(help: "Model folder (default: $QUIVER_MODEL_DIR, else the folder scripts/setup.sh fills).") var modelDir: String?
    @Option(help: "bench_chunks.json (default: ../shared/minilm-reference beside the package).") var chunks: String?
    @Option(parsing: .upToNextOption, help: "Thread counts, e.g. --threads 1 2 or --threads 1,2.") var threads = ["1", "2"]
    @Option(help: "Timed runs per thread count; the fastest counts.") var runs = 3
    @Flag(help: "Print one flat JSON object.") var json = false

    func run() async throws {
        let counts = threads.flatMap { $0.split(separator: ",") }.compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !counts.isEmpty, counts.allSatisfy({ $0 > 0 }) else { throw ValidationError("--threads needs positive counts") }
        let path =
            chunks
            ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("shared/minilm-reference/bench_chunks.json").path
        guard let data = FileManager.default.contents(atPath: path),
            let object = try JSONSerialization.jsonObject(with: data) as? [String: Any], let texts = object["chunks"] as? [String]
        else { throw ValidationError("cannot read the benchmark chunks from \(path) (a JSON object with \"chunks\")") }

        let model = try await LocalModel.load(directory: modelDir)
        let lengths = texts.map { model.tokenizer.encode($0).count }
        // Tokenization alone, one thread (it is also inside every timed run below).
        var tokenizeSeconds = Double.infinity
        for _ in 0..<5 {
            let t0 = Machine.now()
            for text in texts { _ = model.tokenizer.encode(text) }
            tokenizeSeconds = min(tokenizeSeconds, Machine.now() - t0)
        }
        let textBytes = texts.reduce(0) { $0 + $1.utf8.count }
        let flops = lengths.reduce(0) { $0 + model.flops(length: $1) }
        _ = model.embed(Array(texts.prefix(16)), threads: counts.max() ?? 1)  // warm: page in the weights

        var out: [(String, Double)] = [
            ("load_1min", Machine.load()), ("chunks", Double(texts.count)),
            ("tokens_per_chunk", Double(lengths.reduce(0, +)) / Double(max(texts.count, 1))),
            ("gflop_per_chunk", flops / Double(max(texts.count, 1)) / 1e9),
            ("tokenize_ms", tokenizeSeconds * 1000), ("tokenize_mb_per_s", Double(textBytes) / tokenizeSeconds / 1e6),
        ]
        var rates: [Double] = []
        var fractions: [Double] = []
        var bestFractions: [Double] = []
        // The machine's best kernel, in child processes with the core forced.
        let best = Machine.bestSgemm(threads: counts, m: 2048, n: 1536, k: 384)
        for t in counts {
            let blasThreads = Machine.sgemmRate(threads: t, m: 2048, n: 1536, k: 384)
            let ownThreads = Machine.concurrentSgemmRate(threads: t, m: 2048, n: 1536, k: 384)
            let sgemm = max(blasThreads, ownThreads)
            var seconds = Double.infinity
            for _ in 0..<max(1, runs) {
                let t0 = Machine.now()
                let vectors = model.embed(texts, threads: t)
                seconds = min(seconds, Machine.now() - t0)
                precondition(vectors.count == texts.count)
            }
            let gflops = flops / seconds / 1e9
            out += [
                ("t\(t)_seconds", seconds), ("t\(t)_chunks_per_s", Double(texts.count) / seconds), ("t\(t)_gflops", gflops),
                ("t\(t)_sgemm_gflops", sgemm), ("t\(t)_sgemm_openblas_threads_gflops", blasThreads),
                ("t\(t)_sgemm_own_threads_gflops", ownThreads), ("t\(t)_sgemm_fraction", gflops / sgemm),
            ]
            rates.append(Double(texts.count) / seconds)
            fractions.append(gflops / sgemm)
            // Against the best core (never below this process's own measurement).
            let bestSgemm = max(best?.gflops[t] ?? 0, sgemm)
            out += [("t\(t)_sgemm_best_gflops", bestSgemm), ("t\(t)_sgemm_fraction_best", gflops / bestSgemm)]
            bestFractions.append(gflops / bestSgemm)
        }
        // Top level: the least of each over the thread counts (per-count figures above).
        out += [
            ("chunks_per_s", rates.min() ?? 0), ("sgemm_fraction", fractions.min() ?? 0),
            ("sgemm_best_gflops", counts.max().flatMap { best?.gflops[$0] } ?? 0), ("sgemm_fraction_best", bestFractions.min() ?? 0),
        ]
        if json {
            print(Machine.json(out, text: Machine.coreFields(best)))
        } else {
            for (k, v) in out { print(k.padding(toLength: 34, withPad: " ", startingAt: 0), StoreBench.format(v)) }
            for (k, v) in Machine.coreFields(best) { print(k.padding(toLength: 34, withPad: " ", startingAt: 0), v) }
        }
    }
}
