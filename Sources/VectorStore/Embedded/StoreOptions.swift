/// Settings for opening a `Store`.
public struct StoreOptions: Sendable {
    /// Create the directory and store when missing. Default true.
    public var create: Bool = true
    /// Initial LMDB map size in bytes: address space, not disk. The map grows on demand
    /// when full. Default 1 TiB.
    public var initialMapSize: Int = 1 << 40
    /// Most collections the store can hold over its lifetime (sets LMDB's maxdbs).
    public var maxCollections: Int = 256
    /// Reader slots shared by all processes that open the store.
    public var maxReaders: Int = 126
    /// Flush each commit to disk (fsync). With false, a killed process still loses
    /// nothing committed, but a power failure may lose the last commits. Default true.
    public var durable: Bool = true
    /// How many blocks of one size tier are merged together. Default 8.
    public var mergeFactor: Int = 8
    /// Target size of a full vector block in bytes. Default 16 MiB: large enough for
    /// BLAS to stream, small enough that LMDB finds contiguous free runs for it again
    /// (64 MiB blocks left the file 1.3-2.3× the data after merges; 16 MiB, 1.17×).
    public var maxBlockBytes: Int = 16 << 20
    /// Verify each vector block's checksum the first time this process reads it (once
    /// per block: blocks never change, a rewrite gets a new number), so a damaged block
    /// is an error naming it rather than wrong or missing hits. Costs one extra pass over
    /// the vectors per block and process. Default false: `Store.check()` verifies every
    /// block whatever this says.
    public var verifyChecksums: Bool = false
    /// Walk every page of the file when opening, as `Store.check()` does first, and refuse
    /// (`.corrupted`, naming the page) a store whose LMDB main database, free list or
    /// Quiver tables are damaged, before LMDB reads them: on such pages liblmdb can stop
    /// the process. Reads every page in use once (one pass over the file). Default false;
    /// `quiver check` sets it.
    public var checkPagesOnOpen: Bool = false
    /// How many candidates per hit a search of a compact-encoding collection (f16, int8)
    /// keeps for exact rescoring from float32, unless the request says
    /// (`SearchRequest.oversampling`). Default 4, measured with `quiver-bench tiers`:
    /// recall@10 against exact f32 on GloVe and MiniLM vectors.
    public var oversampling: Int = 4
    /// IVF lists a dense search of a collection with an IVF index probes per query, unless
    /// the request says (`SearchRequest.nprobe`). nil: the collection's recorded default
    /// (`IVFSettings.defaultNprobe`, or what `Store.buildIVFIndex` was given).
    public var nprobe: Int? = nil
    /// Rows that writes to a collection with an IVF index leave outside its lists before
    /// a write moves them all into their lists, in its own transaction. Rows outside the
    /// lists are found by every search (each query scores them exactly), so this bounds
    /// the extra work a query does, while filing a write's rows in bulk touches each list
    /// once rather than once per write (10,000 inserts in batches of 100 went from 0.10–0.23×
    /// the speed of a collection without the index to 0.45–0.88× on 200k and 1M clustered
    /// vectors and GloVe, filings included, measured with `quiver-bench tiers`). nil:
    /// `IVFSettings.defaultPendingRows`; 0: every write files its rows at once.
    public var ivfPendingRows: Int? = nil
    /// Threads a search over a large collection uses. Default: active processors.
    public var searchThreads: Int = ProcessInfoCores.count
    /// When keyword-index segments merge and fold into the term lists (tests make it small).
    var keywordSegments = KeywordSegmentPolicy()
    /// Collections of at most this many rows (ever written) may run keyword searches term
    /// at a time into an accumulator of one Double per row (8 MiB at the bound); 0: never
    /// (tests compare the two ways).
    var keywordAccumulatorRows = 1 << 20

    /// Default options.
    public init() {}
}

/// The number of active processors, read once.
public enum ProcessInfoCores {
    /// Active processors of this machine.
    public static let count: Int = {
        #if canImport(Glibc)
            return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        #else
            return 2
        #endif
    }()
}

#if canImport(Glibc)
    import Glibc
#endif
