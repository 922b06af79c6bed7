import Foundation
import HTTP
import VectorStore

/// Names the model that produced a set of vectors: provider, model and dimension.
/// A collection records it so vectors of different models are never mixed.
public struct EmbedderIdentifier: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The provider, e.g. `hash`, `openai`, `ollama`, `local`.
    public var provider: String
    /// The model name as the provider spells it.
    public var model: String
    /// The vectors' dimension.
    public var dimension: Int

    /// Creates an identifier.
    public init(provider: String, model: String, dimension: Int) {
        self.provider = provider
        self.model = model
        self.dimension = dimension
    }

    /// Parses `provider/model/dimension` (the model may contain slashes).
    public init?(_ text: String) {
        guard let first = text.firstIndex(of: "/"), let last = text.lastIndex(of: "/"), first < last,
            let dimension = Int(text[text.index(after: last)...]), dimension > 0
        else { return nil }
        provider = String(text[..<first])
        model = String(text[text.index(after: first)..<last])
        self.dimension = dimension
    }

    /// `provider/model/dimension`.
    public var description: String { "\(provider)/\(model)/\(dimension)" }
}

/// Limits of one embedding request.
public struct EmbedderLimits: Sendable, Hashable {
    /// Most texts one request may carry (2048 for OpenAI).
    public var maxInputsPerRequest: Int
    /// Most UTF-8 bytes of text one request should carry, if the provider has a budget.
    public var maxBytesPerRequest: Int?

    /// Creates limits.
    public init(maxInputsPerRequest: Int, maxBytesPerRequest: Int? = nil) {
        self.maxInputsPerRequest = maxInputsPerRequest
        self.maxBytesPerRequest = maxBytesPerRequest
    }
}

/// Turns texts into vectors. Every embedder has an `async` form and a synchronous form
/// of `embed`; the synchronous one does its work on the calling thread (or threads Quiver
/// owns) and is safe from any thread or task, many at once.
public protocol Embedder: Sendable {
    /// Provider, model and dimension.
    var identifier: EmbedderIdentifier { get }
    /// What a collection records to rebuild it: the identifier, and where a server-backed
    /// embedder runs (never a key). Default: the identifier alone.
    var record: EmbedderRecord { get }
    /// Limits of one request.
    var limits: EmbedderLimits { get }
    /// One vector per text, in input order.
    func embed(_ texts: [String]) async throws -> [[Float]]
    /// One vector per text, in input order, computed or fetched on the calling thread.
    func embed(_ texts: [String]) throws -> [[Float]]
}

/// An embedder that calls a server through a `ResilientCaller`; the batch embedder
/// watches it for rate limiting.
public protocol HTTPBackedEmbedder: Embedder {
    /// The caller (retries, circuit breaker) its requests go through.
    var caller: ResilientCaller { get }
}

extension Embedder {
    /// The vectors' dimension.
    public var dimension: Int { identifier.dimension }
    /// The identifier alone: an embedder that runs in-process needs nothing else.
    public var record: EmbedderRecord { EmbedderRecord(identifier: identifier) }
}

extension Store {
    /// The configuration key under which a collection records its embedder
    /// (`EmbedderRecord.identifierKey`).
    public static let embedderKey = EmbedderRecord.identifierKey
    /// The configuration key under which a collection records where its server-backed
    /// embedder ran (`EmbedderRecord.baseURLKey`).
    public static let embedderBaseURLKey = EmbedderRecord.baseURLKey
    /// The configuration key recording that an OpenAI embedder asked for shortened
    /// vectors (`EmbedderRecord.sendsDimensionsKey`).
    public static let embedderSendsDimensionsKey = EmbedderRecord.sendsDimensionsKey
}

