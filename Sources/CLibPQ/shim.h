// libpq, Debian's libpq-dev (pkg-config libpq). Only Sources/PostgresStore/LibPQ imports it.
#include <libpq-fe.h>
