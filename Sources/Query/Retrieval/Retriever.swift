import Foundation

/// How many chunks to retrieve and how to choose among them.
public struct RetrievalOptions: Sendable {
    /// Chunks to return per question.
    public var k: Int
    /// Only records whose metadata matches.
    public var filter: Filter?
    /// Drop hits scoring below this (cosine / dot; above it for `.l2`, a distance).
    public var minScore: Float?
    /// Maximal marginal relevance: `nil` ranks by score alone; a λ in 0…1 trades
    /// relevance (1) against diversity (0) over a larger candidate pool.
    public var mmrLambda: Float?
    /// Drop a chunk whose document already has a higher-ranked chunk with (nearly) the
    /// same text: equal after collapsing whitespace, contained in it, or overlapping it
    /// by more than half (the overlap regions of consecutive chunks).
    public var dropNearDuplicates: Bool
    /// Candidates fetched before deduplication and MMR; default `max(4k, 20)` with MMR,
    /// `2k + 4` otherwise.
    public var candidates: Int?
    /// Dense, keyword or hybrid retrieval; nil: ``SearchMode/preferred`` when the
    /// collection has a keyword index, dense otherwise. `minScore` compares the mode's own
    /// score (a similarity, BM25, or a fused score).
    public var mode: SearchMode?
    /// How hybrid retrieval fuses its two rankings.
    public var fusion: Fusion

    /// Creates options.
    public init(
        k: Int = 4, filter: Filter? = nil, minScore: Float? = nil, mmrLambda: Float? = nil, dropNearDuplicates: Bool = true,
        candidates: Int? = nil, mode: SearchMode? = nil, fusion: Fusion = .default
    ) {
        self.k = k
        self.filter = filter
        self.minScore = minScore
        self.mmrLambda = mmrLambda
        self.dropNearDuplicates = dropNearDuplicates
        self.candidates = candidates
        self.mode = mode
        self.fusion = fusion
    }

    /// The mode a search of `collection` runs: `mode`, or the preferred one the collection
    /// supports.
    public func resolvedMode(for collection: CollectionInfo) -> SearchMode {
        if let mode { return mode }
        return collection.keywordAnalyzer == nil ? .dense : SearchMode.preferred
    }

    /// Candidates a search fetches before threshold, deduplication and MMR cut them to
    /// `k`.
    public var candidatePool: Int { pool }

    var pool: Int {
        // Saturating: k is the caller's (a CLI's -k 9223372036854775807 must not trap);
        // a search returns at most what the collection holds anyway.
        func times(_ a: Int, _ b: Int) -> Int {
            let (r, overflow) = a.multipliedReportingOverflow(by: b)
            return overflow ? Int.max : r
        }
        func plus(_ a: Int, _ b: Int) -> Int {
            let (r, overflow) = a.addingReportingOverflow(b)
            return overflow ? Int.max : r
        }
        if let candidates { return max(candidates, k) }
        if mmrLambda != nil { return max(times(4, k), 20) }
        return dropNearDuplicates || minScore != nil ? plus(times(2, k), 4) : k
    }

    func validate() throws {
        guard k > 0 else { throw QueryError(.invalidArgument, "k must be positive, got \(k)") }
        if let l = mmrLambda, !(0...1).contains(l) {
            throw QueryError(.invalidArgument, "the MMR λ must be between 0 and 1, got \(l)")
        }
    }
}

/// A chunk found for a question.
public struct RetrievedChunk: Sendable, Hashable {
    /// The record id (`<document>#<n>` for ingested chunks).
    public var id: String
    /// The search score (cosine or dot: higher is better; L2: a distance).
    public var score: Float
    /// The chunk text.
    public var text: String
    /// The record's metadata.
    public var metadata: [String: MetadataValue]

    /// Creates a chunk.
    public init(id: String, score: Float, text: String, metadata: [String: MetadataValue]) {
        self.id = id
        self.score = score
        self.text = text
        self.metadata = metadata
    }

    init(_ hit: SearchHit) { self.init(id: hit.id, score: hit.score, text: hit.text, metadata: hit.metadata) }

    /// The document it came from: metadata `doc`, else the id up to its last `#`.
    public var document: String {
        if case .string(let d)? = metadata[ChunkSchema.Key.document] { return d }
        return ChunkSchema.document(ofRecordID: id)
    }

