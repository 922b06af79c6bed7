// Kernels of the compact vector encodings. A search over f16 or int8 vectors reads 2× or
// 4× fewer bytes than over f32, so it can run faster than the memory-bandwidth bound of an
// f32 scan only if converting and multiplying keep up with the narrower stream: these
// kernels read each stored row once, straight from the memory map, and keep the queries
// in cache. The AVX2 paths are chosen at run time; the portable paths are plain C.
#include "quiver_compact.h"
#include <immintrin.h>
#include <math.h>
#include <string.h>

int quiver_compact_simd_available(void) {
    // Set by the first calls, which may run at once on many threads: atomic (relaxed: each
    // caller computes the same value).
    static int cached = -1;
    int available = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (available < 0) {
        __builtin_cpu_init();
        available = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
        __atomic_store_n(&cached, available, __ATOMIC_RELAXED);
    }
    return available;
}

int quiver_compact_vnni_available(void) {
    static int cached = -1;
    int available = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (available < 0) {
        __builtin_cpu_init();
        available = quiver_compact_simd_available() && __builtin_cpu_supports("avx512f") &&
                    __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
                    __builtin_cpu_supports("avx512vnni");
        __atomic_store_n(&cached, available, __ATOMIC_RELAXED);
    }
    return available;
}

static inline int use_simd(int kernels) { return kernels != QUIVER_KERNELS_PORTABLE && quiver_compact_simd_available(); }
static inline int use_vnni(int kernels) { return kernels == QUIVER_KERNELS_BEST && quiver_compact_vnni_available(); }

#define TARGET __attribute__((target("avx2,fma,f16c")))
#define TARGET_VNNI __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))

// MARK: Half precision

// Round to nearest even, as F16C's vcvtps2ph with _MM_FROUND_TO_NEAREST_INT does (after
// F. Giesen, "float->half variants"): the two paths give the same bits for every finite float.
static uint16_t f32_to_f16_scalar(float value) {
    uint32_t f;
    memcpy(&f, &value, 4);
    uint32_t sign = f & 0x80000000u;
    f ^= sign;
    uint16_t o;
    if (f >= (uint32_t)(127 + 16) << 23) {
        o = f > 0x7f800000u ? 0x7e00 : 0x7c00;
    } else if (f < (uint32_t)113 << 23) {
        // Subnormal or zero: adding a magic float aligns the 10 mantissa bits at the bottom,
        // and the FPU's round-to-nearest-even rounds them.
        uint32_t magic_bits = (uint32_t)((127 - 15) + (23 - 10) + 1) << 23;
        float magic, x;
        memcpy(&magic, &magic_bits, 4);
        memcpy(&x, &f, 4);
        x += magic;
        uint32_t xb;
        memcpy(&xb, &x, 4);
        o = (uint16_t)(xb - magic_bits);
    } else {
        uint32_t odd = (f >> 13) & 1;
        f += ((uint32_t)(15 - 127) << 23) + 0xfff;
        f += odd;
        o = (uint16_t)(f >> 13);
    }
    return o | (uint16_t)(sign >> 16);
}

static float f16_to_f32_scalar(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    uint32_t bits;
    if (exp == 0) {
        float f = (float)mant * 0x1p-24f;
        memcpy(&bits, &f, 4);
        bits |= sign;
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (mant << 13);
    } else {
        bits = sign | ((exp + 112) << 23) | (mant << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

TARGET static void f32_to_f16_simd(const float *src, uint16_t *dst, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(dst + i), _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++) dst[i] = f32_to_f16_scalar(src[i]);
}

TARGET static void f16_to_f32_simd(const uint16_t *src, float *dst, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
    for (; i < n; i++) dst[i] = f16_to_f32_scalar(src[i]);
}

void quiver_f32_to_f16(const float *src, uint16_t *dst, size_t n, int kernels) {
    if (use_simd(kernels)) {
        f32_to_f16_simd(src, dst, n);
        return;
    }
    for (size_t i = 0; i < n; i++) dst[i] = f32_to_f16_scalar(src[i]);
}

void quiver_f16_to_f32(const uint16_t *src, float *dst, size_t n, int kernels) {
    if (use_simd(kernels)) {
        f16_to_f32_simd(src, dst, n);
        return;
    }
    for (size_t i = 0; i < n; i++) dst[i] = f16_to_f32_scalar(src[i]);
}

TARGET static inline float hsum_ps(__m256 v) {
    __m128 lo = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    __m128 sh = _mm_movehdup_ps(lo);
    lo = _mm_add_ps(lo, sh);
    sh = _mm_movehl_ps(sh, lo);
    return _mm_cvtss_f32(_mm_add_ss(lo, sh));
}

// One half-precision row against one float query: 32 components per step in 4 chains.
TARGET static float dot_f16(const uint16_t *x, const float *q, size_t dim) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    size_t k = 0;
    for (; k + 32 <= dim; k += 32) {
        a0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + k))), _mm256_loadu_ps(q + k), a0);
        a1 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + k + 8))), _mm256_loadu_ps(q + k + 8), a1);
        a2 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + k + 16))), _mm256_loadu_ps(q + k + 16), a2);
        a3 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + k + 24))), _mm256_loadu_ps(q + k + 24), a3);
    }
    for (; k + 8 <= dim; k += 8)
        a0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + k))), _mm256_loadu_ps(q + k), a0);
    float s = hsum_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    for (; k < dim; k++) s += f16_to_f32_scalar(x[k]) * q[k];
    return s;
}

