@_exported import Ingest

/// Retrieval and answering over a collection: `Retriever` finds the chunks for a
/// question, `PromptContext` numbers them for a prompt, a `LanguageModel` (OpenAI-compatible
/// or Ollama) answers, and `QueryEngine` puts the steps together, many questions at once.
public enum Query {
    /// The module's version string.
    public static let version = "0.1.0"
}
