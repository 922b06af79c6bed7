import Foundation
import PostgresStore
import Testing
import TestSupport
import VectorStore
import QuiverCore

/// What the PostgreSQL backend must do beyond the conformance suite: keep hostile input
/// out of its SQL, keep passwords out of what it prints, keep concurrent writers of one
/// document from leaving two versions, and search through its HNSW index on request.
@Suite(.enabled(if: PostgresTestServer.isAvailable, PostgresTestServer.skipReason))
struct PostgresBackendTests {
    static func database(_ label: String, options: PostgresOptions = PostgresOptions(maxConnections: 4)) throws -> PostgresDatabase {
        try PostgresDatabase(url: try PostgresTestServer.shared().createDatabase(label), options: options)
    }

    /// The compact encodings are the embedded store's: a PostgreSQL collection of f16 or
    /// int8 vectors is refused, naming the encoding, rather than stored as f32 under their name.
    @Test func compactEncodingsAreRefused() async throws {
        try await PostgresTestServer.startShared()
        let db = try Self.database("encodings")
        for encoding in [VectorEncoding.float16, .int8] {
            let error = #expect(throws: StoreError.self) { try db.createCollection("c", dimension: 4, metric: .dot, encoding: encoding) }
            #expect(error?.code == .invalidArgument)
            #expect(error?.input == "encoding")
        }
        #expect(try await db.collections().isEmpty)
    }

    /// Field names and values made to break out of SQL are bound parameters: filters on
    /// them match exactly the records an independent predicate picks, and nothing else in
    /// the database changes.
    @Test func hostileFieldNamesAndValuesAreBoundNotSpliced() async throws {
        try await PostgresTestServer.startShared()
        try Self.hostileFieldNamesAndValuesAreBoundNotSplicedBody()
    }

    static func hostileFieldNamesAndValuesAreBoundNotSplicedBody() throws {
        let db = try Self.database("hostile")
        let c = try db.createCollection("docs", dimension: 2, metric: .dot)
        let other = try db.createCollection("other", dimension: 2, metric: .dot)
        try other.upsert([Record(id: "keep", vector: [1, 1])])
        let hostile = [
            "'; DROP TABLE quiver_collections; --", "\"", "\\", "a'b", "$1", "?", "?|", "@>", "{\"x\": 1}", "[1,2]", "%s", "é ü 字",
            "metadata", ") OR TRUE --", "line\nbreak", "tab\there", "null", "NULL",
        ]
        var records: [Record] = []
        for (i, name) in hostile.enumerated() {
            records.append(
                Record(
                    id: "r\(i) \(name)", vector: [Float(i), 1], text: name,
                    metadata: [name: .string(hostile[(i + 1) % hostile.count]), "n": .int(Int64(i)), "list": .strings([name, "x"])]))
        }
        try c.upsert(records)
        for (i, name) in hostile.enumerated() {
            let value = hostile[(i + 1) % hostile.count]
            let filters: [Filter] = [
                .equals(name, .string(value)), .notEquals(name, .string(value)), .exists(name), .isIn("list", [.string(name)]),
                .equals("n", .string(name)), .range(name, lower: 0), .not(.exists(name)), .equals(value, .string(name)),
            ]
            for filter in filters {
                let expected = Set(records.filter { filter.matches($0.metadata) }.map(\.id))
                #expect(Set(try c.metadata(where: filter).keys) == expected, "\(filter)")
                let hits = try c.search([1, 1], k: records.count, filter: filter)
                #expect(Set(hits.map(\.id)) == expected, "search \(filter)")
            }
        }
        #expect(try c.get(records.map(\.id)).map { $0?.metadata } == records.map(\.metadata))
        #expect(try c.get(records.map(\.id)).map { $0?.text } == records.map(\.text))
        #expect(try c.delete(where: .equals(hostile[0], .string(hostile[1]))) == 1)
        #expect(try c.count() == records.count - 1)
        // Nothing else was touched.
        #expect(try db.collections().map(\.name) == ["docs", "other"])
        #expect(try other.get("keep") != nil)
        // A hostile collection name is a name, not SQL.
        let odd = try db.createCollection("x\"; DROP TABLE quiver_collections; --", dimension: 2, metric: .l2)
        try odd.upsert([Record(id: "a", vector: [0, 0])])
        #expect(try db.collection(odd.name).count() == 1)
        #expect(try db.collections().count == 3)
    }

    /// The password of the URL never shows: not in `location`, not in errors (a database
    /// that does not exist, a server that is not there), not in a handle's description.
    @Test func passwordsNeverAppear() async throws {
        try await PostgresTestServer.startShared()
        try Self.passwordsNeverAppearBody()
    }

