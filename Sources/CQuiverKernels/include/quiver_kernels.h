#ifndef QUIVER_KERNELS_H
#define QUIVER_KERNELS_H
#include <stddef.h>
#include <stdint.h>

/// 1 when the AVX2+FMA kernels below can run on this CPU.
int quiver_kernels_available(void);

/// scores[r * nq + q] = alpha * dot(vectors[r, :], queries[q, :]) for r < rows, q < nq.
/// Reads `vectors` (rows × dim, row-major) in place, once; `queries` (nq × dim) should
/// fit in L1/L2 (small nq). Requires quiver_kernels_available().
void quiver_score_tile(const float *vectors, size_t rows, size_t dim,
                       const float *queries, size_t nq, float alpha, float *scores);

/// Top-k candidate filter over a tile of scores (rows × nq, row-major): writes the flat
/// index r * nq + q of every score - (norms ? norms[r] : 0) >= thresholds[q], in order,
/// and returns how many. `out` must hold rows * nq entries. Works on any CPU (AVX2 when
/// available).
size_t quiver_select(const float *scores, size_t rows, size_t nq, const float *norms,
                     const float *thresholds, uint32_t *out);

/// XXH64 (seed 0) of `length` bytes: the checksum sealed into every vector block.
uint64_t quiver_xxh64(const void *data, size_t length);

/// Asks the CPU to bring the cache line at `address` in (a hint: never faults, even for
/// an address outside any mapping). For walks that read one line of many far-apart
/// places: issued ahead, their misses overlap instead of following one another.
static inline void quiver_prefetch(const void *address) { __builtin_prefetch(address, 0, 3); }

#endif
