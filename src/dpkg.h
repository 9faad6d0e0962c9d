/*
 * dpkg.h: what dpkg knows about installed packages.
 */
#ifndef DPKG_H
#define DPKG_H

#include "util.h"

/*
 * The .py files dpkg lists for PKG ("dpkg-query -L"), as installed (not
 * prefixed with ROOT, the root directory dpkg works on, or NULL), in
 * dpkg's order, NULL-terminated (free_strings()); NULL after reporting
 * the error.
 */
char **dpkg_python_files(const char *root, const char *pkg);

/* Whether PKG is installed (dpkg's status "installed") under ROOT. */
int dpkg_installed(const char *root, const char *pkg);

/*
 * Whether a package installed under ROOT owns PATH ("dpkg-query -S"):
 * 1, 0, or -1 if that could not be told (a path with glob characters,
 * which dpkg-query would take as a pattern, or an error).
 */
int dpkg_owned(const char *root, const char *path);

#endif