extension VectorDatabase {
    /// Opens or creates the collection for vectors of `embedder`; a collection built
    /// with another embedder (or dimension) is refused (`EmbedderRecord.check`). A new
    /// collection records the embedder's `record`, so that `recordedEmbedder()` can rebuild
    /// it (never a key), and gets a keyword (BM25) index made by `keywordAnalyzer` (nil:
    /// none), which also indexes the metadata fields `keywordFields` with each chunk's
    /// text (by default the document's title, which only a document's first chunk holds in
    /// its text). An existing collection whose keyword index was made by another analyzer
    /// is refused; one without a keyword index is opened as it is (build one with
    /// `Store.buildKeywordIndex`), and an existing index keeps the fields it was made with.
    ///
    /// - Throws: `QuiverError.embedderMismatch` naming the collection, what it holds
    ///   (`expected`) and the embedder given (`actual`); `.collectionExists` for another
    ///   metric or analyzer; or the store's errors.
    public func openOrCreateCollection(
        _ name: String, for embedder: some Embedder, metric: Metric = .cosine, keywordAnalyzer: AnalyzerSettings? = .english,
        keywordFields: [String] = [ChunkSchema.Key.title], encoding: VectorEncoding? = nil
    ) throws -> CollectionType {
        do {
            let existing = try collection(name)
            try EmbedderRecord.check(embedder, against: existing.info, requireRecord: true)
            guard existing.info.metric == metric else {
                throw QuiverError(
                    .collectionExists, "collection \"\(name)\" uses metric \(existing.info.metric.rawValue), not \(metric.rawValue)",
                    input: "metric", collection: name, expected: existing.info.metric.rawValue, actual: metric.rawValue)
            }
            if let encoding, existing.info.encoding != encoding {
                throw QuiverError(
                    .collectionExists,
                    "collection \"\(name)\" stores \(existing.info.encoding.rawValue) vectors, not \(encoding.rawValue)",
                    input: "encoding", collection: name, expected: existing.info.encoding.rawValue, actual: encoding.rawValue)
            }
            let recorded = existing.info.configuration[KeywordIndexSettings.configurationKey]
            if let keywordAnalyzer, let recorded, recorded != keywordAnalyzer.identifier {
                throw QuiverError(
                    .collectionExists,
                    "collection \"\(name)\" has a keyword index made by analyzer \"\(recorded)\", not \"\(keywordAnalyzer.identifier)\"; "
                        + "use that analyzer, or rebuild the index with `quiver reindex --keyword`",
                    input: KeywordIndexSettings.configurationKey, collection: name, expected: recorded,
                    actual: keywordAnalyzer.identifier)
            }
            // The same embedder served from another address: the record follows, so a
            // mistyped first --base-url does not stay pinned.
            let key = EmbedderRecord.baseURLKey
            if let url = embedder.record.baseURL, existing.info.configuration[key] != url {
                try updateConfiguration(of: name, [key: url])
                return try collection(name)
            }
            return existing
        } catch let error as QuiverError where error.code == .collectionNotFound {
            do {
                var settings = CollectionSettings(
                    dimension: embedder.dimension, metric: metric, encoding: encoding ?? .float32,
                    configuration: embedder.record.configuration)
                settings.keywordAnalyzer = keywordAnalyzer
                if keywordAnalyzer != nil { settings.keywordFields = keywordFields }
                return try createCollection(name, settings: settings)
            } catch let error as QuiverError where error.code == .collectionExists {
                // Created meanwhile by someone else: checked like any existing one.
                return try openOrCreateCollection(
                    name, for: embedder, metric: metric, keywordAnalyzer: keywordAnalyzer, keywordFields: keywordFields,
                    encoding: encoding)
            }
        }
    }

    /// Opens or creates the collection for vectors of `embedder`, off the cooperative pool.
    public func openOrCreateCollection(
        _ name: String, for embedder: some Embedder, metric: Metric = .cosine, keywordAnalyzer: AnalyzerSettings? = .english,
        keywordFields: [String] = [ChunkSchema.Key.title], encoding: VectorEncoding? = nil
    ) async throws -> CollectionType {
        try await BlockingExecutor.shared.run {
            try self.openOrCreateCollection(
                name, for: embedder, metric: metric, keywordAnalyzer: keywordAnalyzer, keywordFields: keywordFields, encoding: encoding)
        }
    }
}

extension VectorCollection {
    /// The embedder this collection was built with, rebuilt by `registry` from what it
    /// recorded (see `EmbedderRegistry.standard` for how keys and model folders are found);
    /// with `baseURL`, served from there instead of the recorded address.
    ///
    /// ```swift
    /// let docs = try store.collection("docs")
    /// let retriever = try Retriever(collection: docs, embedder: docs.recordedEmbedder())
    /// ```
    ///
    /// - Throws: `QuiverError.embedderMismatch` when nothing (or an unknown embedder) is
    ///   recorded, `modelNotFound` for a missing local model, or the embedder's own errors.
    public func recordedEmbedder(
        modelDirectory: String? = nil, baseURL: String? = nil, registry: EmbedderRegistry = .standard
    ) throws -> any Embedder {
        try registry.rebuild(for: info, context: EmbedderRegistry.Context(modelDirectory: modelDirectory, baseURL: baseURL))
    }

    /// The embedder this collection was built with, rebuilt off the cooperative pool (a
    /// local model is loaded from disk).
    public func recordedEmbedder(
        modelDirectory: String? = nil, baseURL: String? = nil, registry: EmbedderRegistry = .standard
    ) async throws -> any Embedder {
        try await registry.rebuild(for: info, context: EmbedderRegistry.Context(modelDirectory: modelDirectory, baseURL: baseURL))
    }
}
