import Foundation

/// The one error type of every Quiver module: a code that callers match on, a sentence
/// that names the bad input, and typed fields (the input, a path, a collection, a record
/// id, expected versus actual, an HTTP status) that callers and tests read instead of
/// parsing the message.
///
/// `StoreError`, `IngestError`, `QueryError` and `HTTPError` are names of this type, kept
/// so that each module's documentation can say what it throws.
///
/// ```swift
/// do {
///     try docs.upsert(records)
/// } catch let e as QuiverError where e.code == .dimensionMismatch {
///     print("record \(e.recordID ?? "?") has \(e.actual ?? "?") components, expected \(e.expected ?? "?")")
/// }
/// ```
///
/// Record texts, vectors and secrets are never part of an error; URLs are kept without
/// credentials or query string.
public struct QuiverError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure this is; one set shared by every module.
    public enum Code: String, Sendable, Equatable, CaseIterable {
        // Shared by every layer.
        /// An argument or option is out of range or malformed.
        case invalidArgument
        /// The work was cancelled.
        case cancelled
        /// Vectors of one embedder were about to meet another's (a collection, a query).
        case embedderMismatch

        // The store.
        /// The directory exists but does not hold a Quiver store.
        case notAStore
        /// The store was written by an unknown (newer) format version.
        case unsupportedFormat
        /// A collection of that name does not exist.
        case collectionNotFound
        /// A collection of that name already exists with different settings.
        case collectionExists
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

        // Ingest.
        /// An embedder returned vectors that do not fit (count or dimension).
        case badEmbedding
        /// A local model's folder or one of its files is missing.
        case modelNotFound
        /// A local model's file is unreadable or malformed (bad header, wrong shape).
        case badModelFile
        /// No document parser takes a file.
        case unsupportedDocument

        // Answering.
        /// A model's answer could not be understood (bad JSON, missing fields, an error
        /// event inside a stream).
        case badResponse
        /// A streamed answer ended before the server said it was complete.
        case truncatedStream
        /// A tool the model called failed (it threw, or its arguments were not valid JSON)
        /// and the answer was set to stop on tool errors.
        case toolFailed
        /// An answer loop reached one of its limits (steps, time, tokens) before the model
        /// answered; `expected` holds the limit, `actual` what was used.
        case limitExceeded

        // HTTP.
        /// The server answered with an error status (`status`).
        case status
        /// Connecting, sending or receiving failed.
        case transport
        /// A timeout or the call's deadline passed.
        case timeout
        /// The circuit breaker is open: the endpoint failed repeatedly.
        case circuitOpen
        /// The request could not be made (bad URL, bad option).
        case invalidRequest
    }

    /// What kind of failure this is.
    public var code: Code
    /// A sentence naming the bad input (for `.status`, the server's message, truncated).
    public var message: String
    /// The input concerned, when it is neither a path, a collection nor a record: an
    /// embedder identifier, an option name, a query's position.
    public var input: String?
    /// The file or directory concerned.
    public var path: String?
    /// The collection concerned.
    public var collection: String?
    /// The record concerned.
    public var recordID: String?
    /// What was expected (a dimension, an embedder, a format version).
    public var expected: String?
    /// What was found instead.
    public var actual: String?
    /// The URL called, without credentials or query.
    public var url: String?
    /// The HTTP status, for `.status`.
    public var status: Int?
    /// The `Retry-After` the server sent, if any.
    public var retryAfter: Duration?
    /// Attempts made before giving up (HTTP).
    public var attempts: Int = 1
    /// The underlying cause (a C call and its return code, a decoder's error), if any.
    public var underlying: String?

    /// Creates an error; give the typed fields that apply.
    public init(
        _ code: Code, _ message: String, underlying: String? = nil, input: String? = nil, path: String? = nil,
        collection: String? = nil, recordID: String? = nil, expected: String? = nil, actual: String? = nil
    ) {
        self.code = code
        self.message = message
        self.underlying = underlying
        self.input = input
        self.path = path
        self.collection = collection
        self.recordID = recordID
        self.expected = expected
        self.actual = actual
    }

    /// Creates an HTTP error; the URL is stored without credentials or query.
    public init(_ code: Code, url: String, status: Int? = nil, message: String, retryAfter: Duration? = nil) {
        self.code = code
        self.message = message
        self.url = Self.redact(url)
        self.status = status
        self.retryAfter = retryAfter
    }

    /// One line. HTTP errors: status (or code), URL, message, attempts; others: the
    /// message, with the underlying cause in parentheses.
    public var description: String {
        if let url {
            var s = status.map { "HTTP \($0) from \(url)" } ?? "\(code.rawValue) error for \(url)"
            if !message.isEmpty { s += ": \(message)" }
            if attempts > 1 { s += " (after \(attempts) attempts)" }
            return s
        }
        if let underlying { return "\(message) (\(underlying))" }
        return message
    }

    /// The URL without user info, query string and fragment (where keys are sometimes
    /// passed).
    public static func redact(_ url: String) -> String {
        guard var components = URLComponents(string: url) else { return "<unparsable URL>" }
        components.user = nil
        components.password = nil
        components.query = nil
        components.fragment = nil
        return components.string ?? "<unparsable URL>"
    }
}
