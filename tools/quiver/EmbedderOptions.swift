import ArgumentParser
import Foundation
import Ingest

/// Embedder flags shared by `index` (and later `query`): flags override environment
/// variables, which override defaults.
struct EmbedderOptions: ParsableArguments {
    @Option(help: "hash (offline, lexical), openai or ollama.") var embedder = "hash"
    @Option(help: "Model name (openai, ollama).") var model: String?
    @Option(help: "Base URL (openai: $OPENAI_BASE_URL; ollama: $OLLAMA_HOST).") var baseURL: String?
    @Option(help: "Vector dimension (hash default 384).") var dimensions: Int?

    func validate() throws {
        guard ["hash", "openai", "ollama"].contains(embedder) else {
            throw ValidationError("--embedder must be hash, openai or ollama, not \(embedder)")
        }
        if embedder != "hash" && (model == nil || dimensions == nil) {
            throw ValidationError("--embedder \(embedder) needs --model and --dimensions")
        }
    }

    /// The embedder and its base URL (never a key).
    func make() throws -> (any Embedder, String?) {
        switch embedder {
        case "openai":
            let e = try OpenAIEmbedder(model: model ?? "", dimension: dimensions ?? 0, baseURL: baseURL)
            return (e, e.baseURL)
        case "ollama":
            let e = try OllamaEmbedder(model: model ?? "", dimension: dimensions ?? 0, host: baseURL)
            return (e, e.host)
        default:
            return (HashingEmbedder(dimension: dimensions ?? 384), nil)
        }
    }

    /// The embedder a collection was built with, from its configuration.
    static func remembered(_ info: CollectionInfo) throws -> any Embedder {
        guard let text = info.configuration[Store.embedderKey], let id = EmbedderIdentifier(text) else {
            throw ValidationError("collection \"\(info.name)\" does not record its embedder; re-index it with quiver index")
        }
        // The base URL comes from the environment (or defaults), like the key.
        let base: String? = nil
        switch id.provider {
        case "hash":
            let e = HashingEmbedder(dimension: id.dimension)
            guard e.identifier == id else {
                throw ValidationError("collection \"\(info.name)\" uses \(id), which this quiver cannot rebuild")
            }
            return e
        case "openai": return try OpenAIEmbedder(model: id.model, dimension: id.dimension, baseURL: base)
        case "ollama": return try OllamaEmbedder(model: id.model, dimension: id.dimension, host: base)
        default: throw ValidationError("collection \"\(info.name)\" uses an unknown embedder \(id)")
        }
    }
}
