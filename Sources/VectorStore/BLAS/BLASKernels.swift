import COpenBLAS
import CQuiverKernels

/// The only place VectorStore calls OpenBLAS.
enum BLASKernels {
    /// Quiver owns search parallelism (blocks split over its threads, each calling
    /// single-threaded BLAS); OpenBLAS's own pool on top would oversubscribe the cores.
    private static let configured: Bool = {
        openblas_set_num_threads(1)
        return true
    }()

    static func configure() { _ = configured }

    /// Batches up to this size use Quiver's own kernel (when the CPU has AVX2+FMA);
    /// larger ones use sgemm, whose packing then pays for itself.
    static let smallBatchLimit: Int = quiver_kernels_available() != 0 ? 32 : 0

    /// scores[r, q] = alpha · vectors[r, :] · queries[q, :]  (row-major, rows × queries).
    ///
    /// Rows × queries rather than queries × rows: OpenBLAS's kernels block along M, and
    /// with few queries M = rows keeps them efficient (measured: about 2× at 16 queries).
    @inline(__always)
    static func scoreTile(
        _ vectors: UnsafePointer<Float>, rows: Int, dim: Int, queries: UnsafePointer<Float>, count: Int,
        alpha: Float, scores: UnsafeMutablePointer<Float>
    ) {
        if count <= smallBatchLimit {
            quiver_score_tile(vectors, rows, dim, queries, count, alpha, scores)
        } else if count == 1 {
            cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(rows), Int32(dim), alpha, vectors, Int32(dim), queries, 1, 0, scores, 1)
        } else {
            cblas_sgemm(
                CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(count), Int32(dim),
                alpha, vectors, Int32(dim), queries, Int32(dim), 0, scores, Int32(count))
        }
    }

    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        cblas_sdot(Int32(count), a, 1, b, 1)
    }

    /// Flat indices (r · count + q) of the tile's scores, less `normsSquared[r]` when
    /// given, that reach `thresholds[q]`; returns how many were written to `into`
    /// (room for rows · count).
    @inline(__always)
    static func select(
        _ scores: UnsafePointer<Float>, rows: Int, count: Int, normsSquared: UnsafePointer<Float>?,
        thresholds: UnsafePointer<Float>, into: UnsafeMutablePointer<UInt32>
    ) -> Int {
        quiver_select(scores, rows, count, normsSquared, thresholds, into)
    }
}
