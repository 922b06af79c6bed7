import Foundation

/// MiniLM vectors of a BEIR corpus, chunked as `quiver-bench retrieval` chunks it by
/// default (title + text, 256 tokens, overlap 32), and of its queries: kept under
/// ~/.cache/quiver/vectors by `tiers --beir` and `retrieval --vector-cache`, since
/// embedding the corpus takes minutes.
enum MiniLMVectorCache {
    /// The files of the corpus in `folder` (named by the folder).
    static func paths(_ folder: String) -> (chunks: String, queries: String) {
        let cache = NSHomeDirectory() + "/.cache/quiver/vectors/"
        let tag = URL(fileURLWithPath: folder).standardizedFileURL.lastPathComponent
        return (cache + "\(tag)-minilm-256.npy", cache + "\(tag)-minilm-queries.npy")
    }

    /// The cached chunk and query vectors, or nil when either file is missing.
    static func load(_ folder: String) throws -> (chunks: NPY.Matrix, queries: NPY.Matrix)? {
        let path = paths(folder)
        guard FileManager.default.fileExists(atPath: path.chunks), FileManager.default.fileExists(atPath: path.queries) else {
            return nil
        }
        return (try NPY.load(path.chunks), try NPY.load(path.queries))
    }

    /// Stores the vectors for the next run.
    static func save(_ folder: String, chunks: [[Float]], queries: [[Float]]) throws {
        let path = paths(folder)
        try FileManager.default.createDirectory(
            atPath: (path.chunks as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try NPY.save(chunks, to: path.chunks)
        try NPY.save(queries, to: path.queries)
    }
}
