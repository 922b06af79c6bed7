import COpenBLAS
import Foundation

/// OpenBLAS, loaded at run time once Quiver has chosen its kernel core.
///
/// OpenBLAS reads `OPENBLAS_CORETYPE` once, while it loads, so a process that linked it
/// could not choose: the choice is made here, before `dlopen`. The first BLAS call of the
/// process (or ``BLAS/load()``, which `Store` calls when it opens) loads it:
///
/// 1. `OPENBLAS_CORETYPE` set and not empty: the user's choice stands, unless the CPU
///    lacks the instructions of that core (OpenBLAS would stop the process with an
///    illegal instruction); then Quiver's choice replaces it and the status says why.
/// 2. Otherwise the core comes from the CPU's features (``OpenBLASCore/best(for:)``).
/// 3. The variable is set for the `dlopen` only and restored afterwards, so child
///    processes see the environment as it was.
///
/// If OpenBLAS is already in the process (an application linked it), its core cannot be
/// changed and the status says so. If it cannot be loaded at all, portable kernels stand
/// in (correct, much slower) and the status carries the loader's error.
struct OpenBLASLibrary: Sendable {
    // Sendable: immutable values and C function pointers into a library that is never
    // unloaded.
    let sgemm: quiver_cblas_sgemm_fn
    let sgemv: quiver_cblas_sgemv_fn
    let sdot: quiver_cblas_sdot_fn
    let setNumThreads: quiver_openblas_set_num_threads_fn?
    let getNumThreads: quiver_openblas_get_int_fn?
    let status: BLASStatus

    /// The process's BLAS, loaded on first use.
    static let shared = OpenBLASLibrary()

    /// Library names tried in order when `QUIVER_BLAS_LIBRARY` does not name one.
    static let candidates = ["libopenblas.so.0", "libopenblas.so", "libopenblasp.so.0", "libopenblaso.so.0"]

    private init() {
        self = Self.load()
    }

    private static func load() -> OpenBLASLibrary {
        let cpu = CPUInfo.current
        let environment = ProcessInfo.processInfo.environment
        let userCore = environment["OPENBLAS_CORETYPE"]
        let names = environment["QUIVER_BLAS_LIBRARY"].map { [$0] } ?? Self.candidates

        var status = BLASStatus(cpu: cpu)
        // Already in the process: dlopen would return it as it is.
        if let loaded = names.lazy.compactMap({ dlopen($0, RTLD_NOW | RTLD_NOLOAD) }).first {
            status.choice = .alreadyLoaded
            status.reason =
                "OpenBLAS was already loaded by the application, so its own choice stands"
                + (userCore.map { " (OPENBLAS_CORETYPE=\($0))" } ?? "")
            return bind(loaded, status: status)
        }

        var forced: String?
        if let userCore, !userCore.trimmingCharacters(in: .whitespaces).isEmpty {
            if let missing = OpenBLASCore.missing(for: userCore, on: cpu), let best = OpenBLASCore.best(for: cpu) {
                forced = best
                status.choice = .userSettingReplaced
                status.reason =
                    "OPENBLAS_CORETYPE=\(userCore) was replaced by \(best): this CPU lacks \(missing.joined(separator: ", ")), "
                    + "and OpenBLAS would stop at its first call with an illegal instruction"
            } else {
                status.choice = .userSetting
                status.reason = "OPENBLAS_CORETYPE=\(userCore) is set in the environment"
            }
            status.requestedCore = forced ?? userCore
        } else if let best = OpenBLASCore.best(for: cpu) {
            forced = best
            status.choice = .chosenFromCPU
            let shown = cpu.features.names.filter { $0.hasPrefix("avx") || $0 == "fma" || $0.hasPrefix("sse4") }
            status.reason =
                "chosen from the CPU's features (\(shown.isEmpty ? "no AVX" : shown.joined(separator: " "))); "
                + "set OPENBLAS_CORETYPE to override"
            status.requestedCore = best
        } else {
            status.choice = .libraryDecided
            status.reason = "OpenBLAS recognised the CPU itself (no x86 features to choose from)"
        }

        if let forced { setenv("OPENBLAS_CORETYPE", forced, 1) }
        var errors: [String] = []
        var handle: UnsafeMutableRawPointer?
        for name in names {
            if let h = dlopen(name, RTLD_NOW | RTLD_LOCAL) {
                handle = h
                break
            }
            errors.append(dlerror().map { String(cString: $0) } ?? "\(name): cannot be loaded")
        }
        if forced != nil {
            if let userCore { setenv("OPENBLAS_CORETYPE", userCore, 1) } else { unsetenv("OPENBLAS_CORETYPE") }
        }
        guard let handle else {
            status.choice = .portableFallback
            status.reason =
                "OpenBLAS could not be loaded (\(errors.joined(separator: "; "))): Quiver's portable kernels run instead, "
                + "correct but far slower; install libopenblas0 (Debian) or point QUIVER_BLAS_LIBRARY at libopenblas.so"
            status.requestedCore = nil
            return OpenBLASLibrary(portable: status)
        }
        return bind(handle, status: status)
    }

