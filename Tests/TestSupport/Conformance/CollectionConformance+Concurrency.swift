import Foundation
import Testing
import VectorStore

// The async forms, and many callers at once.
extension CollectionConformance {
    static func asyncFormsMatchSync(_ db: any VectorDatabase) async throws {
        let settings = CollectionSettings(dimension: 8, metric: .cosine, configuration: ["embedder": "e"])
        let c = try await db.createCollection("docs", settings: settings)
        _ = try await db.createCollection("_cache.a", dimension: 2, metric: .dot)
        #expect(c.info.settings == settings)
        #expect(try await db.collection("docs").info == blocking { try db.collection("docs").info })
        #expect(try await db.openOrCreateCollection("docs", settings: settings).info == c.info)
        #expect(try await db.collections().map(\.name) == ["docs"])
        #expect(try await db.collections(includingReserved: true) == blocking { try db.collections(includingReserved: true) })
        await expectError(.collectionExists, "async create of a taken name") { try await db.createCollection("docs", settings: settings) }
        await expectError(.collectionExists, "async openOrCreate with another dimension") {
            try await db.openOrCreateCollection("docs", dimension: 4, metric: .cosine)
        }
        await expectError(.collectionNotFound, "async open of a missing name") { try await db.collection("nope") }

        // Writes through the async forms, read back through both.
        var rng = SeededGenerator(seed: 8)
        var records = (0..<300).map { corpusRecord($0, dimension: 8, &rng) }
        try await c.upsert(Array(records[0..<150]))
        try await c.write(upsert: Array(records[150...]), deleting: ["r0", "r1"])
        records.removeFirst(2)
        var ref = BruteForce(metric: .cosine)
        ref.upsert(records)
        #expect(try await c.count() == 298)
        #expect(try blocking { try c.count() } == 298)
        let ids = ["r5", "nope", "r0", "r299"]
        let asyncGot = try await c.get(ids)
        #expect(asyncGot == (try blocking { try c.get(ids) }))
        #expect(asyncGot.map { $0?.id } == ["r5", nil, nil, "r299"])
        #expect(try await c.get("r5") == (try blocking { try c.get("r5") }))

        let queries = (0..<5).map { _ in rng.vector(8) }
        for filter: Filter? in [nil, .equals("lang", "en"), .not(.exists("draft"))] {
            let request = SearchRequest(queries: queries, k: 6, filter: filter)
            let a = try await c.search(request)
            let s = try blocking { try c.search(request) }
            #expect(a.plan.access == s.plan.access, "\(String(describing: filter))")
            for i in queries.indices {
                expectSameHits(a.hits[i], s.hits[i], "async request \(String(describing: filter)) #\(i)")
                expectHits(a.hits[i], ref.search(queries[i], k: 6, where: { filter?.matches($0) ?? true }), ref, "async request #\(i)")
            }
            let single = try await c.search(queries[0], k: 6, filter: filter)
            expectSameHits(single, s.hits[0], "async single search")
            let batch = try await c.search(batch: queries, k: 6, filter: filter)
            for i in queries.indices { expectSameHits(batch[i], s.hits[i], "async batch #\(i)") }
            let explained = try await c.searchExplained(batch: queries, k: 6, filter: filter)
            #expect(explained.plan.access == s.plan.access)
            for i in queries.indices { expectSameHits(explained.hits[i], s.hits[i], "async explained #\(i)") }
            let filterOrAll = filter ?? .and([])
            #expect(try await c.metadata(where: filterOrAll) == (try blocking { try c.metadata(where: filterOrAll) }))
        }
        #expect(try await c.distinctStringValueCount(of: "lang") == (try blocking { try c.distinctStringValueCount(of: "lang") }))
        #expect(try await c.distinctStringValueCount(of: "tags") == 6)

        // Errors come back from the async forms with the same codes.
        await expectError(.dimensionMismatch, "async search, wrong dimension") { try await c.search([1, 2], k: 1) }
        await expectError(.invalidVector, "async search, zero query under cosine") {
            try await c.search([Float](repeating: 0, count: 8), k: 1)
        }
        await expectError(.invalidArgument, "async search, k 0") { try await c.search(queries[0], k: 0) }
        await expectError(.invalidArgument, "async metadata, malformed filter") { try await c.metadata(where: .exists("")) }
        await expectError(.invalidVector, "async write, NaN") {
            try await c.write(upsert: [Record(id: "new", vector: [Float](repeating: .nan, count: 8))], deleting: ["r5"])
        }
        await expectError(.invalidID, "async upsert, empty id") { try await c.upsert([Record(id: "", vector: queries[0])]) }
        #expect(try await c.count() == 298)
        #expect(try await c.get("r5") != nil)

        // Deletes.
        #expect(try await c.delete(ids: ["r5", "r6", "nope"]) == 2)
        ref.delete(["r5", "r6"])
        let german = ref.records.values.filter { $0.metadata["lang"] == "de" }.map(\.id)
        #expect(try await c.delete(where: .equals("lang", "de")) == german.count)
        ref.delete(german)
        #expect(try await c.count() == ref.records.count)
        #expect(try blocking { try c.count() } == ref.records.count)
        expectHits(try await c.search(queries[1], k: 400), ref.search(queries[1], k: 400), ref, "async search after async deletes")

        // Drop.
        #expect(try await db.dropCollection("docs"))
        #expect(try await db.dropCollection("docs") == false)
        #expect(try blocking { try db.collections() }.isEmpty)
        await expectError(.collectionNotFound, "async count on a dropped handle") { try await c.count() }
    }

