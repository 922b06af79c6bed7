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

    /// The embedder the flags name (a new collection records where it runs, never a key).
    func make() throws -> any Embedder {
        switch resolvedName() {
        case "local": return try LocalEmbedder(directory: modelDirectory)
        case "openai": return try OpenAIEmbedder(model: model ?? "", dimension: dimensions ?? 0, baseURL: baseURL)
        case "ollama": return try OllamaEmbedder(model: model ?? "", dimension: dimensions ?? 0, host: baseURL)
        default: return HashingEmbedder(dimension: dimensions ?? 384)
        }
    }

    /// The embedder a collection was built with, from what it recorded (see
    /// `Collection.recordedEmbedder`).
    static func remembered(_ collection: any VectorCollection, modelDirectory: String? = nil) throws -> any Embedder {
        do {
            return try collection.recordedEmbedder(modelDirectory: modelDirectory)
        } catch let e as IngestError where e.code == .embedderMismatch {
            throw CLIError(
                e.message, hint: "re-index it with `quiver index PATH --collection \(collection.name) --embedder …`")
        }
    }
}
