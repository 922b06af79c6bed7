import Foundation

/// One message of a chat.
public struct ChatMessage: Sendable, Hashable, Codable {
    /// Who speaks.
    public enum Role: String, Sendable, Hashable, Codable {
        /// Instructions for the model.
        case system
        /// The person asking.
        case user
        /// The model.
        case assistant
        /// The result of a tool call (`toolCallID` names the call).
        case tool
    }

    /// Who speaks.
    public var role: Role
    /// What is said.
    public var content: String
    /// The tools an assistant message called.
    public var toolCalls: [ToolCall]
    /// The call a `.tool` message answers.
    public var toolCallID: String?
    /// The tool a `.tool` message comes from (Ollama matches results by name).
    public var toolName: String?

    /// Creates a message.
    public init(_ role: Role, _ content: String) {
        self.init(role, content, toolCalls: [])
    }

    /// Creates a message with tool calls or a tool result's identifiers.
    public init(_ role: Role, _ content: String, toolCalls: [ToolCall], toolCallID: String? = nil, toolName: String? = nil) {
        self.role = role
        self.content = content
        self.toolCalls = toolCalls
        self.toolCallID = toolCallID
        self.toolName = toolName
    }

    private enum CodingKeys: String, CodingKey { case role, content, toolCalls, toolCallID, toolName }

    /// Decodes a message; the tool fields may be absent.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            try c.decode(Role.self, forKey: .role), try c.decode(String.self, forKey: .content),
            toolCalls: try c.decodeIfPresent([ToolCall].self, forKey: .toolCalls) ?? [],
            toolCallID: try c.decodeIfPresent(String.self, forKey: .toolCallID),
            toolName: try c.decodeIfPresent(String.self, forKey: .toolName))
    }

    /// A system message.
    public static func system(_ content: String) -> ChatMessage { ChatMessage(.system, content) }
    /// A user message.
    public static func user(_ content: String) -> ChatMessage { ChatMessage(.user, content) }
    /// An assistant message.
    public static func assistant(_ content: String) -> ChatMessage { ChatMessage(.assistant, content) }
    /// An assistant message that calls tools (a reply to send back with the tools' results).
    public static func assistant(_ content: String, toolCalls: [ToolCall]) -> ChatMessage {
        ChatMessage(.assistant, content, toolCalls: toolCalls)
    }
    /// The result of the tool call `call`.
    public static func tool(_ content: String, for call: ToolCall) -> ChatMessage {
        ChatMessage(.tool, content, toolCalls: [], toolCallID: call.id, toolName: call.name)
    }
}

/// Sampling and limits for one completion. `nil` leaves the server's default.
public struct CompletionOptions: Sendable, Hashable {
    /// Sampling temperature.
    public var temperature: Double?
    /// Most tokens to generate.
    public var maxTokens: Int?
    /// Sequences that end the answer.
    public var stop: [String]
    /// Seed for reproducible sampling, where the server supports it.
    public var seed: Int?
    /// How long the whole completion may take, retries included (a stream: until its
    /// last token).
    public var timeout: Duration?
    /// Tools the model may call (OpenAI `tools`, Ollama `tools`); empty: none.
    public var tools: [ToolDefinition]
    /// Whether and which tool the model must call (OpenAI `tool_choice`; Ollama has no
    /// such setting: `.none` sends no tools, the others leave the choice to the model).
    public var toolChoice: ToolChoice?

    /// Creates options.
    public init(
        temperature: Double? = nil, maxTokens: Int? = nil, stop: [String] = [], seed: Int? = nil, timeout: Duration? = nil,
        tools: [ToolDefinition] = [], toolChoice: ToolChoice? = nil
    ) {
        self.temperature = temperature
        self.maxTokens = maxTokens
        self.stop = stop
        self.seed = seed
        self.timeout = timeout
        self.tools = tools
        self.toolChoice = toolChoice
    }
}

/// Tokens a completion used, as the server counted them.
public struct TokenUsage: Sendable, Hashable, Codable {
    /// Tokens of the prompt.
    public var promptTokens: Int
    /// Tokens generated.
    public var completionTokens: Int
    /// Their sum.
    public var totalTokens: Int { promptTokens + completionTokens }

    /// Creates usage figures.
    public init(promptTokens: Int, completionTokens: Int) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
    }
}

/// A finished completion.
public struct Completion: Sendable, Hashable {
    /// The generated text.
    public var text: String
    /// Why generation stopped (`stop`, `length`, …) when the server says.
    public var finishReason: String?
    /// Token counts when the server sends them.
    public var usage: TokenUsage?
    /// The tools the model calls, in order (finish reason `tool_calls` on OpenAI). A
    /// stream delivers them whole, assembled from their fragments, on its last delta.
    public var toolCalls: [ToolCall]

    /// Creates a completion.
    public init(text: String, finishReason: String? = nil, usage: TokenUsage? = nil, toolCalls: [ToolCall] = []) {
        self.text = text
        self.finishReason = finishReason
        self.usage = usage
        self.toolCalls = toolCalls
    }

    /// Appends a streamed piece: its text, its tool calls, and its finish reason and usage
    /// when it has them.
    public mutating func append(_ delta: CompletionDelta) {
        text += delta.text
        toolCalls += delta.toolCalls
        if let reason = delta.finishReason { finishReason = reason }
        if let usage = delta.usage { self.usage = usage }
    }
}

/// A piece of a streamed completion: new text, and on the last piece the finish reason
/// and usage (the pieces `append`ed together make the whole `Completion`).
public typealias CompletionDelta = Completion

/// A chat model. The synchronous `complete` does its request on the calling thread and
/// is safe from any thread or task, including from inside a running answer's hooks.
public protocol LanguageModel: Sendable {
    /// `provider/model`, for messages and logs.
    var name: String { get }
    /// How many completions a batch (`QueryEngine.answer(batch:)`, `ToolAnswerer`) runs at
    /// once unless told otherwise: what the model's server serves well at the same time.
    /// 8 unless the model says otherwise.
    var preferredConcurrency: Int { get }
    /// Completes `messages`.
    func complete(_ messages: [ChatMessage], options: CompletionOptions) async throws -> Completion
    /// Completes `messages` on the calling thread.
    func complete(_ messages: [ChatMessage], options: CompletionOptions) throws -> Completion
    /// Streams the completion of `messages` as it is generated. Ending the iteration
    /// early, or cancelling the task, aborts the request. The stream fails with
    /// `QueryError.truncatedStream` if it ends before the server said it was done.
    func stream(_ messages: [ChatMessage], options: CompletionOptions) -> AsyncThrowingStream<CompletionDelta, Error>
}

extension LanguageModel {
    /// 8 completions at once.
    public var preferredConcurrency: Int { 8 }

    /// Completes `messages` with default options.
    public func complete(_ messages: [ChatMessage]) async throws -> Completion {
        try await complete(messages, options: CompletionOptions())
    }

    /// Completes `messages` with default options, on the calling thread.
    public func complete(_ messages: [ChatMessage]) throws -> Completion {
        try complete(messages, options: CompletionOptions())
    }

    /// Collects a stream into one completion.
    public func collect(_ messages: [ChatMessage], options: CompletionOptions = CompletionOptions()) async throws -> Completion {
        var out = Completion(text: "")
        for try await delta in stream(messages, options: options) { out.append(delta) }
        if Task.isCancelled { throw QueryError(.cancelled, "the answer from \(name) was cancelled") }
        return out
    }
}