    /// One writer replaces the whole content batch after batch (upserting batch i and
    /// deleting batch i - 1 in one write) while readers search: two on threads of their
    /// own with the sync forms, two as tasks with the async forms. Every read sees exactly
    /// one whole batch. The writer goes on until every reader has read `readsEach` times,
    /// so reads and writes overlap however the threads are scheduled.
    static func readersSeeWholeBatches(_ db: any VectorDatabase) async throws {
        let c = try await db.createCollection("c", dimension: 8, metric: .dot)
        let size = 50
        let readers = 4
        let readsEach = 25
        @Sendable func batch(_ i: Int) -> [Record] {
            (0..<size).map { j in
                Record(
                    id: "b\(i)-\(j)", vector: [Float(i + 1)] + [Float](repeating: Float(j % 3), count: 7), text: "batch \(i)",
                    metadata: ["batch": .int(Int64(i))])
            }
        }
        let e0: [Float] = [1, 0, 0, 0, 0, 0, 0, 0]
        try await c.upsert(batch(0))
        let done = Flag()
        let reads = Shared([Int](repeating: 0, count: readers))
        let writer = Task {
            try await onThread {
                defer { done.set() }
                var i = 1
                // At least 20 batches, then until every reader has read (at most 20 000).
                while i < 20 || (reads.withLock { $0.min() ?? 0 } < readsEach && i < 20_000) {
                    try c.write(upsert: batch(i), deleting: (0..<size).map { "b\(i - 1)-\($0)" })
                    i += 1
                }
                return i - 1
            }
        }

        /// The batch one search saw, and what is wrong with it. (Problems are recorded by the
        /// test's own task: an issue recorded on another thread belongs to no test.)
        @Sendable func inspect(_ hits: [SearchHit], _ who: String) -> (seen: Int?, problems: [String]) {
            guard case .int(let seen)? = hits.first?.metadata["batch"] else { return (nil, ["\(who) saw no batch"]) }
            var problems: [String] = []
            if hits.count != size { problems.append("\(who) saw \(hits.count) records, not one batch of \(size)") }
            if !hits.allSatisfy({ $0.metadata["batch"] == .int(seen) }) { problems.append("\(who) saw a mix of batches") }
            // Component 0 is i + 1; the others do not count for e0.
            if !hits.allSatisfy({ $0.score == Float(seen + 1) }) { problems.append("\(who) saw scores of another batch") }
            if hits.map(\.id) != (0..<size).map({ "b\(seen)-\($0)" }).sorted() { problems.append("\(who): ties not ordered by id") }
            return (Int(seen), problems)
        }

        let problems = try await withThrowingTaskGroup(of: [String].self) { group in
            // Sync readers, each on a thread of its own.
            for t in 0..<2 {
                group.addTask {
                    try await onThread {
                        var problems: [String] = []
                        var last = 0
                        while !done.isSet {
                            let (seen, wrong) = inspect(try c.search(e0, k: 2 * size), "sync reader \(t)")
                            problems += wrong
                            if let seen {
                                if seen < last { problems.append("sync reader \(t) went back from batch \(last) to \(seen)") }
                                last = seen
                            }
                            let count = try c.count()
                            if count != size { problems.append("sync reader \(t) counted \(count)") }
                            let meta = try c.metadata(where: .exists("batch"))
                            if meta.count != size || Set(meta.values.map { $0["batch"] }).count != 1 {
                                problems.append("sync reader \(t): metadata of \(meta.count) records")
                            }
                            reads.withLock { $0[t] += 1 }
                        }
                        return problems
                    }
                }
            }
            // Async readers.
            for t in 2..<readers {
                group.addTask {
                    var problems: [String] = []
                    while !done.isSet {
                        let filter: Filter? = t == 2 ? nil : .range("batch", lower: 0)
                        let hits = try await c.search(batch: [e0, e0], k: 2 * size, filter: filter)
                        problems += inspect(hits[0], "async reader \(t)").problems
                        if hits[0].map(\.id) != hits[1].map(\.id) { problems.append("async reader \(t): two snapshots in one search") }
                        let count = try await c.count()
                        if count != size { problems.append("async reader \(t) counted \(count)") }
                        reads.withLock { $0[t] += 1 }
                    }
                    return problems
                }
            }
            var all: [String] = []
            for try await problems in group { all += problems }
            return all
        }
        for problem in problems.prefix(20) { Issue.record(Comment(rawValue: problem)) }
        #expect(problems.isEmpty, "\(problems.count) problems")
        let last = try await writer.value
        #expect(reads.withLock { $0.min() ?? 0 } >= readsEach, "the writer stopped before every reader read: \(reads.withLock { $0 })")
        #expect(try await c.count() == size)
        let final = inspect(try await c.search(e0, k: 2 * size), "the last read")
        #expect(final.seen == last)
        #expect(final.problems.isEmpty, "\(final.problems)")
    }

