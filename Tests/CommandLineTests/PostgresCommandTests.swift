import Foundation
import TestSupport
import Testing
import QuiverCore

/// `quiver` with `--store postgres://…`: index, search, query, stats and migrate against
/// a real server, answering as the embedded store does, with the password never printed;
/// and two indexers and a reader running at once.
@Suite(.enabled(if: PostgresTestServer.isAvailable, PostgresTestServer.skipReason))
struct PostgresCommandTests {
    static let data = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("data").path
    static let questions = [
        "Who rowed out to rescue the survivors of a shipwreck?", "Why were lighthouse keepers called wickies?",
        "What did the Fresnel lens change?", "When was the Skerry Point light automated?",
    ]

    /// A new database's URL with a password in it (the test server trusts its socket, so
    /// any password is accepted, and none may be printed).
    static func url(_ label: String, secret: String) async throws -> String {
        try await PostgresTestServer.sharedDatabase(label).replacingOccurrences(
            of: "\(PostgresTestServer.user)@", with: "\(PostgresTestServer.user):\(secret)@")
    }

    /// Runs `quiver` on a thread of its own: these tests run many processes, and waiting
    /// for them must not hold the cooperative pool that other suites need meanwhile.
    static func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> ProcessOutput {
        try await PostgresTestServer.onOwnThread { try runProduct(arguments, environment: environment) }
    }