    /// Where it came from, for citations: metadata `source`, else the document.
    public var source: String {
        if case .string(let s)? = metadata[ChunkSchema.Key.source] { return s }
        return document
    }

    /// Where in the source: its page, slide, sheet or chapter (`p. 12`) followed by the
    /// heading path when known (`p. 12, Results › Tides`); else the heading path, else the
    /// chunk's byte range.
    public var location: String? { Self.location(metadata) }

    /// Its page, slide, sheet or chapter (`p. 12`, `slide 4`), when its format has them.
    public var position: String? { ChunkSchema.position(metadata) }

    /// How a citation names it: `report.pdf p. 12`, `guide.md — Setup › Linux`.
    public var reference: String { Self.reference(source: source, metadata: metadata) }

    static func location(_ metadata: [String: MetadataValue]) -> String? {
        var headings: String?
        if case .strings(let path)? = metadata[ChunkSchema.Key.headings], !path.isEmpty {
            headings = path.joined(separator: " › ")
        } else if case .string(let h)? = metadata[ChunkSchema.Key.heading] {
            headings = h
        }
        if let position = ChunkSchema.position(metadata) { return headings.map { "\(position), \($0)" } ?? position }
        if let headings { return headings }
        if case .int(let s)? = metadata[ChunkSchema.Key.start], case .int(let e)? = metadata[ChunkSchema.Key.end] {
            return "bytes \(s)–\(e)"
        }
        return nil
    }

    static func reference(source: String, metadata: [String: MetadataValue]) -> String {
        guard let location = location(metadata) else { return source }
        return ChunkSchema.position(metadata) != nil ? "\(source) \(location)" : "\(source) — \(location)"
    }

    var byteRange: Range<Int64>? {
        if case .int(let s)? = metadata[ChunkSchema.Key.start], case .int(let e)? = metadata[ChunkSchema.Key.end], s < e { return s..<e }
        return nil
    }
}

/// Finds the chunks of a collection that answer a question, embedding the question with
/// the collection's own embedder.
///
/// ```swift
/// let retriever = try Retriever(collection: docs, embedder: embedder)
/// let chunks = try await retriever.retrieve("How tall is the lighthouse?", options: .init(k: 5))
/// let many = try await retriever.retrieve(batch: questions)  // one embedding call, one batched search
/// ```
public struct Retriever: Sendable {
    /// The collection searched.
    public let collection: any VectorCollection
    /// The embedder of questions: the one the collection was built with.
    public let embedder: any Embedder
    /// Options used when a call gives none.
    public var options: RetrievalOptions

    /// Creates a retriever.
    ///
    /// - Throws: `QueryError.embedderMismatch` when the collection records another
    ///   embedder, or its dimension differs from the embedder's.
    public init(collection: any VectorCollection, embedder: any Embedder, options: RetrievalOptions = RetrievalOptions()) throws {
        try EmbedderRecord.check(embedder, against: collection.info)
        self.collection = collection
        self.embedder = embedder
        self.options = options
    }

    /// Creates a retriever that embeds questions with the embedder the collection
    /// recorded (see `VectorCollection.recordedEmbedder`).
    ///
    /// - Throws: `IngestError` when the embedder cannot be rebuilt.
    public init(collection: any VectorCollection, options: RetrievalOptions = RetrievalOptions(), modelDirectory: String? = nil) throws {
        try self.init(collection: collection, embedder: collection.recordedEmbedder(modelDirectory: modelDirectory), options: options)
    }

    /// The chunks for one question.
    public func retrieve(_ question: String, options: RetrievalOptions? = nil) async throws -> [RetrievedChunk] {
        try await retrieve(batch: [question], options: options)[0]
    }

    /// The chunks for one question, on the calling thread.
    public func retrieve(_ question: String, options: RetrievalOptions? = nil) throws -> [RetrievedChunk] {
        try retrieve(batch: [question], options: options)[0]
    }

