/*
 * traceback.h: a Python 3.11 traceback of stripped code rewritten with the
 * original's line numbers, source lines and carets.
 */
#ifndef TRACEBACK_H
#define TRACEBACK_H

#include <stdio.h>

struct origin;

/*
 * Copy the text IN (NAME in messages) to OUT, each frame line whose file
 * O maps ('  File "P", line N, in F', a SyntaxError's and faulthandler's
 * forms too) with the original's line number, and the source line under
 * it, when the original is at hand, with the original's line and carets.
 * Any other line, and a line's "\n" or "\r\n", goes through byte for byte.
 * Returns 0, or -1 after reporting that IN could not be read (what was read
 * is copied); errors writing OUT are left for the caller to check.
 */
int traceback_map(FILE *in, const char *name, FILE *out, struct origin *o);

#endif
