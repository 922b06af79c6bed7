import Foundation
import Testing
import TestSupport
@testable import VectorStore

@Suite struct SecondaryIndexTests {
    /// The metadata index follows every write in the records' own transaction: replaced,
    /// deleted and compacted rows leave no stale postings, and new ones are found at once.
    @Test func metadataIndexFollowsReplaceDeleteAndCompact() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try Store(path: dir.path)
        let c = try store.createCollection("c", dimension: 2, metric: .dot)
        #expect(c.indexes.map(\.name) == ["metadata"])
        try c.upsert((0..<40).map { Record(id: "r\($0)", vector: [1, Float($0)], metadata: ["color": $0 % 2 == 0 ? "red" : "blue"]) })
        // Replace every red record with a green one; delete a few blue ones; compact.
        try c.upsert((0..<40).filter { $0 % 2 == 0 }.map { Record(id: "r\($0)", vector: [1, 0], metadata: ["color": "green"]) })
        #expect(try c.delete(ids: ["r1", "r3", "r5"]) == 3)
        #expect(try c.metadata(where: .equals("color", "red")).isEmpty)
        #expect(try c.metadata(where: .equals("color", "green")).count == 20)
        #expect(try c.metadata(where: .equals("color", "blue")).count == 17)
        _ = try c.compact()
        #expect(try c.search([1, 0], k: 100, filter: .equals("color", "blue")).count == 17)
        #expect(try c.search([1, 0], k: 100, filter: .equals("color", "red")).isEmpty)
        #expect(try c.distinctStringValueCount(of: "color") == 2)
        #expect(try store.check().isHealthy)
    }

    /// `check` asks every index for entries that name missing rows, and names the index.
    @Test func checkReportsDanglingIndexEntriesByIndexName() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try Store(path: dir.path)
        let c = try store.createCollection("c", dimension: 2, metric: .dot)
        try c.upsert([Record(id: "a", vector: [1, 0], metadata: ["k": "v"])])
        try store.env.write { txn in
            try c.index.putRows(txn, IndexKey.string("k", "v"), [999])
        }
        let report = try store.check()
        #expect(report.problems == ["c: 1 metadata index entries name rows that do not exist"])
    }
}
