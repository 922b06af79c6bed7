// Scoring kernels for small query batches, where BLAS spends as long packing the
// vectors as multiplying them: these read each vector row once, straight from the
// memory map, and keep the queries in cache. Compiled for AVX2+FMA with a runtime check,
// so the package needs no global compiler flags.
#include "quiver_kernels.h"
#include <immintrin.h>

int quiver_kernels_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

#define TARGET __attribute__((target("avx2,fma")))

TARGET static inline float hsum(__m256 v) {
    __m128 lo = _mm256_castps256_ps128(v);
    __m128 hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_add_ps(lo, hi);
    __m128 sh = _mm_movehdup_ps(lo);
    lo = _mm_add_ps(lo, sh);
    sh = _mm_movehl_ps(sh, lo);
    lo = _mm_add_ss(lo, sh);
    return _mm_cvtss_f32(lo);
}

// One row × 8 queries: 8 accumulators (enough to cover FMA latency) + 1 row + 1 query
// register. Rows are visited in memory order, one sequential stream the hardware
// prefetcher follows; the first pass over a row loads it, later passes hit L1.
TARGET static void tile_1x8(const float *x, size_t dim, const float *q, float alpha, float *out) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    size_t k = 0;
    for (; k + 8 <= dim; k += 8) {
        __m256 r = _mm256_loadu_ps(x + k);
        a0 = _mm256_fmadd_ps(r, _mm256_loadu_ps(q + k), a0);
        a1 = _mm256_fmadd_ps(r, _mm256_loadu_ps(q + dim + k), a1);
        a2 = _mm256_fmadd_ps(r, _mm256_loadu_ps(q + 2 * dim + k), a2);
        a3 = _mm256_fmadd_ps(r, _mm256_loadu_ps(q + 3 * dim + k), a3);
        a4 = _mm256_fmadd_ps(r, _mm256_loadu_ps(q + 4 * dim + k), a4);
        a5 = _mm256_fmadd_ps(r, _mm256_loadu_ps(q + 5 * dim + k), a5);
        a6 = _mm256_fmadd_ps(r, _mm256_loadu_ps(q + 6 * dim + k), a6);
        a7 = _mm256_fmadd_ps(r, _mm256_loadu_ps(q + 7 * dim + k), a7);
    }
    float t[8] = {hsum(a0), hsum(a1), hsum(a2), hsum(a3), hsum(a4), hsum(a5), hsum(a6), hsum(a7)};
    for (; k < dim; k++)
        for (int j = 0; j < 8; j++) t[j] += x[k] * q[j * dim + k];
    for (int j = 0; j < 8; j++) out[j] = alpha * t[j];
}

// One row against one query, 4 accumulators to hide FMA latency.
TARGET static float dot1(const float *x, const float *q, size_t dim) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    size_t k = 0;
    for (; k + 32 <= dim; k += 32) {
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + k), _mm256_loadu_ps(q + k), a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + k + 8), _mm256_loadu_ps(q + k + 8), a1);
        a2 = _mm256_fmadd_ps(_mm256_loadu_ps(x + k + 16), _mm256_loadu_ps(q + k + 16), a2);
        a3 = _mm256_fmadd_ps(_mm256_loadu_ps(x + k + 24), _mm256_loadu_ps(q + k + 24), a3);
    }
    for (; k + 8 <= dim; k += 8) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + k), _mm256_loadu_ps(q + k), a0);
    float s = hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    for (; k < dim; k++) s += x[k] * q[k];
    return s;
}

TARGET void quiver_score_tile(const float *vectors, size_t rows, size_t dim,
                              const float *queries, size_t nq, float alpha, float *scores) {
    for (size_t r = 0; r < rows; r++) {
        const float *x = vectors + r * dim;
        float *out = scores + r * nq;
        size_t j = 0;
        for (; j + 8 <= nq; j += 8) tile_1x8(x, dim, queries + j * dim, alpha, out + j);
        for (; j < nq; j++) out[j] = alpha * dot1(x, queries + j * dim, dim);
    }
}