TARGET static void score_f16_simd(const char *rows, size_t stride, size_t nrows, size_t dim, const float *queries,
                                  size_t nq, float alpha, float *scores) {
    for (size_t r = 0; r < nrows; r++) {
        const uint16_t *x = (const uint16_t *)(rows + r * stride);
        if (r + 4 < nrows) _mm_prefetch(rows + (r + 4) * stride, _MM_HINT_T0);
        for (size_t q = 0; q < nq; q++) scores[r * nq + q] = alpha * dot_f16(x, queries + q * dim, dim);
    }
}

void quiver_score_f16(const void *rows, size_t stride, size_t nrows, size_t dim, const float *queries, size_t nq,
                      float alpha, float *scores, int kernels) {
    if (use_simd(kernels)) {
        score_f16_simd(rows, stride, nrows, dim, queries, nq, alpha, scores);
        return;
    }
    for (size_t r = 0; r < nrows; r++) {
        const uint16_t *x = (const uint16_t *)((const char *)rows + r * stride);
        for (size_t q = 0; q < nq; q++) {
            const float *v = queries + q * dim;
            float s = 0;
            for (size_t k = 0; k < dim; k++) s += f16_to_f32_scalar(x[k]) * v[k];
            scores[r * nq + q] = alpha * s;
        }
    }
}

// MARK: int8

TARGET static inline int32_t hsum_epi32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

// Components `from..<dim` quantized with `inv` (127 / max|x|) into `c`; returns their sum.
static int32_t quantize_i8_range(const float *x, size_t from, size_t dim, float inv, int8_t *c) {
    int32_t sum = 0;
    for (size_t i = from; i < dim; i++) {
        long v = lrintf(x[i] * inv);
        if (v > 127) v = 127;
        if (v < -127) v = -127;
        c[i] = (int8_t)v;
        sum += (int32_t)v;
    }
    return sum;
}

static void quantize_i8_scalar(const float *x, size_t dim, void *out) {
    float m = 0;
    for (size_t i = 0; i < dim; i++) m = fmaxf(m, fabsf(x[i]));
    float scale = m / 127.0f;
    float inv = m > 0 ? 127.0f / m : 0;
    int32_t sum = quantize_i8_range(x, 0, dim, inv, (int8_t *)out + QUIVER_I8_HEADER);
    memcpy(out, &scale, 4);
    memcpy((char *)out + 4, &sum, 4);
}

// The same bytes as the scalar path: the maximum is exact in any order, the product is
// the same IEEE multiply, and `vcvtps2dq` rounds to nearest even as `lrintf` does in the
// default rounding mode; 32 components per step, packed to bytes in order.
TARGET static void quantize_i8_simd(const float *x, size_t dim, void *out) {
    const __m256 absMask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    __m256 mv = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 8 <= dim; i += 8) mv = _mm256_max_ps(mv, _mm256_and_ps(_mm256_loadu_ps(x + i), absMask));
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(mv), _mm256_extractf128_ps(mv, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    float m = _mm_cvtss_f32(m4);
    for (; i < dim; i++) m = fmaxf(m, fabsf(x[i]));
    float scale = m / 127.0f;
    float inv = m > 0 ? 127.0f / m : 0;
    int8_t *c = (int8_t *)out + QUIVER_I8_HEADER;
    const __m256 invv = _mm256_set1_ps(inv);
    const __m256i hi = _mm256_set1_epi32(127), lo = _mm256_set1_epi32(-127);
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    __m256i sums = _mm256_setzero_si256();
    i = 0;
    for (; i + 32 <= dim; i += 32) {
        __m256i q[4];
        for (int j = 0; j < 4; j++) {
            __m256i v = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + i + 8 * j), invv));
            q[j] = _mm256_max_epi32(_mm256_min_epi32(v, hi), lo);
            sums = _mm256_add_epi32(sums, q[j]);
        }
        __m256i packed = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
        _mm256_storeu_si256((__m256i *)(c + i), _mm256_permutevar8x32_epi32(packed, order));
    }
    int32_t sum = hsum_epi32(sums) + quantize_i8_range(x, i, dim, inv, c);
    memcpy(out, &scale, 4);
    memcpy((char *)out + 4, &sum, 4);
}

