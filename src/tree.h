/*
 * tree.h: copying, measuring and removing whole directory trees, never
 * following a symlink.
 */
#ifndef TREE_H
#define TREE_H

#include <stdint.h>

#define TREE_NO_BYTECODE 1	/* leave out __pycache__ and .pyc/.pyo files */

/*
 * Copy the tree SRC to DST, which must not exist: directories, regular
 * files (with their permission bits and times, to the nanosecond, so that
 * timestamp pycs stay fresh) and symlinks (made again, not followed);
 * anything else is left out.  Returns 0, or -1 after reporting an error.
 */
int tree_copy(const char *src, const char *dst, unsigned flags);

/* Remove PATH and everything below it.  Returns 0, or -1 after reporting. */
int tree_remove(const char *path);

struct tree_usage {
	uint64_t files;		/* regular files */
	uint64_t bytes;		/* their sizes */
	uint64_t disk;		/* blocks allocated, files and directories */
};

/* Measure the tree PATH.  Returns 0, or -1 after reporting an error. */
int tree_measure(const char *path, struct tree_usage *u);

#endif
