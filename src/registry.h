/*
 * registry.h: what each package's maintainer scripts asked pyprime to
 * compile, and how: DPKG_ROOT/var/lib/pyprime/packages/PACKAGE holds the
 * arguments "pyprime register" got, pending/PACKAGE marks a package whose
 * compilation was deferred to the pyprime-rebuild trigger, records/PACKAGE
 * what was compiled for it (record.h), and key the secret the records'
 * hashes are keyed by (16 random bytes, readable by root only).
 */
#ifndef REGISTRY_H
#define REGISTRY_H

#include <stddef.h>

/* Record ARGS (N strings without newlines) for PKG under ROOT (or NULL).
 * Returns 0, or -1 after reporting the error. */
int registry_save(const char *root, const char *pkg, char *const *args,
		  size_t n);

/* The arguments recorded for PKG, NULL-terminated (free_strings()); NULL
 * with errno ENOENT if PKG is not registered, or after reporting an error. */
char **registry_load(const char *root, const char *pkg);

/* The registered packages (PENDING: only those waiting), sorted,
 * NULL-terminated; NULL after reporting an error. */
char **registry_packages(const char *root, int pending);

/* Mark PKG as waiting for the trigger, or not. */
int registry_set_pending(const char *root, const char *pkg, int pending);

/*
 * Set the records' key (record_set_key()) from ROOT's registry, made there
 * now if there is none, or none that is right (every record then vouches
 * for nothing: a full compile, never a wrong pyc).  Once a process: later
 * calls return what the first did.  0, or -1 if a new key could not be
 * saved (reported; the run goes on with it).
 */
int registry_load_key(const char *root);

/*
 * Load PKG's record into R (empty).  A missing record leaves R empty; one
 * that cannot be read or parsed too, with a warning naming the file and
 * line.  Returns 1 if R holds the record, 0 if not, or -1 for an invalid
 * package name.
 */
struct record;
int registry_load_record(const char *root, const char *pkg, struct record *r);

/* Forget PKG's record (its pycs are gone): 0, or -1 after reporting. */
int registry_forget_record(const char *root, const char *pkg);

/* Replace PKG's record with R, atomically. */
int registry_save_record(const char *root, const char *pkg, struct record *r);

#endif
