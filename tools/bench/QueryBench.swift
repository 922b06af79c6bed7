import ArgumentParser
import Foundation
import HTTP
import Query
import Synthetic

/// `quiver-bench query`: concurrent completions against the loopback chat server next to
/// the ideal rate, and batched vs one-by-one retrieval next to the sgemm bound.
struct QueryBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query", abstract: "Benchmark concurrent completions and batched retrieval.")

    @Option(help: "Server latency per completion in ms.") var latencyMs = 200
    @Option(help: "Prompts per concurrency setting.") var prompts = 100
    @Option(parsing: .upToNextOption, help: "Concurrencies.") var concurrency = [1, 4, 16, 64]
    @Option(help: "Chunks in the retrieval collection.") var chunks = 100_000
    @Option(help: "Questions retrieved.") var questions = 1000
    @Option(help: "Vector dimension.") var dimension = 384
    @Option(help: "Chunks per question.") var k = 4
    @Flag(help: "Skip the completion part.") var retrievalOnly = false
    @Flag(help: "Skip the retrieval part.") var completionOnly = false
    @Flag(help: "Print one flat JSON object.") var json = false

    func run() async throws {
        var out: [(String, Double)] = [("load_1min", Machine.load())]
        if !retrievalOnly { out += try await completions() }
        if !completionOnly { out += try retrieval() }
        out.append(("load_1min_after", Machine.load()))
        if json {
            print("{" + out.map { "\"\($0.0)\": \(StoreBench.format($0.1))" }.joined(separator: ", ") + "}")
        } else {
            for (k, v) in out { print(k.padding(toLength: 34, withPad: " ", startingAt: 0), StoreBench.format(v)) }
        }
    }

    /// `prompts` completions at each concurrency, connections warm: prompts/s next to the
    /// ideal, which is the theory (⌈n/c⌉ rounds of the latency) or, if lower, the rate a
    /// bare client gets from the same server in the same run (the Python server's own
    /// cost shows at high concurrency).
    func completions() async throws -> [(String, Double)] {
        let server = try LoopbackProcess(latencyMs: latencyMs)
        defer { withExtendedLifetime(server) {} }
        let base = "http://127.0.0.1:\(server.port)"
        let model = try OpenAIChat(model: "bench", baseURL: base + "/v1", caller: ResilientCaller(client: HTTPClient()))
        let messages = (0..<prompts).map { i in
            [ChatMessage.system("Answer from the context."), .user("Context:\n[1] a passage\n\nQuestion: question number \(i)?")]
        }
        var out: [(String, Double)] = [("latency_ms", Double(latencyMs)), ("prompts", Double(prompts))]
        var fractions: [Double] = []
        for c in concurrency {
            let rounds = (prompts + c - 1) / c
            let theory = Double(prompts) / (Double(rounds) * Double(latencyMs) / 1000)
            // Open the connections first, as a running application has them.
            _ = await model.completeAll(Array(messages.prefix(c)), concurrency: c)
            let raw = try await Self.rawRate(base: base, messages: messages, concurrency: c)
            let t0 = Machine.now()
            let results = await model.completeAll(messages, concurrency: c)
            let seconds = Machine.now() - t0
            if let failure = results.first(where: { if case .failure = $0 { true } else { false } }) {
                throw ValidationError("a completion failed: \(failure)")
            }
            let rate = Double(prompts) / seconds
            let ideal = min(theory, raw)
            out += [
                ("c\(c)_prompts_per_s", rate), ("c\(c)_theory_per_s", theory), ("c\(c)_trivial_client_per_s", raw),
                ("c\(c)_theory_fraction", rate / theory), ("c\(c)_ideal_fraction", rate / ideal),
            ]
            fractions.append(rate / ideal)
        }
        out.append(("completion_ideal_fraction_min", fractions.min() ?? 0))
        return out
    }

    /// Prompts per second the server delivers to a bare client: prebuilt bodies, no JSON
    /// parsing, no retries, `concurrency` requests in flight.
    static func rawRate(base: String, messages: [[ChatMessage]], concurrency: Int) async throws -> Double {
        let client = HTTPClient()
        let requests = try messages.map { m in
            HTTPRequest(
                method: "POST", url: base + "/v1/chat/completions", headers: [("Content-Type", "application/json")],
                body: Array(
                    try JSONSerialization.data(withJSONObject: [
                        "model": "bench", "messages": m.map { ["role": $0.role.rawValue, "content": $0.content] },
                    ])))
        }
        for r in requests.prefix(concurrency) { _ = try await client.send(r) }  // one warm connection at least
        return Double(requests.count) / (try await LoopbackProcess.sendAll(requests, concurrency: concurrency, client: client))
    }

    /// `questions` questions over `chunks` chunks of hashed-text vectors: one batched
    /// retrieval vs one retrieval per question, and the batched search's fraction of the
    /// sgemm bound (2·questions·chunks·dimension FLOP at the 2-thread sgemm rate).
    func retrieval() throws -> [(String, Double)] {
        let dir = NSTemporaryDirectory() + "quiver-bench-query-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try Store(path: dir)
        let embedder = HashingEmbedder(dimension: dimension)
        let collection = try store.openOrCreateCollection("chunks", for: embedder)
        var rng = SeededGenerator(seed: 42)
        let vocabulary = (0..<5000).map { i in "w\(i)" }
        func sentence(_ words: Int) -> String {
            (0..<words).map { _ in vocabulary[Int(rng.next() % UInt64(vocabulary.count))] }.joined(separator: " ")
        }
        let t0 = Machine.now()
        var start = 0
        while start < chunks {
            let n = min(10_000, chunks - start)
            let texts = (0..<n).map { _ in sentence(40) }
            let vectors = try embedder.embed(texts)
            try collection.upsert(
                (0..<n).map { i in
                    Record(
                        id: "doc\((start + i) / 10)#\((start + i) % 10)", vector: vectors[i], text: texts[i],
                        metadata: ["doc": .string("doc\((start + i) / 10)")])
                })
            start += n
        }
        let buildSeconds = Machine.now() - t0
        let asked = (0..<questions).map { _ in sentence(8) }
        let retriever = try Retriever(collection: collection, embedder: embedder, options: RetrievalOptions(k: k))
        _ = try retriever.retrieve(batch: Array(asked.prefix(8)))  // warm the map

        var batched = Double.infinity
        var batchResult: [[RetrievedChunk]] = []
        for _ in 0..<3 {
            let t = Machine.now()
            batchResult = try retriever.retrieve(batch: asked)
            batched = min(batched, Machine.now() - t)
        }
        let vectors = try embedder.embed(asked)
        var searchOnly = Double.infinity
        for _ in 0..<3 {
            let t = Machine.now()
            _ = try collection.search(batch: vectors, k: 2 * k + 4)  // the pool RetrievalOptions(k:) fetches
            searchOnly = min(searchOnly, Machine.now() - t)
        }
        let t1 = Machine.now()
        var single: [[RetrievedChunk]] = []
        for q in asked { single.append(try retriever.retrieve(q)) }
        let oneByOne = Machine.now() - t1
        let agree = zip(single, batchResult).filter { $0.map(\.id) == $1.map(\.id) }.count

        let sgemm = Machine.sgemmRate(threads: 2)
        let best = max(
            Machine.bestSgemm(threads: [2], m: 2048, n: 2048, k: 384)?.gflops[2] ?? 0, sgemm,
            Machine.concurrentSgemmRate(threads: 2, m: 2048, n: 2048, k: 384))
        let flops = 2 * Double(questions) * Double(chunks) * Double(dimension)
        return [
            ("chunks", Double(chunks)), ("questions", Double(questions)), ("dimension", Double(dimension)),
            ("build_seconds", buildSeconds), ("one_by_one_seconds", oneByOne), ("batched_seconds", batched),
            ("batched_search_only_seconds", searchOnly), ("batched_retrieval_speedup", oneByOne / batched),
            ("batched_questions_per_s", Double(questions) / batched), ("sgemm_2t_gflops", sgemm),
            ("batched_sgemm_bound_fraction", flops / (sgemm * 1e9) / batched),
            ("batched_search_sgemm_bound_fraction", flops / (sgemm * 1e9) / searchOnly), ("sgemm_best_gflops", best),
            ("batched_sgemm_bound_fraction_best", flops / (best * 1e9) / batched),
            ("batched_search_sgemm_bound_fraction_best", flops / (best * 1e9) / searchOnly),
            ("batched_equals_one_by_one_fraction", Double(agree) / Double(questions)),
        ]
    }
}
