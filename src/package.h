/*
 * package.h: compiling what a package's maintainer scripts asked for.
 * "pyprime register" takes the settings, the registry keeps them, and
 * "pyprime rebuild" replays them.
 */
#ifndef PACKAGE_H
#define PACKAGE_H

#include <stddef.h>

#include "compile.h"
#include "sources.h"

struct package {
	char *name;
	struct compile_opts o;
	struct select sel;	/* root, -x, and the directories to cover */
	int deferred;		/* only record it, the trigger compiles */
	int verbose;		/* print the summary */
	char **saved;		/* the settings as the registry keeps them */
	size_t nsaved;
};

/*
 * Parse "register" arguments (ARGV[0] is the verb) into P, for the dpkg
 * root ROOT (or NULL; --root overrides it).  Returns 0, 1 for --help, or
 * 2 after reporting a usage error.
 */
int package_parse(int argc, char **argv, const char *root, struct package *p);
void package_release(struct package *p);

/*
 * Compile the N packages P (sources of packages with the same settings in
 * one go), and remove the pycs other interpreters left for their sources.
 * A pyc is trusted only as the package's record says (record.h): a
 * recorded body whose source has not changed gets a new header, every
 * other source is compiled, the pycs of recorded sources that are gone are
 * removed (counted in *REMOVED), and the record is written again.  A
 * source that does not compile is reported and counted in STATS; the
 * return value is -1 only if a package's files could not be listed or its
 * record could not be written.
 */
int package_compile(struct package *p, size_t n, struct compile_stats *stats,
		    size_t *removed);

/* The same for LIST, sources of package PKG as SEL selected them; the
 * record's entries of other sources that still exist are kept. */
int package_compile_list(const char *pkg, const struct select *sel,
			 const struct compile_opts *o,
			 const struct source_list *list,
			 struct compile_stats *stats, size_t *removed);

/* Print STATS and REMOVED as "N compiled, N reused, ..." */
void package_print_stats(const struct compile_stats *stats, size_t removed);

/* The usage line of "pyprime register". */
extern const char package_usage[];

#endif
