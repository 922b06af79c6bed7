// Element-wise kernels of the local embedding model (bias, GELU, softmax, LayerNorm).
// They run once per matrix element between the sgemm calls: a 128-token chunk needs about
// 1.2 million erf and as many exp evaluations, so libm's scalar erff/expf would cost a
// sizeable share of the forward pass; these evaluate 8 at a time.
#include "quiver_model_kernels.h"
#include "quiver_kernels.h"
#include <immintrin.h>
#include <math.h>

#define TARGET __attribute__((target("avx2,fma")))

static int use_avx2(void) {
    static int cached = -1;
    int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (v < 0) {
        v = quiver_kernels_available();
        __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
    }
    return v;
}

// exp(x) for 8 floats (Cephes expf): x = n ln2 + r with |r| <= ln2/2, a degree-6
// polynomial for exp(r), 2^n through the exponent bits.
TARGET static inline __m256 exp8(__m256 x) {
    // Clamped with x as the *second* operand of max and the clamp as the first of min:
    // for a NaN lane the x86 min/max return the second operand, so NaN stays NaN, as in
    // the scalar expf path.
    x = _mm256_min_ps(_mm256_set1_ps(88.3f), _mm256_max_ps(_mm256_set1_ps(-87.3f), x));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500E-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507E-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073E-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894E-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459E-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201E-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

// erf(x) for 8 floats. |x| < 1: the Taylor series 2/√π Σ (−1)^n x^(2n+1) / (n! (2n+1))
// to n = 10 (truncation error below 2e-9). |x| >= 1: Abramowitz and Stegun 7.1.26,
// 1 − (a1 t + … + a5 t⁵) exp(−x²) with t = 1 / (1 + p|x|), absolute error below 1.5e-7.
TARGET static inline __m256 erf8(__m256 x) {
    const __m256 signbit = _mm256_set1_ps(-0.0f);
    const __m256 sign = _mm256_and_ps(x, signbit);
    const __m256 a = _mm256_andnot_ps(signbit, x);
    const __m256 z = _mm256_mul_ps(a, a);
    __m256 s = _mm256_set1_ps(1.480719282e-08f);
    s = _mm256_fmadd_ps(s, z, _mm256_set1_ps(-1.636584469e-07f));
    s = _mm256_fmadd_ps(s, z, _mm256_set1_ps(1.646211437e-06f));
    s = _mm256_fmadd_ps(s, z, _mm256_set1_ps(-1.492565036e-05f));
    s = _mm256_fmadd_ps(s, z, _mm256_set1_ps(1.205533298e-04f));
    s = _mm256_fmadd_ps(s, z, _mm256_set1_ps(-8.548327023e-04f));
    s = _mm256_fmadd_ps(s, z, _mm256_set1_ps(5.223977625e-03f));
    s = _mm256_fmadd_ps(s, z, _mm256_set1_ps(-2.686617065e-02f));
    s = _mm256_fmadd_ps(s, z, _mm256_set1_ps(1.128379167e-01f));
    s = _mm256_fmadd_ps(s, z, _mm256_set1_ps(-3.761263890e-01f));
    s = _mm256_fmadd_ps(s, z, _mm256_set1_ps(1.128379167e+00f));
    const __m256 small = _mm256_mul_ps(s, a);

    const __m256 t = _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_fmadd_ps(_mm256_set1_ps(0.3275911f), a, _mm256_set1_ps(1.0f)));
    __m256 q = _mm256_set1_ps(1.061405429f);
    q = _mm256_fmadd_ps(q, t, _mm256_set1_ps(-1.453152027f));
    q = _mm256_fmadd_ps(q, t, _mm256_set1_ps(1.421413741f));
    q = _mm256_fmadd_ps(q, t, _mm256_set1_ps(-0.284496736f));
    q = _mm256_fmadd_ps(q, t, _mm256_set1_ps(0.254829592f));
    q = _mm256_mul_ps(q, t);
    const __m256 large = _mm256_fnmadd_ps(q, exp8(_mm256_sub_ps(_mm256_setzero_ps(), z)), _mm256_set1_ps(1.0f));

    const __m256 useLarge = _mm256_cmp_ps(a, _mm256_set1_ps(1.0f), _CMP_GE_OQ);
    return _mm256_or_ps(sign, _mm256_blendv_ps(small, large, useLarge));
}

