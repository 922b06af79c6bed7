import ArgumentParser
import Foundation
import HTTP
import Ingest

/// `quiver-bench embed`: the batch embedder against the loopback server with a fixed
/// latency, at several concurrencies and batch sizes, next to the ideal rate (concurrency ×
/// batch ÷ latency, capped by what the server serves to a trivial client in the same run).
struct EmbedBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed", abstract: "Benchmark HTTP batch embedding against the loopback server.")

    @Option(help: "Server latency per request in ms.") var latencyMs = 50
    @Option(help: "Most texts per setting (fewer where that would take over ~3 s at the ideal rate).") var texts = 10_000
    @Option(parsing: .upToNextOption, help: "Concurrencies.") var concurrency = [1, 4, 16, 64]
    @Option(parsing: .upToNextOption, help: "Batch sizes.") var batch = [1, 100]
    @Flag(help: "Print one flat JSON object.") var json = false

    func run() async throws {
        let server = try LoopbackProcess(latencyMs: latencyMs)
        let port = server.port
        defer { withExtendedLifetime(server) {} }  // the server must outlive the runs
        let base = "http://127.0.0.1:\(port)"
        let control = HTTPClient()
        func stats() throws -> [String: Int] {
            let r = try control.send(HTTPRequest(url: base + "/stats"))
            return (try JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Int]) ?? [:]
        }
        func reset() throws { _ = try control.send(HTTPRequest(method: "POST", url: base + "/reset", body: Array("{}".utf8))) }

        var out: [(String, Double)] = [("latency_ms", Double(latencyMs)), ("load_1min", Machine.load())]
        var fractions: [Double] = []
        var connections = 0
        var requests = 0
        for c in concurrency {
            for b in batch {
                let theory = Double(c * b) / (Double(latencyMs) / 1000)
                let n = min(texts, max(200, Int(theory * 3)))
                let inputs = (0..<n).map { "short text number \($0) for the benchmark" }
                // The trivial client: the same requests, prebuilt, on the raw async client.
                let raw = try await Self.rawRate(base: base, inputs: inputs, batch: b, concurrency: c)
                try reset()
                let embedder = try OpenAIEmbedder(
                    model: "bench", dimension: 8, baseURL: base + "/v1",
                    limits: EmbedderLimits(maxInputsPerRequest: max(b, 1)),
                    caller: ResilientCaller(client: HTTPClient()))
                let t0 = Machine.now()
                let result = await BatchEmbedder(embedder, batchSize: b, concurrency: c).embed(inputs)
                let seconds = Machine.now() - t0
                guard result.failures.isEmpty else { throw ValidationError("embedding failed: \(result.failures[0])") }
                let s = try stats()
                let rate = Double(n) / seconds
                let ideal = min(theory, raw)
                let key = "c\(c)_b\(b)"
                out += [
                    ("\(key)_texts", Double(n)), ("\(key)_texts_per_s", rate), ("\(key)_theory_per_s", theory),
                    ("\(key)_trivial_client_per_s", raw), ("\(key)_ideal_fraction", rate / ideal),
                    ("\(key)_connections", Double(s["connections"] ?? 0)),
                ]
                fractions.append(rate / ideal)
                connections += s["connections"] ?? 0
                requests += s["requests"] ?? 0
            }
        }
        out += [
            ("ideal_fraction_min", fractions.min() ?? 0), ("connections_opened", Double(connections)),
            ("requests", Double(requests)),
        ]
        if json {
            print("{" + out.map { "\"\($0.0)\": \(StoreBench.format($0.1))" }.joined(separator: ", ") + "}")
        } else {
            for (k, v) in out { print(k.padding(toLength: 34, withPad: " ", startingAt: 0), StoreBench.format(v)) }
        }
    }

    /// Texts per second the server delivers to a bare client: prebuilt bodies, no JSON
    /// parsing, no retries, `concurrency` requests in flight.
    static func rawRate(base: String, inputs: [String], batch: Int, concurrency: Int) async throws -> Double {
        let client = HTTPClient()
        var bodies: [[UInt8]] = []
        var i = 0
        while i < inputs.count {
            let slice = Array(inputs[i..<min(inputs.count, i + batch)])
            // The request OpenAIEmbedder sends: vectors as base64 float32.
            bodies.append(
                Array(try JSONSerialization.data(withJSONObject: ["model": "bench", "input": slice, "encoding_format": "base64"])))
            i += batch
        }
        let requests = bodies.map {
            HTTPRequest(method: "POST", url: base + "/v1/embeddings", headers: [("Content-Type", "application/json")], body: $0)
        }
        return Double(inputs.count) / (try await LoopbackProcess.sendAll(requests, concurrency: concurrency, client: client))
    }
}
