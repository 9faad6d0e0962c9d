/*
 * compile.h: the compile engine: decide which pycs are stale, compile them
 * on a pool of workers, write them atomically.
 */
#ifndef COMPILE_H
#define COMPILE_H

#include <stddef.h>

#include "pyc.h"
#include "record.h"
#include "sources.h"

struct pool_spare;

struct compile_opts {
	unsigned levels;	/* bit N set: write optimisation level N */
	enum pyc_mode mode;
	int legacy;		/* NAME.pyc beside the source (sourceless) */
	int force;		/* rewrite fresh pycs too */
	int fsync;		/* make each pyc durable before success */
	int quiet;		/* no compiler warnings, no progress; 2: no
			 * progress, warnings as py_compile shows them */
	int verbose;		/* 1: summary; 2: also each pyc written */
	unsigned jobs;		/* worker processes */
	/*
	 * With RECORD, pycs are trusted only as REUSE (a package's record,
	 * may be NULL) vouches for them: a recorded body whose source is as
	 * recorded gets a new header, everything else is compiled; what each
	 * source's pycs now hold is added to RECORD.
	 */
	struct record *reuse;
	struct record *record;
	/* A spare worker started for this run's compiles (reuse.c), which
	 * the run takes over; NULL: none. */
	struct pool_spare *spare;
};

struct compile_stats {
	size_t compiled;	/* sources with at least one pyc written */
	size_t fresh;		/* sources whose pycs were all fresh */
	size_t reused;		/* sources whose recorded bodies got new
				 * headers, none compiled */
	size_t failed;		/* sources that could not be compiled */
};

/*
 * Compile the sources of LIST as O says, adding to STATS.  Returns 0 if
 * every source is compiled or fresh, 1 if some failed (each reported).
 */
int compile_run(const struct compile_opts *o, const struct source_list *list,
		struct compile_stats *stats);

/*
 * Start a spare worker for a record-mode compile_run() as O says (O->reuse
 * as the run will have it), to come once the sources are listed: it loads
 * and starts the interpreter meanwhile, then compiles the sources the
 * record shows changed, and is a worker like the others once none is
 * left.  NULL if it would not help (one worker) or cannot be had.
 */
struct pool_spare *compile_spare(const struct compile_opts *o);

#endif
