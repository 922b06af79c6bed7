@_exported import QuiverCore
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

/// The errors the `HTTP` module throws: `QuiverError` with the HTTP codes (`.status`,
/// `.transport`, `.timeout`, `.cancelled`, `.circuitOpen`, `.invalidRequest`) and the
/// fields `url` (without credentials or query), `status`, `retryAfter` and `attempts`.
public typealias HTTPError = QuiverError

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
