import Testing
import TestSupport
import VectorStore

/// The collection conformance suite on the embedded LMDB backend: every check on a fresh
/// `Store` in a temporary directory of its own.
@Suite struct LMDBConformanceTests {
    static let suite = CollectionConformance {
        let dir = TemporaryDirectory("quiver-conformance")
        return ConformanceDatabase(try Store(path: dir.path)) { dir.remove() }
    }

    /// Checks the LMDB backend does not pass yet; each has a disabled test below saying why.
    static let knownFailures: Set<CollectionConformance.Check> = [.tiesOrderedByIDInLargeBatches, .l2NearNeighbours]

    @Test(arguments: CollectionConformance.Check.allCases.filter { !knownFailures.contains($0) })
    func conformance(_ check: CollectionConformance.Check) async throws {
        try await Self.suite.run(check)
    }

    @Test(
        .disabled(
            """
            batches of more than 32 queries are scored by cblas_sgemm, whose summation order depends on the row's and the \
            query's place in the tile: copies of one vector score a few ulps apart, so ties are broken by position instead \
            of id and tied records drop out of the top k (16 of every 33, 40 or 64 queries, every metric); candidates within \
            a tolerance of the k-th score need rescoring by one kernel
            """))
    func tiesOrderedByIDInLargeBatches() async throws {
        try await Self.suite.run(.tiesOrderedByIDInLargeBatches)
    }

    @Test(
        .disabled(
            """
            l2 is scored as |q|^2 - 2q.x + |x|^2 in float32: at dimension 384 the cancellation costs about 1e-2 in distance \
            (a stored vector is 0.005-0.012 from itself, neighbours 0.01 apart swap); the top candidates need rescoring as \
            the sum of (q - x)^2
            """))
    func l2NearNeighbours() async throws {
        try await Self.suite.run(.l2NearNeighbours)
    }
}
