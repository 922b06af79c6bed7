import Foundation
import Testing
import TestSupport

@testable import Ingest

@Suite struct ChunkSchemaTests {
    /// Ids a store would refuse (over 256 bytes, a NUL) get a bounded form that is stable,
    /// distinct per document, and keeps a readable prefix; short ids are unchanged.
    @Test func recordIDsAreBoundedAndStable() {
        let deep = (0..<3).map { String(repeating: "d\($0)", count: 40) }.joined(separator: "/") + "/deep.txt"
        let a = ChunkSchema.recordID(document: deep, chunk: 12)
        #expect(a.utf8.count <= ChunkSchema.maxRecordIDBytes && a.hasPrefix("d0d0") && a.hasSuffix("#12"))
        #expect(a == ChunkSchema.recordID(document: deep, chunk: 12))
        #expect(a != ChunkSchema.recordID(document: deep + "x", chunk: 12))
        let nul = ChunkSchema.recordID(document: "rows.jsonl#a\u{0}b", chunk: 0)
        #expect(!nul.utf8.contains(0) && nul.hasPrefix("rows.jsonl#a?b~") && nul.hasSuffix("#0"))
        #expect(ChunkSchema.recordID(document: "rows.jsonl#a\u{0}c", chunk: 0) != nul)
        // Multi-byte characters are never cut in half.
        let wide = ChunkSchema.recordID(document: String(repeating: "灯", count: 100), chunk: 1)
        #expect(wide.utf8.count <= ChunkSchema.maxRecordIDBytes && wide.hasPrefix(String(repeating: "灯", count: 66) + "~"))
        // At the limit the plain form stays.
        let fits = String(repeating: "f", count: ChunkSchema.maxRecordIDBytes - 2)
        #expect(ChunkSchema.recordID(document: fits, chunk: 5) == fits + "#5")
        #expect(ChunkSchema.contentKey("source") == "content.source" && ChunkSchema.contentKey("title") == "title")
    }

    @Test func recordIDsRoundTripEvenWhenDocumentIDsHoldTheSeparator() {
        #expect(ChunkSchema.recordID(document: "guide.md", chunk: 3) == "guide.md#3")
        #expect(ChunkSchema.document(ofRecordID: "guide.md#3") == "guide.md")
        #expect(ChunkSchema.document(ofRecordID: "rows.jsonl#7#0") == "rows.jsonl#7")
        #expect(ChunkSchema.document(ofRecordID: "plain") == "plain")
    }

    /// What the pipeline writes is what the schema declares, and what the schema's
    /// filters find.
    @Test func thePipelineWritesTheDeclaredSchema() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try Store(path: dir.sub("store"))
        let embedder = HashingEmbedder(dimension: 32)
        let docs = try await store.openOrCreateCollection("docs", for: embedder)
        let pipeline = IngestPipeline(collection: docs, embedder: embedder, splitter: RecursiveSplitter(chunkSize: 40, chunkOverlap: 0))
        let text = "# Lamps\n\nOil lamps came first. Then kerosene, then electric light, then LEDs."
        _ = try await pipeline.run(documents: [Document(id: "lamps.md", text: text, metadata: [ChunkSchema.Key.source: "lamps.md"])])
        let chunks = try await docs.metadata(where: ChunkSchema.chunks(of: "lamps.md"))
        #expect(chunks.count >= 2)
        #expect(try await docs.metadata(where: ChunkSchema.anyChunk).count == chunks.count)
        for n in 0..<chunks.count {
            let id = ChunkSchema.recordID(document: "lamps.md", chunk: n)
            let m = try #require(chunks[id])
            #expect(m[ChunkSchema.Key.document] == "lamps.md" && m[ChunkSchema.Key.chunk] == .int(Int64(n)))
            guard case .int(let start)? = m[ChunkSchema.Key.start], case .int(let end)? = m[ChunkSchema.Key.end] else {
                Issue.record("chunk \(n) has no byte range")
                continue
            }
            let record = try #require(try await docs.get(id))
            #expect(Array(text.utf8)[Int(start)..<Int(end)] == Array(record.text.utf8)[...])
            #expect(m[ChunkSchema.Key.documentVersion]?.description.hasPrefix(Document.hash(text) + "/") == true)
            #expect(m[ChunkSchema.Key.source] == "lamps.md")
        }
    }

    /// The pipeline's collections index each chunk's title with its text: a chunk that
    /// does not hold the title's words is found by them.
    @Test func keywordSearchFindsEveryChunkByItsDocumentsTitle() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try Store(path: dir.sub("store"))
        let embedder = HashingEmbedder(dimension: 32)
        let docs = try await store.openOrCreateCollection("docs", for: embedder)
        #expect(docs.info.keywordFields == [ChunkSchema.Key.title])
        let pipeline = IngestPipeline(collection: docs, embedder: embedder, splitter: RecursiveSplitter(chunkSize: 40, chunkOverlap: 0))
        let text = "# Kerosene\n\nOil lamps came first. Then electric light, then LEDs, then nothing at all."
        let doc = Document(id: "lamps.md", text: text, metadata: [ChunkSchema.Key.title: "Kerosene"])
        _ = try await pipeline.run(documents: [doc])
        let chunks = try await docs.metadata(where: ChunkSchema.chunks(of: "lamps.md"))
        #expect(chunks.count >= 2)
        let hits = try await docs.search(SearchRequest(texts: ["kerosene"], k: 10, mode: .keyword)).hits[0]
        #expect(Set(hits.map(\.id)) == Set(chunks.keys), "\(hits.map(\.id))")
        #expect(hits.contains { !$0.text.lowercased().contains("kerosene") })
    }
}
