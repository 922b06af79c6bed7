/// The one error type of the `VectorStore` module.
///
/// Every error names the input that caused it (a path, a collection, a record id,
/// expected versus actual values) and, for engine failures, the C call and its code.
/// Record texts and vectors are never included.
public struct StoreError: Error, Sendable, CustomStringConvertible, Equatable {
    /// What kind of failure this is.
    public enum Code: String, Sendable, Equatable {
        /// The directory exists but does not hold a Quiver store.
        case notAStore
        /// The store was written by an unknown (newer) format version.
        case unsupportedFormat
        /// A collection of that name does not exist.
        case collectionNotFound
        /// A collection of that name already exists with different settings.
        case collectionExists
        /// The caller passed an invalid argument (name, dimension, k, filter).
        case invalidArgument
        /// A vector has the wrong number of components.
        case dimensionMismatch
        /// A vector holds NaN or an infinite component, or is zero under cosine.
        case invalidVector
        /// A record id is empty or too long.
        case invalidID
        /// A record's metadata is too large or has an invalid field name.
        case invalidMetadata
        /// Stored data failed a consistency check.
        case corrupted
        /// LMDB or the file system failed.
        case storage
        /// The operation was cancelled.
        case cancelled
    }

    /// What kind of failure this is.
    public let code: Code
    /// A sentence naming the bad input.
    public let message: String
    /// The underlying cause (a C call and its return code), if any.
    public let underlying: String?

    /// Creates an error.
    public init(_ code: Code, _ message: String, underlying: String? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    /// The message, with the underlying cause in parentheses.
    public var description: String {
        if let underlying { return "\(message) (\(underlying))" }
        return message
    }
}