void quiver_quantize_i8(const float *x, size_t dim, void *out, int kernels) {
    if (use_simd(kernels)) {
        quantize_i8_simd(x, dim, out);
        return;
    }
    quantize_i8_scalar(x, dim, out);
}

float quiver_quantize_query_u6(const float *q, size_t dim, uint8_t *out) {
    float m = 0;
    for (size_t i = 0; i < dim; i++) m = fmaxf(m, fabsf(q[i]));
    float inv = m > 0 ? 31.0f / m : 0;
    for (size_t i = 0; i < dim; i++) {
        long v = lrintf(q[i] * inv);
        if (v > 31) v = 31;
        if (v < -31) v = -31;
        out[i] = (uint8_t)(v + QUIVER_I8_QUERY_OFFSET);
    }
    return m / 31.0f;
}

static inline float i8_score(const char *row, int64_t dot, float qscale, float alpha) {
    float scale;
    int32_t sum;
    memcpy(&scale, row, 4);
    memcpy(&sum, row + 4, 4);
    return alpha * scale * qscale * (float)(int32_t)(dot - QUIVER_I8_QUERY_OFFSET * (int64_t)sum);
}

static int64_t dot_u6_i8_scalar(const uint8_t *q, const int8_t *x, size_t from, size_t dim) {
    int64_t s = 0;
    for (size_t k = from; k < dim; k++) s += (int64_t)q[k] * x[k];
    return s;
}


// u6 × s8 pairs summed in 16 bits (at most 2 · 63 · 127 = 16002: no saturation), then in
// 32 bits; per row the sums fit in 32 bits for any dimension up to 65536.
TARGET static void score_i8_simd(const char *rows, size_t stride, size_t nrows, size_t dim, const uint8_t *queries,
                                 const float *qscales, size_t nq, float alpha, float *scores) {
    const __m256i ones = _mm256_set1_epi16(1);
    size_t main = dim & ~(size_t)31;
    for (size_t r = 0; r < nrows; r++) {
        const char *row = rows + r * stride;
        const int8_t *x = (const int8_t *)(row + QUIVER_I8_HEADER);
        if (r + 4 < nrows) _mm_prefetch(rows + (r + 4) * stride, _MM_HINT_T0);
        size_t q = 0;
        for (; q + 4 <= nq; q += 4) {
            const uint8_t *q0 = queries + q * dim, *q1 = q0 + dim, *q2 = q1 + dim, *q3 = q2 + dim;
            __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
            for (size_t k = 0; k < main; k += 32) {
                __m256i xv = _mm256_loadu_si256((const __m256i *)(x + k));
                a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_loadu_si256((const __m256i *)(q0 + k)), xv), ones));
                a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_loadu_si256((const __m256i *)(q1 + k)), xv), ones));
                a2 = _mm256_add_epi32(a2, _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_loadu_si256((const __m256i *)(q2 + k)), xv), ones));
                a3 = _mm256_add_epi32(a3, _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_loadu_si256((const __m256i *)(q3 + k)), xv), ones));
            }
            scores[r * nq + q] = i8_score(row, hsum_epi32(a0) + dot_u6_i8_scalar(q0, x, main, dim), qscales[q], alpha);
            scores[r * nq + q + 1] = i8_score(row, hsum_epi32(a1) + dot_u6_i8_scalar(q1, x, main, dim), qscales[q + 1], alpha);
            scores[r * nq + q + 2] = i8_score(row, hsum_epi32(a2) + dot_u6_i8_scalar(q2, x, main, dim), qscales[q + 2], alpha);
            scores[r * nq + q + 3] = i8_score(row, hsum_epi32(a3) + dot_u6_i8_scalar(q3, x, main, dim), qscales[q + 3], alpha);
        }
        for (; q < nq; q++) {
            const uint8_t *q0 = queries + q * dim;
            __m256i a0 = _mm256_setzero_si256(), a1 = a0;
            size_t k = 0;
            for (; k + 64 <= main; k += 64) {
                a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_loadu_si256((const __m256i *)(q0 + k)),
                                                                               _mm256_loadu_si256((const __m256i *)(x + k))), ones));
                a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_loadu_si256((const __m256i *)(q0 + k + 32)),
                                                                               _mm256_loadu_si256((const __m256i *)(x + k + 32))), ones));
            }
            for (; k < main; k += 32)
                a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_loadu_si256((const __m256i *)(q0 + k)),
                                                                               _mm256_loadu_si256((const __m256i *)(x + k))), ones));
            int64_t dot = hsum_epi32(_mm256_add_epi32(a0, a1)) + dot_u6_i8_scalar(q0, x, main, dim);
            scores[r * nq + q] = i8_score(row, dot, qscales[q], alpha);
        }
    }
}

