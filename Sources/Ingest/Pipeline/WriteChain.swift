import QuiverCore
import VectorStore

/// An ingest run's writes in flight, kept from one window to the next: a window's last
/// writes commit while the next window is loaded, split and embedded, instead of the run
/// waiting for them at the end of every window (on two cores that wait left one idle).
///
/// At most two writes are in flight (see `IngestPipeline`); `newest` ends after every
/// write before it, with the first error among them. Used by one run's task alone.
struct WriteChain {
    /// The newest write, and the one before it.
    var newest: Task<Void, Error>?
    var beforeNewest: Task<Void, Error>?
    /// Chunks and documents committed in this run so far.
    let written = Locked(0)
    let committedDocuments = Locked(0)
    /// Writes dispatched and not yet ended: while two are, the next transaction takes the
    /// documents that become ready meanwhile (group commit).
    let inFlight = Locked(0)
    /// Set by a write that failed, so that the next window stops before its work.
    let failed = Locked(false)
    /// Documents gathered for the next transaction, with whether each is new.
    var pending: (records: [Record], docs: [(String, Bool)]) = ([], [])

    /// Appends a write to the chain: it starts once the write two back has ended (none
    /// starts after an error two back), and ends after every write before it, with the
    /// first error among them.
    mutating func chain(_ body: @escaping @Sendable () async throws -> Void) {
        let previous = newest
        let beforePrevious = beforeNewest
        let inFlight = self.inFlight
        let failed = self.failed
        inFlight.withLock { $0 += 1 }
        newest = Task(executorPreference: BlockingExecutor.current) {
            var failure: Error?
            do {
                try await beforePrevious?.value
                try await body()
            } catch {
                failure = error
                failed.withLock { $0 = true }
            }
            inFlight.withLock { $0 -= 1 }
            try await previous?.value  // an earlier write's error comes first
            if let failure { throw failure }
        }
        beforeNewest = previous
    }

    /// Waits for every write so far; throws the first error among them.
    func drain() async throws { try await newest?.value }

    /// Waits for every write so far, whatever their outcome (on the way out after an error).
    func settle() async { _ = await newest?.result }

    /// Throws the first error of the writes so far if one has failed; else returns at once.
    func rethrowAnyFailure() async throws {
        if failed.withLock({ $0 }) { try await drain() }
    }
}
