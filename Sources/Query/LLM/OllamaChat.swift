import Foundation
import HTTP

/// Chat completions from Ollama's `/api/chat` (streamed as one JSON object per line).
///
/// ```swift
/// let llm = try OllamaChat(model: "llama3.2")  // OLLAMA_HOST or http://127.0.0.1:11434
/// for try await delta in llm.stream([.user("Say hi")], options: .init()) { print(delta.text, terminator: "") }
/// ```
public struct OllamaChat: LanguageModel {
    /// The model name.
    public let model: String
    /// The server, e.g. `http://127.0.0.1:11434`.
    public let host: String
    /// Retries and circuit breaker over the shared HTTP client.
    public let caller: ResilientCaller

    /// 4: Ollama runs up to `OLLAMA_NUM_PARALLEL` requests per model at once (4 by
    /// default when memory allows) and queues the rest, where they would only wait.
    public var preferredConcurrency: Int { 4 }

    /// Creates a client. `host` defaults to `$OLLAMA_HOST`, then `http://127.0.0.1:11434`.
    ///
    /// - Throws: `QueryError.invalidArgument` for a bad URL or an empty model name.
    public init(model: String, host: String? = nil, caller: ResilientCaller? = nil) throws {
        let env = ProcessInfo.processInfo.environment.filter { !$0.value.isEmpty }
        var base = host ?? env["OLLAMA_HOST"] ?? "http://127.0.0.1:11434"
        if !base.contains("://") { base = "http://" + base }
        self.host = try ChatSupport.endpoint(base, model: model, what: "Ollama host", provider: "Ollama")
        self.model = model
        self.caller = caller ?? ResilientCaller(client: HTTPClient.shared)
    }

    /// `ollama/<model>`.
    public var name: String { "ollama/\(model)" }

    /// Completes `messages`.
    public func complete(_ messages: [ChatMessage], options: CompletionOptions) async throws -> Completion {
        try parse(await caller.send(request(messages, options, stream: false)))
    }

    /// Completes `messages` on the calling thread.
    public func complete(_ messages: [ChatMessage], options: CompletionOptions) throws -> Completion {
        try parse(caller.send(request(messages, options, stream: false)))
    }

    /// Streams the completion of `messages`.
    public func stream(_ messages: [ChatMessage], options: CompletionOptions) -> AsyncThrowingStream<CompletionDelta, Error> {
        let name = self.name
        return ChatSupport.stream(
            name: name, request: { try request(messages, options, stream: true) }, caller: caller, framing: .jsonLines,
            decode: { line in try Self.decodeLine(line, name: name) })
    }

    func request(_ messages: [ChatMessage], _ options: CompletionOptions, stream: Bool) throws -> HTTPRequest {
        var settings: [String: Any] = [:]
        if let t = options.temperature { settings["temperature"] = t }
        if let m = options.maxTokens { settings["num_predict"] = m }
        if !options.stop.isEmpty { settings["stop"] = options.stop }
        if let s = options.seed { settings["seed"] = s }
        var body: [String: Any] = [
            "model": model, "messages": messages.map { ChatSupport.messageObject($0, ollama: true) }, "stream": stream,
        ]
        if !settings.isEmpty { body["options"] = settings }
        ChatSupport.addTools(options, to: &body, ollama: true)
        return HTTPRequest(
            method: "POST", url: EndpointURL.join(host, "/api/chat"), headers: [("Content-Type", "application/json")],
            body: try ChatSupport.body(body), deadline: ChatSupport.deadline(options))
    }

    func parse(_ response: HTTPResponse) throws -> Completion {
        let object = try ChatSupport.object(response.body, from: name)
        guard let message = object["message"] as? [String: Any] else {
            throw QueryError(.badResponse, "\(name) answered without a \"message\"")
        }
        return Completion(
            text: (message["content"] as? String) ?? "", finishReason: object["done_reason"] as? String, usage: Self.usage(object),
            toolCalls: ChatSupport.toolCalls(message))
    }

    static func usage(_ object: [String: Any]) -> TokenUsage? {
        guard let p = ChatSupport.int(object["prompt_eval_count"]) else { return nil }
        return TokenUsage(promptTokens: p, completionTokens: ChatSupport.int(object["eval_count"]) ?? 0)
    }

    static func decodeLine(_ line: String, name: String) throws -> ChatSupport.Piece {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw QueryError(
                .badResponse, "\(name) sent a stream line that is not JSON: \(line.prefix(80))", input: name, expected: "a JSON stream line"
            )
        }
        if let error = ChatSupport.errorMessage(object) {
            throw QueryError(.badResponse, "\(name) reported an error mid-stream: \(error)", input: name, expected: "an answer")
        }
        let message = object["message"] as? [String: Any]
        let text = (message?["content"] as? String) ?? ""
        // Ollama sends each tool call whole: no index, so none merges with another.
        let tools = ChatSupport.toolFragments(message).map {
            ToolCallFragment(index: nil, id: $0.id, name: $0.name, arguments: $0.arguments)
        }
        if (object["done"] as? Bool) == true {
            return .done(
                CompletionDelta(text: text, finishReason: (object["done_reason"] as? String) ?? "stop", usage: usage(object)), tools: tools)
        }
        return text.isEmpty && tools.isEmpty ? .skip : .delta(CompletionDelta(text: text), tools: tools)
    }
}
