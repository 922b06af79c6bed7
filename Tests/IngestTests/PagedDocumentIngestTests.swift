import Foundation
import Ingest
import TestSupport
import Testing
import VectorStore

/// A parser of `.pages` files: one document per line (`<file>#p<n>`, metadata `page`), as
/// the PDF parser makes one per page.
struct LinePagesParser: DocumentParser {
    var name: String { "pages" }
    var extensions: Set<String> { ["pages"] }
    func parse(_ input: ParseInput) throws -> DocumentLoader.Result {
        let (text, _) = try input.decodeText()
        let docs = text.split(separator: "\n").enumerated().map { i, line in
            var metadata = input.metadata
            metadata[ChunkSchema.Key.page] = .int(Int64(i + 1))
            return Document(id: "\(input.id)#p\(i + 1)", text: String(line), metadata: metadata)
        }
        return DocumentLoader.Result(documents: docs)
    }
}

/// Files that give many documents (a PDF's pages): written a window at a time, and the
/// documents a file stops giving are deleted with it.
@Suite struct PagedDocumentIngestTests {
    static func pages(_ n: Int, tag: String = "") -> String {
        (1...n).map { "Page \($0)\(tag): the keeper logged the weather at dawn." }.joined(separator: "\n")
    }

    func pipeline(_ dir: TemporaryDirectory) async throws -> IngestPipeline {
        let store = try Store(path: dir.sub("store"))
        let embedder = HashingEmbedder(dimension: 16)
        var pipeline = IngestPipeline(
            collection: try await store.openOrCreateCollection("docs", for: embedder), embedder: embedder,
            splitter: RecursiveSplitter(chunkSize: 400, chunkOverlap: 0))
        var options = DocumentLoader.Options()
        options.parsers.register(LinePagesParser())
        pipeline.loader = DocumentLoader(options: options)
        pipeline.window = 4  // a 10-page file is written in 3 slices
        pipeline.windowBytes = 0  // windows of exactly `window` documents, however small
        return pipeline
    }

    @Test func aFileOfManyDocumentsIsWrittenInWindowsWithItsPages() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let docs = dir.sub("docs")
        try FileManager.default.createDirectory(atPath: docs, withIntermediateDirectories: true)
        try Self.pages(10).write(toFile: docs + "/log.pages", atomically: true, encoding: .utf8)
        try "A note.".write(toFile: docs + "/note.txt", atomically: true, encoding: .utf8)
        let pipeline = try await pipeline(dir)
        let report = try await pipeline.run(directory: docs)
        #expect(report.added.count == 11 && report.chunksWritten == 11 && report.failed.isEmpty)
        let page7 = try await pipeline.collection.metadata(where: .equals(ChunkSchema.Key.page, .int(7)))
        #expect(page7.keys.sorted() == ["log.pages#p7#0"])
        #expect(page7.values.first?[ChunkSchema.Key.source] == "log.pages")
        let again = try await pipeline.run(directory: docs)
        #expect(again.unchanged.count == 11 && again.added.isEmpty && again.removed.isEmpty)
    }

    @Test func pagesAFileNoLongerHasAreDeletedWithoutPrune() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let docs = dir.sub("docs")
        try FileManager.default.createDirectory(atPath: docs, withIntermediateDirectories: true)
        try Self.pages(6).write(toFile: docs + "/log.pages", atomically: true, encoding: .utf8)
        var pipeline = try await pipeline(dir)
        _ = try await pipeline.run(directory: docs)
        try Self.pages(4, tag: " (revised)").write(toFile: docs + "/log.pages", atomically: true, encoding: .utf8)

        pipeline.dryRun = true
        let plan = try await pipeline.run(directory: docs)
        #expect(plan.removed == ["log.pages#p5", "log.pages#p6"])
        #expect(plan.updated.count == 4)
        #expect(try await pipeline.collection.count() == 6)

        pipeline.dryRun = false
        let report = try await pipeline.run(directory: docs)
        #expect(report.removed == ["log.pages#p5", "log.pages#p6"])
        #expect(report.updated.count == 4)
        #expect(try await pipeline.collection.count() == 4)
        // With prune as well, nothing is removed twice.
        pipeline.prune = true
        try Self.pages(3).write(toFile: docs + "/log.pages", atomically: true, encoding: .utf8)
        pipeline.dryRun = true
        #expect(try await pipeline.run(directory: docs).removed == ["log.pages#p4"])
    }
}
