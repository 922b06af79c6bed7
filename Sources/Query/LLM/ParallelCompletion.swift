extension LanguageModel {
    /// Completes every prompt, at most `concurrency` at once: one result per prompt
    /// (success or that prompt's error), in input order. Cancelling the calling task
    /// cancels the requests in flight; prompts not yet started fail with
    /// `QueryError.cancelled`.
    public func completeAll(
        _ prompts: [[ChatMessage]], options: CompletionOptions = CompletionOptions(), concurrency: Int = 8
    ) async -> [Result<Completion, Error>] {
        await Concurrently.map(prompts.count, limit: concurrency) { i in
            try await self.complete(prompts[i], options: options)
        }
    }

    /// Completes every prompt on `concurrency` threads of Quiver's own; one result per
    /// prompt, in input order. The calling thread waits.
    public func completeAll(
        _ prompts: [[ChatMessage]], options: CompletionOptions = CompletionOptions(), concurrency: Int = 8
    ) -> [Result<Completion, Error>] {
        Concurrently.map(prompts.count, limit: concurrency) { i in
            try self.complete(prompts[i], options: options)
        }
    }
}
