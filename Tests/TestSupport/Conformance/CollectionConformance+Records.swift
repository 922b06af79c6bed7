import Foundation
import Testing
import VectorStore

// Writing, reading and deleting records.
extension CollectionConformance {
    /// Metadata holding every kind of value, edge values included.
    static let everyKind: [String: MetadataValue] = [
        "string": "hello",
        "emptyString": "",
        "unicode": "Grüße, 世界 👋",
        "int": -42,
        "bigInt": .int(9_007_199_254_740_993),  // 2^53 + 1: not a double
        "maxInt": .int(Int64.max),
        "minInt": .int(Int64.min),
        "double": 3.25,
        "negativeDouble": -0.5,
        "wholeDouble": .double(2),  // stays a double
        "tinyDouble": 1e-300,
        "hugeDouble": 1.5e300,
        "true": true,
        "false": false,
        "list": ["a", "b", "a"],
        "emptyList": .strings([]),
        "größe": "field names are UTF-8",
        String(repeating: "f", count: 128): "the longest field name",
    ]

    static func roundTrip(_ db: any VectorDatabase) throws {
        let vectors: [[Float]] = [[3, -4, 0.5, 12], [1e-3, 0, 0, 0], [-1, -1, 2, 0.25]]
        let maxID = String(repeating: "x", count: 256)
        let emojiID = String(repeating: "👋", count: 64)  // 256 bytes, 64 characters
        let longText = String(repeating: "long text, ", count: 2000)
        for metric in Metric.allCases {
            let c = try db.createCollection("c-\(metric)", dimension: 4, metric: metric)
            let records = [
                Record(id: "doc-1#0", vector: vectors[0], text: "Grüße, 世界 👋\nline 2", metadata: everyKind),
                Record(id: "ü id/with spaces", vector: vectors[1]),
                Record(id: maxID, vector: vectors[2], text: longText, metadata: ["n": 1]),
                Record(id: emojiID, vector: vectors[0], text: "emoji id"),
            ]
            try c.upsert(records)
            #expect(try c.count() == 4, "\(metric)")
            let got = try c.get(["ü id/with spaces", "missing", "doc-1#0", maxID, emojiID, "ü id/with spaces"])
            #expect(got.map { $0?.id } == ["ü id/with spaces", nil, "doc-1#0", maxID, emojiID, "ü id/with spaces"], "\(metric)")
            let expected = [records[1], nil, records[0], records[2], records[3], records[1]]
            for (g, e) in zip(got, expected) {
                guard let g, let e else { continue }
                #expect(g.text == e.text, "\(metric): text of \(e.id)")
                #expect(g.metadata == e.metadata, "\(metric): metadata of \(e.id)")
                // Under cosine the stored vector is the unit vector; otherwise it is exact.
                let vector = metric == .cosine ? unit(e.vector) : e.vector
                if metric == .cosine {
                    #expect(close(g.vector, vector), "\(metric): vector of \(e.id) is \(g.vector), expected \(vector)")
                } else {
                    #expect(g.vector == vector, "\(metric): vector of \(e.id)")
                }
            }
            // Every metadata kind keeps its kind (a whole double stays a double).
            if let meta = got[2]?.metadata {
                for (field, value) in everyKind { #expect(meta[field] == value, "\(metric): \(field)") }
            }
            #expect(try c.get([]).isEmpty)
            #expect(try c.get("missing") == nil)
            #expect(try c.get("doc-1#") == nil, "ids are exact, not prefixes")
            // Search hits carry the same text and metadata.
            let hit = try c.search(vectors[0], k: 4, filter: .equals(String(repeating: "f", count: 128), "the longest field name"))
            #expect(hit.map(\.id) == ["doc-1#0"], "\(metric)")
            #expect(hit.first?.metadata == everyKind, "\(metric)")
            #expect(hit.first?.text == records[0].text, "\(metric)")
        }
    }

    static func replaceByID(_ db: any VectorDatabase) throws {
        let c = try db.createCollection("c", dimension: 3, metric: .dot)
        try c.upsert([
            Record(id: "a", vector: [1, 0, 0], text: "old", metadata: ["lang": "en", "v": 1, "tags": ["x", "y"]]),
            Record(id: "b", vector: [0, 1, 0], text: "b", metadata: ["lang": "fr"]),
        ])
        let replacement = Record(id: "a", vector: [0, 0, 2], text: "new", metadata: ["lang": "de", "tags": ["z"]])
        try c.upsert([replacement])
        #expect(try c.count() == 2)
        #expect(try c.get("a") == replacement)
        // The old vector is gone from search, the new one is found.
        let hits = try c.search([0, 0, 1], k: 1)
        #expect(hits.map(\.id) == ["a"])
        #expect(hits.first?.score == 2)
        #expect(hits.first?.text == "new")
        let old = try c.search([1, 0, 0], k: 2)
        #expect(old.map(\.id) == ["a", "b"], "both score 0: ordered by id")
        #expect(old.map(\.score) == [0, 0])
        // The index follows: old values no longer match, new ones do.
        #expect(try c.search([0, 0, 1], k: 5, filter: .equals("lang", "en")).isEmpty)
        #expect(try c.search([0, 0, 1], k: 5, filter: .exists("v")).isEmpty)
        #expect(try c.search([0, 0, 1], k: 5, filter: .equals("tags", "x")).isEmpty)
        #expect(try c.search([0, 0, 1], k: 5, filter: .equals("lang", "de")).map(\.id) == ["a"])
        #expect(try c.search([0, 0, 1], k: 5, filter: .equals("tags", "z")).map(\.id) == ["a"])
        #expect(try c.metadata(where: .exists("lang")) == ["a": replacement.metadata, "b": ["lang": "fr"]])
        #expect(try c.distinctStringValueCount(of: "tags") == 1)
        #expect(try c.distinctStringValueCount(of: "lang") == 2)
        // Replacing many times, in later batches and next to new records.
        for round in 1...5 {
            try c.upsert([
                Record(id: "a", vector: [Float(round), 0, 0], metadata: ["round": .int(Int64(round))]),
                Record(id: "n\(round)", vector: [0, 0, 0]),
            ])
        }
        #expect(try c.count() == 7)
        #expect(try c.get("a")?.vector == [5, 0, 0])
        #expect(try c.metadata(where: .exists("round")) == ["a": ["round": 5]])
        #expect(try c.search([1, 0, 0], k: 1).map(\.score) == [5])
    }

    static func lastOfAnIDWins(_ db: any VectorDatabase) throws {
        let c = try db.createCollection("c", dimension: 2, metric: .dot)
        try c.upsert([
            Record(id: "a", vector: [1, 0], text: "first", metadata: ["x": 1]),
            Record(id: "b", vector: [0, 1], text: "b"),
            Record(id: "a", vector: [2, 0], text: "second", metadata: ["x": 2]),
            Record(id: "a", vector: [3, 0], text: "third", metadata: ["x": 3]),
        ])
        #expect(try c.count() == 2)
        #expect(try c.get("a") == Record(id: "a", vector: [3, 0], text: "third", metadata: ["x": 3]))
        // One hit per id, with the last record's score.
        let hits = try c.search([1, 1], k: 10)
        #expect(hits.map(\.id) == ["a", "b"])
        #expect(hits.map(\.score) == [3, 1])
        #expect(try c.metadata(where: .exists("x")) == ["a": ["x": 3]])
        #expect(try c.search([1, 1], k: 10, filter: .isIn("x", [1, 2])).isEmpty)

        // An id both upserted and deleted in one write is upserted (the last record wins).
        try c.write(upsert: [Record(id: "c", vector: [1, 1], text: "c1"), Record(id: "c", vector: [2, 2], text: "c2")], deleting: ["c"])
        #expect(try c.get("c")?.text == "c2")
        try c.write(upsert: [Record(id: "d", vector: [1, 1])], deleting: ["a", "d"])
        #expect(try c.get(["a", "d"]).map { $0?.id } == [nil, "d"])
        #expect(try c.count() == 3)
    }

    static func writeDeletesWhere(_ db: any VectorDatabase) async throws {
        let c = try replaceByFilter(db)
        // The async form, with ids and a filter together.
        try await c.write(upsert: [chunk("F#0", "F")], deleting: ["E#0"], deletingWhere: .equals("doc", "D"))
        try allOrNothingWithFilter(c)
    }

    private static func chunk(_ id: String, _ d: String, _ v: Float = 1) -> Record {
        Record(id: id, vector: [v, 1], metadata: ["doc": .string(d)])
    }

    private static func replaceByFilter(_ db: any VectorDatabase) throws -> any VectorCollection {
        let c = try db.createCollection("c", dimension: 2, metric: .dot)
        try c.upsert([chunk("D#0", "D"), chunk("D#1", "D"), chunk("D#2", "D"), chunk("E#0", "E")])
        // Replace D's chunks by two: the third goes, E stays, D#0 is replaced.
        try c.write(upsert: [chunk("D#0", "D", 5), chunk("D#9", "D")], deleting: [], deletingWhere: .equals("doc", "D"))
        #expect(try c.metadata(where: .and([])).keys.sorted() == ["D#0", "D#9", "E#0"])
        #expect(try c.get("D#0")?.vector == [5, 1])
        #expect(try c.search([1, 0], k: 10).map(\.id).sorted() == ["D#0", "D#9", "E#0"])
        return c
    }

    private static func allOrNothingWithFilter(_ c: any VectorCollection) throws {
        #expect(try c.metadata(where: .and([])).keys.sorted() == ["F#0"])
        // An invalid record, or a bad filter, deletes nothing.
        _ = expectError(.invalidVector, "an invalid record with deletingWhere") {
            try c.write(upsert: [Record(id: "bad", vector: [.nan, 1])], deleting: [], deletingWhere: .equals("doc", "F"))
        }
        _ = expectError(.invalidArgument, "a bad filter") {
            try c.write(upsert: [chunk("G#0", "G")], deleting: [], deletingWhere: .equals("", "F"))
        }
        #expect(try c.metadata(where: .and([])).keys.sorted() == ["F#0"])
        #expect(try c.count() == 1)
    }

    static func writeIsAtomic(_ db: any VectorDatabase) throws {
        let c = try db.createCollection("c", dimension: 3, metric: .cosine)
        let a = Record(id: "a", vector: [1, 0, 0], text: "a", metadata: ["g": "one"])
        let b = Record(id: "b", vector: [0, 1, 0], text: "b", metadata: ["g": "one"])
        let cc = Record(id: "c", vector: [0, 0, 1], text: "c", metadata: ["g": "two"])
        try c.upsert([a, b, cc])

        // A valid write applies its upserts and its deletes together (unknown ids are ignored).
        let a2 = Record(id: "a", vector: [1, 1, 0], text: "a2", metadata: ["g": "three"])
        let d = Record(id: "d", vector: [1, 1, 1], text: "d")
        try c.write(upsert: [d, a2], deleting: ["b", "missing"])
        #expect(try c.get(["a", "b", "c", "d"]).map { $0?.text } == ["a2", nil, "c", "d"])
        #expect(try c.count() == 3)

        func expectUnchanged(_ comment: Comment, sourceLocation: SourceLocation = #_sourceLocation) throws {
            #expect(try c.count() == 3, comment, sourceLocation: sourceLocation)
            #expect(
                try c.get(["a", "b", "c", "d", "e"]).map { $0?.text } == ["a2", nil, "c", "d", nil], comment, sourceLocation: sourceLocation
            )
            #expect(
                try c.metadata(where: .exists("g")) == ["a": ["g": "three"], "c": ["g": "two"]], comment, sourceLocation: sourceLocation)
            #expect(try c.search([0, 0, 1], k: 1).map(\.id) == ["c"], comment, sourceLocation: sourceLocation)
        }

