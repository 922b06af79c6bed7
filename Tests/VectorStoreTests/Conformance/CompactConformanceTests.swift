import Testing
import TestSupport
import VectorStore

/// The conformance suite on collections of the compact encodings: every collection a
/// check creates as f32 is created as f16 or int8 instead, in a store that rescores every
/// candidate (`StoreOptions.oversampling` above any collection's size), so the answers
/// must be exactly the suite's. This runs the compact write, delete, filter, batch and
/// concurrency paths and the float32 copies through every check; how well the default
/// oversampling ranks is measured separately (`CompactEncodingTests`, `quiver-bench tiers`).
@Suite struct CompactConformanceTests {
    static func suite(_ encoding: VectorEncoding) -> CollectionConformance {
        CollectionConformance {
            let dir = TemporaryDirectory("quiver-conformance-\(encoding.rawValue)")
            var options = StoreOptions()
            options.oversampling = 1 << 20
            return ConformanceDatabase(EncodingDatabase(try Store(path: dir.path, options: options), encoding: encoding)) {
                dir.remove()
            }
        }
    }

    /// Checks that assert a collection's settings equal those it was created with,
    /// encoding f32 included, which this run replaces (the async forms, too, are the same
    /// wrappers whatever the encoding).
    static let statesTheDefaultEncoding: Set<CollectionConformance.Check> = [
        .createAndOpen, .openOrCreateChecksSettings, .drop, .updateConfiguration, .asyncFormsMatchSync,
    ]

    @Test(arguments: CollectionConformance.checks(excluding: statesTheDefaultEncoding))
    func int8(_ check: CollectionConformance.Check) async throws {
        try await Self.suite(.int8).run(check)
    }

    @Test(arguments: CollectionConformance.checks(excluding: statesTheDefaultEncoding))
    func float16(_ check: CollectionConformance.Check) async throws {
        try await Self.suite(.float16).run(check)
    }

    @Test(.enabled(if: runsIsolatedTests, "runs in a process of its own (scripts/test.sh)"))
    func compactConformanceRunAlone() async throws {
        for check in CollectionConformance.runAlone {
            try await Self.suite(.int8).run(check)
            try await Self.suite(.float16).run(check)
        }
    }
}

/// A store whose new f32 collections are created with another encoding.
struct EncodingDatabase: VectorDatabase {
    let store: Store
    let encoding: VectorEncoding

    init(_ store: Store, encoding: VectorEncoding) {
        self.store = store
        self.encoding = encoding
    }

    func mapped(_ settings: CollectionSettings) -> CollectionSettings {
        var s = settings
        if s.encoding == .float32 { s.encoding = encoding }
        return s
    }

    var location: String { store.location }
    func collections(includingReserved: Bool) throws -> [CollectionInfo] { try store.collections(includingReserved: includingReserved) }
    func collections(includingReserved: Bool) async throws -> [CollectionInfo] {
        try await store.collections(includingReserved: includingReserved)
    }
    func collection(_ name: String) throws -> LMDBCollection { try store.collection(name) }
    func collection(_ name: String) async throws -> LMDBCollection { try await store.collection(name) }
    func createCollection(_ name: String, settings: CollectionSettings) throws -> LMDBCollection {
        try store.createCollection(name, settings: mapped(settings))
    }
    func createCollection(_ name: String, settings: CollectionSettings) async throws -> LMDBCollection {
        try await store.createCollection(name, settings: mapped(settings))
    }
    func openOrCreateCollection(_ name: String, settings: CollectionSettings) throws -> LMDBCollection {
        try store.openOrCreateCollection(name, settings: mapped(settings))
    }
    func openOrCreateCollection(_ name: String, settings: CollectionSettings) async throws -> LMDBCollection {
        try await store.openOrCreateCollection(name, settings: mapped(settings))
    }
    @discardableResult func dropCollection(_ name: String) throws -> Bool { try store.dropCollection(name) }
    @discardableResult func dropCollection(_ name: String) async throws -> Bool { try await store.dropCollection(name) }
    @discardableResult func updateConfiguration(of name: String, _ changes: [String: String?]) throws -> CollectionInfo {
        try store.updateConfiguration(of: name, changes)
    }
    @discardableResult func updateConfiguration(of name: String, _ changes: [String: String?]) async throws -> CollectionInfo {
        try await store.updateConfiguration(of: name, changes)
    }
}
