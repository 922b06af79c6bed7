import Foundation
import Testing
import TestSupport
@testable import VectorStore

@Suite struct VectorEncodingTests {
    /// The encoding is recorded with the collection, and every block says which codec
    /// wrote it; a block whose header names another encoding is refused, not misread.
    @Test func blocksRecordTheirEncodingAndAMismatchIsCorruption() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try Store(path: dir.path)
        let c = try store.createCollection("c", dimension: 4, metric: .dot, encoding: .float32)
        #expect(c.info.encoding == .float32)
        #expect(try store.collection("c").info.encoding == .float32)
        try c.upsert([Record(id: "a", vector: [1, 2, 3, 4]), Record(id: "b", vector: [4, 3, 2, 1])])
        #expect(try c.get("a")?.vector == [1, 2, 3, 4])
        let blockNo = try c.read { txn in try c.blockViews(txn).map(\.blockNo) }
        #expect(blockNo.count == 1)
        // Rewrite the block with an encoding code no codec has.
        try store.env.write { txn in
            guard let value = try c.blocks.get(txn, blockNo[0]) else { throw StoreError(.corrupted, "no block") }
            var bytes = Array(value)
            #expect(bytes[BlockLayout.encodingOffset] == Float32Codec().headerCode)
            bytes[BlockLayout.encodingOffset] = 0xEE
            let out = try c.blocks.reserve(txn, blockNo[0], size: bytes.count)
            out.copyBytes(from: bytes)
        }
        let error = #expect(throws: StoreError.self) { try c.search([1, 0, 0, 0], k: 1) }
        #expect(error?.code == .corrupted)
        #expect(try !store.check().isHealthy)
    }

    /// The f32 codec stores components bit for bit and scores like a dot product.
    @Test func float32CodecRoundTripsAndScores() {
        let codec = VectorEncoding.float32.codec
        #expect(codec.bytesPerVector(dimension: 5) == 20)
        let v: [Float] = [1.5, -0, .leastNonzeroMagnitude, 3e38, -2]
        var stored = [UInt8](repeating: 0, count: 20)
        stored.withUnsafeMutableBytes { out in v.withUnsafeBufferPointer { codec.encode($0, into: out.baseAddress!) } }
        let back = stored.withUnsafeBytes { codec.decode($0.baseAddress!, dimension: 5) }
        #expect(back.map(\.bitPattern) == v.map(\.bitPattern))
        let rows: [Float] = [1, 2, 3, 4, 0, 1, 0, 1]
        let queries: [Float] = [1, 1, 1, 1, 2, 0, 0, 0]
        var scores = [Float](repeating: 0, count: 4)
        let prepared = PreparedQueries(queries, count: 2, dimension: 4, quantize: false)
        rows.withUnsafeBytes { r in
            scores.withUnsafeMutableBufferPointer { s in
                codec.scoreTile(r.baseAddress!, rows: 2, dimension: 4, queries: prepared, alpha: 1, scores: s.baseAddress!)
            }
        }
        #expect(scores == [10, 2, 2, 0])
    }
}
