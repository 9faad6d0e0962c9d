/*
 * clean.h: removing the pycs that belong to sources, and the __pycache__
 * directories that removal leaves empty.
 */
#ifndef CLEAN_H
#define CLEAN_H

#include <stddef.h>

struct clean_opts {
	int this_version;	/* only this interpreter's cache tag */
	int orphans;		/* also pycs whose source is gone (trees) */
	int dry_run;		/* say what would go, remove nothing */
	int verbose;		/* print each removed path */
	int other_versions;	/* only other interpreters' pycs */
	int quiet;		/* no warnings */
	int keep_reusable;	/* keep this interpreter's timestamp and
				 * checked-hash pycs (for an upgrade) */
};

struct clean_stats {
	size_t removed;		/* pyc files */
	size_t dirs;		/* __pycache__ directories */
	size_t failed;		/* removals that failed */
};

/*
 * Remove the pycs of every source in the tree PATH (one directory read per
 * directory; symlinks are never followed, only regular files named as pycs
 * are removed, and only __pycache__ directories this call emptied).
 * Returns 0, or -1 if something could not be removed or read (reported).
 */
int clean_tree(const struct clean_opts *o, const char *path,
	       struct clean_stats *stats);

/*
 * Remove the pycs of the N source files PATHS (which need not exist any
 * more), reading each directory involved once.
 */
int clean_files(const struct clean_opts *o, char **paths, size_t n,
		struct clean_stats *stats);

#endif
