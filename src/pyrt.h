/*
 * pyrt.h: the embedded interpreter.  Only pyrt*.c include Python.h (through
 * pyrt-int.h); everything else sees plain C types.  The pyrt*.c files are
 * a module of their own, loaded by pyload.c when a function here first
 * needs the interpreter (pyrt-ops.h).
 */
#ifndef PYRT_H
#define PYRT_H

#include <stddef.h>
#include <sys/types.h>

#include "util.h"

/* Bits of pyrt_compile()'s *traits. */
#define PYRT_DOCSTRINGS 1	/* some code object may carry a docstring */

/* One source file being compiled: the caller fills the first part,
 * pyrt_begin() the rest, which pyrt_end() releases. */
struct pyrt_unit {
	const char *path;	/* the file as shown in messages */
	const char *recorded;	/* the name stored in the code objects */
	const char *source;	/* the bytes, NUL-terminated */
	size_t len;
	int quiet;		/* 1: hide compiler warnings; 2: show only
			 * those Python's default filters show */

	void *filename;		/* RECORDED as a str object */
	struct buf warnings;	/* those seen, one a line */
};

/*
 * Start the isolated interpreter: no site, no environment, no bytecode
 * writing, UTF-8 file names, a fixed hash seed.  Idempotent.  Returns 0, or
 * -1 after reporting why it could not start.
 */
int pyrt_init(void);
int pyrt_started(void);

/* The .pyc magic number (the 16-bit part), cache tag ("cpython-311") and
 * X.Y ("3.11") of the interpreter built against, known without loading it. */
unsigned pyrt_magic(void);
const char *pyrt_cache_tag(void);
const char *pyrt_series(void);
/* The interpreter's version string ("3.11.2"). */
const char *pyrt_version(void);

/* Load the interpreter's module now (not start it), as every function
 * below does the first time: before a fork, so that the children share
 * it.  A module that cannot be loaded ends the run with status 127. */
void pyrt_load(void);

/* fork(2) that keeps a started interpreter consistent in both processes
 * (loads nothing). */
pid_t pyrt_fork(void);

/*
 * pyrt_begin() readies unit U (0, or -1 after an error message: then U
 * needs no pyrt_end()); pyrt_compile() compiles it at OPTIMIZE (0, 1 or 2)
 * and appends the marshalled code object to OUT, byte for byte what
 * py_compile writes.  TRAITS, when not NULL, receives PYRT_* bits about the
 * code.  Returns 0, or -1 after reporting the error as
 * "path:line:col: Type: message".  Compiler warnings are reported once per
 * unit as "path:line: Category: message".
 */
int pyrt_begin(struct pyrt_unit *u);
int pyrt_compile(struct pyrt_unit *u, int optimize, struct buf *out,
		 unsigned *traits);
void pyrt_end(struct pyrt_unit *u);

/*
 * Whether STRIPPED (LEN bytes, NUL-terminated), a rewrite of unit U's
 * source (after pyrt_begin()), compiles at OPTIMIZE to the same code: the
 * same instructions (less NOPs and jumps to the next instruction, which
 * only lines tell apart), constants, names, variables, counts, flags and
 * exception handlers, in every nested code object; lines and columns may
 * differ.  Both compile with warnings unshown.  Returns 1 when it does; 0
 * when not, with a one-line reason appended to WHY (the code object, the
 * field and the line in the original where they part); -1 when the unit's
 * own source does not compile, its error in WHY as pyrt_compile() would
 * report it ("path:line:col: Type: message"); -2 when STRIPPED does not
 * compile, with the reason in WHY.  WHY may be NULL.
 */
int pyrt_equivalent(struct pyrt_unit *u, const char *stripped, size_t len,
		    int optimize, struct buf *why);


/*
 * A Python regular expression (re.compile(PATTERN)), or NULL with the
 * reason appended to WHY.  Starts the interpreter if need be.
 */
struct pyrt_re;
struct pyrt_re *pyrt_re_compile(const char *pattern, struct buf *why);
/*
 * Whether R matches at the start of S (re.match; S decoded as Python
 * decodes file names): 1 or 0, -1 on an error.  When GROUP1 is not NULL it
 * receives group 1 of the match as a new string (NULL if it did not take
 * part).
 */
int pyrt_re_match(const struct pyrt_re *r, const char *s, char **group1);
void pyrt_re_free(struct pyrt_re *r);

/*
 * The preloader's interpreter (pyrt-preload.c), configured as
 * /usr/bin/python3 would be with the options FLAGS (python3's, as its
 * command line has them: NULL-terminated), not isolated.
 * pyrt_preload_start() starts it with DIR first on sys.path, imports
 * IMPORTS and then those of OPTIONAL that import without an error (both
 * NULL-terminated; may be NULL), and freezes what it allocated out of the
 * collector's reach: 0, or -1 after reporting why (FLAGS that python3
 * refuses, or that name something to run).
 */
int pyrt_preload_start(const char *dir, char *const *imports,
		       char *const *optional, char *const *flags);
/* The absolute paths of the loaded modules' files, and the names of the
 * Python threads other than the main one: NULL-terminated new arrays
 * (free_strings()). */
char **pyrt_preload_files(void);
char **pyrt_preload_threads(void);
/* fork(2) with the interpreter's before- and after-fork hooks (random
 * reseeds, os.register_at_fork()). */
pid_t pyrt_preload_fork(void);

/* What a child runs: "python3 -m TARGET ARGS" (MODULE) or "python3
 * TARGET ARGS", in the environment ENV ("NAME=value" strings). */
struct pyrt_launch {
	int module;
	const char *target;
	char *const *args;
	size_t nargs;
	char *const *env;
	size_t nenv;
	char *const *flags;	/* python3's options, the server's */
	size_t nflags;
	const char *pages;	/* if no such file yet, the child records
				 * there the pages it wrote (pages.h) */
	int memory_fd;		/* -1, or where the child copies its
				 * smaps_rollup as it ends (smaps.h) */
	void (*ending)(int status);	/* called with the exit status
					 * once the app has ended */
	int (*ready)(void);	/* if not NULL, called once the child is
				 * set up, before any of the app's code
				 * runs: if it fails, the child exits at
				 * once, having run none */
};
/*
 * In a forked child whose descriptors 0-2, directory, umask and signals
 * are already the client's: set sys.argv, os.environ, sys.path[0] and the
 * standard streams as python3 would, run L's module or script as
 * __main__, finalize (atexit handlers, flushing) and exit with python3's
 * status, or by SIGINT after an uncaught KeyboardInterrupt.
 */
void pyrt_preload_run(const struct pyrt_launch *l) NORETURN;
/*
 * In a spare child, before its launch: do once, with the server's own
 * environment and descriptors, what a launch does first (os.environ, the
 * standard streams, the signal handlers, a compile), so that the pages
 * that writes are this process's own before a client waits for it.
 */
void pyrt_preload_rehearse(void);
#endif
