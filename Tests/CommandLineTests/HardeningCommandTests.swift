import Foundation
import Ingest
import Query
import TestSupport
import Testing

@testable import VectorStore

/// Hostile input the built `quiver` must survive with a clear error (issue 13): each test
/// reproduces a crash or a wrong exit code that was found, as a subprocess.
@Suite struct HardeningCommandTests {
    static let data = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("data").path

    /// `data/` indexed with the hashing embedder into a fresh store.
    func indexed() throws -> (dir: TemporaryDirectory, store: String, chunks: Int) {
        let dir = TemporaryDirectory("quiver-harden")
        let store = dir.sub("store")
        let r = try runProduct(["index", Self.data, "--store", store, "--embedder", "hash", "--json"])
        #expect(r.status == 0, "\(r.err)")
        let stats = try runProduct(["stats", "--store", store, "--json"])
        let object = try JSONSerialization.jsonObject(with: Data(stats.out.utf8)) as? [String: Any]
        let chunks = ((object?["collections"] as? [[String: Any]])?.first?["records"] as? Int) ?? 0
        #expect(chunks > 10)
        return (dir, store, chunks)
    }

    /// Runs the built `quiver` with `arguments` after python3 ran `setup` (Python
    /// statements, with `os`, `resource` and `signal` imported) in the process it then
    /// becomes: limits and identities a test cannot set on a child otherwise.
    static func quiver(after setup: String, _ arguments: [String], environment: [String: String] = [:]) throws -> ProcessOutput {
        let quiver = try #require(BuiltProducts.executable("quiver"))
        let script = "import os, resource, signal, sys\n" + setup + "\nos.execv(sys.argv[1], sys.argv[1:])"
        return try runProduct(["-c", script, quiver] + arguments, product: "python3", environment: environment)
    }

    /// A huge k reserved k slots whatever the collection held, and aborted allocating 32 GB.
    @Test func hugeKReturnsEveryChunk() throws {
        let (dir, store, chunks) = try indexed()
        defer { dir.remove() }
        for k in ["2000000000", "9223372036854775807"] {
            let search = try runProduct(["search", "lighthouse", "--store", store, "-k", k, "--json"])
            #expect(search.status == 0, "search -k \(k): \(search.status) \(search.err)")
            let object = (try? JSONSerialization.jsonObject(with: Data(search.out.utf8))) as? [String: Any]
            let hits = object?["hits"] as? [[String: Any]]
            #expect(hits?.count == chunks, "search -k \(k)")
            let query = try runProduct(["query", "lighthouse", "--store", store, "-k", k, "--llm", "none", "--json"])
            #expect(query.status == 0, "query -k \(k): \(query.status) \(query.err)")
        }
        let questions = dir.sub("questions.txt")
        try "Who rowed out?\nWhat is a Fresnel lens?\n".write(toFile: questions, atomically: true, encoding: .utf8)
        let batch = try runProduct(["query", "--questions", questions, "--store", store, "-k", "2000000000", "--llm", "none"])
        #expect(batch.status == 0, "\(batch.err)")
        let repl = try runProduct(["repl", "--store", store, "--llm", "none"], input: ":k 2000000000\nWho rowed out?\n:quit\n")
        #expect(repl.status == 0, "\(repl.err)")
        #expect(repl.out.contains("[1]"))
    }

    /// A data.mdb cut short killed every command with SIGBUS inside liblmdb.
    @Test func truncatedStoreFileIsReportedNotACrash() throws {
        let (dir, store, _) = try indexed()
        defer { dir.remove() }
        let file = store + "/data.mdb"
        let size = try #require(try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int)
        for cut in [8192, size / 2, size - 4096] {
            #expect(truncate(file, off_t(cut)) == 0)
            for command in [["check"], ["stats"], ["search", "lighthouse"], ["collections"], ["index", Self.data, "--embedder", "hash"]] {
                let r = try runProduct(command + ["--store", store])
                #expect(r.status == 1, "\(command) at \(cut) bytes: status \(r.status) \(r.err)")
                #expect(r.err.contains("truncated or damaged"), "\(command): \(r.err)")
            }
        }
    }

