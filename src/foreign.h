/*
 * foreign.h: an installed interpreter other than the embedded one (another
 * python3.X): py3compile compiles a version's files with that version's
 * interpreter, and so do the drop-ins.
 */
#ifndef FOREIGN_H
#define FOREIGN_H

#include <stddef.h>

#include "sources.h"

/*
 * Compile LIST with ROOT's /usr/bin/pythonX.Y (V is X * 100 + Y), isolated
 * (-I), at optimisation level OPTIMIZE (0 or 1), as py_compile does, each
 * pyc recorded under its source's recorded name.  Unless FORCE, a pyc whose
 * header matches its source is left alone.  A file that does not compile
 * is reported and counted in *FAILED.  Returns 0, or -1 if the interpreter
 * could not be run (reported).
 */
int foreign_compile(const char *root, int v, int optimize, int force,
		    const struct source_list *list, size_t *failed);

/* ROOT's pythonX.Y's cache tag ("cpython-312", a new string), or NULL. */
char *foreign_cache_tag(const char *root, int v);

#endif
