import Foundation

/// An answer to a question, with the sources it was given and the ones it cites.
public struct Answer: Sendable {
    /// The question as asked.
    public var question: String
    /// The question searched with (after the rewrite hook).
    public var searchedQuestion: String
    /// The answer: the model's text, or without a model the best-matching sentences of the
    /// context, each followed by its `[n]`.
    public var text: String
    /// Whether `text` is extractive (no language model was used).
    public var isExtractive: Bool
    /// The numbered context the answer was given.
    public var sources: [Citation]
    /// The sources the answer cites, in order of first citation.
    public var citations: [Citation]
    /// The completion's finish reason and usage, when a model answered.
    public var completion: Completion?
}

/// Something that happens while an answer is streamed.
public enum AnswerEvent: Sendable {
    /// The numbered sources, before any text.
    case sources([Citation])
    /// New answer text.
    case delta(String)
    /// The complete answer, last.
    case finished(Answer)
}

/// Code that runs inside an answer. Hooks are synchronous and run on threads of Quiver's
/// own, never on the cooperative pool, so they may block and may call the synchronous
/// `embed`, `retrieve`, `search` or `complete` themselves.
public struct AnswerHooks: Sendable {
    /// Rewrites the question before retrieval (expansion, spelling, history).
    public var rewrite: (@Sendable (String) throws -> String)?
    /// Reorders or filters the retrieved chunks before the context is built.
    public var rerank: (@Sendable (String, [RetrievedChunk]) throws -> [RetrievedChunk])?

    /// Creates hooks.
    public init(
        rewrite: (@Sendable (String) throws -> String)? = nil,
        rerank: (@Sendable (String, [RetrievedChunk]) throws -> [RetrievedChunk])? = nil
    ) {
        self.rewrite = rewrite
        self.rerank = rerank
    }
}

/// Answers questions from a collection: retrieve, build the numbered context, complete
/// (or, without a model, extract), map citations back to sources. Many questions are
/// retrieved with one batched search and completed concurrently.
///
/// ```swift
/// let engine = QueryEngine(retriever: retriever, model: try OpenAIChat(model: "gpt-4o-mini"))
/// let answer = try await engine.answer("Who built the lighthouse?")
/// print(answer.text, answer.citations.map(\.source))
/// let all = await engine.answer(batch: questions)  // [Result<Answer, Error>], input order
/// ```
public struct QueryEngine: Sendable {
    /// Finds the chunks.
    public var retriever: Retriever
    /// Answers from the context; `nil` gives extractive answers.
    public var model: (any LanguageModel)?
    /// The prompt's messages.
    public var template: PromptTemplate
    /// How much context a prompt carries.
    public var budget: ContextBudget
    /// Completion options.
    public var completion: CompletionOptions
    /// Most completions (and hooks) in flight at once for a batch. By default the model's
    /// `preferredConcurrency` (8 without a model); a batch's completions go lower while
    /// the model's server answers 429 (`AdaptiveGate`).
    public var concurrency: Int
    /// Sentences of an extractive answer.
    public var extractiveSentences: Int
    /// Rewriter and re-ranker.
    public var hooks: AnswerHooks

    /// Creates an engine. `concurrency` defaults to the model's `preferredConcurrency`.
    public init(
        retriever: Retriever, model: (any LanguageModel)? = nil, template: PromptTemplate = .standard,
        budget: ContextBudget = .characters(8000), completion: CompletionOptions = CompletionOptions(), concurrency: Int? = nil,
        extractiveSentences: Int = 3, hooks: AnswerHooks = AnswerHooks()
    ) {
        self.retriever = retriever
        self.model = model
        self.template = template
        self.budget = budget
        self.completion = completion
        self.concurrency = concurrency ?? model?.preferredConcurrency ?? 8
        self.extractiveSentences = extractiveSentences
        self.hooks = hooks
    }

    /// The prompt messages for `question` with `context`.
    public func messages(question: String, context: PromptContext) -> [ChatMessage] {
        template.messages(question: question, context: context)
    }

    // MARK: One question