    static func json(_ text: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:]
    }

    /// The dense hits of `question` in `store`: (id, score) best first.
    static func hits(_ question: String, _ store: String) async throws -> [(id: String, score: Double)] {
        let r = try await Self.run(["search", question, "--store", store, "-k", "5", "--mode", "dense", "--json"])
        #expect(r.status == 0, "\(r.err)")
        return (json(r.out)["hits"] as? [[String: Any]] ?? []).map { ($0["id"] as? String ?? "", $0["score"] as? Double ?? .nan) }
    }

    static func expectSame(_ a: [(id: String, score: Double)], _ b: [(id: String, score: Double)], _ label: String) {
        #expect(!a.isEmpty, "\(label)")
        #expect(a.map(\.id) == b.map(\.id), "\(label)")
        for (x, y) in zip(a, b) { #expect(abs(x.score - y.score) < 1e-4, "\(label): \(x) vs \(y)") }
    }

    @Test func indexSearchQueryAndMigrateAnswerAsTheEmbeddedStore() async throws {
        try await Self.indexSearchQueryAndMigrateAnswerAsTheEmbeddedStoreBody()
    }

    static func indexSearchQueryAndMigrateAnswerAsTheEmbeddedStoreBody() async throws {
        let dir = TemporaryDirectory("quiver-pg-cli")
        defer { dir.remove() }
        let secret = "cli-secret-\(UUID().uuidString.prefix(6))"
        let lmdb = dir.sub("store")
        let pg = try await Self.url("cli", secret: secret)
        var outputs: [String] = []
        for store in [lmdb, pg] {
            let r = try await Self.run(["index", Self.data, "--store", store, "--embedder", "hash", "--no-keyword-index"])
            #expect(r.status == 0, "\(r.err)")
            outputs += [r.out, r.err]
        }
        for q in Self.questions { Self.expectSame(try await Self.hits(q, lmdb), try await Self.hits(q, pg), q) }
        // QUIVER_STORE names it too; stats counts the same chunks and documents.
        let stats = try await Self.run(["stats", "--json"], environment: ["QUIVER_STORE": pg])
        let lmdbStats = try await Self.run(["stats", "--json", "--store", lmdb])
        let rows = Self.json(stats.out)["collections"] as? [[String: Any]] ?? []
        let lmdbRows = Self.json(lmdbStats.out)["collections"] as? [[String: Any]] ?? []
        #expect(rows.first?["records"] as? Int == lmdbRows.first?["records"] as? Int && rows.first?["records"] as? Int ?? 0 > 0)
        #expect(rows.first?["documents"] as? Int == lmdbRows.first?["documents"] as? Int)
        outputs += [stats.out, stats.err]
        let query = try await Self.run(["query", Self.questions[1], "--store", pg, "--json"])
        #expect(query.status == 0, "\(query.err)")
        #expect((Self.json(query.out)["answer"] as? String)?.hasPrefix("Because they trimmed the wicks") == true, "\(query.out)")
        outputs += [query.out, query.err]

        // Migrating the embedded store's collection: exact searches answer identically.
        let copy = try await Self.url("migrated", secret: secret)
        let migrate = try await Self.run(["migrate", "--from", lmdb, "--to", copy, "--json"])
        #expect(migrate.status == 0, "\(migrate.err)")
        outputs += [migrate.out, migrate.err]
        for q in Self.questions { Self.expectSame(try await Self.hits(q, lmdb), try await Self.hits(q, copy), "migrated: \(q)") }
        // And back, into a new directory.
        let back = dir.sub("back")
        #expect(try await Self.run(["migrate", "--from", copy, "--to", back]).status == 0)
        for q in Self.questions { Self.expectSame(try await Self.hits(q, lmdb), try await Self.hits(q, back), "migrated back: \(q)") }
        // The embedder record came along: indexing again is incremental, nothing re-embedded.
        let again = try await Self.run(["index", Self.data, "--store", copy, "--json"])
        #expect(again.status == 0, "\(again.err)")
        let report = Self.json(again.out)
        #expect(report["unchanged"] as? Int ?? 0 > 0 && (report["added"] as? [Any])?.isEmpty == true, "\(again.out)")
        #expect(report["chunks_written"] as? Int == 0, "\(again.out)")

        // Commands that work on an embedded store's files refuse, naming the database.
        let compact = try await Self.run(["compact", "--store", pg])
        #expect(compact.status == 1)
        #expect(compact.err.contains("PostgreSQL database"), "\(compact.err)")
        let missing = try await Self.run(["search", "x", "--store", pg, "--collection", "nope"])
        #expect(missing.status == 1)
        outputs += [compact.err, missing.err]
        for text in outputs { #expect(!text.contains(secret), "printed the password: \(text)") }
    }

    /// The hits of `question` in `store` in `mode`: (id, score) best first.
    static func hits(_ question: String, _ store: String, mode: String) async throws -> [(id: String, score: Double)] {
        let r = try await Self.run(["search", question, "--store", store, "-k", "5", "--mode", mode, "--json"])
        #expect(r.status == 0, "\(r.err)")
        return (json(r.out)["hits"] as? [[String: Any]] ?? []).map { ($0["id"] as? String ?? "", $0["score"] as? Double ?? .nan) }
    }

    /// Keyword and hybrid search from the command line: a collection `quiver index` makes
    /// in PostgreSQL ranks as the embedded store's, and so does one migrated from it and
    /// one migrated back (the analyzer and keyword fields come along); `quiver reindex --keyword` builds the index
    /// of a dense-only PostgreSQL collection from its texts (then it ranks alike too) and
    /// `--drop` removes it, after which keyword searches are refused, saying how to build one.
    @Test func keywordAndHybridSearchAnswerAsTheEmbeddedStore() async throws {
        try await Self.keywordAndHybridSearchAnswerAsTheEmbeddedStoreBody()
    }

    static func keywordAndHybridSearchAnswerAsTheEmbeddedStoreBody() async throws {
        let dir = TemporaryDirectory("quiver-pg-cli-keyword")
        defer { dir.remove() }
        let lmdb = dir.sub("store")
        let pg = try await Self.url("cli-kw", secret: "unused")
        let migrated = try await Self.url("cli-kw-migrated", secret: "unused")
        let later = try await Self.url("cli-kw-later", secret: "unused")
        for store in [lmdb, pg] {
            let r = try await Self.run(["index", Self.data, "--store", store, "--embedder", "hash"])
            #expect(r.status == 0, "\(r.err)")
        }
        let migrate = try await Self.run(["migrate", "--from", lmdb, "--to", migrated])
        #expect(migrate.status == 0, "\(migrate.err)")
        let dense = try await Self.run(["index", Self.data, "--store", later, "--embedder", "hash", "--no-keyword-index"])
        #expect(dense.status == 0, "\(dense.err)")
        let refused = try await Self.run(["search", "lighthouse", "--store", later, "--mode", "keyword"])
        #expect(refused.status != 0)
        #expect(refused.err.contains("quiver reindex --keyword"), "\(refused.err)")
        let reindex = try await Self.run(["reindex", "--keyword", "--store", later])
        #expect(reindex.status == 0, "\(reindex.err)")
        #expect(reindex.out.contains("keyword index built over"), "\(reindex.out)")
        // And from PostgreSQL back into a new directory.
        let back = dir.sub("back")
        let migrateBack = try await Self.run(["migrate", "--from", pg, "--to", back])
        #expect(migrateBack.status == 0, "\(migrateBack.err)")
        for store in [pg, migrated, later, back] {
            for q in Self.questions + ["\"Fresnel lens\"", "+keeper -storm wickies"] {
                for mode in ["keyword", "hybrid"] {
                    Self.expectSame(try await Self.hits(q, lmdb, mode: mode), try await Self.hits(q, store, mode: mode), "\(mode) \(q)")
                }
            }
        }
        let drop = try await Self.run(["reindex", "--keyword", "--drop", "--store", later])
        #expect(drop.status == 0 && drop.out.contains("keyword index removed"), "\(drop.out) \(drop.err)")
        #expect(try await Self.run(["search", "lighthouse", "--store", later, "--mode", "keyword"]).status != 0)
        let ivf = try await Self.run(["reindex", "--ivf", "--store", later])
        #expect(ivf.status != 0 && ivf.err.contains("PostgreSQL"), "\(ivf.err)")
    }

    /// Two `quiver index` processes fill one collection from two folders at once while a
    /// third process searches it over and over: every run succeeds, the collection ends
    /// with exactly the chunks of both folders, and its keyword index ranks as one built
    /// by a single process.
    @Test func twoIndexersAndAReaderAtOnce() async throws {
        try await Self.twoIndexersAndAReaderAtOnceBody()
    }

    static func twoIndexersAndAReaderAtOnceBody() async throws {
        let dir = TemporaryDirectory("quiver-pg-multi")
        defer { dir.remove() }
        var rng = SeededGenerator(seed: 16)
        for folder in ["a", "b"] {
            try FileManager.default.createDirectory(atPath: dir.sub(folder), withIntermediateDirectories: true)
            for i in 0..<40 {
                let text = "# \(folder) note \(i)\n\n" + GeneratedText.text(&rng, length: 1500 + i * 37)
                try text.write(toFile: dir.sub("\(folder)/\(folder)-\(i).md"), atomically: true, encoding: .utf8)
            }
        }
        let reference = dir.sub("reference")
        for folder in ["a", "b"] {
            let r = try await Self.run(["index", dir.sub(folder), "--store", reference, "--embedder", "hash"])
            #expect(r.status == 0, "\(r.err)")
        }
        let pg = try await Self.url("multi", secret: "unused")
        // The collection exists before the race, as after a first run.
        #expect(try await Self.run(["index", dir.sub("a/a-0.md"), "--store", pg, "--embedder", "hash"]).status == 0)
        let results = PosixMutex<[String: ProcessOutput]>([:])
        let indexing = PosixMutex(2)
        let searches = PosixMutex<[ProcessOutput]>([])
        try await PostgresTestServer.onOwnThread {
            onThreads(3) { w in
                if w < 2 {
                    let folder = ["a", "b"][w]
                    let r = try? runProduct(["index", dir.sub(folder), "--store", pg, "--embedder", "hash", "--concurrency", "2"])
                    results.withLock { $0[folder] = r }
                    indexing.withLock { $0 -= 1 }
                    return
                }
                // Searches until both indexers are done (at least three).
                var n = 0
                while n < 3 || indexing.withLock({ $0 }) > 0 {
                    if let r = try? runProduct(["search", "lighthouse keeper storm", "--store", pg, "--json"]) {
                        searches.withLock { $0.append(r) }
                    }
                    n += 1
                }
            }
        }
        for folder in ["a", "b"] {
            let r = results.withLock { $0[folder] }
            #expect(r?.status == 0, "indexing \(folder): \(r?.err ?? "did not run")")
        }
        let reads = searches.withLock { $0 }
        #expect(reads.count >= 3)
        for r in reads { #expect(r.status == 0, "a search failed: \(r.err)") }
        let pgStats = Self.json(try await Self.run(["stats", "--json", "--store", pg]).out)["collections"] as? [[String: Any]] ?? []
        let refStats =
            Self.json(try await Self.run(["stats", "--json", "--store", reference]).out)["collections"] as? [[String: Any]] ?? []
        #expect(pgStats.first?["records"] as? Int == refStats.first?["records"] as? Int)
        #expect(pgStats.first?["documents"] as? Int == 80)
        #expect(refStats.first?["documents"] as? Int == 80)
        // The keyword index the two processes kept up at once ranks as one built alone:
        // its postings and statistics (document count, total length) add up exactly.
        for q in ["quick vector store", "a note 7", "+note -lmdb 漢字", "\"b note\"", "テキスト 3.14"] {
            Self.expectSame(try await Self.hits(q, reference, mode: "keyword"), try await Self.hits(q, pg, mode: "keyword"), "keyword \(q)")
        }
    }
}
