import Foundation
import HTTP

/// Answers questions with a model that may call tools until it answers: the built-in
/// `search_documents` (the retriever's collection, passages numbered for citation) and
/// tools the application registers as Swift closures.
///
/// Each step is one completion. When the reply calls tools, the calls run concurrently
/// (at most `limits.concurrentCalls` at once), their results go back to the model, and the
/// next step begins; the reply without tool calls is the answer. Synchronous tools run on
/// threads of Quiver's own, so they may call Quiver's synchronous `embed`, `search`,
/// `complete` — or another `ToolAnswerer` (a tool that calls tools).
///
/// ```swift
/// let answerer = ToolAnswerer(model: try OpenAIChat(model: "gpt-4o-mini"), retriever: retriever)
/// let answer = try await answerer.answer("Who built Bell Rock, and when was the Fresnel lens invented?")
/// print(answer.text, answer.citations.map(\.source), answer.steps.count, answer.usage.totalTokens)
/// ```
///
/// Thread safety: a value type of `Sendable` parts; every method is safe from any thread
/// or task, many at once.
public struct ToolAnswerer: Sendable {
    /// The model that calls the tools and answers.
    public var model: any LanguageModel
    /// The collection `search_documents` searches; nil: no built-in search tool.
    public var retriever: Retriever?
    /// The application's tools (a name taken by the built-in search replaces it).
    public var tools: [Tool]
    /// Steps, time, tokens and concurrent calls.
    public var limits: ToolLimits
    /// What happens when a tool call fails.
    public var toolErrors: ToolErrorPolicy
    /// Options of every completion (`tools` is filled in by the loop).
    public var completion: CompletionOptions
    /// The system message.
    public var instructions: String
    /// Stream each completion (tool calls assembled from their deltas) instead of waiting
    /// for it whole; the async forms only (the synchronous ones complete on the calling
    /// thread).
    public var streaming: Bool
    /// How much text one search returns to the model.
    public var searchBudget: ContextBudget
    /// Most passages one search may return, whatever `k` the model asks for.
    public var maxSearchResults: Int
    /// Most questions answered at once by `answer(batch:)`; by default the model's
    /// `preferredConcurrency`.
    public var concurrency: Int

    /// The system message by default: search, search again for each part, cite `[n]`.
    public static let defaultInstructions = """
        Answer the question from the documents. Use the search_documents tool to find passages; search more than once \
        when the question has several parts or the first results are not enough. Cite the passages you use by their \
        numbers in square brackets, like [1]. If the documents do not contain the answer, say so.
        """

    /// Creates an answerer.
    public init(
        model: any LanguageModel, retriever: Retriever? = nil, tools: [Tool] = [], limits: ToolLimits = ToolLimits(),
        toolErrors: ToolErrorPolicy = .reportToModel, completion: CompletionOptions = CompletionOptions(),
        instructions: String = ToolAnswerer.defaultInstructions, streaming: Bool = false,
        searchBudget: ContextBudget = .characters(4000), maxSearchResults: Int = 20, concurrency: Int? = nil
    ) {
        self.model = model
        self.retriever = retriever
        self.tools = tools
        self.limits = limits
        self.toolErrors = toolErrors
        self.completion = completion
        self.instructions = instructions
        self.streaming = streaming
        self.searchBudget = searchBudget
        self.maxSearchResults = maxSearchResults
        self.concurrency = concurrency ?? model.preferredConcurrency
    }

    /// The definitions the model is offered: `search_documents` first when there is a
    /// retriever, then the application's tools.
    public var toolDefinitions: [ToolDefinition] {
        var out: [ToolDefinition] = []
        if retriever != nil { out.append(SearchDocumentsTool.definition(maxK: maxSearchResults)) }
        out += tools.filter { $0.name != SearchDocumentsTool.name || retriever == nil }.map(\.definition)
        return out
    }

    // MARK: Answering

    /// Answers `question`, calling tools as the model asks.
    ///
    /// - Throws: `QueryError.limitExceeded` when the model has not answered within the
    ///   limits; `QueryError.toolFailed` (policy `.fail`) when a call fails; the model's
    ///   errors (HTTP, `.badResponse`); `.cancelled`.
    public func answer(_ question: String) async throws -> ToolAnswer {
        try await run(question, conversation: [])
    }

    /// Answers `question` on the calling thread: completions and searches run on it, tool
    /// calls on threads of Quiver's own (an async tool through `BlockingExecutor.wait`), so
    /// this is safe from inside a task, a hook or another answer's tool.
    ///
    /// - Throws: as the async form.
    public func answer(_ question: String) throws -> ToolAnswer {
        try run(question, conversation: [])
    }

    /// Answers every question, at most `concurrency` at once; one result per question in
    /// input order, and one question's failure does not fail the others.
    public func answer(batch questions: [String]) async -> [Result<ToolAnswer, Error>] {
        await Concurrently.map(questions.count, limit: concurrency) { i in try await self.answer(questions[i]) }
    }

