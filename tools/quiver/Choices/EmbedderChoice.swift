import ArgumentParser

/// The embedders `--embedder` names; argument-parser validates the spelling, lists the
/// values in the help and completes them.
enum EmbedderChoice: String, CaseIterable, ExpressibleByArgument {
    /// all-MiniLM-L6-v2, in process.
    case local
    /// The lexical hashing embedder: offline, no model.
    case hash
    /// An OpenAI-compatible server (`--model`, `--dimensions`, `--base-url`).
    case openai
    /// An Ollama server (`--model`, `--dimensions`, `--base-url`).
    case ollama

    /// Whether the embedder runs on a server, so that its model and dimension must be named.
    var runsOnServer: Bool { self == .openai || self == .ollama }
}
