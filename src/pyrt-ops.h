/*
 * pyrt-ops.h: what the interpreter module (the pyrt*.c files, built as
 * pyprime-python.so with libpython) gives the program, which loads it
 * only when it needs the interpreter (pyload.c): its functions of pyrt.h.
 * Loading libpython costs every run about 8 ms of relocations, which a
 * clean, a configure with nothing to compile or a launch do not pay.
 */
#ifndef PYRT_OPS_H
#define PYRT_OPS_H

#include "pyrt.h"

/* The name of the one symbol the module exports. */
#define PYRT_OPS_SYMBOL "pyrt_ops"

struct pyrt_ops {
	size_t size;		/* sizeof(struct pyrt_ops) */
	const char *version;	/* PYPRIME_VERSION: module and program
				 * come from one build */
	int (*init)(void);
	int (*started)(void);
	const char *(*python_version)(void);
	pid_t (*fork)(void);
	int (*begin)(struct pyrt_unit *u);
	int (*compile)(struct pyrt_unit *u, int optimize, struct buf *out,
		       unsigned *traits);
	void (*end)(struct pyrt_unit *u);
	int (*equivalent)(struct pyrt_unit *u, const char *stripped,
			  size_t len, int optimize, struct buf *why);
	struct pyrt_re *(*re_compile)(const char *pattern, struct buf *why);
	int (*re_match)(const struct pyrt_re *r, const char *s,
			char **group1);
	void (*re_free)(struct pyrt_re *r);
	int (*preload_start)(const char *dir, char *const *imports,
			     char *const *optional, char *const *flags);
	char **(*preload_files)(void);
	char **(*preload_threads)(void);
	pid_t (*preload_fork)(void);
	void (*preload_rehearse)(void);
	void (*preload_run)(const struct pyrt_launch *l) NORETURN;
};

#endif
