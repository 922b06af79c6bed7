import ArgumentParser
import Foundation
import VectorStore

/// A long-running writer for the crash test: commits batches forever (or `--batches`),
/// printing "committed I" after each commit. Batch I upserts ids r{I}-{J} and replaces
/// every fifth record of batch I-1 (text "batch I").
struct Writer: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Commit deterministic batches until killed (used by the crash test).", shouldDisplay: false)

    @Option var store: String
    @Option var collection = "crash"
    @Option var batches = Int.max
    @Option var batchSize = 200
    @Option var dim = 16
    @Option var encoding = "f32"
    @Option(help: "Build an IVF index of this many lists after batch 1.") var ivfLists: Int?
    @Option(help: "Retrain the IVF index after every this many batches (0: never).") var retrainEvery = 0

    func run() throws {
        let s = try Store(path: store)
        guard let encoding = VectorEncoding(rawValue: encoding) else { throw ValidationError("unknown encoding \(encoding)") }
        var c = try s.openOrCreateCollection(collection, dimension: dim, metric: .dot, encoding: encoding)
        var i = 0
        while i < batches {
            var records: [Record] = []
            for j in 0..<batchSize {
                records.append(
                    Record(id: "r\(i)-\(j)", vector: Self.vector(i, j, dim), text: "batch \(i)", metadata: ["batch": .int(Int64(i))]))
            }
            if i > 0 {
                for j in stride(from: 0, to: batchSize, by: 5) {
                    records.append(
                        Record(
                            id: "r\(i - 1)-\(j)", vector: Self.vector(i, j + 100_000, dim), text: "batch \(i)",
                            metadata: ["batch": .int(Int64(i))]))
                }
            }
            try c.upsert(records)
            FileHandle.standardOutput.write(Data("committed \(i)\n".utf8))
            // A retrain moves rows in small chunks, each its own commit: kills land inside it.
            if let ivfLists, i == 1 || (retrainEvery > 0 && i > 1 && i % retrainEvery == 0) {
                c = try s.buildIVFIndex(of: collection, lists: ivfLists, chunkRows: 256)
                FileHandle.standardOutput.write(Data("ivf built\n".utf8))
            }
            i += 1
        }
    }

    static func vector(_ i: Int, _ j: Int, _ dim: Int) -> [Float] {
        (0..<dim).map { Float((i * 31 + j * 17 + $0 * 7) % 101) / 50 - 1 }
    }
}
