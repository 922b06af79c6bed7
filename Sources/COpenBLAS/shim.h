#ifndef QUIVER_COPENBLAS_SHIM_H
#define QUIVER_COPENBLAS_SHIM_H
// OpenBLAS is loaded at run time (dlopen), after Quiver has chosen its kernel core:
// OpenBLAS reads OPENBLAS_CORETYPE once, when the library loads. So nothing links it
// (no pkg-config here: its -lopenblas would load the library at start-up) and no header
// of it is included: these are the CBLAS and OpenBLAS signatures (LP64 build: 32-bit
// int), as pointer types for the dlsym'ed functions.
#include <stdint.h>

enum { QUIVER_CBLAS_ROW_MAJOR = 101, QUIVER_CBLAS_NO_TRANS = 111, QUIVER_CBLAS_TRANS = 112 };

typedef void (*quiver_cblas_sgemm_fn)(int order, int trans_a, int trans_b, int m, int n, int k, float alpha,
                                      const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc);
typedef void (*quiver_cblas_sgemv_fn)(int order, int trans, int m, int n, float alpha, const float *a, int lda,
                                      const float *x, int incx, float beta, float *y, int incy);
typedef float (*quiver_cblas_sdot_fn)(int n, const float *x, int incx, const float *y, int incy);
typedef void (*quiver_openblas_set_num_threads_fn)(int threads);
typedef int (*quiver_openblas_get_int_fn)(void);
typedef char *(*quiver_openblas_get_string_fn)(void);
/// `blas_thread_shutdown_`: joins OpenBLAS's worker threads (its fork handler does the
/// same); the next call that wants them starts them again.
typedef int (*quiver_openblas_thread_shutdown_fn)(void);

/// glibc's dladdr (declared by <dlfcn.h> only under _GNU_SOURCE), under its own name:
/// which file a loaded symbol came from.
typedef struct {
    const char *dli_fname;
    void *dli_fbase;
    const char *dli_sname;
    void *dli_saddr;
} quiver_dl_info;
extern int quiver_dladdr(const void *address, quiver_dl_info *info) __asm__("dladdr");

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
/// cpuid(leaf, subleaf) into regs (eax, ebx, ecx, edx); 0 when the leaf is beyond the
/// CPU's maximum.
static inline int quiver_cpuid(unsigned leaf, unsigned subleaf, unsigned regs[4]) {
    unsigned max = __get_cpuid_max(leaf & 0x80000000u, 0);
    if (max == 0 || leaf > max) return 0;
    __cpuid_count(leaf, subleaf, regs[0], regs[1], regs[2], regs[3]);
    return 1;
}
/// XCR0: which register states the operating system saves (bit 1 SSE, 2 AVX, 5–7
/// AVX-512). Call only when cpuid says OSXSAVE.
static inline uint64_t quiver_xgetbv0(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}
#else
static inline int quiver_cpuid(unsigned leaf, unsigned subleaf, unsigned regs[4]) {
    (void)leaf; (void)subleaf; (void)regs;
    return 0;
}
static inline uint64_t quiver_xgetbv0(void) { return 0; }
#endif

#endif
