import Foundation
import Testing
import VectorStore

// Creating, opening, listing and dropping collections.
extension CollectionConformance {
    static func createAndOpen(_ db: any VectorDatabase) throws {
        #expect(try db.collections().isEmpty)
        let settings = CollectionSettings(dimension: 8, metric: .cosine, configuration: ["embedder": "hash/v1/8", "chunker": "md"])
        let docs = try db.createCollection("docs", settings: settings)
        #expect(docs.info.name == "docs")
        #expect(docs.info.settings == settings)
        #expect(docs.name == "docs" && docs.dimension == 8 && docs.metric == .cosine)
        #expect(docs.info.encoding == .float32)
        #expect(docs.info.isReserved == false)
        #expect(docs.database.location == db.location)
        #expect(try docs.count() == 0)
        let images = try db.createCollection("images", dimension: 3, metric: .l2)
        #expect(images.info.settings == CollectionSettings(dimension: 3, metric: .l2))
        _ = try db.createCollection("audio", dimension: 2, metric: .dot)

        // Listed sorted by name, with the settings they were created with.
        let listed = try db.collections()
        #expect(listed.map(\.name) == ["audio", "docs", "images"])
        #expect(listed.first { $0.name == "docs" }?.settings == settings)
        #expect(listed.first { $0.name == "images" }?.settings == CollectionSettings(dimension: 3, metric: .l2))

        // Opening finds the same collection and its records.
        try docs.upsert([Record(id: "a", vector: [1, 0, 0, 0, 0, 0, 0, 0], text: "alpha")])
        let opened = try db.collection("docs")
        #expect(opened.info.settings == settings)
        #expect(opened.info.name == "docs")
        #expect(try opened.count() == 1)
        #expect(try opened.get("a")?.text == "alpha")
        // Writes through either handle are seen by the other.
        try opened.upsert([Record(id: "b", vector: [0, 1, 0, 0, 0, 0, 0, 0])])
        #expect(try docs.get(["a", "b"]).map { $0?.id } == ["a", "b"])

        expectError(.collectionExists, "creating a taken name") { try db.createCollection("docs", dimension: 8, metric: .cosine) }
        expectError(.collectionExists, "creating a taken name with other settings") {
            try db.createCollection("docs", dimension: 4, metric: .dot)
        }
        // The failed creates changed nothing.
        #expect(try db.collection("docs").info.settings == settings)
        #expect(try db.collection("docs").count() == 2)
        let missing = expectError(.collectionNotFound, "opening a missing collection") { try db.collection("nope") }
        expectFields(missing, "opening a missing collection", collection: "nope")
        // Names are exact: no case folding, no trimming.
        expectError(.collectionNotFound, "opening by another case") { try db.collection("Docs") }
        expectError(.collectionNotFound, "opening with a trailing space") { try db.collection("docs ") }
        // Names may hold any UTF-8 but NUL.
        let odd = try db.createCollection("ünïcode name/with.dots", dimension: 2, metric: .dot)
        #expect(try db.collection("ünïcode name/with.dots").info == odd.info)
    }

