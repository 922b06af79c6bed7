extension LanguageModel {
    /// Completes every prompt, at most `concurrency` at once (default: the model's
    /// `preferredConcurrency`; fewer while its server answers 429): one result per prompt
    /// (success or that prompt's error), in input order. Cancelling the calling task
    /// cancels the requests in flight; prompts not yet started fail with
    /// `QueryError.cancelled`.
    public func completeAll(
        _ prompts: [[ChatMessage]], options: CompletionOptions = CompletionOptions(), concurrency: Int? = nil
    ) async -> [Result<Completion, Error>] {
        let limit = concurrency ?? preferredConcurrency
        let gate = completionGate(maximum: limit)
        defer { gate.stop() }
        return await Concurrently.map(prompts.count, limit: limit, gate: gate) { i in
            try await self.complete(prompts[i], options: options)
        }
    }

    /// Completes every prompt on up to `concurrency` threads of Quiver's own (default: the
    /// model's `preferredConcurrency`; fewer while its server answers 429); one result per
    /// prompt, in input order. The calling thread waits.
    public func completeAll(
        _ prompts: [[ChatMessage]], options: CompletionOptions = CompletionOptions(), concurrency: Int? = nil
    ) -> [Result<Completion, Error>] {
        let limit = concurrency ?? preferredConcurrency
        let gate = completionGate(maximum: limit)
        defer { gate.stop() }
        return Concurrently.map(prompts.count, limit: limit, gate: gate) { i in
            try self.complete(prompts[i], options: options)
        }
    }
}