// Two 32-byte steps of u6 × s8: the pair sums of each step (at most 2 · 63 · 127 = 16002)
// are added in 16 bits (at most 32004) and widened to 32 bits once.
TARGET static inline __m256i i8_step2(__m256i acc, __m256i qa, __m256i qb, const int8_t *x) {
    __m256i s = _mm256_add_epi16(_mm256_maddubs_epi16(qa, _mm256_loadu_si256((const __m256i *)x)),
                                 _mm256_maddubs_epi16(qb, _mm256_loadu_si256((const __m256i *)(x + 32))));
    return _mm256_add_epi32(acc, _mm256_madd_epi16(s, _mm256_set1_epi16(1)));
}

// One 32-byte step of u6 × s8, widened to 32 bits.
TARGET static inline __m256i i8_step1(__m256i acc, __m256i q, const int8_t *x) {
    __m256i s = _mm256_maddubs_epi16(q, _mm256_loadu_si256((const __m256i *)x));
    return _mm256_add_epi32(acc, _mm256_madd_epi16(s, _mm256_set1_epi16(1)));
}

// Four 8-lane sums reduced to [a, b, c, d].
TARGET static inline __m128i hsum4_epi32(__m256i a, __m256i b, __m256i c, __m256i d) {
    __m256i s = _mm256_hadd_epi32(_mm256_hadd_epi32(a, b), _mm256_hadd_epi32(c, d));
    return _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
}

// The sums of the four rows from `p0` with query `q` over its first `len` bytes (a multiple of 32).
TARGET static inline void i8_four_rows(const char *p0, size_t stride, const uint8_t *q, size_t len, int32_t t[4]) {
    const int8_t *x0 = (const int8_t *)(p0 + QUIVER_I8_HEADER), *x1 = (const int8_t *)(p0 + stride + QUIVER_I8_HEADER);
    const int8_t *x2 = (const int8_t *)(p0 + 2 * stride + QUIVER_I8_HEADER);
    const int8_t *x3 = (const int8_t *)(p0 + 3 * stride + QUIVER_I8_HEADER);
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    size_t k = 0;
    for (; k + 64 <= len; k += 64) {
        __m256i qa = _mm256_loadu_si256((const __m256i *)(q + k));
        __m256i qb = _mm256_loadu_si256((const __m256i *)(q + k + 32));
        a0 = i8_step2(a0, qa, qb, x0 + k);
        a1 = i8_step2(a1, qa, qb, x1 + k);
        a2 = i8_step2(a2, qa, qb, x2 + k);
        a3 = i8_step2(a3, qa, qb, x3 + k);
    }
    if (k < len) {
        __m256i qv = _mm256_loadu_si256((const __m256i *)(q + k));
        a0 = i8_step1(a0, qv, x0 + k);
        a1 = i8_step1(a1, qv, x1 + k);
        a2 = i8_step1(a2, qv, x2 + k);
        a3 = i8_step1(a3, qv, x3 + k);
    }
    _mm_storeu_si128((__m128i *)t, hsum4_epi32(a0, a1, a2, a3));
}

// One query: four rows per step, one accumulator each, reduced together. Rows of int8 are
// short (392 bytes at dimension 384), so per-row work outside the multiply (the horizontal
// sum, the scale) would otherwise cost as much as the multiply.
//
// A dimension that is not a multiple of 32 (GloVe's 50) would leave a scalar tail per row
// (18 of 50 components, most of the time): instead the query is copied zero-padded to a
// multiple of 32 and each row is read 32 bytes at a time past its end, into the next row's
// bytes, which the padding's zeros cancel. Only rows whose padded read stays inside the
// block (`rows` to `rows + nrows · stride`) are read that way; the last one or two take
// the tail path.
#define I8_PAD_MAX 4096

