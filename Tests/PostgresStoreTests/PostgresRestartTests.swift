import Foundation
import PostgresStore
import Testing
import TestSupport
import VectorStore
import QuiverCore

/// A server killed with SIGKILL in the middle of an ingest and started again: what was
/// committed is there, the interrupted run fails with a storage error, and running it
/// again gives the collection an uninterrupted run gives.
@Suite(.enabled(if: PostgresTestServer.isAvailable, PostgresTestServer.skipReason))
struct PostgresRestartTests {
    /// Document `d`'s chunks, as an ingest writes them: one transaction replacing the
    /// document.
    static func document(_ d: Int) -> [Record] {
        var rng = SeededGenerator(seed: UInt64(d) + 1)
        return (0..<(3 + d % 4)).map { n in
            Record(
                id: "doc\(d)#\(n)", vector: rng.vector(32), text: "document \(d) chunk \(n)",
                metadata: ["doc": .string("doc\(d)"), "chunk": .int(Int64(n))])
        }
    }

    static let documents = 400

    /// Writes every document (each in its own transaction); calls `committed` after each.
    static func ingest(_ c: PostgresCollection, committed: (Int) -> Void = { _ in }) throws {
        for d in 0..<documents {
            try c.write(upsert: document(d), deleting: [], deletingWhere: .equals("doc", .string("doc\(d)")))
            committed(d)
        }
    }

    static func snapshot(_ c: PostgresCollection) throws -> [String: Record] {
        let ids = try c.metadata(where: .and([])).keys.sorted()
        var out: [String: Record] = [:]
        for r in try c.get(ids).compactMap({ $0 }) { out[r.id] = r }
        return out
    }

    /// What the scenario found, checked by the test's own task.
    struct Outcome: Sendable {
        var lastCommitted = -1
        var interruptedError: StoreError.Code?
        var errorText = ""
        var lostCommitted: [String] = []
        var resumedCount = 0
        var expectedCount = 0
        var resumedEqualsReference = false
    }

    @Test func killedServerLosesNothingCommittedAndTheRunResumes() async throws {
        // Processes, a writer thread and waits: all off the cooperative pool.
        let outcome = try await PostgresTestServer.onOwnThread { try Self.scenario() }
        #expect(outcome.lastCommitted >= 0 && outcome.lastCommitted < Self.documents - 1, "killed after \(outcome.lastCommitted)")
        #expect(outcome.interruptedError == .storage, "\(outcome.errorText)")
        #expect(outcome.lostCommitted.isEmpty, "committed chunks lost: \(outcome.lostCommitted.prefix(10))")
        #expect(outcome.resumedCount == outcome.expectedCount)
        #expect(outcome.resumedEqualsReference)
    }

    static func scenario() throws -> Outcome {
        // A server of its own: the others' tests must not see it die.
        let server = try PostgresTestServer.start()
        defer { server.stop() }
        let options = PostgresOptions(maxConnections: 2, reconnect: ReconnectPolicy(attempts: 1))
        let reference = try PostgresDatabase(url: try server.createDatabase("reference"), options: options)
            .createCollection("docs", dimension: 32, metric: .cosine)
        try Self.ingest(reference)
        let expected = try Self.snapshot(reference)

        let url = try server.createDatabase("killed")
        let c = try PostgresDatabase(url: url, options: options).createCollection("docs", dimension: 32, metric: .cosine)
        let committed = PosixMutex(-1)
        let failure = PosixMutex<Error?>(nil)
        let writer = Thread {
            do {
                try Self.ingest(c) { d in committed.withLock { $0 = d } }
            } catch {
                failure.withLock { $0 = error }
            }
        }
        writer.start()
        // Kill once a tenth of the documents are in (the writer keeps going meanwhile).
        while committed.withLock({ $0 }) < Self.documents / 10 { usleep(1000) }
        try server.kill()
        while !writer.isFinished { usleep(1000) }
        var outcome = Outcome()
        outcome.lastCommitted = committed.withLock { $0 }
        let error = failure.withLock { $0 }
        outcome.interruptedError = (error as? StoreError)?.code
        outcome.errorText = String(describing: error)

        try server.restart()
        let reopened = try PostgresDatabase(url: url, options: options).collection("docs")
        let recovered = try Self.snapshot(reopened)
        // Every document the writer saw committed is there, whole.
        if outcome.lastCommitted >= 0 {
            for d in 0...outcome.lastCommitted {
                for r in Self.document(d) where recovered[r.id]?.vector != expected[r.id]?.vector { outcome.lostCommitted.append(r.id) }
            }
        }
        // Running the ingest again completes the collection: equal to an uninterrupted run.
        try Self.ingest(reopened)
        let resumed = try Self.snapshot(reopened)
        outcome.resumedCount = resumed.count
        outcome.expectedCount = expected.count
        outcome.resumedEqualsReference = resumed == expected
        return outcome
    }
}
