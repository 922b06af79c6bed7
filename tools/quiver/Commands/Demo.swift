import ArgumentParser
import Foundation
import Synthetic
import VectorStore

/// Indexes synthetic topic vectors and searches them, offline: the store alone, with no
/// model and no files (`scripts/demo.sh` runs the main job on `data/`).
struct Demo: ParsableCommand, VerboseCommand {
    static let configuration = CommandConfiguration(
        abstract: "Index synthetic vectors into a store and search them (offline).")

    @OptionGroup var storeOptions: StoreOptionsGroup
    @Option(help: "Records to index.") var count = 50_000
    @Option(help: "Vector dimension.") var dimension = 128
    @OptionGroup var verbosity: VerboseOptions

    static let topics = ["astronomy", "botany", "cooking", "geology", "music", "sailing", "chess", "weather"]

    func run() throws {
        try storeOptions.requireEmbedded("demo")
        let store = try Store(path: storeOptions.path)
        _ = try? store.dropCollection("demo")
        let c = try store.createCollection(
            "demo", dimension: dimension, metric: .cosine, configuration: ["embedder": "synthetic-topics"])
        var rng = SeededGenerator(seed: 1)
        let centroids = Self.topics.map { _ in (0..<dimension).map { _ in rng.component() } }
        let start = Date()
        var i = 0
        while i < count {
            let n = min(1000, count - i)
            let batch = (0..<n).map { j -> Record in
                let id = i + j
                let t = id % Self.topics.count
                let v = centroids[t].map { $0 + 0.8 * rng.component() }
                return Record(
                    id: "note-\(id)", vector: v, text: "Synthetic note \(id) about \(Self.topics[t]).",
                    metadata: ["topic": .string(Self.topics[t]), "n": .int(Int64(id)), "even": .bool(id % 2 == 0)])
            }
            try c.upsert(batch)
            i += n
        }
        let elapsed = Date().timeIntervalSince(start)
        print(
            TerminalText.line(
                "Indexed \(count) synthetic records (d=\(dimension)) into \(storeOptions.path) in \(String(format: "%.2f", elapsed)) s"
                    + " (\(Int(Double(count) / max(elapsed, 1e-9))) records/s)."))

        for (question, topic, filter) in [
            ("Which notes are about sailing?", 5, nil as Filter?),
            ("Chess notes with an even number below 1000?", 6, .and([.equals("even", true), .range("n", upper: 1000)])),
        ] {
            let q = centroids[topic].map { $0 + 0.2 * rng.component() }
            let t0 = Date()
            let response = try c.searchExplained(batch: [q], k: 3, filter: filter)
            let (hits, plan) = (response.hits, response.plan)
            let ms = Date().timeIntervalSince(t0) * 1000
            print("\nQ: \(question)  [\(plan), \(String(format: "%.1f", ms)) ms]")
            for h in hits[0] {
                print(String(format: "  %.3f  %@  %@", h.score, h.id, h.text))
            }
        }
        let report = try store.check()
        print("\nIntegrity: " + TerminalText.block("\(report)"))
    }
}
