import COpenBLAS

/// The only place VectorStore calls OpenBLAS.
enum BLASKernels {
    /// Quiver owns search parallelism (blocks split over its threads, each calling
    /// single-threaded BLAS); OpenBLAS's own pool on top would oversubscribe the cores.
    private static let configured: Bool = {
        openblas_set_num_threads(1)
        return true
    }()

    static func configure() { _ = configured }

    /// scores[r] = Σ vectors[r, :] · query  for r in 0..<rows.
    @inline(__always)
    static func gemv(_ vectors: UnsafePointer<Float>, rows: Int, dim: Int, query: UnsafePointer<Float>, scores: UnsafeMutablePointer<Float>) {
        cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(rows), Int32(dim), 1, vectors, Int32(dim), query, 1, 0, scores, 1)
    }

    /// scores[q, r] = alpha · queries[q, :] · vectors[r, :]  (row-major, queries × rows).
    @inline(__always)
    static func gemm(
        _ queries: UnsafePointer<Float>, count: Int, vectors: UnsafePointer<Float>, rows: Int, dim: Int,
        alpha: Float, scores: UnsafeMutablePointer<Float>
    ) {
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasTrans, Int32(count), Int32(rows), Int32(dim),
            alpha, queries, Int32(dim), vectors, Int32(dim), 0, scores, Int32(rows))
    }

    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        cblas_sdot(Int32(count), a, 1, b, 1)
    }
}
