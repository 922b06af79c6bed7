import ArgumentParser
import Foundation
import Ingest

/// `quiver-bench pipeline`: documents through the whole pipeline against the loopback
/// embedding server with a fixed latency, at concurrency 1 and 16, next to the
/// embedding-bound ideal (rounds of `concurrency` requests × latency).
struct PipelineBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline", abstract: "Benchmark the ingest pipeline end to end against the loopback server.")

    @Option(help: "Documents.") var documents = 1000
    @Option(help: "Server latency per request in ms.") var latencyMs = 50
    @Option(help: "Texts per embedding request.") var batchSize = 8
    @Flag(help: "Print one flat JSON object.") var json = false

    func run() async throws {
        let out = try await Self.measure(documents: documents, latencyMs: latencyMs, batchSize: batchSize)
        if json {
            print("{" + out.map { "\"\($0.0)\": \(StoreBench.format($0.1))" }.joined(separator: ", ") + "}")
        } else {
            for (k, v) in out { print(k.padding(toLength: 30, withPad: " ", startingAt: 0), StoreBench.format(v)) }
        }
    }

    /// `documents` one-chunk documents through the pipeline at concurrency 1 and 16: wall
    /// time, the embedding-bound ideal (⌈requests / c⌉ × latency), and the time a bare
    /// client takes for the same requests to the same server (the server's own cost).
    static func measure(documents: Int, latencyMs: Int, batchSize: Int) async throws -> [(String, Double)] {
        let server = try LoopbackProcess(latencyMs: latencyMs)
        let port = server.port
        defer { withExtendedLifetime(server) {} }  // the server must outlive the runs
        let docs = (0..<documents).map { Document(id: "doc\($0)", text: "Document \($0) is a short note about lighthouse number \($0).") }
        var out: [(String, Double)] = [
            ("pipeline_load_1min", Machine.load()), ("pipeline_documents", Double(documents)), ("latency_ms", Double(latencyMs)),
        ]
        var seconds: [Int: Double] = [:]
        for c in [1, 16] {
            let dir = NSTemporaryDirectory() + "quiver-pipeline-bench-\(UUID().uuidString)"
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let embedder = try OpenAIEmbedder(
                model: "bench", dimension: 8, baseURL: "http://127.0.0.1:\(port)/v1", caller: ResilientCaller(client: HTTPClient()))
            let store = try Store(path: dir)
            var pipeline = IngestPipeline(
                collection: try await store.openOrCreateCollection("docs", for: embedder), embedder: embedder,
                splitter: RecursiveSplitter(chunkSize: 1000, chunkOverlap: 0))
            pipeline.batchSize = batchSize
            pipeline.concurrency = c
            pipeline.window = documents  // one window: the ideal is a plain count of rounds
            let t0 = Machine.now()
            let report = try await pipeline.run(documents: docs)
            let elapsed = Machine.now() - t0
            guard report.failed.isEmpty, report.chunksWritten == documents else { throw ValidationError("ingest failed: \(report)") }
            let requests = (documents + batchSize - 1) / batchSize
            let ideal = Double((requests + c - 1) / c) * Double(latencyMs) / 1000
            let bare =
                Double(documents)
                / (try await EmbedBench.rawRate(
                    base: "http://127.0.0.1:\(port)", inputs: docs.map(\.text), batch: batchSize, concurrency: c))
            seconds[c] = elapsed
            out += [
                ("c\(c)_seconds", elapsed), ("c\(c)_ideal_seconds", ideal), ("ideal_fraction_c\(c)", ideal / elapsed),
                ("c\(c)_bare_client_seconds", bare), ("bare_client_fraction_c\(c)", bare / elapsed),
            ]
        }
        out.append(("speedup_c16_vs_c1", (seconds[1] ?? 0) / (seconds[16] ?? 1)))
        return out
    }
}