TARGET static void score_i8_one(const char *rows, size_t stride, size_t nrows, size_t dim, const uint8_t *q,
                                float qscale, float alpha, float *scores) {
    size_t main = dim & ~(size_t)31;
    size_t r = 0;
    int32_t t[4];
    if (main < dim && dim <= I8_PAD_MAX) {
        size_t padded = main + 32;
        size_t end = nrows * stride;
        size_t safe = end >= QUIVER_I8_HEADER + padded ? (end - QUIVER_I8_HEADER - padded) / stride + 1 : 0;
        if (safe > nrows) safe = nrows;
        if (safe >= 4) {
            _Alignas(32) uint8_t qp[I8_PAD_MAX + 32];
            memcpy(qp, q, dim);
            memset(qp + dim, 0, padded - dim);
            for (; r + 4 <= safe; r += 4) {
                const char *p0 = rows + r * stride;
                i8_four_rows(p0, stride, qp, padded, t);
                for (size_t j = 0; j < 4; j++) scores[r + j] = i8_score(p0 + j * stride, t[j], qscale, alpha);
            }
        }
    }
    for (; r + 4 <= nrows; r += 4) {
        const char *p0 = rows + r * stride;
        i8_four_rows(p0, stride, q, main, t);
        for (size_t j = 0; j < 4; j++) {
            const char *p = p0 + j * stride;
            int64_t dot = t[j];
            if (main < dim) dot += dot_u6_i8_scalar(q, (const int8_t *)(p + QUIVER_I8_HEADER), main, dim);
            scores[r + j] = i8_score(p, dot, qscale, alpha);
        }
    }
    if (r < nrows) score_i8_simd(rows + r * stride, stride, nrows - r, dim, q, &qscale, 1, alpha, scores + r);
}

// Two rows × four queries, the first `main` components (a multiple of 32): eight
// accumulators; each 64-byte step loads two row chunks per row and two query chunks per
// query, and widens each row-query pair once (`i8_step2`).
TARGET static void micro_i8_2x4(const int8_t *x0, const int8_t *x1, const uint8_t *q0, size_t dim, size_t main,
                                int32_t out[8]) {
    const __m256i ones = _mm256_set1_epi16(1);
    const uint8_t *qs[4] = {q0, q0 + dim, q0 + 2 * dim, q0 + 3 * dim};
    __m256i a00 = _mm256_setzero_si256(), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00, a12 = a00, a13 = a00;
    size_t k = 0;
    for (; k + 64 <= main; k += 64) {
        __m256i xa = _mm256_loadu_si256((const __m256i *)(x0 + k)), xb = _mm256_loadu_si256((const __m256i *)(x0 + k + 32));
        __m256i ya = _mm256_loadu_si256((const __m256i *)(x1 + k)), yb = _mm256_loadu_si256((const __m256i *)(x1 + k + 32));
#define I8_PAIR(ax, ay, qq)                                                                                                  \
    do {                                                                                                                     \
        __m256i qa = _mm256_loadu_si256((const __m256i *)((qq) + k));                                                         \
        __m256i qb = _mm256_loadu_si256((const __m256i *)((qq) + k + 32));                                                    \
        ax = _mm256_add_epi32(ax, _mm256_madd_epi16(_mm256_add_epi16(_mm256_maddubs_epi16(qa, xa), _mm256_maddubs_epi16(qb, xb)), ones)); \
        ay = _mm256_add_epi32(ay, _mm256_madd_epi16(_mm256_add_epi16(_mm256_maddubs_epi16(qa, ya), _mm256_maddubs_epi16(qb, yb)), ones)); \
    } while (0)
        I8_PAIR(a00, a10, qs[0]);
        I8_PAIR(a01, a11, qs[1]);
        I8_PAIR(a02, a12, qs[2]);
        I8_PAIR(a03, a13, qs[3]);
#undef I8_PAIR
    }
    if (k < main) {
        __m256i x = _mm256_loadu_si256((const __m256i *)(x0 + k));
        __m256i y = _mm256_loadu_si256((const __m256i *)(x1 + k));
        __m256i q = _mm256_loadu_si256((const __m256i *)(qs[0] + k));
        a00 = _mm256_add_epi32(a00, _mm256_madd_epi16(_mm256_maddubs_epi16(q, x), ones));
        a10 = _mm256_add_epi32(a10, _mm256_madd_epi16(_mm256_maddubs_epi16(q, y), ones));
        q = _mm256_loadu_si256((const __m256i *)(qs[1] + k));
        a01 = _mm256_add_epi32(a01, _mm256_madd_epi16(_mm256_maddubs_epi16(q, x), ones));
        a11 = _mm256_add_epi32(a11, _mm256_madd_epi16(_mm256_maddubs_epi16(q, y), ones));
        q = _mm256_loadu_si256((const __m256i *)(qs[2] + k));
        a02 = _mm256_add_epi32(a02, _mm256_madd_epi16(_mm256_maddubs_epi16(q, x), ones));
        a12 = _mm256_add_epi32(a12, _mm256_madd_epi16(_mm256_maddubs_epi16(q, y), ones));
        q = _mm256_loadu_si256((const __m256i *)(qs[3] + k));
        a03 = _mm256_add_epi32(a03, _mm256_madd_epi16(_mm256_maddubs_epi16(q, x), ones));
        a13 = _mm256_add_epi32(a13, _mm256_madd_epi16(_mm256_maddubs_epi16(q, y), ones));
    }
    _mm_storeu_si128((__m128i *)out, hsum4_epi32(a00, a01, a02, a03));
    _mm_storeu_si128((__m128i *)(out + 4), hsum4_epi32(a10, a11, a12, a13));
}

