import Foundation

/// Files under `Tests/TextAnalysisTests/Fixtures`, and the data set beside the package.
enum Fixture {
    static func url(_ name: String) -> URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)")
    }

    /// SciFact's corpus (JSONL), beside the package: `../shared/beir/scifact-train/corpus.jsonl`
    /// from the package root.
    static let scifactCorpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/beir/scifact-train/corpus.jsonl")
}