    private static func bind(_ handle: UnsafeMutableRawPointer, status initial: BLASStatus) -> OpenBLASLibrary {
        func symbol<T>(_ name: String, as type: T.Type) -> T? {
            dlsym(handle, name).map { unsafeBitCast($0, to: type) }
        }
        var status = initial
        guard let sgemm = symbol("cblas_sgemm", as: quiver_cblas_sgemm_fn.self),
            let sgemv = symbol("cblas_sgemv", as: quiver_cblas_sgemv_fn.self),
            let sdot = symbol("cblas_sdot", as: quiver_cblas_sdot_fn.self)
        else {
            status.choice = .portableFallback
            status.reason = "the loaded library has no cblas_sgemm/cblas_sgemv/cblas_sdot: Quiver's portable kernels run instead"
            status.requestedCore = nil
            return OpenBLASLibrary(portable: status)
        }
        let setNumThreads = symbol("openblas_set_num_threads", as: quiver_openblas_set_num_threads_fn.self)
        let getNumThreads = symbol("openblas_get_num_threads", as: quiver_openblas_get_int_fn.self)
        var info = quiver_dl_info()
        if quiver_dladdr(unsafeBitCast(sgemm, to: UnsafeRawPointer.self), &info) != 0, let file = info.dli_fname {
            let path = String(cString: file)
            status.library = (try? FileManager.default.destinationOfSymbolicLinkResolved(path)) ?? path
        }
        status.configuration = symbol("openblas_get_config", as: quiver_openblas_get_string_fn.self)?().map { String(cString: $0) }
        status.core = symbol("openblas_get_corename", as: quiver_openblas_get_string_fn.self)?().map { String(cString: $0) }
        if let mode = symbol("openblas_get_parallel", as: quiver_openblas_get_int_fn.self)?() {
            status.threading = mode == 0 ? "sequential" : mode == 1 ? "pthreads" : mode == 2 ? "OpenMP" : "mode \(mode)"
        }
        if let requested = status.requestedCore, let core = status.core, core.lowercased() != requested.lowercased() {
            status.reason += "; but OpenBLAS runs \(core): this build does not know \(requested)"
        }
        // Quiver owns parallelism (work split over its threads, each calling
        // single-threaded BLAS); OpenBLAS's own pool on top would oversubscribe the cores.
        setNumThreads?(1)
        status.libraryThreads = getNumThreads.map { Int($0()) }
        // The pthreads build starts its pool when it loads, and each idle worker spins on
        // sched_yield for about 0.1 s before it sleeps: a core burnt at the start of every
        // process (0.11 s of CPU in an idle one, measured), e.g. under a `quiver search`.
        // With one thread per call the pool has no work, so it is stopped (as OpenBLAS's
        // own fork handler does; a call asking for more threads later starts it again);
        // not when the application loaded OpenBLAS itself: its pool is its own.
        if status.choice != .alreadyLoaded, status.threading == "pthreads", status.libraryThreads == 1,
            let shutdown = symbol("blas_thread_shutdown_", as: quiver_openblas_thread_shutdown_fn.self)
        {
            status.idleWorkersStopped = shutdown() == 0
        }
        return OpenBLASLibrary(
            sgemm: sgemm, sgemv: sgemv, sdot: sdot, setNumThreads: setNumThreads, getNumThreads: getNumThreads, status: status)
    }

    private init(
        sgemm: quiver_cblas_sgemm_fn, sgemv: quiver_cblas_sgemv_fn, sdot: quiver_cblas_sdot_fn,
        setNumThreads: quiver_openblas_set_num_threads_fn?, getNumThreads: quiver_openblas_get_int_fn?, status: BLASStatus
    ) {
        self.sgemm = sgemm
        self.sgemv = sgemv
        self.sdot = sdot
        self.setNumThreads = setNumThreads
        self.getNumThreads = getNumThreads
        self.status = status
    }

    private init(portable status: BLASStatus) {
        sgemm = PortableBLAS.sgemm
        sgemv = PortableBLAS.sgemv
        sdot = PortableBLAS.sdot
        setNumThreads = nil
        getNumThreads = nil
        self.status = status
    }
}

extension FileManager {
    /// `path` with every symbolic link resolved (Debian reaches OpenBLAS through
    /// /etc/alternatives).
    fileprivate func destinationOfSymbolicLinkResolved(_ path: String) throws -> String {
        URL(fileURLWithPath: path).resolvingSymlinksInPath().path
    }
}

/// Reference BLAS loops for a process without OpenBLAS: row-major only, as Quiver calls.
enum PortableBLAS {
    static let sgemm: quiver_cblas_sgemm_fn = { _, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc in
        guard let a, let b, let c else { return }
        let ta = transA == Int32(QUIVER_CBLAS_TRANS)
        let tb = transB == Int32(QUIVER_CBLAS_TRANS)
        let (m, n, k, lda, ldb, ldc) = (Int(m), Int(n), Int(k), Int(lda), Int(ldb), Int(ldc))
        for i in 0..<m {
            for j in 0..<n {
                var sum: Float = 0
                for p in 0..<k {
                    sum += (ta ? a[p * lda + i] : a[i * lda + p]) * (tb ? b[j * ldb + p] : b[p * ldb + j])
                }
                c[i * ldc + j] = beta == 0 ? alpha * sum : alpha * sum + beta * c[i * ldc + j]
            }
        }
    }

    static let sgemv: quiver_cblas_sgemv_fn = { _, trans, m, n, alpha, a, lda, x, incx, beta, y, incy in
        guard let a, let x, let y else { return }
        let t = trans == Int32(QUIVER_CBLAS_TRANS)
        let (m, n, lda, incx, incy) = (Int(m), Int(n), Int(lda), Int(incx), Int(incy))
        for i in 0..<(t ? n : m) {
            var sum: Float = 0
            for j in 0..<(t ? m : n) { sum += (t ? a[j * lda + i] : a[i * lda + j]) * x[j * incx] }
            y[i * incy] = beta == 0 ? alpha * sum : alpha * sum + beta * y[i * incy]
        }
    }

    static let sdot: quiver_cblas_sdot_fn = { n, x, incx, y, incy in
        guard let x, let y else { return 0 }
        var sum: Float = 0
        for i in 0..<Int(n) { sum += x[i * Int(incx)] * y[i * Int(incy)] }
        return sum
    }
}