    /// The chunks for each question, in input order: the questions are embedded in one
    /// call (unless the mode is `.keyword`) and searched in one batched search.
    public func retrieve(batch questions: [String], options: RetrievalOptions? = nil) async throws -> [[RetrievedChunk]] {
        let o = options ?? self.options
        try o.validate()
        guard !questions.isEmpty else { return [] }
        let mode = o.resolvedMode(for: collection.info)
        let vectors =
            mode == .keyword ? [] : try Self.checked(await embedder.embed(questions), count: questions.count, embedder.identifier)
        let response = try await collection.search(request(questions, vectors, mode, o))
        return try await choose(response.hits, vectors: vectors, o)
    }

    /// The search a retrieval runs.
    func request(_ questions: [String], _ vectors: [[Float]], _ mode: SearchMode, _ o: RetrievalOptions) -> SearchRequest {
        mode == .dense
            ? SearchRequest(queries: vectors, k: o.pool, filter: o.filter)
            : SearchRequest(texts: questions, vectors: vectors, k: o.pool, filter: o.filter, mode: mode, fusion: o.fusion)
    }

    private func choose(_ hits: [[SearchHit]], vectors: [[Float]], _ o: RetrievalOptions) async throws -> [[RetrievedChunk]] {
        let ids = Self.needingVectors(hits, o)
        let records = ids.isEmpty ? [:] : Self.vectorsByID(ids, try await collection.get(ids))
        return hits.enumerated().map { i, h in choose(h, query: i < vectors.count ? vectors[i] : nil, vectors: records, o) }
    }

    private func choose(_ hits: [[SearchHit]], vectors: [[Float]], _ o: RetrievalOptions) throws -> [[RetrievedChunk]] {
        let ids = Self.needingVectors(hits, o)
        let records = ids.isEmpty ? [:] : Self.vectorsByID(ids, try collection.get(ids))
        return hits.enumerated().map { i, h in choose(h, query: i < vectors.count ? vectors[i] : nil, vectors: records, o) }
    }

    /// The chunks for each query vector (already embedded with `embedder`), in input
    /// order, searched off the cooperative pool. Without the questions' texts this is a
    /// dense search whatever the options' mode; `retrieve(vectors:questions:)` keeps the mode.
    public func retrieve(vectors: [[Float]], options: RetrievalOptions? = nil) async throws -> [[RetrievedChunk]] {
        let o = options ?? self.options
        try o.validate()
        let response = try await collection.search(request([], vectors, .dense, o))
        return try await choose(response.hits, vectors: vectors, o)
    }

    /// The chunks for questions already embedded with `embedder` (`vectors`, one per
    /// question), in the options' mode, searched off the cooperative pool.
    public func retrieve(vectors: [[Float]], questions: [String], options: RetrievalOptions? = nil) async throws
        -> [[RetrievedChunk]]
    {
        let o = options ?? self.options
        try o.validate()
        let mode = o.resolvedMode(for: collection.info)
        let response = try await collection.search(request(questions, mode == .keyword ? [] : vectors, mode, o))
        return try await choose(response.hits, vectors: vectors, o)
    }

    /// The chunks for each question, in input order, on the calling thread.
    public func retrieve(batch questions: [String], options: RetrievalOptions? = nil) throws -> [[RetrievedChunk]] {
        let o = options ?? self.options
        try o.validate()
        guard !questions.isEmpty else { return [] }
        let mode = o.resolvedMode(for: collection.info)
        let vectors = mode == .keyword ? [] : try Self.checked(embedder.embed(questions), count: questions.count, embedder.identifier)
        let response = try collection.search(request(questions, vectors, mode, o))
        return try choose(response.hits, vectors: vectors, o)
    }

    /// The chunks for each query vector (already embedded with `embedder`), in input
    /// order: a dense search (see the async form).
    public func retrieve(vectors: [[Float]], options: RetrievalOptions? = nil) throws -> [[RetrievedChunk]] {
        let o = options ?? self.options
        try o.validate()
        let response = try collection.search(request([], vectors, .dense, o))
        return try choose(response.hits, vectors: vectors, o)
    }

    /// The chunks for questions already embedded (`vectors`), in the options' mode, on the
    /// calling thread.
    public func retrieve(vectors: [[Float]], questions: [String], options: RetrievalOptions? = nil) throws -> [[RetrievedChunk]] {
        let o = options ?? self.options
        try o.validate()
        let mode = o.resolvedMode(for: collection.info)
        let response = try collection.search(request(questions, mode == .keyword ? [] : vectors, mode, o))
        return try choose(response.hits, vectors: vectors, o)
    }

