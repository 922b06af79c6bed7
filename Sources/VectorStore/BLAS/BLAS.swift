import COpenBLAS

/// Quiver's BLAS: OpenBLAS, loaded with the best kernel core the CPU supports.
///
/// Every matrix product in Quiver (search tiles, the local embedding model) goes through
/// here. The library is loaded on first use; ``load()`` does it early and tells how it
/// went, ``status`` reports it at any time (`quiver doctor` prints it).
///
/// ```swift
/// let blas = BLAS.load()
/// print(blas.core ?? "portable kernels", "—", blas.reason)
/// ```
public enum BLAS {
    /// Loads OpenBLAS if this process has not yet (safe from any thread; later calls
    /// return at once) and returns the status.
    @discardableResult
    public static func load() -> BLASStatus { OpenBLASLibrary.shared.status }

    /// The loaded library, its core and why (loads it first if needed), with the thread
    /// count OpenBLAS has now.
    public static var status: BLASStatus {
        var status = OpenBLASLibrary.shared.status
        status.libraryThreads = OpenBLASLibrary.shared.getNumThreads.map { Int($0()) }
        return status
    }

    /// Sets how many threads OpenBLAS itself uses per call (Quiver keeps it at 1 and
    /// runs its own threads; benchmarks raise it to measure the library alone). No effect
    /// on the portable kernels.
    public static func setLibraryThreads(_ count: Int) {
        OpenBLASLibrary.shared.setNumThreads?(Int32(max(1, count)))
    }

    /// Row-major `c[m × n] = alpha · op(a) · op(b) + beta · c`, where op(a) is m × k
    /// (`a` is k × m when `transposeA`) and op(b) is k × n (`b` is n × k when
    /// `transposeB`); `lda`, `ldb`, `ldc` are row strides in elements. With `beta` 0, `c`
    /// is not read.
    @inline(__always)
    public static func sgemm(
        transposeA: Bool = false, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int, beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        let noTrans = Int32(QUIVER_CBLAS_NO_TRANS)
        let trans = Int32(QUIVER_CBLAS_TRANS)
        OpenBLASLibrary.shared.sgemm(
            Int32(QUIVER_CBLAS_ROW_MAJOR), transposeA ? trans : noTrans, transposeB ? trans : noTrans, Int32(m),
            Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// Row-major `y[m] = alpha · a[m × n] · x` (a contiguous, x and y too).
    @inline(__always)
    public static func sgemv(
        m: Int, n: Int, alpha: Float = 1, a: UnsafePointer<Float>, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>
    ) {
        OpenBLASLibrary.shared.sgemv(
            Int32(QUIVER_CBLAS_ROW_MAJOR), Int32(QUIVER_CBLAS_NO_TRANS), Int32(m), Int32(n), alpha, a,
            Int32(n), x, 1, 0, y, 1)
    }

    /// The dot product of two contiguous float arrays of `count` elements.
    @inline(__always)
    public static func sdot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        OpenBLASLibrary.shared.sdot(Int32(count), a, 1, b, 1)
    }
}

/// How this process's BLAS was loaded: what `quiver doctor` prints and a bug report needs.
public struct BLASStatus: Sendable, Equatable {
    /// How the kernel core was decided.
    public enum Choice: String, Sendable {
        /// Quiver chose the core from the CPU's features (``OpenBLASCore/best(for:)``).
        case chosenFromCPU = "chosen from the CPU"
        /// `OPENBLAS_CORETYPE` was set and is respected.
        case userSetting = "OPENBLAS_CORETYPE"
        /// `OPENBLAS_CORETYPE` named a core this CPU cannot run, so Quiver's choice replaced it.
        case userSettingReplaced = "OPENBLAS_CORETYPE replaced"
        /// The application had loaded OpenBLAS already; its choice stands.
        case alreadyLoaded = "already loaded"
        /// Off x86: OpenBLAS's own detection.
        case libraryDecided = "OpenBLAS's detection"
        /// No OpenBLAS: Quiver's portable loops.
        case portableFallback = "portable kernels"
    }

    /// The CPU as Quiver read it.
    public var cpu: CPUInfo
    /// How the core was decided.
    public var choice: Choice = .libraryDecided
    /// Why, in one sentence.
    public var reason = ""
    /// The core Quiver asked OpenBLAS for (nil when it asked none).
    public var requestedCore: String?
    /// The core OpenBLAS runs (`openblas_get_corename`), nil without OpenBLAS.
    public var core: String?
    /// The library file, symbolic links resolved; nil without OpenBLAS.
    public var library: String?
    /// `openblas_get_config`: version and build options.
    public var configuration: String?
    /// OpenBLAS's threading (`pthreads`, `OpenMP`, `sequential`).
    public var threading: String?
    /// Threads OpenBLAS uses per call (Quiver keeps 1).
    public var libraryThreads: Int?
    /// Whether OpenBLAS's worker threads, idle with one thread per call, were stopped
    /// after it loaded (its pthreads build only; not when the application loaded it).
    public var idleWorkersStopped = false

    /// An empty status for `cpu`.
    public init(cpu: CPUInfo) { self.cpu = cpu }
}
