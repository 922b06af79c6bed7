import CQuiverKernels

/// Search's matrix kernels: Quiver's own for small batches, BLAS (``BLAS``) for the rest.
enum BLASKernels {
    /// Loads BLAS with its kernel core chosen (OpenBLAS keeps one thread per call: Quiver
    /// owns search parallelism).
    static func configure() { BLAS.load() }

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
            BLAS.sgemv(m: rows, n: dim, alpha: alpha, a: vectors, x: queries, y: scores)
        } else {
            BLAS.sgemm(
                transposeB: true, m: rows, n: count, k: dim, alpha: alpha, a: vectors, lda: dim, b: queries, ldb: dim,
                c: scores, ldc: count)
        }
    }

    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        BLAS.sdot(a, b, count: count)
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
