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
}

extension Store {
    /// The configuration key under which a collection records its embedder.
    public static let embedderKey = "embedder"
    /// The configuration key under which a collection records where its server-backed
    /// embedder ran (without credentials or query string).
    public static let embedderBaseURLKey = "embedder_base_url"
    /// The configuration key recording that an OpenAI embedder asked for shortened
    /// vectors (`dimensions`).
    public static let embedderSendsDimensionsKey = "embedder_sends_dimensions"
}

extension VectorDatabase {
    /// Opens or creates the collection for vectors of `embedder`; a collection built
    /// with another embedder (or dimension) is refused with a message naming both. A new
    /// collection also records where a server-backed embedder runs, so that
    /// `Collection.recordedEmbedder()` can rebuild it (never the key).
    ///
    /// - Throws: `IngestError.embedderMismatch`, or the store's errors.
    public func openOrCreateCollection(_ name: String, for embedder: some Embedder, metric: Metric = .cosine) throws
        -> CollectionType
    {
        // An existing collection is checked on the embedder alone; where the embedder
        // runs is recorded when the collection is created, and may change later.
        let identity = [Store.embedderKey: embedder.identifier.description]
        var creation = identity
        if let e = embedder as? OpenAIEmbedder {
            creation[Store.embedderBaseURLKey] = HTTPError.redact(e.baseURL)
            if e.sendDimensions { creation[Store.embedderSendsDimensionsKey] = "true" }
        } else if let e = embedder as? OllamaEmbedder {
            creation[Store.embedderBaseURLKey] = HTTPError.redact(e.host)
        }
        do {
            if (try? collection(name)) == nil {
                do {
                    return try openOrCreateCollection(name, dimension: embedder.dimension, metric: metric, configuration: creation)
                } catch let error as StoreError where error.code == .collectionExists {
                    // Created meanwhile by someone else: checked below like any existing one.
                }
            }
            return try openOrCreateCollection(name, dimension: embedder.dimension, metric: metric, configuration: identity)
        } catch let error as StoreError where error.code == .collectionExists {
            let existing = try? collection(name).info.configuration[Store.embedderKey]
            throw IngestError(
                .embedderMismatch,
                "collection \"\(name)\" holds vectors of \(existing ?? "another embedder"), not \(embedder.identifier): "
                    + "use the same embedder, or another collection (\(error.message))")
        }
    }
}

extension VectorCollection {
    /// The embedder this collection was built with, rebuilt from what it recorded: the
    /// provider, model and dimension, and for server-backed embedders the base URL. The
    /// API key comes from the environment, and only when the recorded URL is OpenAI's or
    /// `$OPENAI_BASE_URL`; for any other server, set `OPENAI_BASE_URL` to it to send the key. The local model is loaded from
    /// `modelDirectory`, else `$QUIVER_MODEL_DIR` or the setup cache.
    ///
    /// ```swift
    /// let docs = try store.collection("docs")
    /// let retriever = try Retriever(collection: docs, embedder: docs.recordedEmbedder())
    /// ```
    ///
    /// - Throws: `IngestError.embedderMismatch` when nothing (or an unknown embedder) is
    ///   recorded, `modelNotFound` for a missing local model, or the embedder's own
    ///   errors.
    public func recordedEmbedder(modelDirectory: String? = nil) throws -> any Embedder {
        guard let text = info.configuration[Store.embedderKey], let id = EmbedderIdentifier(text) else {
            throw IngestError(.embedderMismatch, "collection \"\(name)\" does not record its embedder")
        }
        let base = info.configuration[Store.embedderBaseURLKey]
        let rebuilt: any Embedder
        switch id.provider {
        case "hash": rebuilt = HashingEmbedder(dimension: id.dimension)
        case "local": rebuilt = try LocalEmbedder(directory: modelDirectory)
        case "openai":
            // The environment's key goes only to OpenAI itself or to $OPENAI_BASE_URL: a
            // store file from elsewhere must not be able to collect it.
            let env = ProcessInfo.processInfo.environment["OPENAI_BASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
            func normalized(_ url: String) -> String { HTTPError.redact(url.hasSuffix("/") ? String(url.dropLast()) : url) }
            let trusted = base.map { b in b == "https://api.openai.com/v1" || env.map(normalized) == normalized(b) } ?? true
            rebuilt = try OpenAIEmbedder(
                model: id.model, dimension: id.dimension, baseURL: base, apiKey: trusted ? nil : Secret(""),
                sendDimensions: info.configuration[Store.embedderSendsDimensionsKey] == "true")
        case "ollama": rebuilt = try OllamaEmbedder(model: id.model, dimension: id.dimension, host: base)
        default:
            throw IngestError(.embedderMismatch, "collection \"\(name)\" was built with \(id), which this version cannot rebuild")
        }
        guard rebuilt.identifier == id else {
            throw IngestError(
                .embedderMismatch, "collection \"\(name)\" was built with \(id), but the rebuilt embedder is \(rebuilt.identifier)")
        }
        return rebuilt
    }
}
