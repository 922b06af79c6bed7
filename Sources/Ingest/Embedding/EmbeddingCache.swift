import VectorStore

/// Vectors already computed, kept in the store so a re-split or re-ingested document never
/// pays twice for an unchanged chunk. One collection per embedder identifier
/// (`_cache.<hash>`), records keyed by a 128-bit hash of the chunk text; no text is stored.
public struct EmbeddingCache: Sendable {
    /// The collection holding the vectors.
    public let collection: any VectorCollection

    /// Opens (or creates) the cache of `embedder` in `store`.
    public init(store: any VectorDatabase, embedder: any Embedder) throws {
        let id = embedder.identifier.description
        // .dot keeps vectors as given.
        collection = try store.openOrCreateCollection(
            ReservedNames.embeddingCachePrefix + Document.hash(id), dimension: embedder.dimension, metric: .dot,
            configuration: [Store.embedderKey: id])
    }

    /// Opens (or creates) the cache of `embedder` in `store`, off the cooperative pool.
    public static func open(store: any VectorDatabase, embedder: any Embedder) async throws -> EmbeddingCache {
        try await BlockingExecutor.shared.run { try EmbeddingCache(store: store, embedder: embedder) }
    }

    /// The key of a text: two FNV-1a 64 hashes with different offsets (128 bits).
    static func key(_ text: String) -> String {
        var a: UInt64 = 0xcbf2_9ce4_8422_2325
        var b: UInt64 = 0x8422_2325_cbf2_9ce4
        for byte in text.utf8 {
            a = (a ^ UInt64(byte)) &* 0x100_0000_01b3
            b = (b ^ UInt64(byte)) &* 0x100_0000_01b3 &+ 0x9e37
        }
        return String(a, radix: 16) + "-" + String(b, radix: 16)
    }

    /// The cached vector of each text, or nil.
    public func lookup(_ texts: [String]) throws -> [[Float]?] {
        try collection.get(texts.map(Self.key)).map { $0?.vector }
    }

    /// The cached vector of each text, or nil, read in one snapshot off the cooperative
    /// pool.
    public func lookup(_ texts: [String]) async throws -> [[Float]?] {
        try await collection.get(texts.map(Self.key)).map { $0?.vector }
    }

    /// Remembers vectors (one transaction).
    public func store(_ texts: [String], _ vectors: [[Float]]) throws {
        try collection.upsert(records(texts, vectors))
    }

    /// Remembers vectors (one transaction), on the store's writer queue.
    public func store(_ texts: [String], _ vectors: [[Float]]) async throws {
        try await collection.upsert(records(texts, vectors))
    }

    private func records(_ texts: [String], _ vectors: [[Float]]) -> [Record] {
        zip(texts, vectors).map { Record(id: Self.key($0), vector: $1) }
    }
}
