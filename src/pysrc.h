/*
 * pysrc.h: facts read off Python source bytes without the interpreter.
 */
#ifndef PYSRC_H
#define PYSRC_H

#include <stddef.h>

/*
 * If SRC holds a NUL byte, store its 1-based line and column and return 1;
 * return 0 otherwise.
 */
int pysrc_find_nul(const char *src, size_t len, long *line, long *col);

/*
 * Whether the source may compile differently at optimisation level 1 than
 * at level 0: it uses the assert statement or the name __debug__, or it is
 * in an encoding other than UTF-8, whose bytes this scan can't trust.
 * Strings and comments are skipped; an f-string counts if it mentions
 * __debug__.  Errs on the side of yes.
 */
int pysrc_uses_debug(const char *src, size_t len);

#endif
