/*
 * pyrt-int.h: what pyrt.c shares with the other pyrt*.c files, the only
 * ones that include it (and so Python.h).
 */
#ifndef PYRT_INT_H
#define PYRT_INT_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "pyrt.h"

/*
 * SOURCE (NUL-terminated) compiled under U's file name, as
 * compile(source_bytes, path, "exec", dont_inherit=True, optimize=OPTIMIZE)
 * does; compiler warnings go to U (reported once each unless U->quiet)
 * when WARN is set, and are dropped otherwise.  Returns a new reference, or
 * NULL with the exception set.
 */
PyObject *pyrt_compile_source(struct pyrt_unit *u, const char *source,
			      int optimize, int warn);

/*
 * The pending exception, cleared, as "Type: message" appended to TEXT,
 * with the line and column a SyntaxError carries (0 when unknown).
 */
void pyrt_take_exception(struct buf *text, long *line, long *col);

/* The pending exception, cleared, as "path:line:col: Type: message" with
 * U's path, appended to OUT. */
void pyrt_describe_exception(const struct pyrt_unit *u, struct buf *out);

#endif
