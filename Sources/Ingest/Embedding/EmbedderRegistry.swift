import Foundation
import HTTP
import VectorStore

/// Rebuilds a collection's embedder from what it recorded, one builder per provider:
/// `local`, `hash`, `openai` and `ollama` in `standard`; an application registers its own.
///
/// ```swift
/// var registry = EmbedderRegistry.standard
/// registry.register("acme") { record, _ in try AcmeEmbedder(model: record.identifier.model) }
/// let embedder = try registry.rebuild(for: docs.info)
/// ```
public struct EmbedderRegistry: Sendable {
    /// What a builder may need beyond the record.
    public struct Context: Sendable {
        /// The local model's folder (default: `$QUIVER_MODEL_DIR`, else the setup cache).
        public var modelDirectory: String?
        /// A server to use instead of the one recorded (the same embedder served from
        /// elsewhere, or a recorded address that was wrong). Given by the caller, so an
        /// OpenAI key from the environment is sent to it.
        public var baseURL: String?

        /// Creates a context.
        public init(modelDirectory: String? = nil, baseURL: String? = nil) {
            self.modelDirectory = modelDirectory
            self.baseURL = baseURL
        }
    }

    /// Makes an embedder from a record.
    public typealias Builder = @Sendable (EmbedderRecord, Context) throws -> any Embedder

    private var builders: [String: Builder]

    /// A registry with no providers.
    public init() { builders = [:] }

    /// The providers Quiver ships.
    public static let standard: EmbedderRegistry = {
        var r = EmbedderRegistry()
        r.register("hash") { record, _ in
            // A store file is input: its dimension is checked, never trusted.
            try HashingEmbedder.validate(dimension: record.identifier.dimension)
            return HashingEmbedder(dimension: record.identifier.dimension)
        }
        r.register("local") { _, context in try LocalEmbedder(directory: context.modelDirectory) }
        r.register("openai") { record, context in
            // The environment's key goes only to OpenAI itself, to $OPENAI_BASE_URL, or to
            // a server the caller named: a store file from elsewhere must not collect it.
            if let override = context.baseURL {
                return try OpenAIEmbedder(
                    model: record.identifier.model, dimension: record.identifier.dimension, baseURL: override,
                    sendDimensions: record.options[EmbedderRecord.sendsDimensionsKey] == "true")
            }
            let base = record.baseURL
            let trusted = base.map(Self.openAIKeyGoesTo) ?? true
            return try OpenAIEmbedder(
                model: record.identifier.model, dimension: record.identifier.dimension, baseURL: base,
                apiKey: trusted ? nil : Secret(""), sendDimensions: record.options[EmbedderRecord.sendsDimensionsKey] == "true")
        }
        r.register("ollama") { record, context in
            try OllamaEmbedder(
                model: record.identifier.model, dimension: record.identifier.dimension, host: context.baseURL ?? record.baseURL)
        }
        return r
    }()

    /// Whether the standard registry sends `$OPENAI_API_KEY` to a recorded `baseURL`:
    /// only to OpenAI itself or to `$OPENAI_BASE_URL`, so that a store file from elsewhere
    /// cannot collect the key.
    public static func openAIKeyGoesTo(_ baseURL: String) -> Bool {
        let env = ProcessInfo.processInfo.environment["OPENAI_BASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
        func normalized(_ url: String) -> String { QuiverError.redact(url.hasSuffix("/") ? String(url.dropLast()) : url) }
        return normalized(baseURL) == "https://api.openai.com/v1" || env.map(normalized) == normalized(baseURL)
    }

    /// Adds (or replaces) the builder of `provider`.
    public mutating func register(_ provider: String, _ builder: @escaping Builder) {
        builders[provider] = builder
    }

    /// The providers it can rebuild, sorted.
    public var providers: [String] { builders.keys.sorted() }

    /// Rebuilds the embedder of `record`, and checks that it is the one recorded.
    ///
    /// - Throws: `QuiverError.embedderMismatch` for an unknown provider or when the rebuilt
    ///   embedder differs from the record, or the builder's own errors (`modelNotFound`,
    ///   `invalidArgument` for a dimension the provider cannot make).
    public func rebuild(_ record: EmbedderRecord, context: Context = Context()) throws -> any Embedder {
        let id = record.identifier
        guard let builder = builders[id.provider] else {
            throw QuiverError(
                .embedderMismatch, "\(id) has provider \"\(id.provider)\", which this version cannot rebuild",
                input: id.provider, expected: providers.joined(separator: ", "), actual: id.description)
        }
        let rebuilt = try builder(record, context)
        guard rebuilt.identifier == id else {
            throw QuiverError(
                .embedderMismatch, "the rebuilt embedder is \(rebuilt.identifier), not the recorded \(id)",
                expected: id.description, actual: rebuilt.identifier.description)
        }
        return rebuilt
    }

    /// Rebuilds the embedder of `record` off the cooperative pool (a local model is read
    /// from disk).
    public func rebuild(_ record: EmbedderRecord, context: Context = Context()) async throws -> any Embedder {
        try await BlockingExecutor.shared.run { try self.rebuild(record, context: context) }
    }

    /// Rebuilds the embedder the collection `info` describes recorded, off the cooperative
    /// pool.
    public func rebuild(for info: CollectionInfo, context: Context = Context()) async throws -> any Embedder {
        try await BlockingExecutor.shared.run { try self.rebuild(for: info, context: context) }
    }

    /// Rebuilds the embedder the collection `info` describes recorded.
    ///
    /// - Throws: `QuiverError.embedderMismatch` (with `collection`) when nothing, or an
    ///   embedder this registry cannot rebuild, is recorded; `invalidArgument` (with
    ///   `collection`) when the record holds a setting its provider refuses.
    public func rebuild(for info: CollectionInfo, context: Context = Context()) throws -> any Embedder {
        guard let record = EmbedderRecord(configuration: info.configuration) else {
            throw QuiverError(
                .embedderMismatch, "collection \"\(info.name)\" does not record its embedder", collection: info.name,
                actual: info.configuration[EmbedderRecord.identifierKey])
        }
        do {
            return try rebuild(record, context: context)
        } catch var e as QuiverError where e.code == .embedderMismatch || e.code == .invalidArgument {
            e.collection = info.name
            e.message = "collection \"\(info.name)\" was built with \(record.identifier): " + e.message
            throw e
        }
    }
}
