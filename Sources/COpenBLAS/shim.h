#ifndef QUIVER_COPENBLAS_SHIM_H
#define QUIVER_COPENBLAS_SHIM_H
// pkg-config "openblas" puts OpenBLAS's own include directory first, so this is
// OpenBLAS's cblas.h (with openblas_set_num_threads), not the alternatives link.
#include <cblas.h>
#endif
