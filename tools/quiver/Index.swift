import ArgumentParser
import Foundation
import Ingest

/// `quiver index PATH…`: builds or updates an index.
struct Index: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Build or update an index of the documents under PATH.")

    @Argument(help: "Folders (or files' folders) to index.") var paths: [String]
    @OptionGroup var storeOptions: StoreOptionsGroup
    @Option(help: "Collection name.") var collection = "docs"
    @OptionGroup var embedderOptions: EmbedderOptions
    @Option(help: "recursive, markdown, sentence, token or character.") var splitter = "recursive"
    @Option(help: "Chunk size (scalars; tokens for the token splitter).") var chunkSize = 800
    @Option(help: "Chunk overlap.") var chunkOverlap = 100
    @Option(help: "Texts per embedding request.") var batchSize = 64
    @Option(help: "Embedding requests in flight.") var concurrency = 8
    @Option(help: "Only files matching (glob; repeatable).") var include: [String] = []
    @Option(help: "Leave out files matching (glob; repeatable).") var exclude: [String] = []
    @Flag(help: "Delete documents whose source vanished (with a single PATH).") var prune = false
    @Flag(help: "Print the report as JSON.") var json = false

    func validate() throws {
        guard ["recursive", "markdown", "sentence", "token", "character"].contains(splitter) else {
            throw ValidationError("--splitter must be recursive, markdown, sentence, token or character")
        }
        guard chunkSize > 0, chunkOverlap >= 0, chunkOverlap < chunkSize else {
            throw ValidationError("need 0 <= --chunk-overlap < --chunk-size")
        }
    }

    func run() async throws {
        let store = try Store(path: storeOptions.path)
        // Without --embedder, an existing collection keeps the embedder it was built with.
        let existing = embedderOptions.embedder == nil ? try? await store.collection(collection) : nil
        let embedder =
            try existing.map { try EmbedderOptions.remembered($0.info, modelDirectory: embedderOptions.modelDir) }
            ?? embedderOptions.make().0
        let target: Collection
        do {
            target = try await store.openOrCreateCollection(
                collection, dimension: embedder.dimension, metric: .cosine,
                configuration: [Store.embedderKey: embedder.identifier.description])
        } catch let e as StoreError where e.code == .collectionExists {
            throw ValidationError("\(e.message). Use the same --embedder, --model and --dimensions, or another --collection.")
        }
        let split: any TextSplitter
        switch splitter {
        case "markdown": split = MarkdownSplitter(chunkSize: chunkSize, chunkOverlap: chunkOverlap)
        case "sentence": split = SentenceSplitter(chunkSize: chunkSize, chunkOverlap: chunkOverlap)
        case "token":
            // With the local model, count in its own tokens so chunks fit its window.
            let tokenizer: any Tokenizer = (embedder as? LocalEmbedder)?.tokenizer ?? WordTokenizer()
            split = TokenSplitter(chunkSize: chunkSize, chunkOverlap: chunkOverlap, tokenizer: tokenizer)
        case "character": split = CharacterSplitter(chunkSize: chunkSize, chunkOverlap: chunkOverlap)
        default: split = RecursiveSplitter(chunkSize: chunkSize, chunkOverlap: chunkOverlap)
        }
        var pipeline = IngestPipeline(collection: target, embedder: embedder, splitter: split)
        pipeline.loader = DocumentLoader(options: DocumentLoader.Options(include: include, exclude: exclude))
        pipeline.batchSize = batchSize
        pipeline.concurrency = concurrency
        pipeline.prune = prune && paths.count == 1
        var total = IngestReport()
        let started = Date()
        for path in paths {
            let report = try await pipeline.run(directory: path) { p in
                let rate = Double(p.written) / max(Date().timeIntervalSince(started), 0.001)
                FileHandle.standardError.write(
                    Data(
                        "  \(p.documents)/\(p.documentsTotal) documents, \(p.chunks) chunks, \(p.written) written (\(Int(rate)) chunks/s)\n"
                            .utf8))
            }
            total.added += report.added
            total.updated += report.updated
            total.unchanged += report.unchanged
            total.removed += report.removed
            total.chunksWritten += report.chunksWritten
            total.failed += report.failed
            total.issues += report.issues
            total.bytes += report.bytes
        }
        total.seconds = Date().timeIntervalSince(started)
        if json {
            let object: [String: Any] = [
                "added": total.added, "updated": total.updated, "unchanged": total.unchanged.count, "removed": total.removed,
                "chunks_written": total.chunksWritten, "failed": total.failed.map { ["id": $0.id, "reason": $0.reason] },
                "issues": total.issues.map { $0.description }, "seconds": total.seconds, "bytes": total.bytes,
            ]
            print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
        } else {
            print("Indexed \(paths.joined(separator: ", ")) into \(storeOptions.path) (\(collection)): \(total)")
            for issue in total.issues { print("  note: \(issue)") }
            for f in total.failed { print("  failed: \(f.id): \(f.reason)") }
        }
        if !total.failed.isEmpty { throw ExitCode(3) }
    }
}