    /// `vectors` if there is one per input, else an error naming the embedder.
    static func checked(_ vectors: [[Float]], count: Int, _ embedder: EmbedderIdentifier) throws -> [[Float]] {
        guard vectors.count == count else {
            throw QueryError(.badResponse, "\(embedder) returned \(vectors.count) vectors for \(count) texts")
        }
        return vectors
    }

    /// The hits whose vectors MMR compares (none without MMR).
    private static func needingVectors(_ hits: [[SearchHit]], _ o: RetrievalOptions) -> [String] {
        o.mmrLambda == nil ? [] : Array(Set(hits.flatMap { $0.map(\.id) }))
    }

    private static func vectorsByID(_ ids: [String], _ records: [Record?]) -> [String: [Float]] {
        Dictionary(uniqueKeysWithValues: zip(ids, records).compactMap { id, r in r.map { (id, $0.vector) } })
    }

    /// Threshold, near-duplicates, then MMR or rank order, cut to k.
    func choose(_ hits: [SearchHit], query: [Float]?, vectors: [String: [Float]], _ o: RetrievalOptions) -> [RetrievedChunk] {
        var pool = hits.map(RetrievedChunk.init)
        if let min = o.minScore {
            // Only a dense L2 score is a distance.
            let distance = collection.metric == .l2 && o.resolvedMode(for: collection.info) == .dense
            pool = pool.filter { distance ? $0.score <= min : $0.score >= min }
        }
        if o.dropNearDuplicates { pool = Self.dropNearDuplicates(pool) }
        // MMR needs the query's vector: not in keyword mode.
        guard let lambda = o.mmrLambda, let query, pool.count > 1 else { return Array(pool.prefix(o.k)) }
        return Self.maximalMarginalRelevance(pool, query: query, vectors: vectors, lambda: lambda, k: o.k)
    }

    /// Keeps the first (best) of chunks of one document whose texts nearly coincide. Texts
    /// are compared (whitespace collapsed) only between chunks of the same document.
    static func dropNearDuplicates(_ chunks: [RetrievedChunk]) -> [RetrievedChunk] {
        var kept: [(chunk: RetrievedChunk, document: String, text: NormalizedText?)] = []
        for c in chunks {
            let document = c.document
            var text: NormalizedText?
            var duplicate = false
            for k in kept.indices where kept[k].document == document {
                if let a = kept[k].chunk.byteRange, let b = c.byteRange {
                    let overlap = max(0, min(a.upperBound, b.upperBound) - max(a.lowerBound, b.lowerBound))
                    if overlap * 2 > min(a.count, b.count) {
                        duplicate = true
                        break
                    }
                }
                let mine = text ?? NormalizedText(c.text)
                text = mine
                let theirs = kept[k].text ?? NormalizedText(kept[k].chunk.text)
                kept[k].text = theirs
                if theirs.text == mine.text || (!mine.text.isEmpty && (theirs.contains(mine) || mine.contains(theirs))) {
                    duplicate = true
                    break
                }
            }
            if !duplicate { kept.append((c, document, text)) }
        }
        return kept.map(\.chunk)
    }

    /// A chunk's text with each run of white space made one space and none at the ends,
    /// as `split(whereSeparator: \.isWhitespace).joined(separator: " ")` makes it; ASCII
    /// texts (most) are collapsed and searched byte by byte: a long document's chunks are
    /// all compared with each other, and Character-wise splitting and Foundation's search
    /// took 7 ms a question at k = 100.
    struct NormalizedText {
        let text: String
        let ascii: Bool

        init(_ raw: String) {
            guard raw.utf8.allSatisfy({ $0 < 0x80 }) else {
                text = raw.split(whereSeparator: \.isWhitespace).joined(separator: " ")
                ascii = false
                return
            }
            var out: [UInt8] = []
            out.reserveCapacity(raw.utf8.count)
            var space = false
            for b in raw.utf8 {
                // ASCII's white space (Unicode White_Space): tab, line feed, vertical tab,
                // form feed, carriage return, space.
                if b == 0x20 || (0x09...0x0D).contains(b) {
                    space = !out.isEmpty
                    continue
                }
                if space { out.append(0x20) }
                space = false
                out.append(b)
            }
            text = String(decoding: out, as: UTF8.self)
            ascii = true
        }

