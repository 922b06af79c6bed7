import Foundation
import HTTP

/// What the OpenAI and Ollama chat clients share: JSON in and out, deadlines, and the
/// loop that turns a streamed body into deltas.
enum ChatSupport {
    /// What one streamed line or event meant.
    enum Piece {
        /// New text (and possibly the finish reason or usage).
        case delta(CompletionDelta)
        /// The server said the answer is complete, with final figures if it sent any.
        case done(CompletionDelta?)
        /// Nothing to report (keep-alive, role-only chunk).
        case skip
    }

    /// How the body is framed.
    enum Framing {
        /// Server-sent events (`data: …`), OpenAI.
        case serverSentEvents
        /// One JSON object per line, Ollama.
        case jsonLines
    }

    /// A chat client's base URL without its trailing slash, checked, and its model name
    /// checked; `what` names the setting in errors ("OpenAI base URL").
    static func endpoint(_ base: String, model: String, what: String, provider: String) throws -> String {
        guard URL(string: base)?.scheme?.hasPrefix("http") == true else {
            throw QueryError(.invalidArgument, "\(what) \"\(HTTPError.redact(base))\" is not an http(s) URL")
        }
        guard !model.isEmpty else { throw QueryError(.invalidArgument, "the \(provider) chat model name is empty") }
        return base.hasSuffix("/") ? String(base.dropLast()) : base
    }

    static func body(_ object: [String: Any]) throws -> [UInt8] {
        Array(try JSONSerialization.data(withJSONObject: object))
    }

    static func deadline(_ options: CompletionOptions) -> ContinuousClock.Instant? {
        options.timeout.map { ContinuousClock.now + $0 }
    }

    /// A JSON object, or an error naming the model and showing the start of the text.
    static func object(_ bytes: [UInt8], from name: String, redacting secret: Secret? = nil) throws -> [String: Any] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            let preview = scrub(String(decoding: bytes.prefix(80), as: UTF8.self), secret)
            throw QueryError(
                .badResponse, "\(name) answered with something that is not a JSON object: \(preview)", input: name,
                expected: "a JSON object")
        }
        if let error = errorMessage(object) {
            throw QueryError(.badResponse, "\(name) reported an error: \(scrub(error, secret))", input: name, expected: "an answer")
        }
        return object
    }

    /// `text` with `secret` taken out (a proxy may echo the key it was sent, even with a
    /// 200 status or inside a stream).
    static func scrub(_ text: String, _ secret: Secret?) -> String {
        guard let value = secret?.value, value.count >= 8 else { return text }
        return text.replacingOccurrences(of: value, with: "<redacted>")
    }

    /// The message of an `{"error": …}` object, OpenAI or Ollama style.
    static func errorMessage(_ object: [String: Any]) -> String? {
        if let text = object["error"] as? String { return text }
        if let error = object["error"] as? [String: Any] { return (error["message"] as? String) ?? "\(error)" }
        return nil
    }

    static func int(_ value: Any?) -> Int? { (value as? NSNumber)?.intValue }

    /// Streams deltas from `request`, retrying (through `caller`) only until the body
    /// starts.
    static func stream(
        name: String, request makeRequest: () throws -> HTTPRequest, caller: ResilientCaller, framing: Framing,
        decode: @escaping @Sendable (String) throws -> Piece
    ) -> AsyncThrowingStream<CompletionDelta, Error> {
        let request: HTTPRequest
        do { request = try makeRequest() } catch { return AsyncThrowingStream { $0.finish(throwing: error) } }
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    let http = try await caller.stream(request)
                    var done = false
                    // The finish reason and usage may come in separate events (OpenAI sends
                    // usage after the finish); they go out together on the last delta.
                    var final: CompletionDelta?
                    func handle(_ text: String) throws {
                        let piece = try decode(text)
                        let delta: CompletionDelta?
                        switch piece {
                        case .delta(let d): delta = d
                        case .done(let d): delta = d
                        case .skip: delta = nil
                        }
                        if let delta {
                            if !delta.text.isEmpty { continuation.yield(CompletionDelta(text: delta.text)) }
                            if delta.finishReason != nil || delta.usage != nil {
                                var f = final ?? CompletionDelta(text: "")
                                f.append(CompletionDelta(text: "", finishReason: delta.finishReason, usage: delta.usage))
                                final = f
                            }
                        }
                        if case .done = piece { done = true }
                    }
                    do {
                        switch framing {
                        case .serverSentEvents:
                            for try await event in http.events() {
                                try handle(event.data)
                                if done { break }
                            }
                        case .jsonLines:
                            for try await line in http.lines() where !line.allSatisfy(\.isWhitespace) {
                                try handle(line)
                                if done { break }
                            }
                        }
                    } catch let error as HTTPError where error.code == .transport || error.code == .timeout {
                        throw QueryError(.truncatedStream, "\(name)'s streamed answer broke off: \(error.message)")
                    }
                    try Task.checkCancellation()
                    guard done || final?.finishReason != nil else {
                        throw QueryError(.truncatedStream, "\(name)'s streamed answer ended before the server said it was complete")
                    }
                    if let final { continuation.yield(final) }
                    continuation.finish()
                } catch is CancellationError {
                    continuation.finish(throwing: QueryError(.cancelled, "the answer from \(name) was cancelled"))
                } catch let error as HTTPError where error.code == .cancelled {
                    continuation.finish(throwing: QueryError(.cancelled, "the answer from \(name) was cancelled"))
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}