// Larger batches: tiles of rows against groups of 32 queries, so that a group's queries
// and the tile's rows (12 KiB each at dimension 384) stay in L1 together, instead of
// every row streaming the whole batch through the caches.
#define I8_TILE_ROWS 32
TARGET static void score_i8_tiled(const char *rows, size_t stride, size_t nrows, size_t dim, const uint8_t *queries,
                                  const float *qscales, size_t nq, float alpha, float *scores) {
    size_t main = dim & ~(size_t)31;
    int32_t sums[8];
    for (size_t r0 = 0; r0 < nrows; r0 += I8_TILE_ROWS) {
        size_t r1 = r0 + I8_TILE_ROWS < nrows ? r0 + I8_TILE_ROWS : nrows;
        for (size_t g0 = 0; g0 < nq; g0 += 32) {
            size_t g1 = g0 + 32 < nq ? g0 + 32 : nq;
            size_t g4 = g0 + ((g1 - g0) & ~(size_t)3);
            size_t r = r0;
            for (; r + 2 <= r1; r += 2) {
                const char *row0 = rows + r * stride, *row1 = row0 + stride;
                const int8_t *x0 = (const int8_t *)(row0 + QUIVER_I8_HEADER), *x1 = (const int8_t *)(row1 + QUIVER_I8_HEADER);
                float scale0, scale1;
                int32_t sum0, sum1;
                memcpy(&scale0, row0, 4);
                memcpy(&sum0, row0 + 4, 4);
                memcpy(&scale1, row1, 4);
                memcpy(&sum1, row1 + 4, 4);
                // alpha · s_r · s_q · (dot − 32 Σx), multiplied in the portable path's order.
                __m128 rs0 = _mm_set1_ps(alpha * scale0), rs1 = _mm_set1_ps(alpha * scale1);
                __m128i off0 = _mm_set1_epi32(QUIVER_I8_QUERY_OFFSET * sum0), off1 = _mm_set1_epi32(QUIVER_I8_QUERY_OFFSET * sum1);
                for (size_t q = g0; q < g4; q += 4) {
                    const uint8_t *qq = queries + q * dim;
                    micro_i8_2x4(x0, x1, qq, dim, main, sums);
                    if (main < dim) {
                        for (size_t j = 0; j < 4; j++) {
                            sums[j] += (int32_t)dot_u6_i8_scalar(qq + j * dim, x0, main, dim);
                            sums[4 + j] += (int32_t)dot_u6_i8_scalar(qq + j * dim, x1, main, dim);
                        }
                    }
                    __m128 qs = _mm_loadu_ps(qscales + q);
                    __m128i d0 = _mm_sub_epi32(_mm_loadu_si128((const __m128i *)sums), off0);
                    __m128i d1 = _mm_sub_epi32(_mm_loadu_si128((const __m128i *)(sums + 4)), off1);
                    _mm_storeu_ps(scores + r * nq + q, _mm_mul_ps(_mm_mul_ps(rs0, qs), _mm_cvtepi32_ps(d0)));
                    _mm_storeu_ps(scores + (r + 1) * nq + q, _mm_mul_ps(_mm_mul_ps(rs1, qs), _mm_cvtepi32_ps(d1)));
                }
                for (size_t q = g4; q < g1; q++) {
                    scores[r * nq + q] = i8_score(row0, dot_u6_i8_scalar(queries + q * dim, x0, 0, dim), qscales[q], alpha);
                    scores[(r + 1) * nq + q] = i8_score(row1, dot_u6_i8_scalar(queries + q * dim, x1, 0, dim), qscales[q], alpha);
                }
            }
            for (; r < r1; r++) {
                const char *row = rows + r * stride;
                const int8_t *x = (const int8_t *)(row + QUIVER_I8_HEADER);
                for (size_t q = g0; q < g1; q++)
                    scores[r * nq + q] = i8_score(row, dot_u6_i8_scalar(queries + q * dim, x, 0, dim), qscales[q], alpha);
            }
        }
    }
}

// MARK: int8 with AVX-512 VNNI

// `vpdpbusd` multiplies 64 u8 × s8 pairs and adds each group of four into a 32-bit lane in
// one instruction (no 16-bit intermediate, so no saturation to avoid), where AVX2 needs
// three. The last step of a row reads only its `dim mod 64` bytes through a mask: masked
// loads never touch the bytes they leave out, so neither padding nor a scalar tail is needed.

