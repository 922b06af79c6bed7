#ifndef QUIVER_CARCHIVE_SHIM_H
#define QUIVER_CARCHIVE_SHIM_H
// libarchive (BSD): the ZIP containers of DOCX, PPTX, XLSX, ODT and EPUB.
#include <archive.h>
#include <archive_entry.h>

// Macros Swift cannot import.
static inline unsigned int quiver_archive_regular_file(void) { return AE_IFREG; }
#endif
