import Foundation
import Synchronization
import Query
import TestSupport

/// A small collection about lighthouses, ingested with the hashing embedder through the
/// real pipeline into a real store.
struct Corpus {
    let dir = TemporaryDirectory("quiver-query")
    let store: Store
    let collection: LMDBCollection
    let embedder = HashingEmbedder(dimension: 256)

    static let documents: [(String, String)] = [
        (
            "bell-rock.md",
            "# Bell Rock\n\nThe Bell Rock Lighthouse stands on a reef in the North Sea. Robert Stevenson built it between 1807 and 1810. It is the oldest surviving sea-washed lighthouse in the world."
        ),
        (
            "fresnel.md",
            "# Fresnel lens\n\nAugustin Fresnel invented the stepped lens in 1822. The Fresnel lens concentrates the lamp's light into a narrow beam that ships can see for many miles."
        ),
        (
            "keepers.txt",
            "Lighthouse keepers trimmed the wicks and wound the clockwork every night. Storms kept the keepers on the rock for weeks. Automation replaced the last keepers in 1998."
        ),
        (
            "fog.txt",
            "Fog signals warned ships when the light could not be seen. Early fog signals used bells and guns; later ones used compressed-air horns called diaphones."
        ),
        (
            "pharos.md",
            "# Pharos of Alexandria\n\nThe Pharos of Alexandria was built in the third century BC. It was one of the Seven Wonders of the Ancient World, and earthquakes destroyed it by 1480."
        ),
    ]

    init(chunkSize: Int = 400) async throws {
        store = try Store(path: dir.sub("store"))
        collection = try await store.openOrCreateCollection("docs", for: embedder)
        let pipeline = IngestPipeline(
            collection: collection, embedder: embedder, splitter: RecursiveSplitter(chunkSize: chunkSize, chunkOverlap: 0))
        _ = try await pipeline.run(
            documents: Self.documents.map { Document(id: $0.0, text: $0.1, metadata: ["source": .string("data/\($0.0)")]) })
    }

    func retriever(_ options: RetrievalOptions = RetrievalOptions()) throws -> Retriever {
        try Retriever(collection: collection, embedder: embedder, options: options)
    }
}