TARGET static void add_bias_avx2(float *x, const float *bias, size_t rows, size_t cols, size_t ld) {
    for (size_t r = 0; r < rows; r++) {
        float *row = x + r * ld;
        size_t c = 0;
        for (; c + 8 <= cols; c += 8)
            _mm256_storeu_ps(row + c, _mm256_add_ps(_mm256_loadu_ps(row + c), _mm256_loadu_ps(bias + c)));
        for (; c < cols; c++) row[c] += bias[c];
    }
}

void quiver_add_bias(float *x, const float *bias, size_t rows, size_t cols, size_t ld) {
    if (use_avx2()) {
        add_bias_avx2(x, bias, rows, cols, ld);
        return;
    }
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++) x[r * ld + c] += bias[c];
}

static inline float gelu1(float v) { return 0.5f * v * (1.0f + erff(v * 0.70710678118654752f)); }

TARGET static void bias_gelu_avx2(float *x, const float *bias, size_t rows, size_t cols) {
    const __m256 half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f), rsqrt2 = _mm256_set1_ps(0.70710678118654752f);
    for (size_t r = 0; r < rows; r++) {
        float *row = x + r * cols;
        size_t c = 0;
        for (; c + 8 <= cols; c += 8) {
            __m256 v = _mm256_add_ps(_mm256_loadu_ps(row + c), _mm256_loadu_ps(bias + c));
            __m256 e = erf8(_mm256_mul_ps(v, rsqrt2));
            _mm256_storeu_ps(row + c, _mm256_mul_ps(_mm256_mul_ps(half, v), _mm256_add_ps(one, e)));
        }
        for (; c < cols; c++) row[c] = gelu1(row[c] + bias[c]);
    }
}

void quiver_bias_gelu(float *x, const float *bias, size_t rows, size_t cols) {
    if (use_avx2()) {
        bias_gelu_avx2(x, bias, rows, cols);
        return;
    }
    for (size_t i = 0; i < rows * cols; i++) x[i] = gelu1(x[i] + bias[i % cols]);
}

