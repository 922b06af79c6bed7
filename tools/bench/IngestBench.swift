import ArgumentParser
import Foundation
import Ingest
import Synthetic

/// `quiver-bench ingest`: generates a corpus of Markdown files, ingests it with the hashing
/// embedder, and reports documents/s, chunks/s and the peak anonymous memory (RssAnon; the
/// LMDB map's file-backed pages do not count), sampled while it runs; then the end-to-end
/// part of `quiver-bench pipeline` (speedup at concurrency 16 and the fraction of ideal).
struct IngestBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest", abstract: "Benchmark the ingest pipeline on a generated corpus (hashing embedder).")

    @Option(help: "Corpus size in MB.") var mb = 100
    @Option(help: "Bytes per generated document.") var documentBytes = 20_000
    @Option(help: "Work directory (default: a temporary one, removed afterwards).") var dir: String?
    @Flag(help: "Skip the end-to-end part (1,000 documents against the loopback server at 50 ms).") var skipPipeline = false
    @Flag(help: "Print one flat JSON object.") var json = false

    func run() async throws {
        let root = dir ?? NSTemporaryDirectory() + "quiver-ingest-bench-\(UUID().uuidString)"
        defer { if dir == nil { try? FileManager.default.removeItem(atPath: root) } }
        let corpus = root + "/corpus"
        let (count, totalBytes) = try Corpus.generate(at: corpus, mb: mb, documentBytes: documentBytes)

        let sampler = PeakSampler()
        sampler.start()
        let baseline = PeakSampler.rssAnonMB()
        let store = try Store(path: root + "/store")
        let embedder = HashingEmbedder(dimension: 384)
        let collection = try await store.openOrCreateCollection("bench", for: embedder)
        let pipeline = IngestPipeline(
            collection: collection, embedder: embedder, splitter: RecursiveSplitter(chunkSize: 800, chunkOverlap: 80))
        let t0 = Machine.now()
        let report = try await pipeline.run(directory: corpus)
        let seconds = Machine.now() - t0
        let t1 = Machine.now()
        let again = try await pipeline.run(directory: corpus)
        let rerun = Machine.now() - t1
        sampler.stop()

        var out: [(String, Double)] = [
            ("load_1min", Machine.load()), ("corpus_mb", Double(totalBytes) / 1e6), ("documents", Double(count)),
            ("chunks", Double(report.chunksWritten)), ("seconds", seconds), ("documents_per_s", Double(count) / seconds),
            ("chunks_per_s", Double(report.chunksWritten) / seconds), ("mb_per_s", Double(totalBytes) / 1e6 / seconds),
            ("peak_rss_anon_mb", sampler.peakMB), ("baseline_rss_anon_mb", baseline),
            ("rerun_seconds", rerun), ("rerun_written", Double(again.chunksWritten)),
        ]
        if !skipPipeline { out += try await PipelineBench.measure(documents: 1000, latencyMs: 50, batchSize: 8) }
        if json {
            print("{" + out.map { "\"\($0.0)\": \(StoreBench.format($0.1))" }.joined(separator: ", ") + "}")
        } else {
            for (k, v) in out { print(k.padding(toLength: 26, withPad: " ", startingAt: 0), StoreBench.format(v)) }
        }
    }
}

/// A generated Markdown corpus: words from a fixed vocabulary, paragraphs and headings,
/// 100 files a folder; the same for a given size in every run.
enum Corpus {
    static func generate(at corpus: String, mb: Int, documentBytes: Int) throws -> (documents: Int, bytes: Int) {
        try FileManager.default.createDirectory(atPath: corpus, withIntermediateDirectories: true)
        var rng = SeededGenerator(seed: 7)
        let vocabulary = (0..<5000).map { i in String((0..<(3 + i % 7)).map { _ in Character(UnicodeScalar(97 + Int(rng.next() % 26))!) }) }
        let count = max(1, mb * 1_000_000 / documentBytes)
        var totalBytes = 0
        for d in 0..<count {
            var text = "# Document \(d)\n\n"
            while text.utf8.count < documentBytes {
                let words = (0..<(40 + Int(rng.next() % 80))).map { _ in vocabulary[Int(rng.next() % 5000)] }
                text += words.joined(separator: " ") + ".\n\n"
                if rng.next() % 8 == 0 { text += "## Section \(rng.next() % 100)\n\n" }
            }
            let folder = corpus + "/f\(d / 100)"
            if d % 100 == 0 { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
            try text.write(toFile: folder + "/doc\(d).md", atomically: false, encoding: .utf8)
            totalBytes += text.utf8.count
        }
        return (count, totalBytes)
    }
}

/// Samples RssAnon every 50 ms on its own thread and keeps the peak.
final class PeakSampler: @unchecked Sendable {
    private let lock = NSLock()
    private var peak = 0.0
    private var running = false

    static func rssAnonMB() -> Double {
        guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in s.split(separator: "\n") where line.hasPrefix("RssAnon:") {
            return (line.split(separator: " ").compactMap { Double($0) }.first ?? 0) / 1024
        }
        return 0
    }

    var peakMB: Double { lock.withLock { peak } }

    func start() {
        lock.withLock { running = true }
        Thread.detachNewThread { [self] in
            while lock.withLock({ running }) {
                let now = Self.rssAnonMB()
                lock.withLock { peak = max(peak, now) }
                usleep(50_000)
            }
        }
    }

    func stop() { lock.withLock { running = false } }
}