// The mask of the `dim - k` (< 64) bytes of the last step.
TARGET_VNNI static inline __mmask64 vnni_tail(size_t k, size_t dim) { return ((__mmask64)1 << (dim - k)) - 1; }

TARGET_VNNI static inline __m512i vnni_load(const void *p) { return _mm512_loadu_si512(p); }
TARGET_VNNI static inline __m512i vnni_load_masked(__mmask64 m, const void *p) { return _mm512_maskz_loadu_epi8(m, p); }

// Sixteen lanes to eight.
TARGET_VNNI static inline __m256i vnni_half(__m512i v) {
    return _mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1));
}

// The dot products of rows `x[0..3]` with query `q`.
TARGET_VNNI static inline __m128i vnni_four_rows(const int8_t *const x[4], const uint8_t *q, size_t dim) {
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
    size_t k = 0;
    for (; k + 64 <= dim; k += 64) {
        __m512i qv = vnni_load(q + k);
        a0 = _mm512_dpbusd_epi32(a0, qv, vnni_load(x[0] + k));
        a1 = _mm512_dpbusd_epi32(a1, qv, vnni_load(x[1] + k));
        a2 = _mm512_dpbusd_epi32(a2, qv, vnni_load(x[2] + k));
        a3 = _mm512_dpbusd_epi32(a3, qv, vnni_load(x[3] + k));
    }
    if (k < dim) {
        __mmask64 m = vnni_tail(k, dim);
        __m512i qv = vnni_load_masked(m, q + k);
        a0 = _mm512_dpbusd_epi32(a0, qv, vnni_load_masked(m, x[0] + k));
        a1 = _mm512_dpbusd_epi32(a1, qv, vnni_load_masked(m, x[1] + k));
        a2 = _mm512_dpbusd_epi32(a2, qv, vnni_load_masked(m, x[2] + k));
        a3 = _mm512_dpbusd_epi32(a3, qv, vnni_load_masked(m, x[3] + k));
    }
    return hsum4_epi32(vnni_half(a0), vnni_half(a1), vnni_half(a2), vnni_half(a3));
}

// How far ahead of the four rows being scored the single-query kernel prefetches: the
// rows of one query are a single stream, and prefetching its lines 1 KiB ahead kept
// scoring 10–15 % closer to the read bandwidth than the hardware prefetcher alone (two
// threads over 1M × 384, this machine's Zen 4).
#define VNNI_PREFETCH 1024

// One query: four rows per step (the last group repeats its last row where fewer are left).
TARGET_VNNI static void score_i8_vnni_one(const char *rows, size_t stride, size_t nrows, size_t dim, const uint8_t *q,
                                          float qscale, float alpha, float *scores) {
    int32_t t[4];
    const char *end = rows + nrows * stride;
    for (size_t r = 0; r < nrows; r += 4) {
        size_t n = nrows - r < 4 ? nrows - r : 4;
        const char *group = rows + r * stride;
        for (const char *p = group + VNNI_PREFETCH; p < group + VNNI_PREFETCH + 4 * stride && p < end; p += 64)
            _mm_prefetch(p, _MM_HINT_T0);
        const int8_t *x[4];
        for (size_t j = 0; j < 4; j++) x[j] = (const int8_t *)(group + (j < n ? j : n - 1) * stride + QUIVER_I8_HEADER);
        _mm_storeu_si128((__m128i *)t, vnni_four_rows(x, q, dim));
        for (size_t j = 0; j < n; j++) scores[r + j] = i8_score(group + j * stride, t[j], qscale, alpha);
    }
}

// Four rows × four queries: sixteen accumulators, and per 64-byte step four row loads and
// four query loads for sixteen `vpdpbusd`. out[4 · i + j] is row i with query j.
TARGET_VNNI static inline void vnni_4x4(const int8_t *const x[4], const uint8_t *const q[4], size_t dim, int32_t out[16]) {
    __m512i a[4][4];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) a[i][j] = _mm512_setzero_si512();
    size_t k = 0;
    for (; k + 64 <= dim; k += 64) {
        __m512i xv[4] = {vnni_load(x[0] + k), vnni_load(x[1] + k), vnni_load(x[2] + k), vnni_load(x[3] + k)};
        for (int j = 0; j < 4; j++) {
            __m512i qv = vnni_load(q[j] + k);
            for (int i = 0; i < 4; i++) a[i][j] = _mm512_dpbusd_epi32(a[i][j], qv, xv[i]);
        }
    }
    if (k < dim) {
        __mmask64 m = vnni_tail(k, dim);
        __m512i xv[4] = {vnni_load_masked(m, x[0] + k), vnni_load_masked(m, x[1] + k), vnni_load_masked(m, x[2] + k),
                         vnni_load_masked(m, x[3] + k)};
        for (int j = 0; j < 4; j++) {
            __m512i qv = vnni_load_masked(m, q[j] + k);
            for (int i = 0; i < 4; i++) a[i][j] = _mm512_dpbusd_epi32(a[i][j], qv, xv[i]);
        }
    }
    for (int i = 0; i < 4; i++)
        _mm_storeu_si128((__m128i *)(out + 4 * i),
                         hsum4_epi32(vnni_half(a[i][0]), vnni_half(a[i][1]), vnni_half(a[i][2]), vnni_half(a[i][3])));
}

