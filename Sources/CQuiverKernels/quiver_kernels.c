// Scoring kernels for small query batches, where BLAS spends as long packing the
// vectors as multiplying them: these read each vector row once, straight from the
// memory map, and keep the queries in cache. Compiled for AVX2+FMA with a runtime check,
// so the package needs no global compiler flags.
#include "quiver_kernels.h"
#include <immintrin.h>
#include <stdlib.h>

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

// Micro-kernel in the style of a GEMM kernel: queries packed k-major (qt[k * w + j]),
// each row's component broadcast, 6 rows × 16 queries in 12 accumulators. Per k: 2 packed
// loads + 6 broadcasts for 12 FMAs, so the FMA units, not the loads, set the pace.
TARGET static void micro_6x16(const float *x, size_t dim, const float *qt, float alpha, float *out, size_t ldo) {
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    const float *x0 = x, *x1 = x + dim, *x2 = x + 2 * dim, *x3 = x + 3 * dim, *x4 = x + 4 * dim, *x5 = x + 5 * dim;
    const char *ahead = (const char *)(x + 6 * dim);
    for (size_t k = 0; k < dim; k++) {
        if ((k & 15) == 0) {
            // The next six rows, one line each per 16 components: six interleaved streams
            // are more than the hardware prefetcher follows reliably.
            size_t o = k * 4;
            _mm_prefetch(ahead + o, _MM_HINT_T0);
            _mm_prefetch(ahead + o + dim * 4, _MM_HINT_T0);
            _mm_prefetch(ahead + o + dim * 8, _MM_HINT_T0);
            _mm_prefetch(ahead + o + dim * 12, _MM_HINT_T0);
            _mm_prefetch(ahead + o + dim * 16, _MM_HINT_T0);
            _mm_prefetch(ahead + o + dim * 20, _MM_HINT_T0);
        }
        __m256 q0 = _mm256_loadu_ps(qt + k * 16), q1 = _mm256_loadu_ps(qt + k * 16 + 8);
        __m256 b = _mm256_broadcast_ss(x0 + k);
        c00 = _mm256_fmadd_ps(b, q0, c00); c01 = _mm256_fmadd_ps(b, q1, c01);
        b = _mm256_broadcast_ss(x1 + k);
        c10 = _mm256_fmadd_ps(b, q0, c10); c11 = _mm256_fmadd_ps(b, q1, c11);
        b = _mm256_broadcast_ss(x2 + k);
        c20 = _mm256_fmadd_ps(b, q0, c20); c21 = _mm256_fmadd_ps(b, q1, c21);
        b = _mm256_broadcast_ss(x3 + k);
        c30 = _mm256_fmadd_ps(b, q0, c30); c31 = _mm256_fmadd_ps(b, q1, c31);
        b = _mm256_broadcast_ss(x4 + k);
        c40 = _mm256_fmadd_ps(b, q0, c40); c41 = _mm256_fmadd_ps(b, q1, c41);
        b = _mm256_broadcast_ss(x5 + k);
        c50 = _mm256_fmadd_ps(b, q0, c50); c51 = _mm256_fmadd_ps(b, q1, c51);
    }
    __m256 a = _mm256_set1_ps(alpha);
    _mm256_storeu_ps(out, _mm256_mul_ps(a, c00)); _mm256_storeu_ps(out + 8, _mm256_mul_ps(a, c01)); out += ldo;
    _mm256_storeu_ps(out, _mm256_mul_ps(a, c10)); _mm256_storeu_ps(out + 8, _mm256_mul_ps(a, c11)); out += ldo;
    _mm256_storeu_ps(out, _mm256_mul_ps(a, c20)); _mm256_storeu_ps(out + 8, _mm256_mul_ps(a, c21)); out += ldo;
    _mm256_storeu_ps(out, _mm256_mul_ps(a, c30)); _mm256_storeu_ps(out + 8, _mm256_mul_ps(a, c31)); out += ldo;
    _mm256_storeu_ps(out, _mm256_mul_ps(a, c40)); _mm256_storeu_ps(out + 8, _mm256_mul_ps(a, c41)); out += ldo;
    _mm256_storeu_ps(out, _mm256_mul_ps(a, c50)); _mm256_storeu_ps(out + 8, _mm256_mul_ps(a, c51));
}

// One row × 16 packed queries, for the rows left over by micro_6x16. The same single
// accumulation chain per query as micro_6x16, so a row scores the same bits whichever
// kernel (and tile position) computes it: equal vectors tie exactly.
TARGET static void micro_1x16(const float *x, size_t dim, const float *qt, float alpha, float *out) {
    __m256 c0 = _mm256_setzero_ps(), c1 = c0;
    for (size_t k = 0; k < dim; k++) {
        __m256 b = _mm256_broadcast_ss(x + k);
        c0 = _mm256_fmadd_ps(b, _mm256_loadu_ps(qt + k * 16), c0);
        c1 = _mm256_fmadd_ps(b, _mm256_loadu_ps(qt + k * 16 + 8), c1);
    }
    __m256 a = _mm256_set1_ps(alpha);
    _mm256_storeu_ps(out, _mm256_mul_ps(a, c0));
    _mm256_storeu_ps(out + 8, _mm256_mul_ps(a, c1));
}

