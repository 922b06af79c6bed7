/// A tool an answer's model may call: its definition and the Swift closure that runs it.
///
/// In an async answer a synchronous tool runs on a thread of Quiver's own, never on the
/// cooperative pool, so it may block and may call Quiver's synchronous `embed`, `search`,
/// `retrieve`, `complete`, or another ``ToolAnswerer``'s `answer` (in a synchronous answer
/// it runs on the calling thread or, beside other calls of the same reply, on Quiver's
/// threads). An asynchronous tool runs as a child task of the answer (in a synchronous
/// answer, through `BlockingExecutor.wait`).
///
/// ```swift
/// let lookup = Tool(
///     name: "lookup", description: "Finds a word in the glossary",
///     parameters: ["type": "object", "properties": ["word": ["type": "string"]], "required": ["word"]]
/// ) { arguments in
///     glossary[arguments["word"]?.stringValue ?? ""] ?? "not in the glossary"
/// }
/// ```
public struct Tool: Sendable {
    /// How the tool runs.
    public enum Body: Sendable {
        /// Blocking code, run on a thread of Quiver's own.
        case sync(@Sendable (JSONValue) throws -> String)
        /// Async code, run as a child task.
        case async(@Sendable (JSONValue) async throws -> String)
    }

    /// What the model is told about the tool.
    public var definition: ToolDefinition
    /// The closure: it takes the parsed arguments (a JSON object) and returns the result
    /// the model reads.
    public var body: Body

    /// The tool's name.
    public var name: String { definition.name }

    /// A synchronous tool.
    public init(
        name: String, description: String, parameters: JSONValue = ["type": "object", "properties": [:]],
        run: @escaping @Sendable (JSONValue) throws -> String
    ) {
        definition = ToolDefinition(name: name, description: description, parameters: parameters)
        body = .sync(run)
    }

    /// An asynchronous tool.
    public init(
        name: String, description: String, parameters: JSONValue = ["type": "object", "properties": [:]],
        runAsync: @escaping @Sendable (JSONValue) async throws -> String
    ) {
        definition = ToolDefinition(name: name, description: description, parameters: parameters)
        body = .async(runAsync)
    }
}
