import Foundation
import Testing
import TestSupport

@testable import Ingest

/// The async forms of the synchronous I/O calls give the same results, off the pool.
@Suite struct AsyncFormsTests {
    @Test func asyncFormsMatchTheSynchronousOnes() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try await Store.open(path: dir.sub("store"))
        let embedder = HashingEmbedder(dimension: 16)
        let docs = try await store.openOrCreateCollection("docs", for: embedder)
        try await docs.upsert([Record(id: "a", vector: try embedder.embed(["fog horn"])[0])])

        let syncSize = try { try store.fileSize() }()  // a synchronous closure calls the synchronous form
        #expect(try await store.fileSize() == syncSize)
        try await store.copy(to: dir.sub("copy"))
        #expect(try { try Store(path: dir.sub("copy")).collection("docs").count() }() == 1)

        let rebuilt = try await EmbedderRegistry.standard.rebuild(for: docs.info)
        #expect(rebuilt.identifier == embedder.identifier)
        #expect(try await docs.recordedEmbedder().identifier == embedder.identifier)

        try FileManager.default.createDirectory(atPath: dir.sub("notes"), withIntermediateDirectories: true)
        try "Keepers trimmed the wicks.".write(toFile: dir.sub("notes/wicks.txt"), atomically: true, encoding: .utf8)
        let loader = DocumentLoader()
        let folder = await loader.load(directory: dir.sub("notes"))
        let syncFolder = { loader.load(directory: dir.sub("notes")) }()
        #expect(folder.documents.map(\.id) == syncFolder.documents.map(\.id) && folder.documents.count == 1)
        let file = await loader.load(file: dir.sub("notes/wicks.txt"), id: "wicks.txt")
        #expect(file.documents.map(\.text) == ["Keepers trimmed the wicks."])
    }
}
