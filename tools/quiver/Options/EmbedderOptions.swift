import ArgumentParser
import Foundation
import Ingest

/// Embedder flags shared by `index` and `embed`: flags override
/// environment variables, which override defaults.
struct EmbedderOptions: ParsableArguments {
    @Option(
        help: """
            The embedder: local runs all-MiniLM-L6-v2 in-process, hash is offline and lexical, openai and \
            ollama call a server. Default: local when scripts/setup.sh has installed the model, else hash.
            """)
    var embedder: EmbedderChoice?
    @Option(help: "Model name (openai, ollama).") var model: String?
    @Option(help: "Base URL (openai: $OPENAI_BASE_URL; ollama: $OLLAMA_HOST).") var baseURL: String?
    @Option(help: "Vector dimension (hash default 384).") var dimensions: Int?
    @Option(help: "Local model folder (default: $QUIVER_MODEL_DIR, else ~/.cache/quiver/models/all-MiniLM-L6-v2).")
    var modelDir: String?

    func validate() throws {
        if let embedder, embedder.runsOnServer, model == nil || dimensions == nil {
            throw ValidationError("--embedder \(embedder.rawValue) needs --model and --dimensions")
        }
        if embedder == .local {
            if let model, model != LocalModel.name {
                throw ValidationError("--embedder local runs \(LocalModel.name), not \(model)")
            }
            if let dimensions, dimensions != 384 {
                throw ValidationError("--embedder local makes 384-dimensional vectors, not \(dimensions)")
            }
        }
        if let dimensions {
            guard dimensions > 0 else { throw ValidationError("--dimensions must be a positive number, not \(dimensions)") }
            // Without --embedder, the dimension only matters when the hash embedder is chosen.
            let range = HashingEmbedder.dimensions
            if embedder == nil || embedder == .hash, !range.contains(dimensions) {
                throw ValidationError(
                    "--dimensions \(dimensions) is out of range: the hash embedder makes vectors of "
                        + "\(range.lowerBound) to \(range.upperBound) dimensions")
            }
        }
    }

    /// The local model's folder: the flag, else `$QUIVER_MODEL_DIR`, else the setup cache.
    var modelDirectory: String { modelDir ?? LocalModel.defaultDirectory }

    /// The embedder: the flag, else `local` when its model is installed, else
    /// `hash` (saying so on standard error).
    func resolvedChoice() -> EmbedderChoice {
        if let embedder { return embedder }
        if LocalModel.isInstalled(in: modelDirectory) { return .local }
        FileHandle.standardError.write(
            Data(
                "quiver: no local model in \(TerminalText.line(modelDirectory)) (scripts/setup.sh installs it); using the lexical hash embedder\n"
                    .utf8))
        return .hash
    }

    /// The embedder the flags name (a new collection records where it runs, never a key).
    func make() throws -> any Embedder {
        switch resolvedChoice() {
        case .local: return try LocalEmbedder(directory: modelDirectory)
        case .openai: return try OpenAIEmbedder(model: model ?? "", dimension: dimensions ?? 0, baseURL: baseURL)
        case .ollama: return try OllamaEmbedder(model: model ?? "", dimension: dimensions ?? 0, host: baseURL)
        case .hash:
            try HashingEmbedder.validate(dimension: dimensions ?? 384)
            return HashingEmbedder(dimension: dimensions ?? 384)
        }
    }

    /// The embedder a collection was built with, from what it recorded (see
    /// `VectorCollection.recordedEmbedder`).
    ///
    /// With `baseURL`, the server is that one instead of the recorded one. When an OpenAI
    /// key is in the environment but the recorded server is not one it goes to, a note on
    /// stderr says so (the server's refusal would otherwise look like a bad key).
    static func remembered(_ collection: any VectorCollection, modelDirectory: String? = nil, baseURL: String? = nil) throws
        -> any Embedder
    {
        let record = EmbedderRecord(configuration: collection.info.configuration)
        if baseURL == nil, let record, record.identifier.provider == "openai", let recorded = record.baseURL,
            !EmbedderRegistry.openAIKeyGoesTo(recorded),
            !(ProcessInfo.processInfo.environment["OPENAI_API_KEY"] ?? "").isEmpty
        {
            FileHandle.standardError.write(
                Data(
                    ("quiver: note: OPENAI_API_KEY is not sent to \(TerminalText.line(recorded)), which collection "
                        + "\"\(TerminalText.line(collection.name))\" recorded: it is not $OPENAI_BASE_URL; pass --base-url "
                        + "(--embedder-base-url for query and repl) or set OPENAI_BASE_URL to that server to send it\n").utf8))
        }
        do {
            return try collection.recordedEmbedder(modelDirectory: modelDirectory, baseURL: baseURL)
        } catch let e as IngestError where e.code == .embedderMismatch {
            throw CLIError(
                e.message, hint: "re-index it with `quiver index PATH --collection \(collection.name) --embedder …`")
        }
    }
}
