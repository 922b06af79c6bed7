import Foundation
import HTTP

/// Chat completions from an OpenAI-compatible `/v1/chat/completions` endpoint (OpenAI,
/// vLLM, llama.cpp server, LM Studio, …).
///
/// ```swift
/// let llm = try OpenAIChat(model: "gpt-4o-mini")  // OPENAI_API_KEY, OPENAI_BASE_URL
/// let answer = try await llm.complete([.user("Say hi")])
/// ```
/// Streams are server-sent events ending with `data: [DONE]`; usage is requested with
/// `stream_options.include_usage` and reported on the last delta when the server sends
/// it. Retries, `Retry-After` and the circuit breaker come from `caller`.
public struct OpenAIChat: LanguageModel {
    /// The model name.
    public let model: String
    /// The base URL as OpenAI's SDKs take it, e.g. `https://api.openai.com/v1`.
    public let baseURL: String
    /// Retries and circuit breaker over the shared HTTP client.
    public let caller: ResilientCaller
    private let apiKey: Secret?

    /// 128: hosted OpenAI-compatible APIs (and vLLM, which batches requests) serve many
    /// completions at once, and 128 is the transport's connection limit per host, so a
    /// batch of 100 questions is answered in one round of the server's latency. A batch
    /// halves it when the server answers 429 and raises it back as requests succeed
    /// (`AdaptiveGate`). For a server that runs one request at a time (llama.cpp's default
    /// single slot), set `QueryEngine.concurrency` lower: extra requests only wait there.
    public var preferredConcurrency: Int { 128 }

    /// Creates a client. `baseURL` defaults to `$OPENAI_BASE_URL`, then
    /// `https://api.openai.com/v1`; `apiKey` to `$OPENAI_API_KEY`.
    ///
    /// - Throws: `QueryError.invalidArgument` for a bad URL or an empty model name.
    public init(model: String, baseURL: String? = nil, apiKey: Secret? = nil, caller: ResilientCaller? = nil) throws {
        let env = ProcessInfo.processInfo.environment.filter { !$0.value.isEmpty }
        let base = baseURL ?? env["OPENAI_BASE_URL"] ?? "https://api.openai.com/v1"
        self.baseURL = try ChatSupport.endpoint(base, model: model, what: "OpenAI base URL", provider: "OpenAI")
        self.model = model
        self.apiKey = apiKey ?? env["OPENAI_API_KEY"].map(Secret.init)
        self.caller = caller ?? ResilientCaller(client: HTTPClient.shared)
    }

    /// `openai/<model>`.
    public var name: String { "openai/\(model)" }

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
        let key = apiKey
        return ChatSupport.stream(
            name: name, request: { try request(messages, options, stream: true) }, caller: caller,
            framing: .serverSentEvents, decode: { data in try Self.decodeEvent(data, name: name, redacting: key) })
    }

    func request(_ messages: [ChatMessage], _ options: CompletionOptions, stream: Bool) throws -> HTTPRequest {
        var body: [String: Any] = [
            "model": model, "messages": messages.map { ChatSupport.messageObject($0, ollama: false) }, "stream": stream,
        ]
        if stream { body["stream_options"] = ["include_usage": true] }
        if let t = options.temperature { body["temperature"] = t }
        if let m = options.maxTokens { body["max_tokens"] = m }
        if !options.stop.isEmpty { body["stop"] = options.stop }
        if let s = options.seed { body["seed"] = s }
        ChatSupport.addTools(options, to: &body, ollama: false)
        var headers = [("Content-Type", "application/json")]
        if stream { headers.append(("Accept", "text/event-stream")) }
        if let apiKey { headers.append(("Authorization", "Bearer \(apiKey.value)")) }
        return HTTPRequest(
            method: "POST", url: EndpointURL.join(baseURL, "/chat/completions"), headers: headers, body: try ChatSupport.body(body),
            deadline: ChatSupport.deadline(options))
    }

    func parse(_ response: HTTPResponse) throws -> Completion {
        let object = try ChatSupport.object(response.body, from: name, redacting: apiKey)
        guard let choice = (object["choices"] as? [[String: Any]])?.first,
            let message = choice["message"] as? [String: Any]
        else {
            throw QueryError(.badResponse, "\(name) answered without choices[0].message")
        }
        return Completion(
            text: (message["content"] as? String) ?? "", finishReason: choice["finish_reason"] as? String,
            usage: Self.usage(object["usage"]), toolCalls: ChatSupport.toolCalls(message))
    }

    static func usage(_ value: Any?) -> TokenUsage? {
        guard let u = value as? [String: Any], let p = ChatSupport.int(u["prompt_tokens"]) else { return nil }
        return TokenUsage(promptTokens: p, completionTokens: ChatSupport.int(u["completion_tokens"]) ?? 0)
    }

    static func decodeEvent(_ data: String, name: String, redacting key: Secret? = nil) throws -> ChatSupport.Piece {
        if data.trimmingCharacters(in: .whitespaces) == "[DONE]" { return .done(nil) }
        guard let object = try? JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any] else {
            throw QueryError(
                .badResponse, "\(name) sent a stream event that is not JSON: \(ChatSupport.scrub(String(data.prefix(80)), key))",
                input: name, expected: "a JSON stream line")
        }
        if let error = ChatSupport.errorMessage(object) {
            throw QueryError(
                .badResponse, "\(name) reported an error mid-stream: \(ChatSupport.scrub(error, key))", input: name, expected: "an answer")
        }
        let choice = (object["choices"] as? [[String: Any]])?.first
        let delta = choice?["delta"] as? [String: Any]
        let text = (delta?["content"] as? String) ?? ""
        let reason = choice?["finish_reason"] as? String
        let usage = usage(object["usage"])
        let tools = ChatSupport.toolFragments(delta)
        if text.isEmpty && reason == nil && usage == nil && tools.isEmpty { return .skip }
        return .delta(CompletionDelta(text: text, finishReason: reason, usage: usage), tools: tools)
    }
}
