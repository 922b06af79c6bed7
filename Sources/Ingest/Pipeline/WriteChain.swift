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

    /// Waits for every write so far; throws the first error among them.
    func drain() async throws { try await newest?.value }

    /// Waits for every write so far, whatever their outcome (on the way out after an error).
    func settle() async { _ = await newest?.result }

    /// Throws the first error of the writes so far if one has failed; else returns at once.
    func rethrowAnyFailure() async throws {
        if failed.withLock({ $0 }) { try await drain() }
    }
}
