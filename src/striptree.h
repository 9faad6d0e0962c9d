/*
 * striptree.h: stripping trees: walking them, stripping and proving each
 * .py file on a pool of workers, writing the results and their line map.
 */
#ifndef STRIPTREE_H
#define STRIPTREE_H

#include <stddef.h>

#include "sources.h"
#include "strip.h"

struct strip_tree_opts {
	struct strip_opts strip;
	const char *outdir;	/* -o; NULL: in place */
	int verify;		/* prove each file (off: --no-verify) */
	int strict;		/* a file left unchanged is a failure */
	int stats;		/* print the figures */
	int quiet;		/* no warnings, no progress */
	int verbose;		/* 1: figures per file too */
	unsigned jobs;
};

/* The figures of one tree (one PATH) or of all. */
struct strip_totals {
	size_t files;		/* .py files */
	size_t stripped;	/* written stripped */
	size_t unchanged;	/* left as they were: invalid or not proven */
	size_t copied;		/* other files copied to the output */
	size_t failed;		/* could not be read or written */
	size_t kept_doc;	/* name __doc__, so their docstrings stayed */
	size_t docstrings, comments;
	unsigned long long bytes_in, bytes_out, lines_in, lines_out;
};

/*
 * Strip the files and trees PATHS (NPATHS of them) as O says, with SEL's
 * exclusions (an excluded .py file is copied as it is).  Returns 0, or 1
 * if something failed (each reported): a file that could not be read or
 * written, or with O->strict one left unchanged.
 */
int strip_tree_run(const struct strip_tree_opts *o, const struct select *sel,
		   char *const *paths, size_t npaths);

/*
 * Whether STRIPPED compiles to the same code as ORIG at optimisation LEVEL
 * (pyrt_equivalent()); prints the verdict.  Returns 0 when it does, 1 when
 * not or when either can't be read or compiled.
 */
int strip_compare(const char *orig, const char *stripped, int level);

#endif
