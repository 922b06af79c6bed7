@_exported import Ingest

// Retrieval and answering over a collection: `Retriever` finds the chunks for a question,
// `PromptContext` numbers them for a prompt, a `LanguageModel` (OpenAI-compatible or
// Ollama) answers, and `QueryEngine` puts the steps together, many questions at once.
// (No public type is named after the module, so `Query.Retriever` stays a valid name.)
