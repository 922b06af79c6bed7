import Foundation

/// One HTTP request. Its description and mirror show header names, never values.
public struct HTTPRequest: Sendable, CustomStringConvertible, CustomReflectable {
    /// `GET`, `POST`, …
    public var method: String
    /// The absolute URL.
    public var url: String
    /// Header lines (name, value); values may hold secrets and are never logged.
    public var headers: [(String, String)]
    /// The body, if any.
    public var body: [UInt8]?
    /// A deadline for this call, on top of the client's timeouts.
    public var deadline: ContinuousClock.Instant?

    /// Creates a request.
    public init(
        method: String = "GET", url: String, headers: [(String, String)] = [], body: [UInt8]? = nil,
        deadline: ContinuousClock.Instant? = nil
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.deadline = deadline
    }

    /// Method, URL without credentials, and header names.
    public var description: String {
        "\(method) \(HTTPError.redact(url)) [\(headers.map(\.0).joined(separator: ", "))]"
    }

    /// The description only, so `dump` shows no header value.
    public var customMirror: Mirror { Mirror(self, children: ["description": description]) }
}

/// One HTTP response.
public struct HTTPResponse: Sendable {
    /// The status code.
    public var status: Int
    /// Response header lines, names lowercased.
    public var headers: [(String, String)]
    /// The body.
    public var body: [UInt8]

    /// Creates a response.
    public init(status: Int, headers: [(String, String)], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The first value of a header (case-insensitive name).
    public func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first { $0.0 == lower }?.1
    }

    /// The server's error message: `error.message`, `error` or `message` of a JSON body,
    /// else the body's text, truncated to 300 characters.
    public var serverMessage: String {
        let text = String(decoding: body, as: UTF8.self)
        var message = text
        if let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] {
            if let error = object["error"] as? [String: Any], let m = error["message"] as? String {
                message = m
            } else if let m = object["error"] as? String {
                message = m
            } else if let m = object["message"] as? String {
                message = m
            }
        }
        message = message.trimmingCharacters(in: .whitespacesAndNewlines)
        return message.count > 300 ? String(message.prefix(300)) + "…" : message
    }
}

/// The HTTP module's error: what failed, where (the URL without credentials or query),
/// and the server's message for HTTP errors. Never contains header values.
public struct HTTPError: Error, Sendable, CustomStringConvertible, Equatable {
    /// What kind of failure this is.
    public enum Code: String, Sendable, Equatable {
        /// The server answered with an error status.
        case status
        /// Connecting, sending or receiving failed.
        case transport
        /// A timeout or the call's deadline passed.
        case timeout
        /// The calling task was cancelled.
        case cancelled
        /// The circuit breaker is open: the endpoint failed repeatedly.
        case circuitOpen
        /// The request was invalid (bad URL, bad option).
        case invalidRequest
    }

    /// What kind of failure this is.
    public var code: Code
    /// The URL, without credentials or query.
    public var url: String
    /// The HTTP status, for `.status`.
    public var status: Int?
    /// A sentence saying what failed (for `.status`, the server's message, truncated).
    public var message: String
    /// The `Retry-After` the server sent, if any.
    public var retryAfter: Duration?
    /// Attempts made before giving up.
    public var attempts: Int = 1

    /// Creates an error.
    public init(_ code: Code, url: String, status: Int? = nil, message: String, retryAfter: Duration? = nil) {
        self.code = code
        self.url = HTTPError.redact(url)
        self.status = status
        self.message = message
        self.retryAfter = retryAfter
    }

    /// One line: code, status, URL, message, attempts.
    public var description: String {
        var s = status.map { "HTTP \($0) from \(url)" } ?? "\(code.rawValue) error for \(url)"
        if !message.isEmpty { s += ": \(message)" }
        if attempts > 1 { s += " (after \(attempts) attempts)" }
        return s
    }

    /// The URL without user info and query string (where keys are sometimes passed).
    public static func redact(_ url: String) -> String {
        guard var components = URLComponents(string: url) else { return "<unparsable URL>" }
        components.user = nil
        components.password = nil
        components.query = nil
        components.fragment = nil
        return components.string ?? "<unparsable URL>"
    }
}

/// A secret (an API key): prints as `<redacted>` everywhere.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The secret's value; use only to build a request header.
    public let value: String
    /// Wraps a secret.
    public init(_ value: String) { self.value = value }
    /// `<redacted>`.
    public var description: String { "<redacted>" }
    /// `<redacted>`.
    public var debugDescription: String { "<redacted>" }
    /// No children: `dump` and reflection see nothing.
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}
