import Foundation
import Ingest

extension RetrievalBench {
    /// Seconds to ingest a generated corpus (hashing embedder, as `quiver-bench ingest`)
    /// into a fresh collection without a keyword index and with an English one, in the
    /// order without, with, with, without (each round), so that a drift in load weighs on
    /// both alike; `ingest_keyword_overhead` = with / without − 1.
    func ingestOverhead(root: String) throws -> [(String, Double)] {
        let corpus = root + "/corpus"
        let (documents, bytes) = try Corpus.generate(at: corpus, mb: ingestMb, documentBytes: 20_000)
        let embedder = HashingEmbedder(dimension: 384)
        var seconds: [Bool: Double] = [false: 0, true: 0]
        var chunks = 0
        var run = 0
        for _ in 0..<ingestRounds {
            for keyword in [false, true, true, false] {
                let path = root + "/store\(run)"
                run += 1
                let store = try Store(path: path)
                let collection = try store.openOrCreateCollection("bench", for: embedder, keywordAnalyzer: keyword ? .english : nil)
                let pipeline = IngestPipeline(
                    collection: collection, embedder: embedder, splitter: RecursiveSplitter(chunkSize: 800, chunkOverlap: 80))
                let t = Machine.now()
                let report = try pipeline.run(directory: corpus)
                seconds[keyword, default: 0] += Machine.now() - t
                chunks = report.chunksWritten
                try? FileManager.default.removeItem(atPath: path)
                FileHandle.standardError.write(
                    Data("ingest \(run)/\(4 * ingestRounds) (\(keyword ? "with" : "without") keyword index) done\n".utf8))
            }
        }
        let runs = Double(2 * ingestRounds)
        let plain = seconds[false, default: 0] / runs
        let keyword = seconds[true, default: 0] / runs
        return [
            ("ingest_mb", Double(bytes) / 1e6), ("ingest_documents", Double(documents)), ("ingest_chunks", Double(chunks)),
            ("ingest_plain_seconds", plain), ("ingest_keyword_seconds", keyword), ("ingest_keyword_overhead", keyword / plain - 1),
        ]
    }
}
