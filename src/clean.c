/*
 * clean.c: removing pycs.  Each directory is read once and its sources'
 * names looked up in a sorted array, so the work is linear in the number of
 * files (py3clean globs once per source, which is quadratic).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic.h"
#include "dir.h"
#include "clean.h"
#include "pyc.h"
#include "pyrt.h"
#include "util.h"

/* Sorted source base names ("mod" for "mod.py"), to look pycs up in. */
struct names {
	char **v;
	size_t n;
};

static int has_name(const struct names *s, const char *base, size_t len)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strncmp(s->v[mid], base, len);

		if (c == 0)
			c = s->v[mid][len] ? 1 : 0;
		if (c == 0)
			return 1;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/*
 * Whether NAME in FD starts with this interpreter's magic number; with
 * REUSABLE, and is not an unchecked-hash pyc (which the importer would
 * trust while its source changes under it).
 */
static int our_magic(int fd, const char *name, int reusable)
{
	unsigned char want[4], got[8];
	int f = openat(fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	int ok;

	if (f < 0)
		return 0;
	pyc_magic(want);
	ok = read_full(f, got, 8) == 8 && memcmp(got, want, 4) == 0;
	/* The flags word: bit 0 hash-based, bit 1 checked. */
	if (ok && reusable)
		ok = (got[4] & 3) != 1;
	close(f);
	return ok;
}

/* Remove the regular file NAME of directory FD (shown as DIR). */
static int remove_file(const struct clean_opts *o, int fd, const char *dir,
		       const char *name, struct clean_stats *stats)
{
	char *path = join_path(dir, name);
	int ret = 0;

	if (!o->dry_run && unlinkat(fd, name, 0) < 0 && errno != ENOENT) {
		error_errno("cannot remove '%s'", path);
		stats->failed++;
		ret = -1;
	} else {
		if (o->dry_run || o->verbose)
			printf("%s\n", path);
		stats->removed++;
	}
	free(path);
	return ret;
}

/*
 * The source base name a pycache entry belongs to, given the entry's cache
 * tag: "mod.cpython-311.opt-1.pyc" is "mod" with tag "cpython-311".
 * Returns the base's length, or 0 if NAME is not named like a pyc.
 */
static size_t pyc_base(const char *name, const char **tag, size_t *taglen)
{
	size_t n = strlen(name), i;
	const char *dot;

	if (n < 5 || (!has_suffix(name, ".pyc") && !has_suffix(name, ".pyo")))
		return 0;
	n -= 4;
	/* An optional ".opt-X" (X alphanumeric). */
	for (i = n; i > 0 && isalnum((unsigned char)name[i - 1]); i--)
		;
	if (i < n && i >= 5 && !strncmp(name + i - 5, ".opt-", 5))
		n = i - 5;
	for (dot = name + n; dot > name && dot[-1] != '.'; dot--)
		;
	if (dot <= name + 1)
		return 0;
	*tag = dot;
	*taglen = (size_t)(name + n - dot);
	if (!*taglen)
		return 0;
	return (size_t)(dot - 1 - name);
}

/*
 * Clean the __pycache__ in directory FD (DIR): pycs of SOURCES, with
 * ORPHANS also those of no source; then remove it if that emptied it.
 */
static int clean_pycache(const struct clean_opts *o, int fd, const char *dir,
			 const struct names *sources, int orphans,
			 struct clean_stats *stats)
{
	char *pcpath = join_path(dir, "__pycache__");
	const char *mytag = pyrt_cache_tag();
	struct dir_list list;
	struct stat st;
	size_t i, left;
	int pc, ret = 0, removed = 0;

	pc = openat(fd, "__pycache__",
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (pc < 0) {
		if (errno == ENOENT)
			goto out;
		if (fstatat(fd, "__pycache__", &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISLNK(st.st_mode)) {
			if (!o->quiet)
				warning("not following symlink '%s'", pcpath);
		}
		else if (errno != ENOTDIR)
			ret = error_errno("cannot open directory '%s'", pcpath);
		goto out;
	}
	if (dir_read(pc, &list, DIR_SORT | DIR_TYPES) < 0) {
		ret = error_errno("cannot read directory '%s'", pcpath);
		close(pc);
		goto out;
	}
	left = list.n;
	for (i = 0; i < list.n; i++) {
		const char *name = list.v[i].name, *tag;
		size_t taglen, len;
		int mine;

		if (list.v[i].type != DT_REG)
			continue;
		if (name[0] == '.' && atomic_stale(pc, name, !o->dry_run)) {
			left--;
			continue;
		}
		len = pyc_base(name, &tag, &taglen);
		if (!len)
			continue;
		mine = taglen == strlen(mytag) && !strncmp(tag, mytag, taglen);
		if ((o->this_version && !mine) || (o->other_versions && mine))
			continue;
		if (!has_name(sources, name, len) && !orphans)
			continue;
		if (mine && o->keep_reusable && our_magic(pc, name, 1))
			continue;
		if (remove_file(o, pc, pcpath, name, stats) < 0) {
			ret = -1;
			continue;
		}
		left--;
		removed++;
	}
	dir_list_release(&list);
	close(pc);
	/* Only a directory this call emptied. */
	if (removed && !left) {
		if (o->dry_run) {
			printf("%s\n", pcpath);
			stats->dirs++;
		} else if (unlinkat(fd, "__pycache__", AT_REMOVEDIR) == 0) {
			if (o->verbose)
				printf("%s\n", pcpath);
			stats->dirs++;
		} else if (errno != ENOTEMPTY && errno != EEXIST) {
			ret = error_errno("cannot remove directory '%s'", pcpath);
			stats->failed++;
		}
	}
out:
	free(pcpath);
	return ret;
}

/* Remove the legacy pyc NAME (beside its source) if it qualifies. */
static int clean_legacy(const struct clean_opts *o, int fd, const char *dir,
			const char *name, struct clean_stats *stats)
{
	struct stat st;

	if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISREG(st.st_mode))
		return 0;
	if (o->this_version && !our_magic(fd, name, 0))
		return 0;
	if (o->keep_reusable && our_magic(fd, name, 1))
		return 0;
	return remove_file(o, fd, dir, name, stats);
}

static int walk(const struct clean_opts *o, int fd, const char *dir,
		struct clean_stats *stats)
{
	struct dir_list list;
	struct names sources = { NULL, 0 };
	size_t i;
	int ret = 0;

	if (dir_read(fd, &list, DIR_SORT | DIR_TYPES) < 0)
		return error_errno("cannot read directory '%s'", dir);
	sources.v = xcalloc(list.n, sizeof(*sources.v));
	for (i = 0; i < list.n; i++)
		if (list.v[i].type != DT_DIR && has_suffix(list.v[i].name, ".py"))
			sources.v[sources.n++] = xasprintf("%.*s",
				(int)strlen(list.v[i].name) - 3, list.v[i].name);
	qsort(sources.v, sources.n, sizeof(*sources.v), cmp_strings);

	for (i = 0; i < list.n; i++) {
		const char *name = list.v[i].name;
		size_t len = strlen(name);

		if (list.v[i].type == DT_REG &&
		    (has_suffix(name, ".pyc") || has_suffix(name, ".pyo")) &&
		    (o->orphans || has_name(&sources, name, len - 4)) &&
		    clean_legacy(o, fd, dir, name, stats) < 0)
			ret = -1;
	}
	if (clean_pycache(o, fd, dir, &sources, o->orphans, stats) < 0)
		ret = -1;
	for (i = 0; i < list.n; i++) {
		const char *name = list.v[i].name;
		char *sub;
		int sfd;

		if (list.v[i].type != DT_DIR || !strcmp(name, "__pycache__"))
			continue;
		sub = join_path(dir, name);
		sfd = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sfd < 0) {
			ret = error_errno("cannot open directory '%s'", sub);
		} else {
			if (walk(o, sfd, sub, stats) < 0)
				ret = -1;
			close(sfd);
		}
		free(sub);
	}
	for (i = 0; i < sources.n; i++)
		free(sources.v[i]);
	free(sources.v);
	dir_list_release(&list);
	return ret;
}

int clean_tree(const struct clean_opts *o, const char *path,
	       struct clean_stats *stats)
{
	struct stat st;
	int fd, ret;

	if (stat(path, &st) < 0)
		return error_errno("cannot access '%s'", path);
	if (!S_ISDIR(st.st_mode)) {
		char *p = (char *)path;

		return clean_files(o, &p, 1, stats);
	}
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return error_errno("cannot open directory '%s'", path);
	ret = walk(o, fd, path, stats);
	close(fd);
	return ret;
}

/* The length of PATH's directory part, -1 for a bare name. */
static long dir_len(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? (long)(slash - path) : -1;
}

/* By directory first, so that each directory's files are adjacent. */
static int cmp_dir_base(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;
	long dx = dir_len(x), dy = dir_len(y);
	size_t n = (size_t)(dx < dy ? dx : dy);
	int c;

	if (dx < 0 || dy < 0)
		c = (dx > dy) - (dx < dy);
	else if ((c = memcmp(x, y, n)) == 0)
		c = (dx > dy) - (dx < dy);
	return c ? c : strcmp(x, y);
}

static int same_dir(const char *a, const char *b)
{
	long n = dir_len(a);

	return n == dir_len(b) && (n <= 0 || !memcmp(a, b, (size_t)n));
}

/* Clean the pycs of the sources named SOURCES in directory DIR. */
static int clean_dir_files(const struct clean_opts *o, const char *dir,
			   const struct names *sources,
			   struct clean_stats *stats)
{
	struct dir_list list;
	size_t k;
	int fd, ret = 0;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 :
		       error_errno("cannot open directory '%s'", dir);
	/* One listing rather than a lookup per source and suffix. */
	if (dir_read(fd, &list, DIR_TYPES) < 0) {
		ret = error_errno("cannot read directory '%s'", dir);
		close(fd);
		return ret;
	}
	for (k = 0; k < list.n; k++) {
		const char *name = list.v[k].name;
		size_t len = strlen(name);

		if (list.v[k].type == DT_REG &&
		    (has_suffix(name, ".pyc") || has_suffix(name, ".pyo")) &&
		    has_name(sources, name, len - 4) &&
		    clean_legacy(o, fd, dir, name, stats) < 0)
			ret = -1;
	}
	dir_list_release(&list);
	if (clean_pycache(o, fd, dir, sources, 0, stats) < 0)
		ret = -1;
	close(fd);
	return ret;
}

int clean_files(const struct clean_opts *o, char **paths, size_t n,
		struct clean_stats *stats)
{
	char **sorted = xmalloc((n ? n : 1) * sizeof(*sorted));
	struct names sources;
	size_t i, j;
	int ret = 0;

	memcpy(sorted, paths, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), cmp_dir_base);
	sources.v = xmalloc((n ? n : 1) * sizeof(*sources.v));
	for (i = 0; i < n; i = j) {
		long dlen = dir_len(sorted[i]);
		char *dir = dlen < 0 ? xstrdup(".") :
			    dlen == 0 ? xstrdup("/") :
			    xasprintf("%.*s", (int)dlen, sorted[i]);

		sources.n = 0;
		for (j = i; j < n && same_dir(sorted[i], sorted[j]); j++) {
			const char *base = sorted[j] + dlen + 1;

			if (has_suffix(base, ".py"))
				sources.v[sources.n++] = xasprintf("%.*s",
					(int)strlen(base) - 3, base);
		}
		qsort(sources.v, sources.n, sizeof(*sources.v), cmp_strings);
		if (sources.n && clean_dir_files(o, dir, &sources, stats) < 0)
			ret = -1;
		while (sources.n)
			free(sources.v[--sources.n]);
		free(dir);
	}
	free(sources.v);
	free(sorted);
	return ret;
}