    /// An empty data.mdb passed for a healthy empty store, and `check`/`stats` rewrote it.
    @Test func emptyStoreFileIsNotAStore() throws {
        let dir = TemporaryDirectory("quiver-harden-empty")
        defer { dir.remove() }
        let store = dir.sub("store")
        try FileManager.default.createDirectory(atPath: store, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: store + "/data.mdb", contents: Data())
        for command in [["check"], ["stats"], ["search", "x"], ["collections"]] {
            let r = try runProduct(command + ["--store", store])
            #expect(r.status == 1, "\(command): \(r.status) \(r.out)")
            #expect(r.err.contains("is empty (0 bytes)"), "\(command): \(r.err)")
            #expect((try FileManager.default.attributesOfItem(atPath: store + "/data.mdb")[.size] as? Int) == 0)
        }
        // Indexing finishes the interrupted creation.
        let index = try runProduct(["index", Self.data, "--store", store, "--embedder", "hash"])
        #expect(index.status == 0, "\(index.err)")
        #expect(try runProduct(["check", "--store", store]).status == 0)
    }

    /// With `ulimit -n 16`, an index at --concurrency 16 died inside libdispatch (exit
    /// 132). The descriptors are now checked up front: a clear error, or a raised soft
    /// limit when the hard one allows.
    @Test func descriptorLimitIsCheckedUpFront() throws {
        let server = try LoopbackServer()
        let dir = TemporaryDirectory("quiver-harden-fd")
        defer { dir.remove() }
        func limited(soft: Int, hard: Int, _ arguments: [String]) throws -> ProcessOutput {
            try Self.quiver(
                after: "resource.setrlimit(resource.RLIMIT_NOFILE, (\(soft), \(hard)))", arguments,
                environment: ["OPENAI_API_KEY": "test-key"])
        }
        let index = [
            "index", Self.data, "--store", dir.sub("store"), "--embedder", "openai", "--base-url", server.baseURL + "/v1", "--model",
            "m", "--dimensions", "8", "--concurrency", "16", "--batch-size", "1",
        ]
        let refused = try limited(soft: 16, hard: 16, index)
        #expect(refused.status == 1, "status \(refused.status): \(refused.err)")
        #expect(refused.err.contains("file descriptors") && refused.err.contains("ulimit -n"), "\(refused.err)")
        // A hard limit with room: the soft one is raised and the run completes.
        let raised = try limited(soft: 16, hard: 4096, index)
        #expect(raised.status == 0, "status \(raised.status): \(raised.err)")
        #expect(raised.out.contains(" added, "), "\(raised.out)")
    }

