import Foundation
import Ingest
import TestSupport
import Testing

@Suite struct HashingEmbedderTests {
    func cosine(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }

    @Test func deterministicUnitVectorsOfTheRightDimension() throws {
        let e = HashingEmbedder(dimension: 64)
        let texts = ["The cat sat on the mat.", "", "  ...  ", "Ünïcödé wörds, 漢字テキスト, emoji 🚀🚀", String(repeating: "long ", count: 5000)]
        let a = try e.embed(texts)
        let b = try e.embed(texts)
        #expect(a == b)
        #expect(a.count == texts.count)
        for v in a {
            #expect(v.count == 64)
            #expect(abs(v.reduce(0) { $0 + $1 * $1 } - 1) < 1e-4)
            #expect(v.allSatisfy { $0.isFinite })
        }
        // A fresh instance (another process would be the same) gives the same bits.
        #expect(try HashingEmbedder(dimension: 64).embed([texts[0]])[0] == a[0])
        #expect(e.identifier.description == "hash/fh-w1b2c3-v1/64")
        #expect(EmbedderIdentifier("hash/fh-w1b2c3-v1/64") == e.identifier)
        #expect(EmbedderIdentifier("openai/text-embedding-3-small/1536")?.model == "text-embedding-3-small")
        #expect(EmbedderIdentifier("nonsense") == nil)
    }

    @Test func lexicalOverlapMeansSimilarity() throws {
        let e = HashingEmbedder(dimension: 384)
        let v = try e.embed([
            "LMDB stores vectors in a memory map",
            "vectors are stored in LMDB's memory map",
            "Bake the bread at two hundred degrees",
        ])
        #expect(cosine(v[0], v[1]) > 0.4)
        #expect(cosine(v[0], v[2]) < 0.15)
        #expect(cosine(v[0], v[1]) > cosine(v[0], v[2]) + 0.3)
        // Case and punctuation do not matter.
        let w = try e.embed(["Hello, World!", "hello world"])
        #expect(cosine(w[0], w[1]) > 0.999)
    }

    @Test func asyncMatchesSync() async throws {
        let e = HashingEmbedder(dimension: 32)
        let texts = (0..<50).map { "text number \($0)" }
        let sync = try { try e.embed(texts) }()
        let async = try await e.embed(texts)
        #expect(sync == async)
    }

    @Test func collectionsRememberTheirEmbedder() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try Store(path: dir.path)
        let e = HashingEmbedder(dimension: 32)
        let c = try store.openOrCreateCollection("docs", for: e)
        #expect(c.info.configuration[Store.embedderKey] == "hash/fh-w1b2c3-v1/32")
        try c.upsert(try zip(["a", "b"], e.embed(["alpha text", "beta text"])).map { Record(id: $0, vector: $1) })
        // The same embedder reopens it; another is refused with both named.
        #expect(try store.openOrCreateCollection("docs", for: e).count() == 2)
        let other = HashingEmbedder(dimension: 32, trigramWeight: 0.5)
        let error = #expect(throws: IngestError.self) { try store.openOrCreateCollection("docs", for: other) }
        #expect(error?.code == .embedderMismatch)
        #expect(error?.message.contains("hash/fh-w1b2c3-v1/32") == true)
        #expect(error?.message.contains(other.identifier.description) == true)
        let wider = HashingEmbedder(dimension: 64)
        #expect(throws: IngestError.self) { try store.openOrCreateCollection("docs", for: wider) }
    }
}
