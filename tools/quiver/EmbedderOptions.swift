import ArgumentParser
import Foundation
import Ingest

/// Embedder flags shared by `index` and `embed`: flags override
/// environment variables, which override defaults.
struct EmbedderOptions: ParsableArguments {
    @Option(
        help: """
            local (all-MiniLM-L6-v2 in-process), hash (offline, lexical), openai or ollama. \
            Default: local when scripts/setup.sh has installed the model, else hash.
            """)
    var embedder: String?
    @Option(help: "Model name (openai, ollama).") var model: String?
    @Option(help: "Base URL (openai: $OPENAI_BASE_URL; ollama: $OLLAMA_HOST).") var baseURL: String?
    @Option(help: "Vector dimension (hash default 384).") var dimensions: Int?
    @Option(help: "Local model folder (default: $QUIVER_MODEL_DIR, else ~/.cache/quiver/models/all-MiniLM-L6-v2).")
    var modelDir: String?

    static let choices = ["local", "hash", "openai", "ollama"]
    /// The configuration key under which a collection records its embedder's base URL
    /// (without credentials or query string).
    static let baseURLKey = "embedder_base_url"

    func validate() throws {
        if let embedder, !Self.choices.contains(embedder) {
            throw ValidationError("--embedder must be local, hash, openai or ollama, not \(embedder)")
        }
        if let embedder, embedder != "hash", embedder != "local", model == nil || dimensions == nil {
            throw ValidationError("--embedder \(embedder) needs --model and --dimensions")
        }
        if embedder == "local" {
            if let model, model != LocalModel.name {
                throw ValidationError("--embedder local runs \(LocalModel.name), not \(model)")
            }
            if let dimensions, dimensions != 384 {
                throw ValidationError("--embedder local makes 384-dimensional vectors, not \(dimensions)")
            }
        }
    }

    /// The local model's folder: the flag, else `$QUIVER_MODEL_DIR`, else the setup cache.
    var modelDirectory: String { modelDir ?? LocalModel.defaultDirectory }

    /// The embedder's name: the flag, else `local` when its model is installed, else
    /// `hash` (saying so on standard error).
    func resolvedName() -> String {
        if let embedder { return embedder }
        if LocalModel.isInstalled(in: modelDirectory) { return "local" }
        FileHandle.standardError.write(
            Data(
                "quiver: no local model in \(modelDirectory) (scripts/setup.sh installs it); using the lexical hash embedder\n"
                    .utf8))
        return "hash"
    }

    /// The embedder and its base URL (never a key).
    func make() throws -> (any Embedder, String?) {
        switch resolvedName() {
        case "local":
            return (try LocalEmbedder(directory: modelDirectory), nil)
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

    /// The embedder a collection was built with, from its configuration. The local
    /// model's folder comes from `modelDirectory`, else `$QUIVER_MODEL_DIR` or the cache.
    static func remembered(_ info: CollectionInfo, modelDirectory: String? = nil) throws -> any Embedder {
        guard let text = info.configuration[Store.embedderKey], let id = EmbedderIdentifier(text) else {
            throw CLIError(
                "collection \"\(info.name)\" does not record its embedder",
                hint: "re-index it with `quiver index PATH --collection \(info.name) --embedder …`")
        }
        // The base URL the collection recorded, else the environment (or defaults); the key
        // always comes from the environment.
        let base = info.configuration[Self.baseURLKey]
        switch id.provider {
        case "hash":
            let e = HashingEmbedder(dimension: id.dimension)
            guard e.identifier == id else {
                throw CLIError("collection \"\(info.name)\" uses \(id), which this quiver cannot rebuild")
            }
            return e
        case "local":
            let e = try LocalEmbedder(directory: modelDirectory)
            guard e.identifier == id else {
                throw CLIError("collection \"\(info.name)\" uses \(id), but the local model is \(e.identifier)")
            }
            return e
        case "openai": return try OpenAIEmbedder(model: id.model, dimension: id.dimension, baseURL: base)
        case "ollama": return try OllamaEmbedder(model: id.model, dimension: id.dimension, host: base)
        default: throw CLIError("collection \"\(info.name)\" uses an unknown embedder \(id)")
        }
    }
}