TARGET static inline float hmax8(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

TARGET static inline float hsum8(__m256 v) {
    __m128 m = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_add_ps(m, _mm_movehl_ps(m, m));
    m = _mm_add_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

TARGET static void softmax_avx2(float *x, size_t rows, size_t cols, size_t ld, float scale) {
    const __m256 vs = _mm256_set1_ps(scale);
    for (size_t r = 0; r < rows; r++) {
        float *row = x + r * ld;
        __m256 vm = _mm256_set1_ps(-INFINITY);
        size_t c = 0;
        for (; c + 8 <= cols; c += 8) vm = _mm256_max_ps(vm, _mm256_loadu_ps(row + c));
        float m = hmax8(vm);
        for (; c < cols; c++) m = row[c] > m ? row[c] : m;
        const __m256 shift = _mm256_set1_ps(m * scale);
        __m256 vsum = _mm256_setzero_ps();
        for (c = 0; c + 8 <= cols; c += 8) {
            __m256 e = exp8(_mm256_fmsub_ps(_mm256_loadu_ps(row + c), vs, shift));
            _mm256_storeu_ps(row + c, e);
            vsum = _mm256_add_ps(vsum, e);
        }
        float sum = hsum8(vsum);
        for (; c < cols; c++) {
            row[c] = expf(row[c] * scale - m * scale);
            sum += row[c];
        }
        const __m256 inv = _mm256_set1_ps(1.0f / sum);
        for (c = 0; c + 8 <= cols; c += 8) _mm256_storeu_ps(row + c, _mm256_mul_ps(_mm256_loadu_ps(row + c), inv));
        for (; c < cols; c++) row[c] *= 1.0f / sum;
    }
}

void quiver_softmax_rows(float *x, size_t rows, size_t cols, size_t ld, float scale) {
    if (use_avx2()) {
        softmax_avx2(x, rows, cols, ld, scale);
        return;
    }
    for (size_t r = 0; r < rows; r++) {
        float *row = x + r * ld;
        float m = -INFINITY, sum = 0;
        for (size_t c = 0; c < cols; c++) m = row[c] > m ? row[c] : m;
        for (size_t c = 0; c < cols; c++) {
            row[c] = expf((row[c] - m) * scale);
            sum += row[c];
        }
        for (size_t c = 0; c < cols; c++) row[c] /= sum;
    }
}

// Two passes per row over data that stays in L1: the sum (mean), then the centred sum of
// squares (variance), as PyTorch computes them; one-pass E[x²] − E[x]² loses digits.
TARGET static void layer_norm_avx2(float *out, const float *a, const float *bias, const float *residual,
                                   const float *gamma, const float *beta, size_t rows, size_t cols, float eps) {
    for (size_t r = 0; r < rows; r++) {
        const float *ar = a + r * cols;
        const float *rr = residual ? residual + r * cols : NULL;
        float *o = out + r * cols;
        __m256 vsum = _mm256_setzero_ps();
        size_t c = 0;
        for (; c + 8 <= cols; c += 8) {
            __m256 v = _mm256_loadu_ps(ar + c);
            if (bias) v = _mm256_add_ps(v, _mm256_loadu_ps(bias + c));
            if (rr) v = _mm256_add_ps(v, _mm256_loadu_ps(rr + c));
            _mm256_storeu_ps(o + c, v);
            vsum = _mm256_add_ps(vsum, v);
        }
        float sum = hsum8(vsum);
        for (; c < cols; c++) {
            float v = ar[c] + (bias ? bias[c] : 0) + (rr ? rr[c] : 0);
            o[c] = v;
            sum += v;
        }
        const float mean = sum / (float)cols;
        const __m256 vmean = _mm256_set1_ps(mean);
        __m256 vsq = _mm256_setzero_ps();
        for (c = 0; c + 8 <= cols; c += 8) {
            __m256 d = _mm256_sub_ps(_mm256_loadu_ps(o + c), vmean);
            vsq = _mm256_fmadd_ps(d, d, vsq);
        }
        float sq = hsum8(vsq);
        for (; c < cols; c++) sq += (o[c] - mean) * (o[c] - mean);
        const float inv = 1.0f / sqrtf(sq / (float)cols + eps);
        const __m256 vinv = _mm256_set1_ps(inv);
        for (c = 0; c + 8 <= cols; c += 8) {
            __m256 d = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(o + c), vmean), vinv);
            _mm256_storeu_ps(o + c, _mm256_fmadd_ps(d, _mm256_loadu_ps(gamma + c), _mm256_loadu_ps(beta + c)));
        }
        for (; c < cols; c++) o[c] = (o[c] - mean) * inv * gamma[c] + beta[c];
    }
}

void quiver_layer_norm(float *out, const float *a, const float *bias, const float *residual,
                       const float *gamma, const float *beta, size_t rows, size_t cols, float eps) {
    if (use_avx2()) {
        layer_norm_avx2(out, a, bias, residual, gamma, beta, rows, cols, eps);
        return;
    }
    for (size_t r = 0; r < rows; r++) {
        const float *ar = a + r * cols;
        const float *rr = residual ? residual + r * cols : NULL;
        float *o = out + r * cols;
        float sum = 0, sq = 0;
        for (size_t c = 0; c < cols; c++) {
            o[c] = ar[c] + (bias ? bias[c] : 0) + (rr ? rr[c] : 0);
            sum += o[c];
        }
        const float mean = sum / (float)cols;
        for (size_t c = 0; c < cols; c++) sq += (o[c] - mean) * (o[c] - mean);
        const float inv = 1.0f / sqrtf(sq / (float)cols + eps);
        for (size_t c = 0; c < cols; c++) o[c] = (o[c] - mean) * inv * gamma[c] + beta[c];
    }
}
