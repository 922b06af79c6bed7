import Foundation
import Ingest
import Testing

/// The reference outputs of the real model (sentence-transformers), beside the package:
/// `../shared/minilm-reference` from the package root. Shared by the model's tests and the
/// command line's.
public enum MiniLMReference {
    /// The folder of reference files.
    public static let folder: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("shared/minilm-reference").path
    }()

    /// One reference file, parsed.
    public static func json(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: folder + "/" + name))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// The reference sentences.
    public static func sentences() throws -> [String] {
        try #require(try json("sentences.json")["sentences"] as? [String])
    }

    /// The reference tokenizer's ids of each sentence.
    public static func tokenIDs() throws -> [[Int32]] {
        let rows = try #require(try json("token_ids.json")["rows"] as? [[String: Any]])
        return try rows.map { try #require($0["ids"] as? [Int]).map(Int32.init) }
    }

    /// The reference embedding of each sentence.
    public static func embeddings() throws -> [[Float]] {
        let rows = try #require(try json("embeddings.json")["embeddings"] as? [[Double]])
        return rows.map { $0.map(Float.init) }
    }

    /// Model files and reference data are both present. `scripts/test.sh` runs
    /// `scripts/setup.sh` first, which installs the model, so CI never skips; a bare
    /// `swift test` on a machine without them skips these tests instead of failing.
    public static let available =
        LocalModel.isInstalled() && FileManager.default.fileExists(atPath: folder + "/embeddings.json")

    /// Why the model tests cannot run here.
    public static let unavailable = Comment(
        rawValue: LocalModel.isInstalled()
            ? "the reference outputs are not at \(folder) (the shared folder beside the repository)"
            : "all-MiniLM-L6-v2 is not installed in \(LocalModel.defaultDirectory): run scripts/setup.sh")

    /// The cosine similarity of two vectors, in double precision.
    public static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        var dot = 0.0
        var na = 0.0
        var nb = 0.0
        for i in a.indices {
            dot += Double(a[i]) * Double(b[i])
            na += Double(a[i]) * Double(a[i])
            nb += Double(b[i]) * Double(b[i])
        }
        return dot / (na.squareRoot() * nb.squareRoot())
    }
}
