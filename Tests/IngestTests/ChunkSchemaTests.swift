import Foundation
import Testing
import TestSupport

@testable import Ingest

@Suite struct ChunkSchemaTests {
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
}
