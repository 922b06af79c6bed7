/// The one error type of the `Ingest` module.
///
/// Messages name the input (the embedder, the text's position, expected versus actual)
/// and never contain API keys or the texts themselves.
public struct IngestError: Error, Sendable, CustomStringConvertible, Equatable {
    /// What kind of failure this is.
    public enum Code: String, Sendable, Equatable {
        /// The caller passed an invalid argument.
        case invalidArgument
        /// An embedder returned vectors that do not fit (count or dimension).
        case badEmbedding
        /// The store's collection was built with another embedder.
        case embedderMismatch
        /// A local model's folder or one of its files is missing.
        case modelNotFound
        /// A local model's file is unreadable or malformed (bad header, wrong shape).
        case badModelFile
    }

    /// What kind of failure this is.
    public let code: Code
    /// A sentence naming the bad input.
    public let message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The message.
    public var description: String { message }
}
