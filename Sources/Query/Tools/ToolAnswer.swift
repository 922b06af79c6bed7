/// An answer that a model gave after calling tools: its text, the steps it took, the
/// sources its searches found (numbered in the order found) and those it cites.
public struct ToolAnswer: Sendable {
    /// The question as asked.
    public var question: String
    /// The model's final text.
    public var text: String
    /// Every completion of the loop, the last one the answer.
    public var steps: [ToolStep]
    /// The passages `search_documents` returned, numbered across all its calls (a passage
    /// found twice keeps its first number).
    public var sources: [Citation]
    /// The sources the answer cites, in order of first citation.
    public var citations: [Citation]
    /// Tokens used by all the steps together, as the server counted them.
    public var usage: TokenUsage
    /// The last completion (its finish reason).
    public var completion: Completion

    /// Every tool call the model made, in order.
    public var toolCalls: [ToolCallRecord] { steps.flatMap(\.calls) }
}

/// One completion of an answer loop and the tool calls it asked for.
public struct ToolStep: Sendable {
    /// The step's position, from 1.
    public var number: Int
    /// The text the model wrote with its calls (often empty), or the answer on the last step.
    public var text: String
    /// The tool calls and their results, in the order the model listed them.
    public var calls: [ToolCallRecord]
    /// The step's token counts, when the server sent them.
    public var usage: TokenUsage?
}

/// A tool call, what the model was sent back, and the error if the call failed.
public struct ToolCallRecord: Sendable {
    /// The call as the model made it.
    public var call: ToolCall
    /// The tool message sent back: the tool's result, or a description of its error.
    public var output: String
    /// Why the call failed (unknown tool, malformed arguments, the tool threw), if it did.
    public var error: QuiverError?
}

/// What an answer loop does when a tool call fails.
public enum ToolErrorPolicy: Sendable, Hashable {
    /// Send the error to the model as the tool's result, so it can correct its call or
    /// answer without it (the call's record keeps the error).
    case reportToModel
    /// Stop the answer with `QueryError.toolFailed` (or the tool's own `QuiverError`).
    case fail
}

/// How far an answer loop may go before it stops with `QueryError.limitExceeded`.
public struct ToolLimits: Sendable, Hashable {
    /// Most completions per answer (each reply with tool calls is one step, the answer
    /// another).
    public var steps: Int
    /// Most time per answer, tools included; each completion's timeout is cut to what
    /// remains. nil: no limit.
    public var time: Duration?
    /// Most tokens (prompt plus completion, summed over the steps) before the model has
    /// answered. nil: no limit.
    public var tokens: Int?
    /// Most tool calls of one reply running at once.
    public var concurrentCalls: Int

    /// Creates limits.
    public init(steps: Int = 8, time: Duration? = .seconds(300), tokens: Int? = nil, concurrentCalls: Int = 4) {
        self.steps = steps
        self.time = time
        self.tokens = tokens
        self.concurrentCalls = concurrentCalls
    }
}
