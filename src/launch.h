/*
 * launch.h: the client of "pyprime launch" (launch.c): plain C, no
 * interpreter, so that a launch costs a connect and a fork.
 */
#ifndef LAUNCH_H
#define LAUNCH_H

struct launch_opts {
	const char *socket;	/* NULL: none known, run python3 */
	int no_fallback;	/* fail rather than run python3 */
	int module;		/* 1: "-m target" */
	const char *target;	/* the module or script */
	char **args;		/* its arguments (NULL-terminated) */
	char **python_flags;	/* python3's options (NULL-terminated) */
	int memory_fd;		/* -1, or a file the child copies its
				 * /proc/self/smaps_rollup to as it ends */
};

/*
 * Have the server on O->socket run O's module or script with this
 * process's arguments, environment, directory, umask and standard
 * descriptors, forwarding signals to it.  Returns the child's exit status
 * (or ends by its fatal signal); when no server could run it, runs
 * /usr/bin/python3 in this process instead (and does not return), or with
 * O->no_fallback returns 1 after saying why.
 */
int launch_run(const struct launch_opts *o);

#endif
