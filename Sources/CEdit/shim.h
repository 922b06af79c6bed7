// libedit's readline-compatible API (BSD licence; GNU readline's GPL would bind the binary).
#include <stdio.h>
#include <editline/readline.h>

