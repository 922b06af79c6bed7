import ArgumentParser

/// The language models `--llm` (or `$QUIVER_LLM`) names.
enum LLMChoice: String, CaseIterable, ExpressibleByArgument {
    /// No model: extractive answers, offline. Spelled `none` on the command line; the case
    /// has another name so that it never reads as `Optional.none`.
    case extractive = "none"
    /// An OpenAI-compatible chat server.
    case openai
    /// An Ollama server.
    case ollama
}
