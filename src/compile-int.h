/*
 * compile-int.h: what compile.c shares with reuse.c, its record mode.
 */
#ifndef COMPILE_INT_H
#define COMPILE_INT_H

#include <sys/types.h>

#include "compile.h"

/* Status bits of a source's job; the low bits are the levels written. */
#define JOB_FAILED 0x100
#define JOB_REUSED 0x200	/* a recorded body got a new header */
#define JOB_LEVELS ((1 << (PYC_MAX_LEVEL + 1)) - 1)

struct job {
	const struct source *src;
	unsigned stale;		/* levels to write */
};

/* What a source's pycs hold: its record entry but the path. */
struct hashes {
	off_t size;
	unsigned char src[RECORD_HASH];
	unsigned levels;
	unsigned char body[PYC_MAX_LEVEL + 1][RECORD_HASH];
};

/* Where the pycs of PATH go: the source directory or its __pycache__. */
char *target_dir(const char *path, int legacy);

/*
 * Open the directory the pycs of PATH go to.  With CREATE, make a missing
 * __pycache__ and report every problem, including a __pycache__ that is a
 * symlink or not a directory (-1); without, just say what is there (*fd is
 * -1 if nothing usable is).
 */
int open_target(const char *path, int legacy, int create, int *fd);

/*
 * Compile JOB's source at the levels it needs (starting the interpreter
 * if it is not); returns the levels written, with JOB_FAILED if something
 * went wrong.  With H, the size and hash of the source read and the hash
 * of each body written are added there.
 */
int compile_one(const struct compile_opts *o, const struct job *job,
		struct hashes *h);

/* In the parent: worker PID died while writing a pyc of PATH. */
void compile_forget(const char *path, int legacy, pid_t pid);

/* With -vv: print the pycs of S that STATUS says were written. */
void compile_print(const struct compile_opts *o, const struct source *s,
		   int status);

/*
 * LIST's indices by directory: returned, NGROUPS directories, the g-th
 * being order[bounds[g]..bounds[g + 1]) (both arrays the caller's).
 */
size_t *compile_order(const struct source_list *list, size_t **bounds,
		      size_t *ngroups);

/* compile_run() in record mode (reuse.c). */
int reuse_run(const struct compile_opts *o, const struct source_list *list,
	      struct compile_stats *stats);

#endif
