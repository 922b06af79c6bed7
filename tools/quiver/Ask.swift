import ArgumentParser
import Foundation
import Query

/// Whether `--verbose` was given anywhere on the command line.
let verbose = CommandLine.arguments.contains("--verbose") || CommandLine.arguments.contains("-v")

/// The language model flags of `query` and `repl`.
struct LLMOptions: ParsableArguments {
    @Option(help: "none (extractive answers, offline), openai or ollama (default: $QUIVER_LLM, else none).")
    var llm: String?
    @Option(help: "The LLM's model (default: $QUIVER_LLM_MODEL; openai gpt-4o-mini, ollama llama3.2).") var model: String?
    @Option(help: "The LLM's base URL (openai: $OPENAI_BASE_URL; ollama: $OLLAMA_HOST).") var baseURL: String?
    @Option(help: "Sampling temperature.") var temperature: Double?
    @Option(help: "Most tokens per answer.") var maxTokens: Int?

    var provider: String {
        llm ?? ProcessInfo.processInfo.environment["QUIVER_LLM"].flatMap { $0.isEmpty ? nil : $0 } ?? "none"
    }

    func validate() throws {
        guard ["none", "openai", "ollama"].contains(provider) else {
            throw ValidationError("--llm must be none, openai or ollama, not \(provider)")
        }
    }

    /// The model, or nil for extractive answers.
    func make() throws -> (any LanguageModel)? {
        let env = ProcessInfo.processInfo.environment["QUIVER_LLM_MODEL"].flatMap { $0.isEmpty ? nil : $0 }
        switch provider {
        case "openai": return try OpenAIChat(model: model ?? env ?? "gpt-4o-mini", baseURL: baseURL)
        case "ollama": return try OllamaChat(model: model ?? env ?? "llama3.2", host: baseURL)
        default: return nil
        }
    }

    var completion: CompletionOptions {
        CompletionOptions(temperature: temperature, maxTokens: maxTokens, timeout: .seconds(300))
    }
}

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
    @OptionGroup var llmOptions: LLMOptions

    func validate() throws {
        guard k > 0 else { throw ValidationError("-k must be positive") }
        _ = try Filters.parse(`where`)
    }

    /// Opens the store and collection and builds the engine with the collection's own
    /// embedder.
    func engine(concurrency: Int = 8) async throws -> QueryEngine {
        let store = try Store(path: storeOptions.path, options: noCreate)
        let target = try await store.collection(collection)
        let embedder = try EmbedderOptions.remembered(target, modelDirectory: modelDir)
        let retriever = try Retriever(
            collection: target, embedder: embedder,
            options: RetrievalOptions(k: k, filter: try Filters.parse(`where`), minScore: minScore, mmrLambda: mmr))
        return QueryEngine(
            retriever: retriever, model: try llmOptions.make(), completion: llmOptions.completion, concurrency: concurrency)
    }
}

/// `KEY=VALUE` filters.
enum Filters {
    /// One `equals` per pair, all required; a value that reads as a number or bool also
    /// matches metadata of that type.
    static func parse(_ pairs: [String]) throws -> Filter? {
        let filters = try pairs.map { pair -> Filter in
            guard let eq = pair.firstIndex(of: "="), eq != pair.startIndex else {
                throw ValidationError("--where needs KEY=VALUE, got \"\(pair)\"")
            }
            let key = String(pair[..<eq])
            let value = String(pair[pair.index(after: eq)...])
            var options: [Filter] = [.equals(key, .string(value))]
            if let n = Int64(value) { options.append(.equals(key, .int(n))) }
            if let d = Double(value), Int64(value) == nil { options.append(.equals(key, .double(d))) }
            if let b = Bool(value) { options.append(.equals(key, .bool(b))) }
            return options.count == 1 ? options[0] : .or(options)
        }
        return filters.isEmpty ? nil : filters.count == 1 ? filters[0] : .and(filters)
    }
}

/// Printing answers, as text or JSON.
enum AnswerOutput {
    static func json(_ answer: Answer) -> [String: Any] {
        [
            "question": answer.question, "answer": answer.text, "extractive": answer.isExtractive,
            "citations": answer.citations.map(\.number),
            "hits": answer.sources.map { c in
                [
                    "number": c.number, "id": c.id, "score": Double(c.score), "source": c.source, "document": c.document,
                    "location": c.location ?? NSNull(), "text": c.text,
                    "metadata": c.metadata.mapValues { jsonValue($0) },
                ] as [String: Any]
            },
        ]
    }

    static func jsonValue(_ v: MetadataValue) -> Any {
        switch v {
        case .string(let s): return s
        case .int(let i): return i
        case .double(let d): return d
        case .bool(let b): return b
        case .strings(let l): return l
        }
    }

    static func line(_ object: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    /// The numbered sources, one line each.
    static func sources(_ sources: [Citation], cited: [Citation]) -> String {
        let citedNumbers = Set(cited.map(\.number))
        return sources.map { c in
            let mark = citedNumbers.contains(c.number) ? "*" : " "
            let location = c.location.map { " — \($0)" } ?? ""
            return String(format: "%@[%d] %@%@  (%.3f)", mark, c.number, c.source, location, c.score)
        }.joined(separator: "\n")
    }

    static let extractiveNote = "(extractive answer: the best-matching sentences; --llm openai|ollama writes one)"
}
