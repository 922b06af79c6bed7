import Foundation
import TestSupport
import Testing
import VectorStore

/// `quiver collections`, `compact` and `check` on the store's reserved collections.
@Suite struct MaintenanceCommandTests {
    /// The embedding caches (`_cache.*`) are hidden from `quiver collections` unless
    /// `--all` asks, and `compact` and `check` still cover them.
    @Test func reservedCollectionsAreListedOnlyWhenAsked() throws {
        let dir = TemporaryDirectory("quiver-maintenance")
        defer { dir.remove() }
        do {
            let store = try Store(path: dir.path)
            let docs = try store.createCollection("docs", dimension: 2, metric: .dot)
            let cache = try store.createCollection("_cache.0123", dimension: 2, metric: .dot)
            try docs.upsert([Record(id: "a", vector: [1, 0])])
            try cache.upsert([Record(id: "k", vector: [0, 1]), Record(id: "gone", vector: [1, 1])])
            _ = try cache.delete(ids: ["gone"])
        }
        let listed = try runProduct(["collections", "--store", dir.path])
        #expect(listed.status == 0, "\(listed.err)")
        #expect(listed.out.split(separator: "\n").map { $0.split(separator: "\t")[0] } == ["docs"])
        let all = try runProduct(["collections", "--store", dir.path, "--all"])
        #expect(all.out.split(separator: "\n").map { $0.split(separator: "\t")[0] } == ["_cache.0123", "docs"])
        let compact = try runProduct(["compact", "--store", dir.path])
        #expect(compact.status == 0, "\(compact.err)")
        #expect(compact.out.contains("_cache.0123: ") && compact.out.contains("docs: "))
        let check = try runProduct(["check", "--store", dir.path])
        #expect(check.status == 0)
        #expect(check.out.contains("_cache.0123: 1 records") && check.out.contains("docs: 1 records"))
    }
}