    /// Runs `body` on a thread of its own (never a cooperative one) and awaits its result.
    static func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
        }
    }

    /// More tasks than the cooperative pool has threads each call the synchronous forms
    /// (which must not wait on async work), interleaved with async calls; plus threads.
    static func syncCallsFromManyTasks(_ db: any VectorDatabase) async throws {
        let dim = 40
        let c = try await db.createCollection("c", dimension: dim, metric: .cosine)
        @Sendable func vector(_ t: Int) -> [Float] { (0..<dim).map { $0 == t ? 1 : 0.01 } }
        try await withWatchdog(seconds: 120, "sync calls from many tasks (\(type(of: db)))") {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for t in 0..<24 {
                    group.addTask {
                        try blocking { try c.upsert([Record(id: "t\(t)", vector: vector(t), metadata: ["t": .int(Int64(t))])]) }
                        let mine = try blocking { try c.search(vector(t), k: 1) }
                        #expect(mine.map(\.id) == ["t\(t)"])
                        #expect(try blocking { try c.get("t\(t)") }?.metadata == ["t": .int(Int64(t))])
                        #expect(try blocking { try c.count() } >= 1)
                        #expect(try blocking { try db.collection("c").info } == c.info)
                        let viaAsync = try await c.search(vector(t), k: 1, filter: .equals("t", .int(Int64(t))))
                        #expect(viaAsync.map(\.id) == ["t\(t)"])
                        _ = try blocking { try c.metadata(where: .exists("t")) }
                    }
                }
                try await group.waitForAll()
            }
            // Threads of their own, all at once.
            try await withThrowingTaskGroup(of: [String].self) { group in
                for t in 24..<32 {
                    group.addTask {
                        try await onThread {
                            try c.upsert([Record(id: "t\(t)", vector: vector(t), metadata: ["t": .int(Int64(t))])])
                            return try c.search(vector(t), k: 1).map(\.id)
                        }
                    }
                }
                var found: [String] = []
                for try await ids in group { found += ids }
                #expect(found.sorted() == (24..<32).map { "t\($0)" }.sorted())
            }
        }
        #expect(try await c.count() == 32)
        for t in 0..<32 {
            #expect(try await c.search(vector(t), k: 1).map(\.id) == ["t\(t)"])
        }
    }
}
