/*
 * dpkg.h: what dpkg knows about installed packages.
 */
#ifndef DPKG_H
#define DPKG_H

#include <sys/types.h>

#include "util.h"

/*
 * The .py files dpkg lists for PKG ("dpkg-query -L"), as installed (not
 * prefixed with ROOT, the root directory dpkg works on, or NULL), in
 * dpkg's order, NULL-terminated (free_strings()); NULL after reporting
 * the error.
 */
char **dpkg_python_files(const char *root, const char *pkg);

/*
 * The same in two steps, so that the caller works while dpkg-query runs,
 * when it must (the list is read from dpkg's database when it can be):
 * start it (-1 after reporting an error, which finishing then returns as
 * NULL), then take its answer.  PKG must live until then.
 */
struct dpkg_listing {
	const char *pkg;
	struct buf list;	/* what was read, when READ */
	int read;
	pid_t pid;
	int fd;
};
int dpkg_list_start(const char *root, const char *pkg, struct dpkg_listing *l);
char **dpkg_list_finish(struct dpkg_listing *l);

/* Whether PKG (with ":ARCH" or not) is named as dpkg names packages, so
 * that it can be part of a file name: nothing that could escape. */
int dpkg_valid_name(const char *pkg);

/* Whether PKG is installed (dpkg's status "installed") under ROOT. */
int dpkg_installed(const char *root, const char *pkg);

/*
 * Whether a package installed under ROOT owns PATH ("dpkg-query -S"):
 * 1, 0, or -1 if that could not be told (a path with glob characters,
 * which dpkg-query would take as a pattern, or an error).
 */
int dpkg_owned(const char *root, const char *path);

/*
 * The action the maintainer script SCRIPT ("prerm") of package PKG was
 * run for ("upgrade"), when this process was started by that script: dpkg
 * says which script runs (DPKG_MAINTSCRIPT_NAME, _PACKAGE) but not the
 * action, which is the script's first argument, so it is read from the
 * command line of the parent (or of its parent, for a command run by a
 * wrapper).  NULL if it is not that (a new string).
 */
char *dpkg_maintscript_action(const char *script, const char *pkg);

#endif
