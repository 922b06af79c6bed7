import PostgresStore
import Testing
import TestSupport
import VectorStore

/// The collection conformance suite on the PostgreSQL backend: every check on a fresh
/// database of the server the tests start.
@Suite(.enabled(if: PostgresTestServer.isAvailable, PostgresTestServer.skipReason))
struct PostgresConformanceTests {
    static let suite = CollectionConformance {
        let url = try await PostgresTestServer.sharedDatabase("conformance")
        let db = try await PostgresTestServer.onOwnThread { try PostgresDatabase(url: url, options: PostgresOptions(maxConnections: 2)) }
        return ConformanceDatabase(db)
    }

    @Test(arguments: CollectionConformance.checks())
    func conformance(_ check: CollectionConformance.Check) async throws {
        try await Self.suite.run(check)
    }

    @Test(.enabled(if: runsIsolatedTests, "runs in a process of its own (scripts/test.sh)"))
    func postgresConformanceRunAlone() async throws {
        for check in CollectionConformance.runAlone { try await Self.suite.run(check) }
    }
}