TARGET void quiver_score_tile(const float *vectors, size_t rows, size_t dim,
                              const float *queries, size_t nq, float alpha, float *scores) {
    if (nq == 1) {
        for (size_t r = 0; r < rows; r++) scores[r] = alpha * dot1(vectors + r * dim, queries, dim);
        return;
    }
    // Groups of 16 queries, packed k-major and zero-padded; results land in a 16-wide
    // scratch row block and are copied out (the last group may be partial).
    float *qt = malloc(dim * 16 * sizeof(float));
    float tmp[6 * 16];
    if (!qt) {
        for (size_t r = 0; r < rows; r++)
            for (size_t j = 0; j < nq; j++) scores[r * nq + j] = alpha * dot1(vectors + r * dim, queries + j * dim, dim);
        return;
    }
    for (size_t g = 0; g < nq; g += 16) {
        size_t w = nq - g < 16 ? nq - g : 16;
        for (size_t k = 0; k < dim; k++)
            for (size_t j = 0; j < 16; j++) qt[k * 16 + j] = j < w ? queries[(g + j) * dim + k] : 0.0f;
        size_t r = 0;
        for (; r + 6 <= rows; r += 6) {
            if (w == 16 && nq == 16) {
                micro_6x16(vectors + r * dim, dim, qt, alpha, scores + r * nq, nq);
            } else {
                micro_6x16(vectors + r * dim, dim, qt, alpha, tmp, 16);
                for (size_t i = 0; i < 6; i++)
                    for (size_t j = 0; j < w; j++) scores[(r + i) * nq + g + j] = tmp[i * 16 + j];
            }
        }
        for (; r < rows; r++) {
            micro_1x16(vectors + r * dim, dim, qt, alpha, tmp);
            for (size_t j = 0; j < w; j++) scores[r * nq + g + j] = tmp[j];
        }
    }
    free(qt);
}

// Most scores lose against the k-th best: compare eight at a time and only look closer
// at the lanes that pass. This pass runs over every score of a batch search.
TARGET static size_t select_avx2(const float *scores, size_t rows, size_t nq, const float *norms,
                                 const float *th, uint32_t *out) {
    size_t n = 0;
    if (nq == 1) {
        __m256 t = _mm256_set1_ps(th[0]);
        size_t r = 0;
        for (; r + 8 <= rows; r += 8) {
            __m256 v = _mm256_loadu_ps(scores + r);
            if (norms) v = _mm256_sub_ps(v, _mm256_loadu_ps(norms + r));
            unsigned m = (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(v, t, _CMP_GE_OQ));
            while (m) {
                out[n++] = (uint32_t)(r + (size_t)__builtin_ctz(m));
                m &= m - 1;
            }
        }
        for (; r < rows; r++)
            if (scores[r] - (norms ? norms[r] : 0) >= th[0]) out[n++] = (uint32_t)r;
        return n;
    }
    for (size_t r = 0; r < rows; r++) {
        const float *row = scores + r * nq;
        float sub = norms ? norms[r] : 0;
        __m256 s = _mm256_set1_ps(sub);
        size_t q = 0;
        for (; q + 8 <= nq; q += 8) {
            __m256 v = _mm256_sub_ps(_mm256_loadu_ps(row + q), s);
            unsigned m = (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(v, _mm256_loadu_ps(th + q), _CMP_GE_OQ));
            while (m) {
                out[n++] = (uint32_t)(r * nq + q + (size_t)__builtin_ctz(m));
                m &= m - 1;
            }
        }
        for (; q < nq; q++)
            if (row[q] - sub >= th[q]) out[n++] = (uint32_t)(r * nq + q);
    }
    return n;
}

size_t quiver_select(const float *scores, size_t rows, size_t nq, const float *norms,
                     const float *th, uint32_t *out) {
    // Set by the first calls, which may run at once on many threads: atomic (relaxed: each
    // caller computes the same value), as a plain int it was a data race.
    static int cached = -1;
    int avx2 = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (avx2 < 0) {
        avx2 = quiver_kernels_available();
        __atomic_store_n(&cached, avx2, __ATOMIC_RELAXED);
    }
    if (avx2) return select_avx2(scores, rows, nq, norms, th, out);
    size_t n = 0;
    for (size_t r = 0; r < rows; r++) {
        float sub = norms ? norms[r] : 0;
        for (size_t q = 0; q < nq; q++)
            if (scores[r * nq + q] - sub >= th[q]) out[n++] = (uint32_t)(r * nq + q);
    }
    return n;
}