// Batches: the same tiles as the AVX2 path (32 rows × 32 queries, both in L1), each in
// blocks of four rows × four queries; a short last block repeats its last row or query.
TARGET_VNNI static void score_i8_vnni_tiled(const char *rows, size_t stride, size_t nrows, size_t dim,
                                            const uint8_t *queries, const float *qscales, size_t nq, float alpha,
                                            float *scores) {
    int32_t sums[16];
    for (size_t r0 = 0; r0 < nrows; r0 += I8_TILE_ROWS) {
        size_t r1 = r0 + I8_TILE_ROWS < nrows ? r0 + I8_TILE_ROWS : nrows;
        for (size_t g0 = 0; g0 < nq; g0 += 32) {
            size_t g1 = g0 + 32 < nq ? g0 + 32 : nq;
            for (size_t r = r0; r < r1; r += 4) {
                size_t nr = r1 - r < 4 ? r1 - r : 4;
                const char *row[4];
                const int8_t *x[4];
                __m128 rs[4];
                __m128i off[4];
                for (size_t i = 0; i < 4; i++) {
                    row[i] = rows + (r + (i < nr ? i : nr - 1)) * stride;
                    x[i] = (const int8_t *)(row[i] + QUIVER_I8_HEADER);
                    float scale;
                    int32_t sum;
                    memcpy(&scale, row[i], 4);
                    memcpy(&sum, row[i] + 4, 4);
                    // alpha · s_r · s_q · (dot − 32 Σx), multiplied in the portable path's order.
                    rs[i] = _mm_set1_ps(alpha * scale);
                    off[i] = _mm_set1_epi32(QUIVER_I8_QUERY_OFFSET * sum);
                }
                for (size_t q = g0; q < g1; q += 4) {
                    size_t nqq = g1 - q < 4 ? g1 - q : 4;
                    const uint8_t *qp[4];
                    float qsv[4];
                    for (size_t j = 0; j < 4; j++) {
                        size_t jj = j < nqq ? j : nqq - 1;
                        qp[j] = queries + (q + jj) * dim;
                        qsv[j] = qscales[q + jj];
                    }
                    vnni_4x4(x, qp, dim, sums);
                    __m128 qs = _mm_loadu_ps(qsv);
                    for (size_t i = 0; i < nr; i++) {
                        __m128i d = _mm_sub_epi32(_mm_loadu_si128((const __m128i *)(sums + 4 * i)), off[i]);
                        __m128 v = _mm_mul_ps(_mm_mul_ps(rs[i], qs), _mm_cvtepi32_ps(d));
                        float *out = scores + (r + i) * nq + q;
                        if (nqq == 4) {
                            _mm_storeu_ps(out, v);
                        } else {
                            float tmp[4];
                            _mm_storeu_ps(tmp, v);
                            for (size_t j = 0; j < nqq; j++) out[j] = tmp[j];
                        }
                    }
                }
            }
        }
    }
}

void quiver_score_i8(const void *rows, size_t stride, size_t nrows, size_t dim, const uint8_t *queries,
                     const float *qscales, size_t nq, float alpha, float *scores, int kernels) {
    if (use_vnni(kernels)) {
        if (nq == 1)
            score_i8_vnni_one(rows, stride, nrows, dim, queries, qscales[0], alpha, scores);
        else
            score_i8_vnni_tiled(rows, stride, nrows, dim, queries, qscales, nq, alpha, scores);
        return;
    }
    if (use_simd(kernels)) {
        if (nq == 1)
            score_i8_one(rows, stride, nrows, dim, queries, qscales[0], alpha, scores);
        else if (nq >= 8)
            score_i8_tiled(rows, stride, nrows, dim, queries, qscales, nq, alpha, scores);
        else
            score_i8_simd(rows, stride, nrows, dim, queries, qscales, nq, alpha, scores);
        return;
    }
    for (size_t r = 0; r < nrows; r++) {
        const char *row = (const char *)rows + r * stride;
        const int8_t *x = (const int8_t *)(row + QUIVER_I8_HEADER);
        for (size_t q = 0; q < nq; q++)
            scores[r * nq + q] = i8_score(row, dot_u6_i8_scalar(queries + q * dim, x, 0, dim), qscales[q], alpha);
    }
}