        // A batch with one invalid record writes nothing: no upsert, no delete, wherever it sits.
        let e = Record(id: "e", vector: [0, 1, 1], text: "e", metadata: ["g": "new"])
        let a3 = Record(id: "a", vector: [0, 0, 5], text: "a3")
        let bad: [(StoreError.Code, Record)] = [
            (.dimensionMismatch, Record(id: "x", vector: [1, 2])),
            (.invalidVector, Record(id: "x", vector: [1, .nan, 0])),
            (.invalidVector, Record(id: "x", vector: [.infinity, 0, 0])),
            (.invalidVector, Record(id: "x", vector: [0, 0, 0])),
            (.invalidID, Record(id: "", vector: [1, 0, 0])),
            (.invalidMetadata, Record(id: "x", vector: [1, 0, 0], metadata: ["": "empty field name"])),
        ]
        for (code, record) in bad {
            expectError(code, "invalid record last") { try c.write(upsert: [e, a3, record], deleting: ["c", "d"]) }
            try expectUnchanged("after \(code) last")
            expectError(code, "invalid record first") { try c.write(upsert: [record, e, a3], deleting: ["c"]) }
            try expectUnchanged("after \(code) first")
            expectError(code, "invalid record alone, with deletes") { try c.write(upsert: [record], deleting: ["a", "c", "d"]) }
            try expectUnchanged("after \(code) with deletes")
        }
        // In a large batch (backends may prepare large batches in parallel).
        var rng = SeededGenerator(seed: 17)
        var large = (0..<1500).map { Record(id: "big\($0)", vector: rng.vector(3)) }
        large[1100].vector[1] = .nan
        expectError(.invalidVector, "an invalid record in a large batch") { try c.write(upsert: large, deleting: ["a"]) }
        try expectUnchanged("after the large batch")
        // A record that a later one of the same id supersedes must be valid too.
        expectError(.invalidVector, "an invalid record superseded in the batch") {
            try c.write(upsert: [Record(id: "e", vector: [.nan, 0, 0]), e], deleting: ["c"])
        }
        try expectUnchanged("after the superseded invalid record")
    }

    static func count(_ db: any VectorDatabase) throws {
        let c = try db.createCollection("c", dimension: 2, metric: .l2)
        #expect(try c.count() == 0)
        try c.upsert((0..<10).map { Record(id: "r\($0)", vector: [Float($0), 0], metadata: ["even": .bool($0 % 2 == 0)]) })
        #expect(try c.count() == 10)
        try c.upsert((5..<15).map { Record(id: "r\($0)", vector: [Float($0), 1], metadata: ["even": .bool($0 % 2 == 0)]) })
        #expect(try c.count() == 15)
        #expect(try c.delete(ids: ["r0", "r1", "r2", "nope", "nada"]) == 3)
        #expect(try c.count() == 12)
        try c.write(upsert: [Record(id: "n1", vector: [0, 0]), Record(id: "n2", vector: [0, 0])], deleting: ["r3", "r4", "r5", "r6"])
        #expect(try c.count() == 10)
        #expect(try c.delete(where: .equals("even", true)) == 4)  // r8, r10, r12, r14
        #expect(try c.count() == 6)
        #expect(try c.metadata(where: .and([])).count == 6)
        #expect(try c.search([0, 0], k: 100).count == 6)
        #expect(try c.delete(where: .and([])) == 6)
        #expect(try c.count() == 0)
        #expect(try c.search([0, 0], k: 100).isEmpty)
    }

    static func deleteByIDs(_ db: any VectorDatabase) throws {
        let c = try db.createCollection("c", dimension: 4, metric: .dot)
        var rng = SeededGenerator(seed: 3)
        var ref = BruteForce(metric: .dot)
        let records = (0..<40).map { i in
            Record(id: "r\(i)", vector: rng.vector(4), text: "t\(i)", metadata: ["group": .string("g\(i % 4)"), "own": .string("o\(i)")])
        }
        try c.upsert(Array(records[0..<20]))
        try c.upsert(Array(records[20...]))
        ref.upsert(records)

        // Returns how many existed; unknown and repeated ids are not counted.
        #expect(try c.delete(ids: ["r1", "r2", "missing", "r1", "r25"]) == 3)
        ref.delete(["r1", "r2", "r25"])
        #expect(try c.delete(ids: ["r1", "r2"]) == 0)
        #expect(try c.delete(ids: []) == 0)
        #expect(try c.count() == 37)
        #expect(try c.get(["r1", "r2", "r25", "r3"]).map { $0?.id } == [nil, nil, nil, "r3"])
        // Gone from search, filters and metadata.
        let q = rng.vector(4)
        expectHits(try c.search(q, k: 100), ref.search(q, k: 100), ref, "search after delete")
        #expect(try c.search(q, k: 5, filter: .equals("own", "o1")).isEmpty)
        #expect(try c.search(q, k: 5, filter: .isIn("own", ["o2", "o25", "o3"])).map(\.id) == ["r3"])
        #expect(Set(try c.metadata(where: .and([])).keys) == Set(ref.records.keys))
        #expect(try c.distinctStringValueCount(of: "own") == 37)

        // Deleting every record of a batch, then more than half of all.
        let firstBatch = (0..<20).map { "r\($0)" }
        #expect(try c.delete(ids: firstBatch) == 18)
        ref.delete(firstBatch)
        let some = stride(from: 20, to: 40, by: 2).map { "r\($0)" }
        #expect(try c.delete(ids: some) == 10)
        ref.delete(some)
        #expect(try c.count() == ref.records.count)
        expectHits(try c.search(q, k: 100), ref.search(q, k: 100), ref, "search after deleting most")
        #expect(try c.distinctStringValueCount(of: "group") == 2)

        // A deleted id can be written again.
        try c.upsert([records[1]])
        ref.upsert([records[1]])
        #expect(try c.get("r1") == records[1])
        expectHits(try c.search(q, k: 100), ref.search(q, k: 100), ref, "search after re-upsert")
    }

    static func deleteByFilter(_ db: any VectorDatabase) throws {
        let c = try db.createCollection("c", dimension: 8, metric: .dot)
        var (ref, rng) = try populate(c, n: 400, seed: 11)
        let q = rng.vector(8)
        func deleting(_ filter: Filter, _ predicate: ([String: MetadataValue]) -> Bool, sourceLocation: SourceLocation = #_sourceLocation)
            throws
        {
            let matching = ref.records.values.filter { predicate($0.metadata) }.map(\.id)
            #expect(try c.delete(where: filter) == matching.count, "\(filter)", sourceLocation: sourceLocation)
            ref.delete(matching)
            #expect(try c.count() == ref.records.count, "\(filter)", sourceLocation: sourceLocation)
            #expect(try c.get(matching).allSatisfy { $0 == nil }, "\(filter)", sourceLocation: sourceLocation)
            #expect(Set(try c.metadata(where: .and([])).keys) == Set(ref.records.keys), "\(filter)", sourceLocation: sourceLocation)
            expectHits(try c.search(q, k: 1000), ref.search(q, k: 1000), ref, "after \(filter)", sourceLocation: sourceLocation)
        }
        try deleting(.equals("lang", "de")) { $0["lang"] == "de" }
        #expect(try c.delete(where: .equals("lang", "de")) == 0)
        try deleting(.not(.exists("draft"))) { $0["draft"] == nil }
        try deleting(.range("year", lower: 2020)) { ($0["year"]?.number ?? 0) >= 2020 }
        try deleting(.and([.equals("tags", "t2"), .notEquals("lang", "en")])) { m in
            if case .strings(let l)? = m["tags"], l.contains("t2") { return m["lang"] != "en" }
            return false
        }
        try deleting(.or([])) { _ in false }
        try deleting(.equals("lang", "nowhere")) { _ in false }
        #expect(ref.records.count > 50, "the deletes above leave records to search")
        try deleting(.and([])) { _ in true }
        #expect(try c.count() == 0)
    }

    static func metadataWhere(_ db: any VectorDatabase) throws {
        let c = try db.createCollection("c", dimension: 8, metric: .l2)
        let (ref, _) = try populate(c, n: 300, seed: 12)
        for (name, filter, predicate) in filterCases(ref) {
            let expected = ref.records.values.filter { predicate($0.metadata) }.reduce(into: [String: [String: MetadataValue]]()) {
                $0[$1.id] = $1.metadata
            }
            #expect(try c.metadata(where: filter) == expected, "\(name): \(filter)")
        }
        // Metadata only: nothing else, and every live record under `.and([])`.
        #expect(try c.metadata(where: .and([])).count == ref.records.count)
        let empty = try db.createCollection("empty", dimension: 2, metric: .dot)
        #expect(try empty.metadata(where: .and([])).isEmpty)
        try empty.upsert([Record(id: "bare", vector: [1, 1])])
        #expect(try empty.metadata(where: .and([])) == ["bare": [:]])
        #expect(try empty.metadata(where: .not(.exists("x"))) == ["bare": [:]])
    }

    static func distinctStringValues(_ db: any VectorDatabase) throws {
        let c = try db.createCollection("c", dimension: 2, metric: .dot)
        let long = String(repeating: "p", count: 400)
        try c.upsert([
            Record(id: "a", vector: [1, 0], metadata: ["doc": "x", "tags": ["t1", "t2", "t1"], "n": 1]),
            Record(id: "b", vector: [0, 1], metadata: ["doc": "y", "tags": ["t2", "t3"], "n": 2]),
            Record(id: "c", vector: [1, 1], metadata: ["doc": "x", "tags": .strings([]), "flag": true]),
            Record(id: "d", vector: [1, 2], metadata: ["doc": 5, "tags": "t1"]),
            Record(id: "e", vector: [2, 1], metadata: ["long": .string(long + "1")]),
            Record(id: "f", vector: [2, 2], metadata: ["long": .string(long + "2")]),
            Record(id: "g", vector: [2, 3], metadata: ["long": .string(long + "1")]),
        ])
        // Strings and list elements count; numbers and bools do not; each value once.
        #expect(try c.distinctStringValueCount(of: "doc") == 2)
        #expect(try c.distinctStringValueCount(of: "tags") == 3)
        #expect(try c.distinctStringValueCount(of: "n") == 0)
        #expect(try c.distinctStringValueCount(of: "flag") == 0)
        #expect(try c.distinctStringValueCount(of: "missing") == 0)
        // Long values that share a long prefix are distinct values, and filter exactly.
        #expect(try c.distinctStringValueCount(of: "long") == 2)
        #expect(try c.search([1, 1], k: 5, filter: .equals("long", .string(long + "1"))).map(\.id) == ["g", "e"])
        #expect(try c.search([1, 1], k: 5, filter: .equals("long", .string(long))).isEmpty)

        // Only live records count.
        #expect(try c.delete(ids: ["b"]) == 1)
        #expect(try c.distinctStringValueCount(of: "doc") == 1)
        #expect(try c.distinctStringValueCount(of: "tags") == 2)
        try c.upsert([Record(id: "a", vector: [1, 0], metadata: ["doc": "z", "tags": ["t9"]])])
        #expect(try c.distinctStringValueCount(of: "doc") == 2)  // x (c), z (a)
        #expect(try c.distinctStringValueCount(of: "tags") == 2)  // t9 (a), t1 (d)
        #expect(try c.delete(ids: ["f"]) == 1)
        #expect(try c.distinctStringValueCount(of: "long") == 1)
    }

    static func rejectsBadRecords(_ db: any VectorDatabase) throws {
        for metric in Metric.allCases {
            let c = try db.createCollection("c-\(metric)", dimension: 3, metric: metric)
            try c.upsert([Record(id: "keep", vector: [1, 2, 3], metadata: ["k": "v"])])
            let bad: [(StoreError.Code, String, Record)] = [
                (.dimensionMismatch, "2 components", Record(id: "x", vector: [1, 2])),
                (.dimensionMismatch, "4 components", Record(id: "x", vector: [1, 2, 3, 4])),
                (.dimensionMismatch, "no components", Record(id: "x", vector: [])),
                (.invalidVector, "NaN", Record(id: "x", vector: [1, .nan, 3])),
                (.invalidVector, "signalling NaN", Record(id: "x", vector: [1, .signalingNaN, 3])),
                (.invalidVector, "+infinity", Record(id: "x", vector: [.infinity, 2, 3])),
                (.invalidVector, "-infinity", Record(id: "x", vector: [1, 2, -.infinity])),
                (.invalidID, "an empty id", Record(id: "", vector: [1, 2, 3])),
                (.invalidID, "a 257-byte id", Record(id: String(repeating: "x", count: 257), vector: [1, 2, 3])),
                (.invalidID, "a 260-byte id of 65 characters", Record(id: String(repeating: "👋", count: 65), vector: [1, 2, 3])),
                (.invalidID, "an id with NUL", Record(id: "a\0b", vector: [1, 2, 3])),
                (.invalidMetadata, "an empty field name", Record(id: "x", vector: [1, 2, 3], metadata: ["": 1])),
                (
                    .invalidMetadata, "a 129-byte field name",
                    Record(id: "x", vector: [1, 2, 3], metadata: [String(repeating: "f", count: 129): 1])
                ),
                (.invalidMetadata, "a field name with NUL", Record(id: "x", vector: [1, 2, 3], metadata: ["a\0b": 1])),
                (.invalidMetadata, "a NaN metadata value", Record(id: "x", vector: [1, 2, 3], metadata: ["w": .double(.nan)])),
            ]
            for (code, what, record) in bad {
                // The error names the collection, the record (unless its id is the problem)
                // and, for a dimension, expected versus actual.
                let named = code == .invalidID ? nil : record.id
                let dims = code == .dimensionMismatch ? ("3", "\(record.vector.count)") : nil
                for batch in [[record], [Record(id: "y", vector: [3, 2, 1]), record]] {
                    let comment: Comment = "\(metric): \(what), record \(batch.count) of \(batch.count)"
                    let error = expectError(code, comment) { try c.upsert(batch) }
                    expectFields(error, comment, collection: c.name, recordID: named, expected: dims?.0, actual: dims?.1)
                    // validate throws what the write throws, and writes nothing either.
                    let checked = expectError(code, "\(comment), validate") { try c.validate(batch) }
                    expectFields(checked, "\(comment), validate", collection: c.name, recordID: named, expected: dims?.0, actual: dims?.1)
                }
            }
            if metric == .cosine {
                let error = expectError(.invalidVector, "a zero vector under cosine") {
                    try c.upsert([Record(id: "x", vector: [0, 0, 0])])
                }
                expectFields(error, "a zero vector under cosine", collection: c.name, recordID: "x")
            } else {
                // A zero vector is a valid vector under dot and l2.
                try c.upsert([Record(id: "zero", vector: [0, 0, 0])])
                #expect(try c.get("zero")?.vector == [0, 0, 0], "\(metric)")
                #expect(try c.delete(ids: ["zero"]) == 1)
            }
            try c.validate([Record(id: "x", vector: [1, 2, 3]), Record(id: "y", vector: [3, 2, 1], metadata: ["k": "v"])])
            // Nothing of the refused batches (or of the validated one) was written.
            #expect(try c.count() == 1, "\(metric)")
            #expect(try c.get(["x", "y"]).allSatisfy { $0 == nil }, "\(metric)")
            #expect(try c.metadata(where: .and([])).keys.sorted() == ["keep"], "\(metric)")
            #expect(try c.search([1, 1, 1], k: 10).map(\.id) == ["keep"], "\(metric)")
        }
    }

    static func unstorableIDsAreAbsent(_ db: any VectorDatabase) throws {
        let c = try db.createCollection("c", dimension: 2, metric: .dot)
        try c.upsert([Record(id: "a", vector: [1, 1])])
        let unstorable = ["", String(repeating: "x", count: 257), String(repeating: "x", count: 1000)]
        for id in unstorable {
            #expect(try c.get([id, "a"]).map { $0?.id } == [nil, "a"], "get \(id.count)-byte id")
            #expect(try c.delete(ids: [id]) == 0, "delete \(id.count)-byte id")
            try c.write(upsert: [], deleting: [id])
        }
        #expect(try c.delete(ids: unstorable + ["a"]) == 1)
        #expect(try c.count() == 0)
    }
}
