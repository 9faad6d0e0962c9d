/*
 * cache.h: the page cache: which pages of a set of files are resident,
 * and evicting them.
 */
#ifndef CACHE_H
#define CACHE_H

#include <stddef.h>

/* A set of regular files, by path. */
struct fileset {
	char **path;
	size_t n;
	size_t alloc;
};

#define FILESET_INIT { NULL, 0, 0 }

void fileset_add(struct fileset *fs, const char *path);
/*
 * Add every regular file under DIR (symlinks are not followed).
 * Returns 0, or -1 after reporting an error.
 */
int fileset_add_tree(struct fileset *fs, const char *dir);
/* Sort and drop duplicates. */
void fileset_uniq(struct fileset *fs);
void fileset_release(struct fileset *fs);

/* Pages of the files in a set, and how many are in memory. */
struct residency {
	size_t pages;
	size_t resident;
};

/*
 * Count the pages of FS's files and those resident (mincore() on a
 * mapping of each); files that vanished or can't be read are left out.
 */
void cache_residency(const struct fileset *fs, struct residency *r);

/* resident / pages, 0 for an empty set. */
double cache_fraction(const struct residency *r);

/*
 * Evict FS's files from the page cache: each is written back
 * (fdatasync) then dropped with posix_fadvise(POSIX_FADV_DONTNEED).
 * Pages a process has mapped stay.  Needs no privilege.
 */
void cache_evict(const struct fileset *fs);

/*
 * Write back everything, then drop the whole page cache, dentries and
 * inodes through /proc/sys/vm/drop_caches (root only).  Returns 0, or -1
 * after reporting why not.
 */
int cache_drop_system(void);

/* Whether PATH is on a tmpfs (or ramfs), whose pages can't be evicted. */
int cache_on_tmpfs(const char *path);

#endif
