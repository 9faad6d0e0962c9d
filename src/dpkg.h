/*
 * dpkg.h: what dpkg knows about installed packages.
 */
#ifndef DPKG_H
#define DPKG_H

#include "util.h"

/*
 * Append to LIST the paths dpkg lists for PKG ("dpkg-query -L"), one per
 * line, as installed (not prefixed with ROOT); ROOT (or NULL) is the root
 * directory dpkg works on.  Returns 0, or -1 after reporting the error.
 */
int dpkg_list_files(const char *root, const char *pkg, struct buf *list);

/* Whether PKG is installed (dpkg's status "installed") under ROOT. */
int dpkg_installed(const char *root, const char *pkg);

#endif
