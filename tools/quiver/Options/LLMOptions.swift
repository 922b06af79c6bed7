import ArgumentParser
import Foundation
import Query

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