    static func passwordsNeverAppearBody() throws {
        let server = try PostgresTestServer.shared()
        let secret = "pa55-w0rd-\(UUID().uuidString.prefix(6))"
        // The server trusts its socket, so any password is accepted (and must still not show).
        let url = try server.createDatabase("secret").replacingOccurrences(
            of: "\(PostgresTestServer.user)@", with: "\(PostgresTestServer.user):\(secret)@")
        #expect(url.contains(secret))
        let db = try PostgresDatabase(url: url + "&password=\(secret)")
        #expect(!db.location.contains(secret))
        #expect(db.location.contains(PostgresTestServer.user))
        let c = try db.createCollection("docs", dimension: 2, metric: .dot)
        #expect(!"\(c.info)".contains(secret))
        let failures: [() throws -> Void] = [
            { _ = try PostgresDatabase(url: url.replacingOccurrences(of: "/secret_", with: "/missing_")) },
            {
                _ = try PostgresDatabase(
                    url: "postgresql://u:\(secret)@/db?host=/nonexistent-dir",
                    options: PostgresOptions(reconnect: ReconnectPolicy(attempts: 1)))
            },
            { _ = try db.collection("nope") },
            { _ = try PostgresDatabase(url: "http://u:\(secret)@host/db") },
        ]
        for failure in failures {
            do {
                try failure()
                Issue.record("expected an error")
            } catch {
                #expect(!"\(error)".contains(secret), "\(error)")
                #expect(!String(reflecting: error).contains(secret), "\(error)")
            }
        }
    }

    /// Writers replacing one document at once (`deletingWhere: doc == D`, then its new
    /// chunks) leave exactly one version's chunks: the delete runs after the other
    /// writer's commit, never beside it. Versions have different chunk counts, so a mix
    /// shows.
    @Test func concurrentReplacementsOfADocumentLeaveOneVersion() async throws {
        try await PostgresTestServer.startShared()
        try await Self.concurrentReplacementsOfADocumentLeaveOneVersionBody()
    }

    static func concurrentReplacementsOfADocumentLeaveOneVersionBody() async throws {
        let db = try Self.database("race", options: PostgresOptions(maxConnections: 8))
        let c = try await db.createCollection("docs", dimension: 4, metric: .cosine)
        @Sendable func chunks(_ doc: String, version: Int) -> [Record] {
            (0..<(2 + version % 5)).map { n in
                Record(
                    id: "\(doc)#\(n)-v\(version)", vector: [1, Float(version), Float(n), 1], text: "\(doc) v\(version)",
                    metadata: ["doc": .string(doc), "version": .int(Int64(version))])
            }
        }
        let failures = PosixMutex<[String]>([])
        let writing = PosixMutex(6)
        // Six writers, and a reader that checks every state it sees: each commit takes a
        // document from one whole version to another, so no read may see two versions.
        // On a thread of its own: the writers take seconds, and the pool is for other suites.
        try await PostgresTestServer.onOwnThread {
            onThreads(7) { w in
                if w == 6 {
                    while writing.withLock({ $0 }) > 0 {
                        for doc in ["a", "b"] {
                            do {
                                let versions = Set(try c.metadata(where: .equals("doc", .string(doc))).values.compactMap { $0["version"] })
                                if versions.count > 1 { failures.withLock { $0.append("a reader saw \(doc) in versions \(versions)") } }
                            } catch {
                                failures.withLock { $0.append("\(error)") }
                            }
                        }
                    }
                    return
                }
                defer { writing.withLock { $0 -= 1 } }
                for round in 0..<25 {
                    let version = w * 100 + round
                    for doc in ["a", "b"] {
                        do {
                            try c.write(upsert: chunks(doc, version: version), deleting: [], deletingWhere: .equals("doc", .string(doc)))
                        } catch {
                            failures.withLock { $0.append("\(error)") }
                        }
                    }
                }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 })")
        for doc in ["a", "b"] {
            let stored = try await c.metadata(where: .equals("doc", .string(doc)))
            let versions = Set(stored.values.compactMap { $0["version"] })
            #expect(versions.count == 1, "\(doc) holds chunks of versions \(versions)")
            if case .int(let v)? = versions.first {
                #expect(Set(stored.keys) == Set(chunks(doc, version: Int(v)).map(\.id)))
            }
        }
    }

    /// An approximate handle searches through the HNSW index (its plan says so) and, with
    /// a candidate list as large as the collection, finds what the exact search finds; a
    /// record's own vector finds it first.
    @Test func approximateSearchUsesTheIndex() async throws {
        try await PostgresTestServer.startShared()
        try Self.approximateSearchUsesTheIndexBody()
    }

    static func approximateSearchUsesTheIndexBody() throws {
        let db = try Self.database("hnsw")
        for metric in Metric.allCases {
            let c = try db.createCollection("c-\(metric)", dimension: 16, metric: metric)
            var rng = SeededGenerator(seed: 7)
            let records = (0..<300).map { Record(id: "r\($0)", vector: rng.vector(16), metadata: ["odd": .bool($0 % 2 == 1)]) }
            try c.upsert(records)
            let fast = c.approximate(efSearch: 400)
            let response = try fast.search(SearchRequest(queries: [records[5].vector], k: 5))
            #expect(response.plan.access == "hnsw")
            if metric != .dot { #expect(response.hits[0].first?.id == "r5", "\(metric)") }
            let q = rng.vector(16)
            let exact = try c.search(q, k: 10)
            let approx = try fast.search(q, k: 10)
            #expect(approx.map(\.id) == exact.map(\.id), "\(metric)")
            let filtered = try fast.search(q, k: 10, filter: .equals("odd", true))
            #expect(filtered.allSatisfy { $0.metadata["odd"] == .bool(true) })
        }
    }
}
