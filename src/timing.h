/*
 * timing.h: a series of timed runs of a Python program, warm or cold,
 * with the page cache purged and checked before each cold run.
 */
#ifndef TIMING_H
#define TIMING_H

#include <limits.h>
#include <stddef.h>
#include <stdio.h>

#include "cache.h"
#include "util.h"

enum purge {
	PURGE_TREE,		/* the tree's files */
	PURGE_ALL,		/* and the interpreter, its libraries, the stdlib */
	PURGE_SYSTEM,		/* the whole page cache (root) */
};

/* What to run: PYTHON (-m MODULE | -c CODE | SCRIPT) ARGS. */
struct program {
	const char *python;
	const char *module;
	const char *code;
	const char *script;
	char **args;
	size_t nargs;
};

/* The options "pyprime time" and "pyprime report" share. */
struct timing_opts {
	struct program prog;
	const char *tree;	/* real path, in tree_buf */
	char tree_buf[PATH_MAX];
	unsigned long runs;
	unsigned long warmup;
	unsigned long top;
	enum purge purge;
	double timeout;
	const char *json;
	const char *ramdisk_dir;
	int quiet;
};

/* getopt_long() codes of the shared long options; a command's own start
 * at OPT_TIMING_END. */
enum {
	OPT_PYTHON = 256, OPT_PURGE, OPT_TOP, OPT_TIMEOUT, OPT_JSON,
	OPT_RAMDISK_DIR, OPT_TIMING_END,
};

extern const char *const purge_names[];

/*
 * Take option C with argument ARG if it is a shared one (--python, -C,
 * -r, -w, --purge, --top, --timeout, --json, --ramdisk-dir, -m, -c, -q).
 * Returns 1 when it was, 0 when it is not, 2 after a usage error
 * (reported, with USAGE).
 */
int timing_option(struct timing_opts *o, int c, const char *arg,
		  const char *usage);

/*
 * After the options in ARGV (getopt's optind on): the script unless -m or
 * -c named the program, and the program's arguments.  Returns 0, or 2
 * after a usage error.
 */
int timing_program(struct timing_opts *o, int argc, char **argv,
		   const char *usage);

struct sample {
	double wall_ms;
	double user_ms;
	double sys_ms;
	double maxrss_kb;
	double resident_before;	/* tree pages in memory before purging */
	double resident;	/* tree pages in memory before a cold run */
	double resident_other;	/* interpreter and stdlib pages, likewise */
	int not_cold;		/* the tree was still in memory */
};

struct series {
	/* the caller's */
	const struct program *prog;
	const char *tree;	/* put first on PYTHONPATH; may be NULL */
	const char *script;	/* SCRIPT as found in TREE, else prog's */
	int no_bytecode;	/* -B */
	int optimize;		/* -O, -OO */
	int cold;
	enum purge purge;
	int importtime;		/* -X importtime, gathered into imptime */
	double timeout;
	char *const *launcher;	/* when set, the runs are this command
				 * followed by -m MODULE or the script and
				 * the args, not PYTHON; the files to purge
				 * are still learned from PYTHON -v */

	/* timing.c's */
	char **argv;
	char **envp;
	struct fileset tree_files;
	struct fileset other_files;
	int tree_in_ram;	/* on tmpfs: can't be evicted */
	struct sample *sample;
	size_t n;
	size_t alloc;
	struct imptime *imptime;
	int failed;
	struct buf failure;	/* why, and the program's stderr */
};

/*
 * Make ready a series whose caller's fields are set: the command line,
 * the environment (pyprime's without PYTHON* variables, TREE first on
 * PYTHONPATH) and the tree's files.  Returns 0, or -1 after reporting.
 */
int series_init(struct series *s);
void series_release(struct series *s);

/*
 * With --purge all or system: learn the files the program loads (the
 * interpreter, its libraries, the modules) from a warm run under -v.
 * Then WARMUP uncounted runs.  Returns 0, -1 if the program failed
 * (s->failure says how), RUN_INTERRUPTED.
 */
int series_prepare(struct series *s, unsigned warmup);

/*
 * One counted run (purged and checked first when cold); its figures are
 * appended to s->sample.  Returns as series_prepare().
 */
int series_run(struct series *s);

/* The cold runs whose tree was still in memory. */
size_t series_not_cold(const struct series *s);

/* The largest resident fraction of the tree (or, with OTHER, of the
 * interpreter's files) a cold run found after its purge. */
double series_max_resident(const struct series *s, int other);

/*
 * P's script as found in COPY, a copy of TREE (a real path), when the
 * script lies in TREE: a new string; else NULL.
 */
char *program_script_in(const struct program *p, const char *tree,
			const char *copy);

/* "python -m module args" (or -c code, or the script), unquoted. */
void program_print(FILE *f, const struct program *p);

/* Wall, user, sys or maxrss of every sample, as a new array. */
enum measure { M_WALL, M_USER, M_SYS, M_RSS };
double *series_values(const struct series *s, enum measure m);

#endif