    /// Answers one question.
    public func answer(_ question: String, options: RetrievalOptions? = nil) async throws -> Answer {
        try await answer(batch: [question], options: options)[0].get()
    }

    /// Answers one question on the calling thread.
    public func answer(_ question: String, options: RetrievalOptions? = nil) throws -> Answer {
        try answer(batch: [question], options: options)[0].get()
    }

    /// Streams the answer to one question: `.sources`, then `.delta`s as the model
    /// generates, then `.finished`. Cancelling the iteration cancels the request.
    public func stream(_ question: String, options: RetrievalOptions? = nil) -> AsyncThrowingStream<AnswerEvent, Error> {
        AsyncThrowingStream { continuation in
            let task = Task(executorPreference: BlockingExecutor.current) {
                do {
                    let (searched, context) = try await prepare([question], options: options)[0].get()
                    continuation.yield(.sources(context.citations))
                    let answer: Answer
                    if let model {
                        var done = Completion(text: "")
                        for try await delta in model.stream(messages(question: searched, context: context), options: completion) {
                            if !delta.text.isEmpty { continuation.yield(.delta(delta.text)) }
                            done.append(delta)
                        }
                        if Task.isCancelled { throw QueryError(.cancelled, "the answer was cancelled") }
                        answer = makeAnswer(question, searched, context, text: done.text, completion: done)
                    } else {
                        let text = try await Extractive.answer(
                            question: searched, context: context, embedder: retriever.embedder, count: extractiveSentences)
                        continuation.yield(.delta(text))
                        answer = makeAnswer(question, searched, context, text: text, completion: nil)
                    }
                    continuation.yield(.finished(answer))
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    // MARK: Many questions

    /// Answers every question: rewrites (concurrently), one batched retrieval, re-ranks,
    /// then at most `concurrency` completions at once (fewer while the server answers
    /// 429). One result per question, in input order; one question's failure does not
    /// fail the others. Cancelling the caller cancels the requests in flight.
    public func answer(batch questions: [String], options: RetrievalOptions? = nil) async -> [Result<Answer, Error>] {
        let prepared = await prepare(questions, options: options)
        let gate = model?.completionGate(maximum: concurrency)
        defer { gate?.stop() }
        return await Concurrently.map(questions.count, limit: concurrency, gate: gate) { i in
            let (searched, context) = try prepared[i].get()
            return try await complete(question: questions[i], searched: searched, context: context)
        }
    }

    /// Synchronous form of `answer(batch:)`: the work runs on the calling thread and on
    /// threads of Quiver's own.
    public func answer(batch questions: [String], options: RetrievalOptions? = nil) -> [Result<Answer, Error>] {
        let prepared = prepare(questions, options: options)
        let gate = model?.completionGate(maximum: concurrency)
        defer { gate?.stop() }
        return Concurrently.map(questions.count, limit: concurrency, gate: gate) { i in
            let (searched, context) = try prepared[i].get()
            return try completeSync(question: questions[i], searched: searched, context: context)
        }
    }

    private func complete(question: String, searched: String, context: PromptContext) async throws -> Answer {
        if let model {
            let done = try await model.complete(messages(question: searched, context: context), options: completion)
            return makeAnswer(question, searched, context, text: done.text, completion: done)
        }
        let text = try await Extractive.answer(
            question: searched, context: context, embedder: retriever.embedder, count: extractiveSentences)
        return makeAnswer(question, searched, context, text: text, completion: nil)
    }

    private func completeSync(question: String, searched: String, context: PromptContext) throws -> Answer {
        if let model {
            let done = try model.complete(messages(question: searched, context: context), options: completion)
            return makeAnswer(question, searched, context, text: done.text, completion: done)
        }
        let text = try Extractive.answer(question: searched, context: context, embedder: retriever.embedder, count: extractiveSentences)
        return makeAnswer(question, searched, context, text: text, completion: nil)
    }

    /// The answer with `text`: extractive when no model completed it, citations parsed.
    private func makeAnswer(_ question: String, _ searched: String, _ context: PromptContext, text: String, completion: Completion?)
        -> Answer
    {
        Answer(
            question: question, searchedQuestion: searched, text: text, isExtractive: completion == nil,
            sources: context.citations, citations: context.cited(in: text), completion: completion)
    }

    // MARK: Retrieval steps

    typealias Prepared = Result<(String, PromptContext), Error>

    /// Per question: its chunks from `retrieved` (one per successful rewrite, in order),
    /// or its rewrite's error.
    static func scatter(_ retrieved: [Result<[RetrievedChunk], Error>], over rewritten: [Result<String, Error>])
        -> [Result<[RetrievedChunk], Error>]
    {
        var next = retrieved.makeIterator()
        return rewritten.map { r in
            switch r {
            case .success: return next.next() ?? .failure(QueryError(.cancelled, "not retrieved"))
            case .failure(let e): return .failure(e)
            }
        }
    }

    /// Whether a failed batch may have failed because of one of its inputs (a request the
    /// server refused, a bad vector), so that retrying one by one can tell which; an
    /// unreachable server, a timeout or a cancellation would only fail again, slower.
    static func concernsOneInput(_ error: Error) -> Bool {
        guard let e = error as? QuiverError else { return false }
        switch e.code {
        case .status: return [400, 413, 422].contains(e.status ?? 0)
        case .badEmbedding, .invalidArgument, .badResponse: return true
        default: return false
        }
    }

    /// Rewrite, batched retrieval, re-rank, context; one result per question.
    private func prepare(_ questions: [String], options: RetrievalOptions?) async -> [Prepared] {
        let hooks = self.hooks
        let rewritten: [Result<String, Error>]
        if let rewrite = hooks.rewrite {
            rewritten = await Concurrently.map(questions.count, limit: concurrency) { i in
                try await Concurrently.offPool { try rewrite(questions[i]) }
            }
        } else {
            rewritten = questions.map { .success($0) }
        }
        let texts = rewritten.compactMap { try? $0.get() }
        var retrieved: [Result<[RetrievedChunk], Error>]
        do {
            retrieved = try await retriever.retrieve(batch: texts, options: options).map { .success($0) }
        } catch  where texts.count > 1 && Self.concernsOneInput(error) {
            // Find which question failed: retrieve them one by one.
            retrieved = []
            for text in texts {
                do { retrieved.append(.success(try await retriever.retrieve(text, options: options))) } catch {
                    retrieved.append(.failure(error))
                }
            }
        } catch {
            retrieved = texts.map { _ in .failure(error) }
        }
        let found = Self.scatter(retrieved, over: rewritten)
        let budget = self.budget
        return await Concurrently.map(questions.count, limit: concurrency) { i in
            let searched = try rewritten[i].get()
            var chunks = try found[i].get()
            if let rerank = hooks.rerank {
                let current = chunks
                chunks = try await Concurrently.offPool { try rerank(searched, current) }
            }
            return (searched, PromptContext(chunks: chunks, budget: budget))
        }
    }

    /// Synchronous form of `prepare`.
    private func prepare(_ questions: [String], options: RetrievalOptions?) -> [Prepared] {
        let hooks = self.hooks
        let rewritten: [Result<String, Error>] =
            hooks.rewrite.map { rewrite in Concurrently.map(questions.count, limit: concurrency) { try rewrite(questions[$0]) } }
            ?? questions.map { .success($0) }
        let texts = rewritten.compactMap { try? $0.get() }
        var retrieved: [Result<[RetrievedChunk], Error>]
        do {
            retrieved = try retriever.retrieve(batch: texts, options: options).map { .success($0) }
        } catch  where texts.count > 1 && Self.concernsOneInput(error) {
            retrieved = texts.map { text in Result { try retriever.retrieve(text, options: options) } }
        } catch {
            retrieved = texts.map { _ in .failure(error) }
        }
        let found = Self.scatter(retrieved, over: rewritten)
        return questions.indices.map { i in
            Result {
                let searched = try rewritten[i].get()
                var chunks = try found[i].get()
                if let rerank = hooks.rerank { chunks = try rerank(searched, chunks) }
                return (searched, PromptContext(chunks: chunks, budget: budget))
            }
        }
    }
}