    static func openOrCreateChecksSettings(_ db: any VectorDatabase) throws {
        let settings = CollectionSettings(dimension: 4, metric: .cosine, configuration: ["embedder": "hash/v1/4", "chunker": "md"])
        // Creates when missing.
        let created = try db.openOrCreateCollection("docs", settings: settings)
        #expect(created.info.settings == settings)
        #expect(try db.collections().map(\.name) == ["docs"])
        try created.upsert([Record(id: "a", vector: [1, 2, 3, 4])])

        // Opens when the settings match; the configuration keys given are compared, others not.
        for given in [settings.configuration, ["embedder": "hash/v1/4"], ["chunker": "md"], [:]] {
            let again = try db.openOrCreateCollection("docs", dimension: 4, metric: .cosine, configuration: given)
            #expect(again.info.settings == settings, "opened with \(given)")
            #expect(try again.count() == 1, "opened with \(given)")
        }
        #expect(try db.collections().count == 1)

        // A mismatch is refused and names the setting that differs.
        expectMismatch("dimension", stored: "4", given: "8") {
            try db.openOrCreateCollection("docs", dimension: 8, metric: .cosine, configuration: settings.configuration)
        }
        for metric in Metric.allCases where metric != .cosine {
            expectMismatch("metric", stored: "cosine", given: metric.rawValue) {
                try db.openOrCreateCollection("docs", dimension: 4, metric: metric)
            }
        }
        for encoding in VectorEncoding.allCases where encoding != .float32 {
            // Only once a backend offers a second encoding.
            expectMismatch("encoding", stored: VectorEncoding.float32.rawValue, given: encoding.rawValue) {
                try db.openOrCreateCollection("docs", dimension: 4, metric: .cosine, encoding: encoding)
            }
        }
        expectMismatch("embedder", stored: "hash/v1/4", given: "openai/x/4") {
            try db.openOrCreateCollection("docs", dimension: 4, metric: .cosine, configuration: ["embedder": "openai/x/4"])
        }
        expectMismatch("model", stored: nil, given: "m") {
            try db.openOrCreateCollection("docs", dimension: 4, metric: .cosine, configuration: ["model": "m"])
        }
        // Nothing changed: the same settings and records.
        #expect(try db.collection("docs").info.settings == settings)
        #expect(try db.collection("docs").get("a") != nil)
        #expect(try db.collections().count == 1)

        // Another name with other settings is a new collection.
        let other = try db.openOrCreateCollection("other", dimension: 2, metric: .l2)
        #expect(other.info.settings == CollectionSettings(dimension: 2, metric: .l2))
        #expect(try db.collections().map(\.name) == ["docs", "other"])
    }