    /// One record the store refuses failed the whole `index` run, and every re-run stopped
    /// at the same place (0 of 41 files indexed). Now: long or NUL-holding ids get a
    /// bounded stable form, a document whose metadata the store refuses fails alone
    /// (named, exit 3), and content cannot set Quiver's own metadata keys.
    @Test func oneBadDocumentFailsAlone() throws {
        let dir = TemporaryDirectory("quiver-harden-docs")
        defer { dir.remove() }
        let corpus = dir.sub("corpus")
        let deep = corpus + "/" + (0..<3).map { String(repeating: "d\($0)", count: 40) }.joined(separator: "/")
        try FileManager.default.createDirectory(atPath: deep, withIntermediateDirectories: true)
        try "A lighthouse deep in the folders.".write(toFile: deep + "/deep.txt", atomically: true, encoding: .utf8)
        for i in 0..<5 {
            try "Ordinary document \(i) about lamps.".write(toFile: corpus + "/plain\(i).txt", atomically: true, encoding: .utf8)
        }
        func jsonl(_ name: String, _ rows: [[String: Any]]) throws {
            let lines = try rows.map { String(decoding: try JSONSerialization.data(withJSONObject: $0), as: UTF8.self) }
            try (lines.joined(separator: "\n") + "\n").write(toFile: corpus + "/" + name, atomically: true, encoding: .utf8)
        }
        try jsonl(
            "ids.jsonl",
            [
                ["id": "a\u{0}b", "text": "An id holding a NUL."], ["id": String(repeating: "x", count: 300), "text": "A 300-byte id."],
            ])
        try jsonl("empty-key.jsonl", [["text": "A row with an empty field name.", "": 1]])
        try jsonl("huge-meta.jsonl", [["text": "A row with 70 KB of metadata.", "notes": String(repeating: "n", count: 70_000)]])
        try jsonl("spoof.jsonl", [["text": "The keeper's official policy on fog signals.", "source": "official/policy.md"]])

        let store = dir.sub("store")
        let run = try runProduct(["index", corpus, "--store", store, "--embedder", "hash", "--json"])
        #expect(run.status == 3, "\(run.status): \(run.err)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(run.out.utf8)) as? [String: Any])
        let failed = (report["failed"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }.sorted()
        #expect(failed == ["empty-key.jsonl#1", "huge-meta.jsonl#1"], "\(report)")
        let added = report["added"] as? [String] ?? []
        #expect(added.count == 9, "\(added)")  // 5 plain, the deep one, 2 id rows, the spoofing row
        // A re-run stops nowhere: the same two fail, nothing else changes.
        let again = try runProduct(["index", corpus, "--store", store, "--embedder", "hash", "--json"])
        #expect(again.status == 3)
        let second = try #require(try JSONSerialization.jsonObject(with: Data(again.out.utf8)) as? [String: Any])
        #expect((second["added"] as? [String])?.isEmpty == true && (second["unchanged"] as? Int) == 9, "\(second)")
        // The deep file and the long ids are searchable, under their full document ids.
        let deepHits = try runProduct(["search", "lighthouse deep in the folders", "--store", store, "-k", "1", "--json"])
        let deepHit = ((try? JSONSerialization.jsonObject(with: Data(deepHits.out.utf8))) as? [String: Any])?["hits"] as? [[String: Any]]
        #expect((deepHit?.first?["source"] as? String)?.hasSuffix("/deep.txt") == true, "\(deepHits.out)")
        // The spoofing row cites its real file; its own "source" is kept as content.source.
        let spoof = try runProduct(["query", "official policy on fog signals", "--store", store, "-k", "1", "--llm", "none", "--json"])
        let hit = (((try? JSONSerialization.jsonObject(with: Data(spoof.out.utf8))) as? [String: Any])?["hits"] as? [[String: Any]])?.first
        #expect(hit?["source"] as? String == "spoof.jsonl", "\(spoof.out)")
        #expect((hit?["metadata"] as? [String: Any])?["content.source"] as? String == "official/policy.md", "\(spoof.out)")
    }

    /// Files that could not be read (too large, invalid JSON, binary) left the exit code at
    /// 0; the README promises 3, or 1 when nothing was indexed.
    @Test func unreadFilesSetTheExitCode() throws {
        let dir = TemporaryDirectory("quiver-harden-exit")
        defer { dir.remove() }
        let corpus = dir.sub("corpus")
        try FileManager.default.createDirectory(atPath: corpus, withIntermediateDirectories: true)
        try "Lamps and lenses.".write(toFile: corpus + "/good.txt", atomically: true, encoding: .utf8)
        try "not json {".write(toFile: corpus + "/broken.json", atomically: true, encoding: .utf8)
        FileManager.default.createFile(atPath: corpus + "/binary.txt", contents: Data([0x41, 0, 0x42, 0]))
        FileManager.default.createFile(atPath: corpus + "/huge.txt", contents: nil)
        #expect(truncate(corpus + "/huge.txt", 51 << 20) == 0)  // sparse: over the 50 MB limit
        let store = dir.sub("store")
        let run = try runProduct(["index", corpus, "--store", store, "--embedder", "hash"])
        #expect(run.status == 3, "\(run.status) \(run.out) \(run.err)")
        for name in ["broken.json", "binary.txt", "huge.txt"] { #expect(run.out.contains(name), "\(name) is named: \(run.out)") }
        // Unchanged on a second run, still not everything: still 3.
        #expect(try runProduct(["index", corpus, "--store", store, "--embedder", "hash"]).status == 3)
        // Nothing indexable at all: 1.
        try FileManager.default.removeItem(atPath: corpus + "/good.txt")
        let none = try runProduct(["index", corpus, "--store", dir.sub("store2"), "--embedder", "hash"])
        #expect(none.status == 1, "\(none.status) \(none.err)")
        #expect(none.err.contains("no document was indexed"), "\(none.err)")
        // Unsupported files are notes, not failures.
        let other = dir.sub("other")
        try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
        try "Lamps.".write(toFile: other + "/a.txt", atomically: true, encoding: .utf8)
        FileManager.default.createFile(atPath: other + "/picture.png", contents: Data([0x89, 0x50, 0x4E, 0x47, 0, 0, 0]))
        #expect(try runProduct(["index", other, "--store", dir.sub("store3"), "--embedder", "hash"]).status == 0)
    }

    /// Per document, what `check` of chunk coherence sees: ids 0..<n, one version.
    static func incoherentDocuments(_ store: String) throws -> [String] {
        let c = try Store(path: store).collection("docs")
        var byDoc: [String: [(id: String, version: MetadataValue?)]] = [:]
        for (id, m) in try c.metadata(where: ChunkSchema.anyChunk) {
            guard case .string(let d)? = m[ChunkSchema.Key.document] else { continue }
            byDoc[d, default: []].append((id, m[ChunkSchema.Key.documentVersion]))
        }
        return byDoc.filter { doc, chunks in
            Set(chunks.map(\.id)) != Set((0..<chunks.count).map { ChunkSchema.recordID(document: doc, chunk: $0) })
                || Set(chunks.map { $0.version?.description ?? "" }).count != 1
        }.keys.sorted()
    }

    static func corpus(_ dir: TemporaryDirectory, documents: Int) throws -> String {
        let corpus = dir.sub("corpus")
        try FileManager.default.createDirectory(atPath: corpus, withIntermediateDirectories: true)
        var rng = SeededGenerator(seed: 7)
        for i in 0..<documents {
            try GeneratedText.text(&rng, length: 6000).write(toFile: corpus + "/doc\(i).txt", atomically: true, encoding: .utf8)
        }
        return corpus
    }

    /// Two indexers with other chunk sizes on one folder left orphan chunks, and a later
    /// run called the documents unchanged from their chunk 0. Now the chunks to replace
    /// are decided in the write transaction, so each document ends whole, from one run.
    @Test func concurrentIndexersLeaveNoOrphans() throws {
        let dir = TemporaryDirectory("quiver-harden-race")
        defer { dir.remove() }
        let corpus = try Self.corpus(dir, documents: 60)
        let store = dir.sub("store")
        // Embedding at 300 ms a request: both runs read the stored chunks before either writes.
        let server = try LoopbackServer(["--latency-ms", "300"])
        func index(_ size: Int, _ extra: [String] = []) -> [String] {
            [
                "index", corpus, "--store", store, "--embedder", "openai", "--base-url", server.baseURL + "/v1", "--model", "m",
                "--dimensions", "8", "--splitter", "character", "--chunk-size", "\(size)", "--chunk-overlap", "0",
            ] + extra
        }
        #expect(try runProduct(index(650), environment: ["OPENAI_API_KEY": "test-key"]).status == 0)
        for trial in 0..<2 {
            let results = Shared<[Int32]>([])
            // The 400 run writes first (more requests, but 16 at once), the 800 run last
            // (one at a time): the order in which stale chunk lists used to leave orphans.
            let runs = [index(400, ["--concurrency", "16"]), index(800, ["--concurrency", "1"])]
            onThreads(2) { i in
                let r = try? runProduct(runs[i], environment: ["OPENAI_API_KEY": "test-key"])
                results.withLock { $0.append(r?.status ?? -1) }
            }
            #expect(results.withLock { $0 }.sorted() == [0, 0], "trial \(trial)")
            #expect(try Self.incoherentDocuments(store) == [], "trial \(trial)")
        }
        // Then a run with 800: whatever the race left, the result equals a clean build.
        let pruned = try runProduct(index(800, ["--prune"]), environment: ["OPENAI_API_KEY": "test-key"])
        #expect(pruned.status == 0, "\(pruned.err)")
        let clean = try runProduct(index(800, ["--store", dir.sub("clean")]), environment: ["OPENAI_API_KEY": "test-key"])
        #expect(clean.status == 0, "\(clean.err)")
        let count = try Store(path: store).collection("docs").count()
        #expect(count == (try Store(path: dir.sub("clean")).collection("docs").count()))
    }

    /// Leftover chunks of another run (as a race used to leave them) are not "unchanged":
    /// the next run replaces the document whole.
    @Test func leftoverChunksAreNotUnchanged() throws {
        let dir = TemporaryDirectory("quiver-harden-leftover")
        defer { dir.remove() }
        let corpus = try Self.corpus(dir, documents: 3)
        let store = dir.sub("store")
        let run = ["index", corpus, "--store", store, "--embedder", "hash", "--splitter", "character", "--chunk-size", "800"]
        #expect(try runProduct(run).status == 0)
        let clean = try Store(path: store).collection("docs").count()
        do {
            let c = try Store(path: store).collection("docs")
            let first = try #require(try c.get(ChunkSchema.recordID(document: "doc0.txt", chunk: 0)))
            var leftovers: [Record] = []
            for n in 40..<45 {
                var m = first.metadata
                m[ChunkSchema.Key.chunk] = .int(Int64(n))
                m[ChunkSchema.Key.documentVersion] = "another/version"
                leftovers.append(
                    Record(id: ChunkSchema.recordID(document: "doc0.txt", chunk: n), vector: first.vector, text: "left over", metadata: m))
            }
            try c.upsert(leftovers)
        }
        let again = try runProduct(run + ["--json"])
        let report = try #require(try JSONSerialization.jsonObject(with: Data(again.out.utf8)) as? [String: Any])
        #expect(report["updated"] as? [String] == ["doc0.txt"], "\(report)")
        #expect(try Store(path: store).collection("docs").count() == clean)
        #expect(try Self.incoherentDocuments(store) == [])
    }

    /// Under any `ulimit -v` below about 1 TB every command failed ("mdb_env_open
    /// failed"): the map is now sized down to what the limit allows and grows from there.
    /// Not under a sanitizer, which cannot start under an address-space limit.
    @Test(.disabled(if: testSanitizer != nil, "sanitizers need an unlimited address space"))
    func addressSpaceLimitIsNotFatal() throws {
        let dir = TemporaryDirectory("quiver-harden-vm")
        defer { dir.remove() }
        func limited(_ arguments: [String]) throws -> ProcessOutput {
            try Self.quiver(after: "resource.setrlimit(resource.RLIMIT_AS, (8 << 30, 8 << 30))", arguments)
        }
        let store = dir.sub("store")
        let index = try limited(["index", Self.data, "--store", store, "--embedder", "hash"])
        #expect(index.status == 0, "\(index.err)")
        let search = try limited(["search", "Who rowed out to the wreck?", "--store", store, "-k", "1"])
        #expect(search.status == 0 && search.out.contains("[1]"), "\(search.err)")
        #expect(try limited(["check", "--store", store]).status == 0)
    }

    /// Overwritten vector bytes left `check` saying ok while search dropped or reordered
    /// hits: blocks are sealed with a checksum that `check` verifies.
    @Test func checkFindsDamagedVectors() throws {
        let dir = TemporaryDirectory("quiver-harden-checksum")
        defer { dir.remove() }
        let marker: Float = 4321.125
        do {
            let c = try Store(path: dir.path).createCollection("docs", dimension: 4, metric: .dot)
            try c.upsert((0..<100).map { Record(id: "r\($0)", vector: [$0 == 42 ? marker : 1, 2, 3, 4]) })
        }
        let healthy = try runProduct(["check", "--store", dir.path]).out
        #expect(
            healthy.contains("1 vector blocks verified by checksum") && healthy.contains("100 records verified by checksum"), "\(healthy)")
        let path = dir.sub("data.mdb")
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let pattern = withUnsafeBytes(of: marker.bitPattern.littleEndian) { Array($0) }
        let at = try #require(bytes.indices.first { i in i + 4 <= bytes.count && Array(bytes[i..<(i + 4)]) == pattern })
        bytes[at + 3] ^= 0x40
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let check = try runProduct(["check", "--store", dir.path])
        #expect(check.status == 1, "\(check.out)")
        #expect(check.out.contains("docs: vector block") && check.out.contains("fails its checksum"), "\(check.out)")
    }

    /// A mistyped --base-url on a first `index` that failed was pinned for good: `search`
    /// kept calling the wrong port and its hint named flags it did not take. Now a later
    /// `index --base-url` moves the record, `search --base-url` and `query
    /// --embedder-base-url` override it, a withheld key is said, and `drop` exists.
    @Test func recordedBaseURLCanBeCorrected() throws {
        let server = try LoopbackServer()
        let dir = TemporaryDirectory("quiver-harden-url")
        defer { dir.remove() }
        let store = dir.sub("store")
        let key = ["OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": ""]
        let good = server.baseURL + "/v1"
        let wrong = "http://127.0.0.1:9/v1"
        let first = try runProduct(
            ["index", Self.data, "--store", store, "--embedder", "openai", "--base-url", wrong, "--model", "m", "--dimensions", "8"],
            environment: key)
        #expect(first.status == 1, "\(first.status) \(first.err)")
        #expect(try runProduct(["search", "lighthouse", "--store", store], environment: key).status == 1)
        // search and query can name the server.
        let searched = try runProduct(["search", "lighthouse", "--store", store, "--base-url", good, "--json"], environment: key)
        #expect(searched.status == 0, "\(searched.err)")
        let queried = try runProduct(
            ["query", "lighthouse", "--store", store, "--embedder-base-url", good, "--llm", "none", "--json"], environment: key)
        #expect(queried.status == 0, "\(queried.err)")
        // index --base-url (no --embedder) keeps the embedder and moves the record.
        let fixed = try runProduct(["index", Self.data, "--store", store, "--base-url", good], environment: key)
        #expect(fixed.status == 0, "\(fixed.err)")
        let info = try Store(path: store).collection("docs").info
        #expect(info.configuration[EmbedderRecord.baseURLKey] == good)
        let plain = try runProduct(["search", "lighthouse", "--store", store], environment: key)
        #expect(plain.status == 0, "\(plain.err)")
        // The key is not sent to a recorded server that is not $OPENAI_BASE_URL, and that is said.
        #expect(plain.err.contains("OPENAI_API_KEY is not sent to"), "\(plain.err)")
        // drop removes the collection, record included.
        let drop = try runProduct(["drop", "docs", "--store", store])
        #expect(drop.status == 0 && drop.out.contains("Dropped collection \"docs\""), "\(drop.out) \(drop.err)")
        #expect(try runProduct(["collections", "--store", store]).out.isEmpty)
        #expect(try runProduct(["drop", "docs", "--store", store]).status == 1)
    }

    /// `check` aborted (`mdb.c: Assertion 'IS_LEAF(mp)' failed`) or died of a bus error
    /// for about one damaged page in ten. Every page of a store overwritten in turn: check
    /// never stops LMDB (the page walk finds the damage first), reports every page the
    /// store uses as damaged, and calls the damage of a page it does not use (free) healthy.
    @Test func checkSurvivesEveryDamagedPage() throws {
        let dir = TemporaryDirectory("quiver-harden-pages")
        defer { dir.remove() }
        let pristine = dir.sub("pristine")
        do {
            let store = try Store(path: pristine)
            for name in ["a", "b"] {
                let c = try store.createCollection(name, dimension: 16, metric: .cosine)
                try c.upsert(
                    (0..<300).map { i in
                        Record(
                            id: "\(name)\(i)", vector: (0..<16).map { Float(($0 * 7 + i) % 13) + 0.5 }, text: "text \(i)",
                            metadata: ["n": .int(Int64(i % 5))])
                    })
            }
        }
        let original = try Data(contentsOf: URL(fileURLWithPath: pristine + "/data.mdb"))
        let pages = original.count / 4096
        let walk = try Store(path: pristine).env.checkPages()
        #expect(walk.damage.isEmpty && walk.pagesInUse > 20, "\(walk.damage)")
        var rng = SeededGenerator(seed: 11)
        var outcomes: [String: Int] = [:]
        let damaged = dir.sub("damaged")
        try FileManager.default.createDirectory(atPath: damaged, withIntermediateDirectories: true)
        // LMDB's crash must reach `quiver check` as the signal it is; a sanitizer's own SEGV
        // handler would make it an exit status instead (66 under TSan, 1 under ASan).
        let inherited = ProcessInfo.processInfo.environment
        let signalsThrough = ["TSAN_OPTIONS", "ASAN_OPTIONS"].reduce(into: [String: String]()) { env, key in
            if let options = inherited[key] { env[key] = options + " handle_segv=0 handle_sigbus=0" }
        }
        for page in 2..<pages {
            var bytes = [UInt8](original)
            for i in (page * 4096)..<((page + 1) * 4096) { bytes[i] = UInt8(truncatingIfNeeded: rng.next()) }
            try? FileManager.default.removeItem(atPath: damaged + "/lock.mdb")
            try Data(bytes).write(to: URL(fileURLWithPath: damaged + "/data.mdb"))
            let r = try runProduct(["check", "--store", damaged], environment: signalsThrough)
            #expect(r.status == 0 || r.status == 1, "page \(page): status \(r.status) \(r.err)")
            if r.status == 1 { #expect(!(r.out + r.err).isEmpty, "page \(page): a failure says what") }
            let kind =
                r.err.contains("stopped LMDB") ? "lmdb stopped" : r.status == 0 ? "ok" : r.out.contains("problem") ? "problems" : "error"
            outcomes[kind, default: 0] += 1
            #expect(kind != "lmdb stopped", "page \(page): \(r.err)")
            if walk.isInUse(page) {
                #expect(r.status == 1, "page \(page) is in use, its damage went unnoticed: \(r.out)")
            } else {
                #expect(r.status == 0, "page \(page) is not in use, yet: \(r.out) \(r.err)")
            }
        }
        // Before the page walk (LMDB 0.9.24, this seed): 5 pages stopped LMDB inside the
        // child, 21 gave problems, 22 errors, 9 went unnoticed (free pages, record text).
        #expect(outcomes.values.reduce(0, +) == pages - 2, "\(outcomes)")
        print("checkSurvivesEveryDamagedPage: \(pages - 2) pages, \(walk.pagesInUse - 2) in use: \(outcomes)")
    }

    /// `compact` never shrank the file (10.4 MB → 17.4 MB after deleting two thirds), and
    /// `Store.copy` had no command. Now `compact --shrink` swaps in a compacted copy (and
    /// refuses while another process has the store open), and `backup DEST` writes one.
    @Test func shrinkAndBackup() throws {
        let dir = TemporaryDirectory("quiver-harden-shrink")
        defer { dir.remove() }
        let corpus = try Self.corpus(dir, documents: 90)
        let store = dir.sub("store")
        #expect(try runProduct(["index", corpus, "--store", store, "--embedder", "hash"]).status == 0)
        for i in 0..<60 { try FileManager.default.removeItem(atPath: corpus + "/doc\(i).txt") }
        #expect(try runProduct(["index", corpus, "--store", store, "--prune"]).status == 0)
        let before = try #require(try FileManager.default.attributesOfItem(atPath: store + "/data.mdb")[.size] as? Int)
        let count = try Store(path: store).collection("docs").count()

        // Refused while another process has the store open (a console waiting for input).
        var refused: ProcessOutput?
        _ = try runProduct(["repl", "--store", store, "--llm", "none"], input: nil) { _ in
            usleep(1_500_000)
            refused = try? runProduct(["compact", "--shrink", "--store", store])
        }
        #expect(refused?.status == 1 && refused?.err.contains("is open in process") == true, "\(String(describing: refused))")

        let shrunk = try runProduct(["compact", "--shrink", "--store", store])
        #expect(shrunk.status == 0, "\(shrunk.err)")
        let after = try #require(try FileManager.default.attributesOfItem(atPath: store + "/data.mdb")[.size] as? Int)
        #expect(after * 2 < before, "\(before) → \(after) bytes")
        #expect(try runProduct(["check", "--store", store]).status == 0)
        #expect(try Store(path: store).collection("docs").count() == count)
        #expect(try runProduct(["search", "lamp", "--store", store]).status == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: store).sorted() == ["data.mdb", "lock.mdb"])

        // backup: a consistent, checked copy; a non-empty destination is refused.
        let backup = try runProduct(["backup", dir.sub("copy"), "--store", store])
        #expect(backup.status == 0, "\(backup.err)")
        #expect(try Store(path: dir.sub("copy")).collection("docs").count() == count)
        #expect(try runProduct(["check", "--store", dir.sub("copy")]).status == 0)
        #expect(try runProduct(["backup", dir.sub("copy"), "--store", store]).status == 1)
    }

    /// A full disk while a store was created crashed and left a folder holding only
    /// lock.mdb that every command refused for good. A file-size limit (RLIMIT_FSIZE, with
    /// SIGXFSZ ignored: writes fail as on a full disk) stands in for the disk here.
    @Test func fullDiskDuringCreationAndIndexing() throws {
        let dir = TemporaryDirectory("quiver-harden-full")
        defer { dir.remove() }
        // Under ThreadSanitizer, its runtime starts by writing a 512 KiB file of shadow
        // markers to $TMPDIR/tsan.rodata.PID and mapping it over the shadow of every
        // read-only segment (MapRodata in tsan_platform_linux.cpp). The file-size limit
        // cuts that write short, unchecked, and the first shadow read past the cut (a
        // memcpy out of libswiftCore's constants, before main) was "BUS on unknown
        // address" in every limited child. Where the file cannot be created, the runtime
        // leaves that shadow anonymous and goes on: a TMPDIR that does not exist (Quiver
        // writes nothing there).
        let runtimeFiles = testSanitizer == "thread" ? ["TMPDIR": dir.sub("no-such-folder")] : [:]
        func limited(_ bytes: Int, _ arguments: [String]) throws -> ProcessOutput {
            try Self.quiver(
                after: "resource.setrlimit(resource.RLIMIT_FSIZE, (\(bytes), \(bytes)))\nsignal.signal(signal.SIGXFSZ, signal.SIG_IGN)",
                arguments, environment: runtimeFiles)
        }
        // Creation is atomic: nothing is left behind, and the next run creates the store.
        let store = dir.sub("store")
        let failed = try limited(4096, ["index", Self.data, "--store", store, "--embedder", "hash"])
        #expect(failed.status == 1 && failed.err.contains("cannot create the store at \(store)"), "\(failed.status) \(failed.err)")
        #expect(!FileManager.default.fileExists(atPath: store))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains("creating") }.isEmpty)
        #expect(try runProduct(["index", Self.data, "--store", store, "--embedder", "hash"]).status == 0)

        // Full mid-run: what was committed is said, kept and searchable; a rerun finishes.
        let partial = dir.sub("partial")
        let cut = try limited(200_000, ["index", Self.data, "--store", partial, "--embedder", "hash"])
        #expect(cut.status == 1 && cut.err.contains("were committed before it"), "\(cut.status) \(cut.err)")
        #expect(try runProduct(["check", "--store", partial]).status == 0)
        #expect(try runProduct(["index", Self.data, "--store", partial, "--embedder", "hash"]).status == 0)
        #expect(try Store(path: partial).collection("docs").count() == (try Store(path: store).collection("docs").count()))

        // A folder an older Quiver left holding only lock.mdb: reported, then created again.
        let leftover = dir.sub("leftover")
        try FileManager.default.createDirectory(atPath: leftover, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: leftover + "/lock.mdb", contents: Data(count: 8192))
        let stats = try runProduct(["stats", "--store", leftover])
        #expect(stats.status == 1 && stats.err.contains("holds only lock.mdb"), "\(stats.err)")
        #expect(try runProduct(["index", Self.data, "--store", leftover, "--embedder", "hash"]).status == 0)
    }

    /// A store the user can read but not write could not even be searched ("mdb_env_open
    /// failed"). It opens read-only now: searches work, writes say why they cannot.
    @Test func readOnlyStoreCanBeSearched() throws {
        let dir = TemporaryDirectory("quiver-harden-ro")
        defer { dir.remove() }
        let store = dir.sub("store")
        #expect(try runProduct(["index", Self.data, "--store", store, "--embedder", "hash"]).status == 0)
        #expect(chmod(dir.path, 0o755) == 0 && chmod(store, 0o755) == 0)
        // As nobody (the tests run as root, who may write anything).
        func asNobody(_ arguments: [String]) throws -> ProcessOutput {
            try Self.quiver(after: "os.setgroups([])\nos.setgid(65534)\nos.setuid(65534)", arguments)
        }
        guard getuid() == 0 else { return }  // only root can become nobody here
        let search = try asNobody(["search", "Who rowed out to the wreck?", "--store", store, "-k", "1"])
        #expect(search.status == 0 && search.out.contains("[1]"), "\(search.status) \(search.err)")
        #expect(try asNobody(["stats", "--store", store]).status == 0)
        let drop = try asNobody(["drop", "docs", "--store", store])
        #expect(drop.status == 1 && drop.err.contains("is read-only for this user"), "\(drop.err)")
        #expect(try runProduct(["stats", "--store", store]).out.contains("docs:"))
    }
}