    /// Synchronous form of `answer(batch:)`: the answers run on threads of Quiver's own.
    public func answer(batch questions: [String]) -> [Result<ToolAnswer, Error>] {
        Concurrently.map(questions.count, limit: concurrency) { i in try self.run(questions[i], conversation: []) }
    }

    /// Answers the last question of a conversation: `history` holds the earlier user and
    /// assistant messages (without the system message).
    public func answer(_ question: String, history: [ChatMessage]) async throws -> ToolAnswer {
        try await run(question, conversation: history)
    }

    // MARK: The loop

    private func run(_ question: String, conversation: [ChatMessage]) async throws -> ToolAnswer {
        var loop = Loop(self, question, conversation)
        while let options = try loop.nextStep() {
            let reply: Completion
            do {
                reply =
                    try await streaming ? model.collect(loop.messages, options: options) : model.complete(loop.messages, options: options)
            } catch {
                throw loop.explain(error)
            }
            if let answer = try loop.answered(reply) { return answer }
            let ledger = loop.ledger
            let results = await Concurrently.map(reply.toolCalls.count, limit: limits.concurrentCalls) { i in
                try await self.perform(reply.toolCalls[i], ledger: ledger)
            }
            try loop.record(reply, results)
            if Task.isCancelled { throw QueryError(.cancelled, "the answer to \(loop.label) was cancelled") }
        }
        throw loop.outOfSteps()
    }

    private func run(_ question: String, conversation: [ChatMessage]) throws -> ToolAnswer {
        var loop = Loop(self, question, conversation)
        while let options = try loop.nextStep() {
            let reply: Completion
            do {
                reply = try model.complete(loop.messages, options: options)
            } catch {
                throw loop.explain(error)
            }
            if let answer = try loop.answered(reply) { return answer }
            let calls = reply.toolCalls
            let ledger = loop.ledger
            let results: [Result<String, Error>]
            if calls.count == 1 {
                results = [Result { try self.performSync(calls[0], ledger: ledger) }]
            } else {
                results = Concurrently.map(calls.count, limit: limits.concurrentCalls) { i in
                    try self.performSync(calls[i], ledger: ledger)
                }
            }
            try loop.record(reply, results)
        }
        throw loop.outOfSteps()
    }

    /// The state of one answer between steps: what the sync and async loops share.
    private struct Loop {
        let answerer: ToolAnswerer
        let question: String
        let label: String
        let deadline: ContinuousClock.Instant?
        let ledger = SourceLedger()
        var messages: [ChatMessage]
        var options: CompletionOptions
        var steps: [ToolStep] = []
        var used = TokenUsage(promptTokens: 0, completionTokens: 0)

        init(_ answerer: ToolAnswerer, _ question: String, _ conversation: [ChatMessage]) {
            self.answerer = answerer
            self.question = question
            label = ToolAnswerer.label(question)
            deadline = answerer.limits.time.map { ContinuousClock.now + $0 }
            messages = [.system(answerer.instructions)] + conversation + [.user(question)]
            options = answerer.completion
            options.tools = answerer.toolDefinitions
        }

        /// The next completion's options (its timeout cut to the time left), or nil when
        /// the steps are used up.
        func nextStep() throws -> CompletionOptions? {
            guard steps.count < max(1, answerer.limits.steps) else { return nil }
            var step = options
            if let deadline {
                let remaining = deadline - ContinuousClock.now
                guard remaining > .zero else { throw timeUp() }
                step.timeout = step.timeout.map { min($0, remaining) } ?? remaining
            }
            return step
        }

        /// A completion's error; a timeout caused by the answer's own deadline says so.
        func explain(_ error: Error) -> Error {
            if let e = error as? QuiverError, e.code == .timeout, let deadline, ContinuousClock.now >= deadline { return timeUp() }
            return error
        }

        /// The answer, when `reply` calls no tools; else checks the token limit.
        mutating func answered(_ reply: Completion) throws -> ToolAnswer? {
            if let u = reply.usage {
                used.promptTokens += u.promptTokens
                used.completionTokens += u.completionTokens
            }
            if reply.toolCalls.isEmpty {
                steps.append(ToolStep(number: steps.count + 1, text: reply.text, calls: [], usage: reply.usage))
                let sources = ledger.all
                let cited = PromptContext.citedNumbers(in: reply.text, count: sources.count).map { sources[$0 - 1] }
                return ToolAnswer(
                    question: question, text: reply.text, steps: steps, sources: sources, citations: cited, usage: used,
                    completion: reply)
            }
            if let cap = answerer.limits.tokens, used.totalTokens > cap {
                throw QueryError(
                    .limitExceeded,
                    "the answer to \(label) used \(used.totalTokens) tokens in \(steps.count + 1) steps, over its limit of \(cap), "
                        + "and the model had not answered",
                    input: "tokens", expected: "\(cap)", actual: "\(used.totalTokens)")
            }
            return nil
        }

