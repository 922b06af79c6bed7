#ifndef QUIVER_CPOPPLER_SHIM_H
#define QUIVER_CPOPPLER_SHIM_H
// poppler-glib: PDF documents, pages and their text (GPL-2.0; only the PDFParsing target
// links it, so an application can leave PDF support out).
#include <poppler.h>

// Macros Swift cannot import.
static inline GQuark quiver_poppler_error_quark(void) { return POPPLER_ERROR; }
#endif