        /// Whether `other` (not empty) occurs in this text as a run of whole characters;
        /// between ASCII texts a byte search, which agrees with that. Not Foundation's
        /// `contains`: on Linux it stops the process ("String index is out of bounds") for
        /// some texts with a NUL, e.g. "lamp 灯台" searched for "lamp 灯台\0".
        func contains(_ other: NormalizedText) -> Bool {
            guard !other.text.isEmpty else { return false }
            guard ascii && other.ascii else { return text.firstRange(of: other.text) != nil }
            let found = text.utf8.withContiguousStorageIfAvailable { h in
                other.text.utf8.withContiguousStorageIfAvailable { n in Self.occurs(n, in: h) }
            }
            return (found ?? nil) ?? (text.firstRange(of: other.text) != nil)
        }

        /// Whether the bytes `n` (not empty) occur in `h`: memchr for the first byte, then
        /// memcmp.
        static func occurs(_ n: UnsafeBufferPointer<UInt8>, in h: UnsafeBufferPointer<UInt8>) -> Bool {
            guard let nb = n.baseAddress, let hb = h.baseAddress, !n.isEmpty, n.count <= h.count else { return false }
            let last = h.count - n.count
            var i = 0
            while i <= last {
                guard let p = memchr(hb + i, Int32(nb[0]), last - i + 1) else { return false }
                let at = UnsafeRawPointer(p) - UnsafeRawPointer(hb)
                if memcmp(hb + at, nb, n.count) == 0 { return true }
                i = at + 1
            }
            return false
        }
    }

    /// Greedy MMR: each pick maximizes λ·sim(query) − (1−λ)·max sim(picked).
    static func maximalMarginalRelevance(
        _ pool: [RetrievedChunk], query: [Float], vectors: [String: [Float]], lambda: Float, k: Int
    ) -> [RetrievedChunk] {
        let q = unit(query)
        let units = pool.map { vectors[$0.id].map(unit) }
        let relevance = units.map { $0.map { dot($0, q) } ?? 0 }
        var picked: [Int] = []
        var remaining = Array(pool.indices)
        while picked.count < k, !remaining.isEmpty {
            var best = remaining[0]
            var bestValue = -Float.infinity
            for i in remaining {
                var redundancy: Float = 0
                if let u = units[i] {
                    for j in picked { if let v = units[j] { redundancy = max(redundancy, dot(u, v)) } }
                }
                let value = lambda * relevance[i] - (1 - lambda) * redundancy
                if value > bestValue {
                    bestValue = value
                    best = i
                }
            }
            picked.append(best)
            remaining.removeAll { $0 == best }
        }
        return picked.map { pool[$0] }
    }

    static func unit(_ v: [Float]) -> [Float] {
        let n = dot(v, v).squareRoot()
        return n > 0 ? v.map { $0 / n } : v
    }

    static func dot(_ a: [Float], _ b: [Float]) -> Float {
        var s: Float = 0
        for i in 0..<min(a.count, b.count) { s += a[i] * b[i] }
        return s
    }
}

extension Retriever {
    /// The search `question` runs with `options` (the retriever's own when nil), and the
    /// plan that ran: for `--verbose`, the console's `:explain` and tuning. Fetches the
    /// candidate pool, before thresholds, deduplication and MMR.
    public func explain(_ question: String, options: RetrievalOptions? = nil) async throws -> SearchResponse {
        let o = options ?? self.options
        try o.validate()
        let mode = o.resolvedMode(for: collection.info)
        let vectors = mode == .keyword ? [] : try Self.checked(await embedder.embed([question]), count: 1, embedder.identifier)
        return try await collection.search(request([question], vectors, mode, o))
    }

    /// The search `question` runs, and its plan, on the calling thread.
    public func explain(_ question: String, options: RetrievalOptions? = nil) throws -> SearchResponse {
        let o = options ?? self.options
        try o.validate()
        let mode = o.resolvedMode(for: collection.info)
        let vectors = mode == .keyword ? [] : try Self.checked(embedder.embed([question]), count: 1, embedder.identifier)
        return try collection.search(request([question], vectors, mode, o))
    }
}
