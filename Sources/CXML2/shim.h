#ifndef QUIVER_CXML2_SHIM_H
#define QUIVER_CXML2_SHIM_H
// libxml2 (MIT): the XML inside office documents, read with the streaming text reader.
#include <libxml/xmlversion.h>
// Debian's libxml2 is built with ICU, whose headers clash with the ICU inside Foundation.
// Quiver never touches the ICU-specific fields (encoding handlers), so leave them out.
#undef LIBXML_ICU_ENABLED
#include <libxml/parser.h>
#include <libxml/xmlreader.h>
#endif
