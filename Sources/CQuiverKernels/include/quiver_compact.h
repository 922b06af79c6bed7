#ifndef QUIVER_COMPACT_H
#define QUIVER_COMPACT_H
#include <stddef.h>
#include <stdint.h>

// Kernels of the compact vector encodings (f16, int8). Each entry point chooses its
// instruction set at run time (AVX-512 VNNI for int8 scores, else AVX2+FMA+F16C, when the
// CPU has them) unless `kernels` asks for a narrower one: QUIVER_KERNELS_PORTABLE runs the
// plain C path every CPU has, QUIVER_KERNELS_AVX2 never uses AVX-512. The tests run each
// path the CPU has and compare.

/// The instruction set a kernel may use: the best the CPU has, plain C, or at most AVX2.
enum { QUIVER_KERNELS_BEST = 0, QUIVER_KERNELS_PORTABLE = 1, QUIVER_KERNELS_AVX2 = 2 };

/// 1 when the AVX2+FMA+F16C paths below can run on this CPU.
int quiver_compact_simd_available(void);

/// 1 when the AVX-512 VNNI int8 path can run on this CPU (AVX-512 F, BW, VL and VNNI, with
/// the operating system saving their registers).
int quiver_compact_vnni_available(void);

/// IEEE half precision, round to nearest even; values beyond ±65504 become ±infinity.
void quiver_f32_to_f16(const float *src, uint16_t *dst, size_t n, int kernels);
/// Half precision back to float (exact).
void quiver_f16_to_f32(const uint16_t *src, float *dst, size_t n, int kernels);

/// scores[r * nq + q] = alpha * dot(row r, query q), where row r is `dim` halves at
/// `rows + r * stride` bytes.
void quiver_score_f16(const void *rows, size_t stride, size_t nrows, size_t dim,
                      const float *queries, size_t nq, float alpha, float *scores, int kernels);

/// Bytes before the int8 components of a stored int8 vector: its scale (float) and the
/// sum of its components (int32).
#define QUIVER_I8_HEADER 8

/// Quantizes `x` (dim floats) to a stored int8 vector at `out`: scale s = max|x| / 127,
/// components round(x / s) in [-127, 127] (to nearest, ties to even), and their sum. Every
/// path gives the same bytes.
void quiver_quantize_i8(const float *x, size_t dim, void *out, int kernels);

/// Offset added to a quantized query's components (they are unsigned for `vpmaddubsw`).
#define QUIVER_I8_QUERY_OFFSET 32

/// Quantizes a query to 6-bit unsigned components: out[i] = round(q[i] / s) + 32 in
/// [1, 63], s = max|q| / 31. Returns s. Six bits let the AVX2 kernels add two u8 × s8
/// pair sums in 16 bits before widening (at most 2 · 2 · 63 · 127 = 32004: no
/// saturation), a third fewer multiply instructions than widening each; the candidates
/// are rescored exactly, so the coarser query costs recall only before rescoring.
float quiver_quantize_query_u6(const float *q, size_t dim, uint8_t *out);

/// scores[r * nq + q] = alpha * s_r * s_q * (Σ u_q[i] · x_r[i] - 32 · Σ x_r[i]) for stored
/// int8 vectors at `rows + r * stride` and quantized queries `queries + q * dim` with
/// scales `qscales[q]`. The integer sums are exact: every path gives the same bits.
void quiver_score_i8(const void *rows, size_t stride, size_t nrows, size_t dim,
                     const uint8_t *queries, const float *qscales, size_t nq, float alpha,
                     float *scores, int kernels);

#endif