        /// Records the step and appends the reply and the tools' results to the messages.
        mutating func record(_ reply: Completion, _ results: [Result<String, Error>]) throws {
            var records: [ToolCallRecord] = []
            for (call, result) in zip(reply.toolCalls, results) {
                switch result {
                case .success(let output):
                    records.append(ToolCallRecord(call: call, output: output, error: nil))
                case .failure(let error):
                    if let e = error as? QuiverError, e.code == .cancelled { throw e }
                    if error is CancellationError { throw QueryError(.cancelled, "the answer to \(label) was cancelled") }
                    let e = ToolAnswerer.toolError(error, call)
                    if answerer.toolErrors == .fail {
                        var failed = QueryError(
                            .toolFailed, "the tool \(call.name) failed while answering \(label): \(e.message)",
                            underlying: e.underlying, input: call.name)
                        failed.actual = e.code.rawValue
                        throw failed
                    }
                    records.append(ToolCallRecord(call: call, output: "Error: \(e.message)", error: e))
                }
            }
            steps.append(ToolStep(number: steps.count + 1, text: reply.text, calls: records, usage: reply.usage))
            messages.append(.assistant(reply.text, toolCalls: reply.toolCalls))
            for r in records { messages.append(.tool(r.output, for: r.call)) }
            if let deadline, ContinuousClock.now >= deadline { throw timeUp() }
        }

        func outOfSteps() -> QueryError {
            QueryError(
                .limitExceeded,
                "the model was still calling tools after \(steps.count) steps for \(label) and had not answered "
                    + "(last: \(steps.last?.calls.map(\.call.name).joined(separator: ", ") ?? "none"))",
                input: "steps", expected: "\(answerer.limits.steps)", actual: "\(steps.count)")
        }

        func timeUp() -> QueryError {
            let limit = answerer.limits.time.map { "\($0)" } ?? "?"
            return QueryError(
                .limitExceeded, "the answer to \(label) ran out of its time limit (\(limit)) after \(steps.count) steps",
                input: "time", expected: limit)
        }
    }

    /// One call's result text.
    private func perform(_ call: ToolCall, ledger: SourceLedger) async throws -> String {
        switch try resolve(call) {
        case .search(let query, let options):
            guard let retriever else { return "" }
            return ledger.add(try await retriever.retrieve(query, options: options), budget: searchBudget)
        case .tool(let tool, let arguments):
            switch tool.body {
            case .sync(let body): return try await Concurrently.offPool { try body(arguments) }
            case .async(let body): return try await body(arguments)
            }
        }
    }

    /// One call's result text, on the calling thread (a thread of Quiver's own, or the
    /// synchronous caller's).
    private func performSync(_ call: ToolCall, ledger: SourceLedger) throws -> String {
        switch try resolve(call) {
        case .search(let query, let options):
            guard let retriever else { return "" }
            return ledger.add(try retriever.retrieve(query, options: options), budget: searchBudget)
        case .tool(let tool, let arguments):
            switch tool.body {
            case .sync(let body): return try body(arguments)
            case .async(let body): return try BlockingExecutor.wait { try await body(arguments) }
            }
        }
    }

    private enum Resolved {
        case search(String, RetrievalOptions)
        case tool(Tool, JSONValue)
    }

    /// The tool a call names and its parsed arguments.
    private func resolve(_ call: ToolCall) throws -> Resolved {
        let isSearch = call.name == SearchDocumentsTool.name && retriever != nil
        let tool = isSearch ? nil : tools.first { $0.name == call.name }
        guard isSearch || tool != nil else {
            let names = toolDefinitions.map(\.name).joined(separator: ", ")
            throw QueryError(
                .invalidArgument, "there is no tool named \"\(call.name)\"; the tools are: \(names)", input: call.name,
                expected: names, actual: call.name)
        }
        let arguments: JSONValue
        do { arguments = try call.parsedArguments() } catch let e as QuiverError {
            var e = e
            e.message = "the arguments of \(call.name) are not a valid JSON object (\(call.arguments.prefix(80))); send them again"
            throw e
        }
        if let tool { return .tool(tool, arguments) }
        guard let retriever else { throw QueryError(.invalidArgument, "no retriever") }
        let (query, options) = try SearchDocumentsTool.request(arguments, base: retriever.options, maxK: maxSearchResults)
        return .search(query, options)
    }

    /// A failed call's error as a `QuiverError` naming the tool.
    static func toolError(_ error: Error, _ call: ToolCall) -> QuiverError {
        if var e = error as? QuiverError {
            if e.input == nil { e.input = call.name }
            return e
        }
        return QueryError(.toolFailed, "\(call.name) threw: \(error)", input: call.name)
    }

    /// The question as errors quote it: in quotes, cut to 60 characters.
    static func label(_ question: String) -> String {
        let line = question.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        return "\"\(line.count > 60 ? line.prefix(60) + "…" : Substring(line))\""
    }
}
