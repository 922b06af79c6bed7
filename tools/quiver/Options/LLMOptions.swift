import ArgumentParser
import Foundation
import Query

/// The language model flags of `query` and `repl`.
struct LLMOptions: ParsableArguments {
    @Option(help: "The LLM; none answers extractively, offline (default: $QUIVER_LLM, else none).")
    var llm: LLMChoice?
    @Option(help: "The LLM's model (default: $QUIVER_LLM_MODEL; openai gpt-4o-mini, ollama llama3.2).") var model: String?
    @Option(help: "The LLM's base URL (openai: $OPENAI_BASE_URL; ollama: $OLLAMA_HOST).") var baseURL: String?
    @Option(help: "Sampling temperature.") var temperature: Double?
    @Option(help: "Most tokens per answer.") var maxTokens: Int?

    /// `$QUIVER_LLM`, when set.
    private var environmentProvider: String? {
        ProcessInfo.processInfo.environment["QUIVER_LLM"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The flag, else `$QUIVER_LLM`, else none (`validate()` refuses a `$QUIVER_LLM` that
    /// names no provider).
    var provider: LLMChoice {
        llm ?? environmentProvider.flatMap(LLMChoice.init(rawValue:)) ?? .extractive
    }

    func validate() throws {
        if llm == nil, let name = environmentProvider, LLMChoice(rawValue: name) == nil {
            let names = LLMChoice.allCases.map(\.rawValue).joined(separator: ", ")
            throw ValidationError("QUIVER_LLM must be one of \(names), not \(name)")
        }
    }

    /// The model, or nil for extractive answers.
    func make() throws -> (any LanguageModel)? {
        let env = ProcessInfo.processInfo.environment["QUIVER_LLM_MODEL"].flatMap { $0.isEmpty ? nil : $0 }
        switch provider {
        case .openai: return try OpenAIChat(model: model ?? env ?? "gpt-4o-mini", baseURL: baseURL)
        case .ollama: return try OllamaChat(model: model ?? env ?? "llama3.2", host: baseURL)
        case .extractive: return nil
        }
    }

    var completion: CompletionOptions {
        CompletionOptions(temperature: temperature, maxTokens: maxTokens, timeout: .seconds(300))
    }
}
