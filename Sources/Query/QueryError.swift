/// An error of the query layer, with a message naming the input it concerns.
public struct QueryError: Error, Sendable, CustomStringConvertible, Equatable {
    /// What kind of failure.
    public enum Code: String, Sendable, Equatable {
        /// An option or argument is out of range.
        case invalidArgument
        /// The collection was built with another embedder than the one given.
        case embedderMismatch
        /// A model's answer could not be understood (bad JSON, missing fields, an error
        /// event inside a stream).
        case badResponse
        /// A streamed answer ended before the server said it was complete.
        case truncatedStream
        /// The work was cancelled.
        case cancelled
    }

    /// The kind of failure.
    public var code: Code
    /// What went wrong, naming the input.
    public var message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// `code: message`.
    public var description: String { "\(code.rawValue): \(message)" }
}
