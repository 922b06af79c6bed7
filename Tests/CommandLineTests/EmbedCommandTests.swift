import Foundation
import Ingest
import TestSupport
import Testing

/// `quiver embed` with the local model: the reference ids and vector of "Hello world".
@Suite(.enabled(if: MiniLMReference.available, MiniLMReference.unavailable))
struct EmbedCommandTests {
    @Test func printsTokensAndVectorsAsJSON() throws {
        let result = try IndexCommandTests().run(["embed", "Hello world", "Café", "--embedder", "local", "--json"])
        #expect(result.status == 0)
        let lines = result.out.split(separator: "\n")
        #expect(lines.count == 2)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(object["text"] as? String == "Hello world")
        #expect(object["tokens"] as? [Int] == [101, 7592, 2088, 102])
        let vector = try #require(object["vector"] as? [Double]).map(Float.init)
        #expect(MiniLMReference.cosine(vector, try MiniLMReference.embeddings()[0]) >= 0.9999)

        let plain = try IndexCommandTests().run(["embed", "Hello world", "--embedder", "local", "--tokens"])
        let plainLines = plain.out.split(separator: "\n")
        #expect(plainLines.first == "tokens: 101 7592 2088 102")
        #expect(plainLines.last?.split(separator: " ").count == 384)
    }
}
