/*
 * linemap.h: the line map of a stripped tree, which says for each line of
 * each stripped file the source line it came from.
 *
 * One text file per tree, LINEMAP_NAME at the top of the stripped tree:
 *
 *	pyprime-linemap 1
 *	source /absolute/path/of/the/original/tree
 *	rel/path/mod.py<TAB>1:3 5 8:12
 *
 * The first line names the format and its version.  The "source" line,
 * which may be left out (a tree stripped in place has no original left),
 * says where the original tree is.  Then one line per stripped file,
 * sorted by path (strcmp, on the unescaped bytes), no path twice: the path
 * relative to the map's directory (no empty, "." or ".." component), a
 * tab, and the file's runs.  In both paths "\\" stands for a backslash,
 * "\t" for a tab, "\n" for a newline, "\ooo" (three octal digits) for any
 * other byte below 0x20 and for 0x7f; every other byte, UTF-8 or not,
 * stands for itself.  The runs, separated by one space, cover the stripped
 * file's lines in order: "S:C" says that the next C lines (C > 0) come
 * from source lines S, S+1, ..., S+C-1, and "S" that the next line comes
 * from source line S.  Source lines are at least 1 and strictly
 * increasing across the runs; a file with no lines left has no runs.  An
 * unchanged file of 500 lines is "1:500".  Every line ends in a newline.
 */
#ifndef LINEMAP_H
#define LINEMAP_H

#include <stddef.h>

#define LINEMAP_NAME "pyprime.linemap"

/* Stripped lines OUT .. OUT+LEN-1 come from source lines SRC .. SRC+LEN-1. */
struct linemap_run {
	unsigned out, src, len;
};

struct linemap_entry {
	char *path;		/* relative to the map's directory */
	struct linemap_run *runs;
	size_t nruns;
	unsigned nlines;	/* lines in the stripped file */
};

struct linemap {
	char *source;		/* the original tree, or NULL */
	struct linemap_entry *v;	/* sorted by path */
	size_t n, alloc;
};

/*
 * Load FILE into M, which must be zeroed.  Returns 0; 1 when FILE does not
 * exist (M stays empty); -1 after reporting a file that cannot be read, or
 * a malformed one with its path and line.  Release M in every case.
 */
int linemap_load(struct linemap *m, const char *file);

/*
 * Add PATH (relative, as in the file) with N lines whose source lines are
 * LINES[0..N-1], strictly increasing from 1, or replace PATH's entry.
 * LINES is copied, as runs.
 */
void linemap_put(struct linemap *m, const char *path, const unsigned *lines,
		 size_t n);

/* Set, or with NULL remove, the original tree's absolute path. */
void linemap_set_source(struct linemap *m, const char *source);

/*
 * Write M as DIR/LINEMAP_NAME, atomically (see atomic_write()).
 * Returns 0, or -1 after reporting the error.
 */
int linemap_save(const struct linemap *m, const char *dir);

/* PATH's entry, or NULL. */
const struct linemap_entry *linemap_find(const struct linemap *m,
					 const char *path);

/* The source line of stripped line LINE (from 1), or 0 when out of range. */
unsigned linemap_line(const struct linemap_entry *e, unsigned line);

void linemap_release(struct linemap *m);

#endif
