#ifndef QUIVER_MODEL_KERNELS_H
#define QUIVER_MODEL_KERNELS_H
#include <stddef.h>

/// The element-wise parts of a transformer layer, beside the sgemm calls that do the rest.
/// Each runs with AVX2+FMA when the CPU has them, with a scalar (libm) fallback; the
/// vector exp and erf are accurate to a few ulp (erf to about 2e-7 absolute).

/// x[r, c] += bias[c] for r < rows, c < cols (row stride `ld`).
void quiver_add_bias(float *x, const float *bias, size_t rows, size_t cols, size_t ld);

/// x[r, c] = gelu(x[r, c] + bias[c]) with the exact (erf) GELU: v · ½ (1 + erf(v / √2)).
void quiver_bias_gelu(float *x, const float *bias, size_t rows, size_t cols);

/// In place, each of `rows` rows of `cols` scores (row stride `ld`): softmax(scale · x).
void quiver_softmax_rows(float *x, size_t rows, size_t cols, size_t ld, float scale);

/// out[r] = LayerNorm(a[r] + bias + residual[r]) · gamma + beta over `cols` columns, for
/// r < rows (all row-major, contiguous). `bias` and `residual` may be NULL; `out` may be
/// `a` or `residual`.
void quiver_layer_norm(float *out, const float *a, const float *bias, const float *residual,
                       const float *gamma, const float *beta, size_t rows, size_t cols, float eps);

#endif
