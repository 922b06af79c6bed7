import Foundation
import HTTP
import QuiverCore

/// What the OpenAI and Ollama chat clients share: JSON in and out, deadlines, and the
/// loop that turns a streamed body into deltas.
enum ChatSupport {
    /// What one streamed line or event meant.
    enum Piece {
        /// New text (and possibly the finish reason or usage), and pieces of tool calls.
        case delta(CompletionDelta, tools: [ToolCallFragment] = [])
        /// The server said the answer is complete, with final figures (and tool calls) if it
        /// sent any.
        case done(CompletionDelta?, tools: [ToolCallFragment] = [])
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
        try JSONBody.encode(object)
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

    /// The `tools` and `tool_choice` of a request body, as `provider` takes them.
    static func addTools(_ options: CompletionOptions, to body: inout [String: Any], ollama: Bool) {
        guard !options.tools.isEmpty else { return }
        if ollama {
            // Ollama has no tool_choice: "none" is expressed by not offering the tools.
            if options.toolChoice != ToolChoice.none { body["tools"] = options.tools.map(\.requestObject) }
        } else {
            body["tools"] = options.tools.map(\.requestObject)
            if let choice = options.toolChoice { body["tool_choice"] = choice.requestValue }
        }
    }

    /// A message as the request body carries it: tool calls and tool results in OpenAI's
    /// or Ollama's form.
    static func messageObject(_ m: ChatMessage, ollama: Bool) -> [String: Any] {
        var out: [String: Any] = ["role": m.role.rawValue, "content": m.content]
        if !m.toolCalls.isEmpty {
            out["tool_calls"] = m.toolCalls.map { call -> [String: Any] in
                if ollama {
                    // Ollama takes the arguments as an object; malformed ones go back empty
                    // (the tool's error message tells the model what was wrong).
                    let args = (try? call.parsedArguments())?.foundation ?? [String: Any]()
                    return ["function": ["name": call.name, "arguments": args]]
                }
                return ["id": call.id, "type": "function", "function": ["name": call.name, "arguments": call.arguments]]
            }
        }
        if m.role == .tool {
            if ollama {
                if let name = m.toolName { out["tool_name"] = name }
            } else if let id = m.toolCallID {
                out["tool_call_id"] = id
            }
        }
        return out
    }

    /// The tool calls of a reply's `message` (or a stream's `delta`): OpenAI's, whose
    /// arguments are JSON text, or Ollama's, whose arguments are an object.
    static func toolFragments(_ message: [String: Any]?) -> [ToolCallFragment] {
        guard let list = message?["tool_calls"] as? [[String: Any]] else { return [] }
        return list.map { item in
            let function = item["function"] as? [String: Any]
            let arguments: String
            switch function?["arguments"] {
            case let text as String: arguments = text
            case let object?:
                let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
                arguments = data.map { String(decoding: $0, as: UTF8.self) } ?? ""
            case nil: arguments = ""
            }
            return ToolCallFragment(
                index: int(item["index"]), id: item["id"] as? String, name: function?["name"] as? String, arguments: arguments)
        }
    }

    /// Whole tool calls from a complete (non-streamed) reply.
    static func toolCalls(_ message: [String: Any]?) -> [ToolCall] {
        var calls = ToolCallAssembler()
        // Each listed call is whole: drop the index so that two calls never merge.
        for var f in toolFragments(message) {
            f.index = nil
            calls.add(f)
        }
        return calls.toolCalls
    }

    /// Streams deltas from `request`, retrying (through `caller`) only until the body
    /// starts.
    static func stream(
        name: String, request makeRequest: () throws -> HTTPRequest, caller: ResilientCaller, framing: Framing,
        decode: @escaping @Sendable (String) throws -> Piece
    ) -> AsyncThrowingStream<CompletionDelta, Error> {
        let request: HTTPRequest
        do { request = try makeRequest() } catch { return AsyncThrowingStream { $0.finish(throwing: error) } }
        return AsyncThrowingStream { continuation in
            let task = Task(executorPreference: BlockingExecutor.current) {
                do {
                    let http = try await caller.stream(request)
                    var done = false
                    // The finish reason and usage may come in separate events (OpenAI sends
                    // usage after the finish); they go out together on the last delta.
                    var final: CompletionDelta?
                    // Tool calls come in fragments (OpenAI: id and name, then the arguments
                    // piece by piece); they go out whole on the last delta.
                    var calls = ToolCallAssembler()
                    func handle(_ text: String) throws {
                        let piece = try decode(text)
                        let delta: CompletionDelta?
                        switch piece {
                        case .delta(let d, let tools), .done(let d?, let tools):
                            delta = d
                            for t in tools { calls.add(t) }
                        case .done(nil, let tools):
                            delta = nil
                            for t in tools { calls.add(t) }
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
                    if !calls.isEmpty {
                        var f = final ?? CompletionDelta(text: "")
                        f.toolCalls = calls.toolCalls
                        final = f
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

/// A model whose requests go through a `ResilientCaller`: a batch of its completions
/// follows the server's 429s with an `AdaptiveGate`.
protocol HTTPBackedModel {
    /// The model's caller.
    var caller: ResilientCaller { get }
}

extension OpenAIChat: HTTPBackedModel {}
extension OllamaChat: HTTPBackedModel {}

extension LanguageModel {
    /// A gate for `maximum` completions at once, fed by this model's caller when it has one.
    func completionGate(maximum: Int) -> AdaptiveGate {
        AdaptiveGate(maximum: maximum, caller: (self as? any HTTPBackedModel)?.caller)
    }
}