    /// Expects `.collectionExists` for collection "docs" naming the setting that differs
    /// (`input`: "dimension", "metric", "encoding" or the configuration key), with the
    /// stored value as `expected` and the given one as `actual`.
    static func expectMismatch<T>(
        _ setting: String, stored: String?, given: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> T
    ) {
        let comment: Comment = "\(setting) \(given) where docs has \(stored ?? "none")"
        let error = expectError(.collectionExists, comment, sourceLocation: sourceLocation, body)
        expectFields(error, comment, input: setting, collection: "docs", expected: stored, actual: given, sourceLocation: sourceLocation)
        if stored == nil { #expect(error?.expected == nil, comment, sourceLocation: sourceLocation) }
    }

    static func drop(_ db: any VectorDatabase) throws {
        let a = try db.createCollection("a", dimension: 3, metric: .dot)
        let b = try db.createCollection("b", dimension: 3, metric: .dot)
        try a.upsert([Record(id: "x", vector: [1, 2, 3], text: "in a", metadata: ["k": "v"])])
        try b.upsert([Record(id: "x", vector: [3, 2, 1], text: "in b", metadata: ["k": "v"])])

        #expect(try db.dropCollection("a"))
        #expect(try db.collections().map(\.name) == ["b"])
        expectError(.collectionNotFound, "opening a dropped collection") { try db.collection("a") }
        #expect(try db.dropCollection("a") == false)
        #expect(try db.dropCollection("never") == false)

        // A handle to the dropped collection refuses to read or write.
        expectError(.collectionNotFound, "count on a dropped handle") { try a.count() }
        expectError(.collectionNotFound, "get on a dropped handle") { try a.get("x") }
        expectError(.collectionNotFound, "search on a dropped handle") { try a.search([1, 1, 1], k: 1) }
        expectError(.collectionNotFound, "upsert on a dropped handle") { try a.upsert([Record(id: "y", vector: [1, 1, 1])]) }
        expectError(.collectionNotFound, "delete on a dropped handle") { try a.delete(ids: ["x"]) }
        expectError(.collectionNotFound, "metadata on a dropped handle") { try a.metadata(where: .exists("k")) }

        // The name can be reused with other settings; nothing of the old collection shows.
        let fresh = try db.createCollection("a", dimension: 2, metric: .l2)
        #expect(fresh.info.settings == CollectionSettings(dimension: 2, metric: .l2))
        #expect(try fresh.count() == 0)
        #expect(try fresh.get("x") == nil)
        #expect(try fresh.metadata(where: .exists("k")).isEmpty)
        #expect(try fresh.distinctStringValueCount(of: "k") == 0)
        #expect(try fresh.search([0, 0], k: 5).isEmpty)
        // The old handle still refuses, rather than reaching the new collection.
        expectError(.collectionNotFound, "count on the old handle after the name was reused") { try a.count() }

        // The other collection is untouched.
        #expect(try b.count() == 1)
        #expect(try b.get("x")?.text == "in b")
        #expect(try b.search([1, 0, 0], k: 1).map(\.id) == ["x"])
        #expect(try b.metadata(where: .equals("k", "v")).keys.sorted() == ["x"])
    }

    static func updateConfiguration(_ db: any VectorDatabase) throws {
        let c = try db.createCollection("c", dimension: 3, metric: .l2, configuration: ["a": "1", "b": "2"])
        try c.upsert([Record(id: "x", vector: [1, 2, 3])])
        let info = try db.updateConfiguration(of: "c", ["b": nil, "c": "3", "a": "one"])
        #expect(info.configuration == ["a": "one", "c": "3"])
        #expect(info.dimension == 3 && info.metric == .l2 && info.encoding == .float32)
        let reopened = try db.collection("c")
        #expect(reopened.info.configuration == ["a": "one", "c": "3"])
        #expect(try reopened.get("x")?.vector == [1, 2, 3])
        _ = expectError(.collectionNotFound, "updating a missing collection") { try db.updateConfiguration(of: "none", ["a": "1"]) }
        _ = expectError(.invalidArgument, "an empty key") { try db.updateConfiguration(of: "c", ["": "1"]) }
        #expect(try db.collection("c").info.configuration == ["a": "one", "c": "3"])
    }

    static func reservedNames(_ db: any VectorDatabase) throws {
        let cache = try db.createCollection("_cache.x", dimension: 2, metric: .dot)
        _ = try db.createCollection("docs", dimension: 2, metric: .dot)
        _ = try db.createCollection("_private", dimension: 2, metric: .dot)
        #expect(cache.info.isReserved)
        #expect(ReservedNames.isReserved("_cache.x"))
        #expect(try db.collections().map(\.name) == ["docs"])
        #expect(try db.collections(includingReserved: false).map(\.name) == ["docs"])
        let all = try db.collections(includingReserved: true)
        #expect(all.map(\.name) == ["_cache.x", "_private", "docs"])
        #expect(all.map(\.isReserved) == [true, true, false])
        // Hidden only from listings: opened, written and dropped like any other.
        try cache.upsert([Record(id: "k", vector: [1, 2])])
        #expect(try db.collection("_cache.x").count() == 1)
        #expect(try db.openOrCreateCollection("_cache.x", dimension: 2, metric: .dot).count() == 1)
        #expect(try db.dropCollection("_cache.x"))
        #expect(try db.collections(includingReserved: true).map(\.name) == ["_private", "docs"])
    }

    static func rejectsBadCollectionArguments(_ db: any VectorDatabase) throws {
        expectError(.invalidArgument, "an empty name") { try db.createCollection("", dimension: 2, metric: .dot) }
        expectError(.invalidArgument, "a name with NUL") { try db.createCollection("a\0b", dimension: 2, metric: .dot) }
        for dimension in [0, -1, 65537] {
            expectError(.invalidArgument, "dimension \(dimension)") { try db.createCollection("c", dimension: dimension, metric: .dot) }
            expectError(.invalidArgument, "openOrCreate with dimension \(dimension)") {
                try db.openOrCreateCollection("c", dimension: dimension, metric: .dot)
            }
        }
        expectError(.invalidArgument, "openOrCreate with an empty name") { try db.openOrCreateCollection("", dimension: 2, metric: .dot) }
        #expect(try db.collections(includingReserved: true).isEmpty)
        #expect(try db.createCollection("c", dimension: 1, metric: .dot).dimension == 1)
        // A name no collection can have is simply not there.
        expectError(.collectionNotFound, "opening an empty name") { try db.collection("") }
        expectError(.collectionNotFound, "opening a 600-byte name") { try db.collection(String(repeating: "n", count: 600)) }
        #expect(try db.dropCollection("") == false)
        #expect(try db.dropCollection(String(repeating: "n", count: 600)) == false)
    }
}
