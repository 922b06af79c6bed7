#ifndef QUIVER_CSTEMMER_SHIM_H
#define QUIVER_CSTEMMER_SHIM_H
#include <libstemmer.h>
#endif
