/// A tool a model may call: its name, what it does, and its parameters as a JSON schema.
///
/// ```swift
/// let weather = ToolDefinition(
///     name: "weather", description: "Today's weather in a city",
///     parameters: ["type": "object", "properties": ["city": ["type": "string"]], "required": ["city"]])
/// let reply = try await llm.complete([.user("Weather in Oslo?")], options: CompletionOptions(tools: [weather]))
/// for call in reply.toolCalls { print(call.name, call.arguments) }
/// ```
public struct ToolDefinition: Sendable, Hashable {
    /// The name the model calls it by (letters, digits, `_` and `-`).
    public var name: String
    /// What it does, for the model.
    public var description: String
    /// A JSON schema of its arguments (an object schema).
    public var parameters: JSONValue

    /// Creates a definition.
    public init(name: String, description: String, parameters: JSONValue = ["type": "object", "properties": [:]]) {
        self.name = name
        self.description = description
        self.parameters = parameters
    }

    /// The `{"type": "function", "function": {…}}` object OpenAI and Ollama both take.
    var requestObject: [String: Any] {
        ["type": "function", "function": ["name": name, "description": description, "parameters": parameters.foundation]]
    }
}

/// Whether and which tool the model must call.
public enum ToolChoice: Sendable, Hashable {
    /// The model decides (the servers' default when tools are given).
    case auto
    /// The model must not call a tool.
    case none
    /// The model must call at least one tool.
    case required
    /// The model must call this tool.
    case tool(String)

    /// OpenAI's `tool_choice` value.
    var requestValue: Any {
        switch self {
        case .auto: return "auto"
        case .none: return "none"
        case .required: return "required"
        case .tool(let name): return ["type": "function", "function": ["name": name]]
        }
    }
}

/// A tool call in a model's reply.
public struct ToolCall: Sendable, Hashable, Codable {
    /// The call's id, which its result message names (generated when the server sends
    /// none, as Ollama does).
    public var id: String
    /// The tool's name.
    public var name: String
    /// The arguments as the model wrote them: JSON text, which may be malformed.
    public var arguments: String

    /// Creates a call.
    public init(id: String, name: String, arguments: String) {
        self.id = id
        self.name = name
        self.arguments = arguments
    }

    /// The arguments parsed.
    ///
    /// - Throws: `QueryError.invalidArgument` when they are not a JSON object.
    public func parsedArguments() throws -> JSONValue {
        let text = arguments.trimmingCharacters(in: .whitespacesAndNewlines)
        let value = try JSONValue(parsing: text.isEmpty ? "{}" : text)
        guard case .object = value else {
            throw QueryError(
                .invalidArgument, "the arguments of \(name) are not a JSON object: \(text.prefix(80))", input: name,
                expected: "a JSON object")
        }
        return value
    }
}

/// A piece of a streamed tool call: OpenAI-style streams send a call's id and name first,
/// then its arguments in fragments, each tagged with the call's index.
struct ToolCallFragment: Sendable {
    /// The call's position in the reply; nil for a whole call of its own (Ollama).
    var index: Int?
    var id: String?
    var name: String?
    var arguments: String
}

/// Puts streamed tool-call fragments back together, in the order the calls were opened.
struct ToolCallAssembler: Sendable {
    private var calls: [(index: Int?, id: String, name: String, arguments: String)] = []

    var isEmpty: Bool { calls.isEmpty }

    mutating func add(_ fragment: ToolCallFragment) {
        if let index = fragment.index, let k = calls.lastIndex(where: { $0.index == index }) {
            if let id = fragment.id, !id.isEmpty, calls[k].id.isEmpty { calls[k].id = id }
            if let name = fragment.name, !name.isEmpty, calls[k].name.isEmpty { calls[k].name = name }
            calls[k].arguments += fragment.arguments
        } else {
            calls.append((fragment.index, fragment.id ?? "", fragment.name ?? "", fragment.arguments))
        }
    }

    /// The whole calls; a call without an id gets `call_<n>`.
    var toolCalls: [ToolCall] {
        calls.enumerated().map { n, c in ToolCall(id: c.id.isEmpty ? "call_\(n)" : c.id, name: c.name, arguments: c.arguments) }
    }
}
