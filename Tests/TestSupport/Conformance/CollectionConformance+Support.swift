import Foundation
import Testing
import VectorStore

// Data, a reference twin and the expectations the checks share.
extension CollectionConformance {
    static let langs = ["en", "de", "fr", "ja"]

    /// Record `i` of the seeded corpus: a random vector and metadata of every kind. `lang`,
    /// `year` (int), `weight` (double, negative too), `tags` (a list, sometimes empty) and
    /// `score` (int on even records, double on odd ones) are always present; `draft` (bool)
    /// on two records in three; `rare` (string) on one in seventeen.
    static func corpusRecord(_ i: Int, dimension: Int, _ rng: inout SeededGenerator) -> Record {
        var meta: [String: MetadataValue] = [
            "lang": .string(langs[Int(rng.next() % 4)]),
            "year": .int(Int64(2000 + rng.next() % 25)),
            "weight": .double(Double(Int(rng.next() % 2001) - 1000) / 10),
            "score": i % 2 == 0 ? .int(Int64(i % 10)) : .double(Double(i % 10) + 0.5),
        ]
        let tagCount = Int(rng.next() % 4)
        meta["tags"] = .strings((0..<tagCount).map { _ in "t\(rng.next() % 6)" })
        if i % 3 != 0 { meta["draft"] = .bool(rng.next() % 2 == 0) }
        if i % 17 == 0 { meta["rare"] = "yes" }
        return Record(id: "r\(i)", vector: rng.vector(dimension), text: "text of \(i)", metadata: meta)
    }

    /// Fills `c` with `n` corpus records in batches of 100, then replaces every 11th record
    /// (new vector and metadata) and deletes every 13th, so that searches run over several
    /// batches, replaced rows and deleted ones. Returns the brute-force twin and the
    /// generator, for queries.
    static func populate(_ c: any VectorCollection, n: Int, seed: UInt64) throws -> (BruteForce, SeededGenerator) {
        var rng = SeededGenerator(seed: seed)
        var ref = BruteForce(metric: c.metric)
        var start = 0
        while start < n {
            let batch = (start..<min(n, start + 100)).map { corpusRecord($0, dimension: c.dimension, &rng) }
            try c.upsert(batch)
            ref.upsert(batch)
            start += 100
        }
        let replaced = stride(from: 5, to: n, by: 11).map { corpusRecord($0, dimension: c.dimension, &rng) }
        try c.upsert(replaced)
        ref.upsert(replaced)
        let gone = stride(from: 3, to: n, by: 13).map { "r\($0)" }
        try c.write(upsert: [], deleting: gone)
        ref.delete(gone)
        return (ref, rng)
    }

    /// Hits equal the reference's: the same ids in the same order, scores within
    /// `scoreTolerance`, and the stored text and metadata of each.
    static func expectHits(
        _ hits: [SearchHit], _ expected: [(id: String, score: Double)], _ ref: BruteForce, _ comment: Comment,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(hits.map(\.id) == expected.map(\.id), comment, sourceLocation: sourceLocation)
        for (h, e) in zip(hits, expected) where h.id == e.id {
            #expect(
                abs(Double(h.score) - e.score) <= scoreTolerance, "\(comment): score of \(h.id) is \(h.score), expected \(e.score)",
                sourceLocation: sourceLocation)
            #expect(h.text == ref.records[h.id]?.text, "\(comment): text of \(h.id)", sourceLocation: sourceLocation)
            #expect(h.metadata == ref.records[h.id]?.metadata, "\(comment): metadata of \(h.id)", sourceLocation: sourceLocation)
        }
    }

    /// Two result lists from the backend agree: ids in order, scores within tolerance,
    /// texts and metadata.
    static func expectSameHits(
        _ a: [SearchHit], _ b: [SearchHit], _ comment: Comment, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(a.map(\.id) == b.map(\.id), comment, sourceLocation: sourceLocation)
        for (x, y) in zip(a, b) where x.id == y.id {
            #expect(abs(x.score - y.score) <= Float(scoreTolerance), "\(comment): score of \(x.id)", sourceLocation: sourceLocation)
            #expect(x.text == y.text && x.metadata == y.metadata, "\(comment): record \(x.id)", sourceLocation: sourceLocation)
        }
    }

    /// Runs `body` expecting a `StoreError` with `code`; returns the error.
    @discardableResult
    static func expectError<T>(
        _ code: StoreError.Code, _ comment: Comment, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> T
    ) -> StoreError? {
        do {
            let value = try body()
            Issue.record("\(comment): expected \(code), got \(value)", sourceLocation: sourceLocation)
        } catch let error as StoreError {
            #expect(error.code == code, "\(comment): \(error)", sourceLocation: sourceLocation)
            return error
        } catch {
            Issue.record("\(comment): expected a StoreError \(code), got \(error)", sourceLocation: sourceLocation)
        }
        return nil
    }

    /// Runs async `body` expecting a `StoreError` with `code`; returns the error.
    @discardableResult
    static func expectError<T>(
        _ code: StoreError.Code, _ comment: Comment, sourceLocation: SourceLocation = #_sourceLocation,
        _ body: () async throws -> T
    ) async -> StoreError? {
        do {
            let value = try await body()
            Issue.record("\(comment): expected \(code), got \(value)", sourceLocation: sourceLocation)
        } catch let error as StoreError {
            #expect(error.code == code, "\(comment): \(error)", sourceLocation: sourceLocation)
            return error
        } catch {
            Issue.record("\(comment): expected a StoreError \(code), got \(error)", sourceLocation: sourceLocation)
        }
        return nil
    }

    /// The typed fields of `error` that are given here hold these values (fields left nil
    /// are not checked).
    static func expectFields(
        _ error: StoreError?, _ comment: Comment, input: String? = nil, collection: String? = nil, recordID: String? = nil,
        expected: String? = nil, actual: String? = nil, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        guard let error else { return }
        let fields: [(String, String?, String?)] = [
            ("input", input, error.input), ("collection", collection, error.collection), ("recordID", recordID, error.recordID),
            ("expected", expected, error.expected), ("actual", actual, error.actual),
        ]
        for (name, want, got) in fields where want != nil {
            #expect(
                got == want, "\(comment): \(name) is \(got ?? "nil"), expected \(want ?? "nil") in \(error)", sourceLocation: sourceLocation
            )
        }
    }

    /// The unit vector of `v`.
    static func unit(_ v: [Float]) -> [Float] {
        let norm = v.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
        return v.map { Float(Double($0) / norm) }
    }

    /// Vectors equal within `tolerance` per component.
    static func close(_ a: [Float], _ b: [Float], tolerance: Float = 1e-6) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tolerance }
    }
}
