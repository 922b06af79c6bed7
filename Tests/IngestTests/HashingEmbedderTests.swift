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
        #expect(error?.collection == "docs")
        #expect(error?.expected == "hash/fh-w1b2c3-v1/32" && error?.actual == other.identifier.description)
        let wider = HashingEmbedder(dimension: 64)
        #expect(throws: IngestError.self) { try store.openOrCreateCollection("docs", for: wider) }
    }
}

/// The hashing embedder's output is part of its identifier: a store built with
/// `hash/fh-w1b2c3-v1` must get the same vectors from any later version. These checksums
/// were taken from the first implementation.
@Suite struct HashingEmbedderStabilityTests {
    static let texts = [
        "The cat sat on the mat.", "", "  ...  ", "Ünïcödé wörds, 漢字テキスト, emoji 🚀🚀",
        "İstanbul ΣΊΣΥΦΟΣ straße ǅemal ﬁne", "Bell Rock, 1807–1810: Robert Stevenson's granite tower (48 m)!",
        "tabs\tand\nnew lines\r\nand CRLF", "x", "a b a b a b a b", "e\u{301}tude cafe\u{301} naïve",
        String(repeating: "long words repeated ", count: 300),
    ]

    static func checksum(_ vectors: [[Float]]) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for v in vectors { for x in v { h = (h ^ UInt64(x.bitPattern)) &* 0x100_0000_01b3 } }
        return h
    }

    @Test func vectorsAreBitForBitStable() throws {
        let paragraph = """
            # The Eddystone lights

            Four lighthouses have stood on the Eddystone rocks, fourteen miles south-west of Plymouth. \
            Henry Winstanley's wooden tower (1698) was swept away in the Great Storm of 1703; John \
            Rudyerd's followed in 1709 and burned in 1755. John Smeaton's granite tower of 1759 used \
            dovetailed blocks — a technique copied for a century — and its upper part now stands on \
            Plymouth Hoe. James Douglass's tower, lit in 1882, still works today.
            """
        let texts = Self.texts + [paragraph]
        let sums = try [64, 384].map { Self.checksum(try HashingEmbedder(dimension: $0).embed(texts)) }
        #expect(sums == [0x21c2_962f_6486_5ad7, 0xf373_0524_5cda_2e35])
    }
}

/// Dimensions from users and store files are checked, never trusted to a precondition.
@Suite struct HashingEmbedderDimensionTests {
    @Test func validateRejectsWhatInitCannotTake() throws {
        for bad in [Int.min, -1, 0, 1, 7, 65537, Int.max] {
            let error = #expect(throws: QuiverError.self) { try HashingEmbedder.validate(dimension: bad) }
            #expect(error?.code == .invalidArgument)
            #expect(error?.expected == "8...65536")
            #expect(error?.actual == "\(bad)")
        }
        for good in [8, 384, 65536] {
            try HashingEmbedder.validate(dimension: good)
            #expect(HashingEmbedder(dimension: good).outputDimension == good)
        }
    }

    /// A store file recording a hash embedder of 3 dimensions once crashed the rebuild.
    @Test func theRegistryRefusesARecordedDimensionItCannotMake() throws {
        let record = EmbedderRecord(identifier: EmbedderIdentifier(provider: "hash", model: "fh-w1b2c3-v1", dimension: 3))
        let error = #expect(throws: QuiverError.self) { try EmbedderRegistry.standard.rebuild(record) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.actual == "3")
        let rebuilt = try EmbedderRegistry.standard.rebuild(
            EmbedderRecord(identifier: EmbedderIdentifier(provider: "hash", model: "fh-w1b2c3-v1", dimension: 8)))
        #expect(rebuilt.identifier.dimension == 8)
    }
}
