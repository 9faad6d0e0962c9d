/*
 * sources.h: finding the .py files to work on: trees walked in sorted order,
 * lists of paths, and the files of installed packages.
 */
#ifndef SOURCES_H
#define SOURCES_H

#include <regex.h>
#include <stddef.h>
#include <sys/stat.h>

struct source {
	char *path;		/* where the file is (open this, show this) */
	size_t dirlen;		/* of PATH's directory, with its '/' (0: none) */
	char *recorded;		/* the name stored in its code objects */
	struct stat st;
};

struct source_list {
	struct source *v;
	size_t n, alloc;
};

/* How paths given by the user become sources. */
struct select {
	const char *root;	/* --root: paths are as installed under ROOT */
	const char *destdir;	/* -d: record names under DESTDIR instead */
	regex_t *exclude;	/* -x: skip paths (as installed) that match */
	size_t nexclude;
	char **within;		/* -p: only a package's files under these */
	size_t nwithin;
	int quiet;		/* no warning for a file a package lost */
};

/*
 * Add the POSIX extended regex REGEX to SEL's exclusions.  Returns 0, or
 * -1 with why in ERR (SIZE bytes).
 */
int select_exclude(struct select *sel, const char *regex, char *err,
		   size_t size);
void select_release(struct select *sel);
/* Whether -x excludes PATH (as installed). */
int select_excluded(const struct select *sel, const char *path);

/*
 * Where the installed path PATH is on this system: under --root if given.
 * Returns a new string.
 */
char *select_real_path(const struct select *sel, const char *path);

/*
 * Add the .py file ARG, or the .py files of the tree ARG (sorted walk,
 * __pycache__ skipped, directory symlinks not followed), to LIST.  Returns
 * the number of errors reported.
 */
int sources_add(struct source_list *list, const struct select *sel,
		const char *arg);

/* Add every path of FILE ("-": stdin), one a line or NUL-separated. */
int sources_add_from(struct source_list *list, const struct select *sel,
		     const char *file, int nul);

/*
 * Add the .py files package PKG lists; one that no longer exists (dpkg's
 * path-exclude) is skipped with a warning.
 */
int sources_add_package(struct source_list *list, const struct select *sel,
			const char *pkg);
/* The same with FILES, dpkg_python_files()'s answer for PKG (freed here;
 * NULL: the error was reported, 1 is returned).  EACH, if not NULL, is
 * called with ARG and each source as it is added. */
int sources_add_listed(struct source_list *list, const struct select *sel,
		       const char *pkg, char **files,
		       void (*each)(void *arg, const struct source *s),
		       void *arg);

/* Append a source to LIST, which takes PATH and RECORDED (new strings). */
void sources_push(struct source_list *list, char *path, char *recorded,
		  const struct stat *st);
/* Drop later duplicates of the same path, keeping the order. */
void sources_dedup(struct source_list *list);

void source_list_release(struct source_list *list);

/*
 * Split a path list read from FILE ("-" for stdin) into a NULL-terminated
 * array of strings (free with free_strings()); NULL after reporting an error.
 */
char **read_path_list(const char *file, int nul);

#endif
