import Dispatch
import VectorStore

/// The offline semantic embedder: all-MiniLM-L6-v2 run in-process (``LocalModel``),
/// `local/all-MiniLM-L6-v2/384`. Texts longer than 256 tokens are truncated, as
/// sentence-transformers does; split documents with a `TokenSplitter` counting with
/// ``tokenizer`` so chunks fit.
///
/// ```swift
/// let embedder = try LocalEmbedder()          // the model scripts/setup.sh installed
/// let vectors = try embedder.embed(["How do I reset my password?"])
/// ```
///
/// Thread safety: a value; share it freely. The synchronous `embed` computes on the
/// calling thread (plus GCD worker threads up to `threads`); the `async` one runs on the
/// model's own serial queue, so concurrent requests (a pipeline keeps several in flight)
/// take turns using all the cores instead of oversubscribing them, and the cooperative
/// pool never blocks.
public struct LocalEmbedder: Embedder {
    /// The model.
    public let model: LocalModel
    /// Threads one `embed` call uses.
    public let threads: Int

    /// Loads (or reuses) the model in `directory`.
    ///
    /// - Throws: `IngestError.modelNotFound` naming the folder and `scripts/setup.sh` if
    ///   the model files are not there; `IngestError.badModelFile` if one is malformed.
    public init(directory: String? = nil, threads: Int = ProcessInfoCores.count) throws {
        model = try LocalModel.load(directory: directory)
        self.threads = max(1, threads)
    }

    /// The tokenizer the model reads with, for a `TokenSplitter`.
    public var tokenizer: WordPieceTokenizer { model.tokenizer }

    /// `local/all-MiniLM-L6-v2/384`.
    public var identifier: EmbedderIdentifier {
        EmbedderIdentifier(provider: "local", model: LocalModel.name, dimension: model.dimension)
    }

    /// Batches of 64 texts: enough rows for sgemm to run at full speed, small enough for
    /// the pipeline to keep every stage busy.
    public var limits: EmbedderLimits { EmbedderLimits(maxInputsPerRequest: 64) }

    /// One unit vector per text, in input order, computed on the calling thread (and
    /// worker threads up to ``threads``).
    public func embed(_ texts: [String]) throws -> [[Float]] {
        texts.isEmpty ? [] : model.embed(texts, threads: threads)
    }

    /// One unit vector per text, in input order, computed on the model's queue.
    ///
    /// - Throws: `CancellationError` if the task is cancelled before the work starts.
    public func embed(_ texts: [String]) async throws -> [[Float]] {
        try Task.checkCancellation()
        if texts.isEmpty { return [] }
        let model = model
        let threads = threads
        return await LocalEmbedder.executor.run { model.embed(texts, threads: threads) }
    }

    /// Where async requests run, one at a time (each uses all its threads).
    private static let executor = BlockingExecutor(label: "quiver.local-embedder", concurrent: false)
}
