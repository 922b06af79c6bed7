import ArgumentParser
import Foundation
import Query

/// Store, collection, retrieval and LLM flags shared by `query` and `repl`.
struct AskOptions: ParsableArguments {
    @OptionGroup var storeOptions: StoreOptionsGroup
    @Option(help: "Collection name.") var collection = "docs"
    @Option(name: .short, help: "Chunks retrieved per question.") var k = 4
    @Option(help: "Metadata filter KEY=VALUE (repeatable; all must match).") var `where`: [String] = []
    @Option(help: "Drop chunks scoring below this.") var minScore: Float?
    @Option(help: "Diversify with maximal marginal relevance, λ in 0…1 (1 = relevance only).") var mmr: Float?
    @Option(help: "Local model folder, for collections built with it (default: $QUIVER_MODEL_DIR, else the setup cache).")
    var modelDir: String?
    @Option(
        name: .customLong("embedder-base-url"),
        help: "The embedding server's base URL, instead of the one the collection recorded (openai, ollama).")
    var embedderBaseURL: String?
    @OptionGroup var modeOptions: SearchModeOptions
    @OptionGroup var llmOptions: LLMOptions
    @Flag(
        help: """
            Let the model search: it calls the collection's search tool (search_documents) as often as it needs, \
            e.g. once per part of a multi-part question. Needs --llm openai|ollama.
            """)
    var tools = false
    @Option(help: "With --tools, the most model steps (completions) per answer.") var maxSteps = 8

    func validate() throws {
        guard k > 0 else { throw ValidationError("-k must be positive") }
        guard maxSteps > 0 else { throw ValidationError("--max-steps must be positive") }
        _ = try Filters.parse(`where`)
    }

    /// Opens the store and collection and builds the engine with the collection's own
    /// embedder.
    func engine(concurrency: Int? = nil) async throws -> QueryEngine {
        let store = try storeOptions.open(create: false)
        let target = try await store.collection(collection)
        let embedder = try EmbedderOptions.remembered(target, modelDirectory: modelDir, baseURL: embedderBaseURL)
        let retriever = try Retriever(
            collection: target, embedder: embedder,
            options: RetrievalOptions(
                k: k, filter: try Filters.parse(`where`), minScore: minScore, mmrLambda: mmr, mode: modeOptions.mode,
                fusion: modeOptions.fusion))
        return QueryEngine(
            retriever: retriever, model: try llmOptions.make(), completion: llmOptions.completion, concurrency: concurrency)
    }

    /// The tool-calling answerer over `engine`'s retriever and model.
    ///
    /// - Throws: `CLIError` without a language model.
    static func toolAnswerer(_ engine: QueryEngine, maxSteps: Int, concurrency: Int? = nil) throws -> ToolAnswerer {
        guard let model = engine.model else {
            throw CLIError("answering with tools needs a language model", hint: "add --llm openai or --llm ollama")
        }
        return ToolAnswerer(
            model: model, retriever: engine.retriever, limits: ToolLimits(steps: maxSteps), completion: engine.completion,
            concurrency: concurrency)
    }
}
