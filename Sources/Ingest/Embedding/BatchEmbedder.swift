import Foundation
import HTTP
import Synchronization

/// What a batch embedding produced: a vector per input (nil where its batch failed) and
/// the failed batches with the inputs each held. The other batches' vectors are kept.
public struct BatchEmbedding: Sendable {
    /// One entry per input, in input order.
    public var vectors: [[Float]?]
    /// Failed batches, in input order.
    public var failures: [BatchFailure]

    /// All vectors, or the first failure.
    public func get() throws -> [[Float]] {
        if let first = failures.first { throw first }
        return vectors.map { $0 ?? [] }
    }
}

/// A batch that failed after its retries: which inputs it held and why.
public struct BatchFailure: Error, Sendable, CustomStringConvertible {
    /// Positions of the batch's texts in the input.
    public var inputs: Range<Int>
    /// The error, as text (the underlying errors need not be `Sendable`).
    public var message: String

    /// `inputs 200..<300: <error>`.
    public var description: String { "inputs \(inputs.lowerBound)..<\(inputs.upperBound): \(message)" }
}

/// Embeds many texts as batches (by count and by a byte budget) in concurrent requests,
/// vectors in input order. When the server answers 429 the concurrency halves and then
/// recovers one step per `limit` successes, so a rate-limited run slows down instead of
/// failing.
///
/// ```swift
/// let batch = BatchEmbedder(try OpenAIEmbedder(model: "text-embedding-3-small", dimension: 1536), concurrency: 16)
/// let result = await batch.embed(chunks)      // or the synchronous `batch.embed(chunks)`
/// let vectors = try result.get()
/// ```
public struct BatchEmbedder: Sendable {
    /// The embedder doing the work.
    public let embedder: any Embedder
    /// Most texts per batch (never above the embedder's request limit).
    public let batchSize: Int
    /// Most UTF-8 bytes per batch, if any.
    public let maxBatchBytes: Int?
    /// Most batches in flight.
    public let concurrency: Int

    /// Creates a batch embedder.
    public init(_ embedder: any Embedder, batchSize: Int = 100, maxBatchBytes: Int? = nil, concurrency: Int = 8) {
        self.embedder = embedder
        self.batchSize = max(1, min(batchSize, embedder.limits.maxInputsPerRequest))
        self.maxBatchBytes = maxBatchBytes
        self.concurrency = max(1, concurrency)
    }

    func batches(_ texts: [String]) -> [Range<Int>] {
        HTTPEmbedding.requests(texts, EmbedderLimits(maxInputsPerRequest: batchSize, maxBytesPerRequest: maxBatchBytes))
    }

    /// Embeds on the embedder's async path, at most `concurrency` batches at once.
    public func embed(_ texts: [String]) async -> BatchEmbedding {
        await embed(texts) { _, _, _ in }
    }

    /// `embed(_:)`, calling `onBatch` (in the calling task, one call at a time) as each
    /// request completes: the range of inputs, their vectors, or the failure's message.
    public func embed(
        _ texts: [String], onBatch: (_ inputs: Range<Int>, _ vectors: [[Float]]?, _ failure: String?) -> Void
    ) async -> BatchEmbedding {
        let ranges = batches(texts)
        let control = gate()
        defer { control.stop() }
        var vectors = [[Float]?](repeating: nil, count: texts.count)
        var failures: [BatchFailure] = []
        let embedder = self.embedder
        await withTaskGroup(of: Done.self) { group in
            var next = 0
            var inFlight = 0
            while next < ranges.count || inFlight > 0 {
                while next < ranges.count && inFlight < control.limit && !Task.isCancelled {
                    let range = ranges[next]
                    let batch = Array(texts[range])
                    group.addTask {
                        do {
                            return Done(range: range, result: .success(try await embedder.embed(batch)))
                        } catch {
                            return Done(range: range, result: .failure(BatchFailure(inputs: range, message: "\(error)")))
                        }
                    }
                    next += 1
                    inFlight += 1
                }
                guard let done = await group.next() else { break }
                inFlight -= 1
                let failed = failures.count
                Self.collect(done.result, done.range, &vectors, &failures)
                if failures.count > failed {
                    onBatch(done.range, nil, failures[failed].message)
                } else {
                    onBatch(done.range, vectors[done.range].map { $0 ?? [] }, nil)
                }
            }
        }
        failures.sort { $0.inputs.lowerBound < $1.inputs.lowerBound }
        return BatchEmbedding(vectors: vectors, failures: failures)
    }

    /// Embeds on threads Quiver owns, each calling the embedder's synchronous form; the
    /// calling thread only waits for them (it is never a cooperative-pool wait on a Task).
    public func embed(_ texts: [String]) -> BatchEmbedding {
        let ranges = batches(texts)
        let control = gate()
        defer { control.stop() }
        let state = Locked((next: 0, vectors: [[Float]?](repeating: nil, count: texts.count), failures: [BatchFailure]()))
        let embedder = self.embedder
        let workers = min(concurrency, ranges.count)
        BlockingExecutor.onOwnThreads(workers) { _ in
            while true {
                control.enter()
                let i = state.withLock { s -> Int? in
                    guard s.next < ranges.count else { return nil }
                    defer { s.next += 1 }
                    return s.next
                }
                guard let i else {
                    control.leave()
                    break
                }
                let result: Result<[[Float]], BatchFailure>
                do {
                    result = .success(try embedder.embed(Array(texts[ranges[i]])))
                } catch {
                    result = .failure(BatchFailure(inputs: ranges[i], message: "\(error)"))
                }
                control.leave()
                state.withLock { Self.collect(result, ranges[i], &$0.vectors, &$0.failures) }
            }
        }
        return state.withLock { s in
            BatchEmbedding(vectors: s.vectors, failures: s.failures.sorted { $0.inputs.lowerBound < $1.inputs.lowerBound })
        }
    }

    private struct Done: Sendable {
        var range: Range<Int>
        var result: Result<[[Float]], BatchFailure>
    }

    private static func collect(
        _ result: Result<[[Float]], BatchFailure>, _ range: Range<Int>, _ vectors: inout [[Float]?], _ failures: inout [BatchFailure]
    ) {
        switch result {
        case .success(let batch) where batch.count == range.count:
            for (offset, v) in batch.enumerated() { vectors[range.lowerBound + offset] = v }
        case .success(let batch):
            failures.append(BatchFailure(inputs: range, message: "\(batch.count) vectors for \(range.count) texts"))
        case .failure(let failure):
            failures.append(failure)
        }
    }

    /// The adaptive limit of one run, fed by the embedder's caller (when it has one).
    func gate() -> AdaptiveGate {
        AdaptiveGate(maximum: concurrency, caller: (embedder as? any HTTPBackedEmbedder)?.caller)
    }
}
