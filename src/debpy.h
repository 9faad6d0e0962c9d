/*
 * debpy.h: Debian's Python conventions as py3compile and py3clean apply
 * them: the supported and default versions (debian_defaults), version
 * ranges, public module directories, and the files not to compile
 * (-X, /usr/share/python3/bcep/).  The drop-ins follow them exactly, so
 * that they pick the same files as the tools they stand in for.
 */
#ifndef DEBPY_H
#define DEBPY_H

#include <stddef.h>
#include <stdint.h>

/*
 * A version is MAJOR * 100 + MINOR (311 for 3.11); a set of Python 3
 * versions has bit MINOR set for each 3.MINOR.
 */
typedef uint64_t debpy_set;
#define DEBPY_NONE (-1)		/* an open end of a range */
#define DEBPY_MAX_MINOR 63

struct debpy {
	const char *root;	/* the dpkg root, or NULL */
	debpy_set supported;	/* "supported-versions" */
	int deflt;		/* "default-version" */
	struct debpy_rule *bcep;	/* the bcep files' rules */
	size_t nbcep;
	int bcep_loaded;
};

/*
 * Read the supported and default versions (DEBPYTHON3_SUPPORTED and
 * DEBPYTHON3_DEFAULT override ROOT's /usr/share/python3/debian_defaults,
 * as for debpython).  Returns 0, or -1 after reporting the error.
 */
int debpy_load(struct debpy *d, const char *root);
void debpy_release(struct debpy *d);

/* "X.Y" into *V; -1 if S is not one. */
int debpy_parse_version(const char *s, int *v);
/*
 * A range as -V takes it ("3.9", "3.9-", "-4.0", "3.9-3.12", "" or "-")
 * into *MIN and *MAX (DEBPY_NONE when open).  Returns -1 if invalid.
 */
int debpy_parse_range(const char *s, int *min, int *max);

/* Whether ROOT's /usr/bin/pythonX.Y exists. */
int debpy_installed(const struct debpy *d, int v);
/*
 * The supported versions in [MIN, MAX) (a single version when MIN ==
 * MAX), only the installed ones when AVAILABLE.
 */
debpy_set debpy_requested(const struct debpy *d, int min, int max,
			  int available);
/* The first version of SET in Debian's order (the default, then newer
 * ones, then older ones), or DEBPY_NONE for an empty set. */
int debpy_first(const struct debpy *d, debpy_set set);
int debpy_in(debpy_set set, int v);
debpy_set debpy_one(int v);

/*
 * Whether PATH is in a public module directory
 * (/usr/lib/python3[.Y]/dist-packages or site-packages).  *DIRVER is the
 * version its name holds ("3.11": 311), 3 for the shared "python3", or
 * DEBPY_NONE.  Returns 1 or 0, -1 on an error (reported).
 */
int debpy_public(int *dirver, const char *path);

struct select;
/*
 * The .py files of ITEMS (N of them, as installed under SEL's root), as
 * debpython's from_directory(): every one in a tree (made absolute; the
 * walk does not follow directory symlinks), or the file itself as given.
 * A new NULL-terminated array (free_strings()).
 */
char **debpy_py_files(const struct select *sel, char *const *items, size_t n);

/* The files not to compile below one directory. */
struct debpy_excludes {
	const struct debpy_rule **v;
	size_t n;
	struct debpy_rule *own;	/* the -X rules */
	size_t nown;
};

/*
 * What py3compile excludes under DIRECTORY: the REGEXES (Python regular
 * expressions, NREGEX of them) for the versions VERSIONS (0: all
 * supported), and the bcep rules that concern DIRECTORY and VERSIONS.
 * Returns 0, or -1 after reporting an invalid regex or bcep file.
 */
int debpy_excludes(struct debpy *d, struct debpy_excludes *e,
		   const char *directory, char *const *regexes, size_t nregex,
		   debpy_set versions);
void debpy_excludes_release(struct debpy_excludes *e);
/*
 * The versions of WANTED PATH is to be compiled for once E's rules are
 * applied (a file in a versioned public directory: only that version).
 */
debpy_set debpy_filter(const struct debpy_excludes *e, const char *path,
		       debpy_set wanted);

#endif
