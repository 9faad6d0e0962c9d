/*
 * run.h: running a program once and measuring it: wall time on the
 * monotonic clock around spawn and wait4(), the rusage wait4() returns,
 * and its standard error.
 */
#ifndef RUN_H
#define RUN_H

#include "util.h"

struct run_result {
	double wall_ms;
	double user_ms;
	double sys_ms;
	double maxrss_kb;
	int status;		/* as wait4() gives it */
	int timed_out;		/* killed after the time limit */
	struct buf err;		/* its standard error, the first RUN_ERR_MAX bytes */
};

#define RUN_ERR_MAX (4 << 20)

/*
 * Start catching SIGINT, SIGTERM and SIGHUP: the run in progress is killed
 * and run_once() returns RUN_INTERRUPTED; run_interrupted() then says
 * which signal came.  A signal ignored when pyprime started stays ignored.
 */
void run_catch_signals(void);
int run_interrupted(void);
/* Take the signal run_interrupted() names with its default action. */
void run_reraise(void);

#define RUN_INTERRUPTED (-2)

/*
 * Run ARGV[0] (a path) with ARGV and ENVP in a process group of its own,
 * standard input from /dev/null, standard output to /dev/null, standard
 * error into R->err; kill it (and its group) after TIMEOUT seconds if
 * TIMEOUT > 0.  Whatever the program left running in its group is killed
 * when it exits.  Returns 0 when the program ran (whatever its exit
 * status), -1 if it could not be started (reported), or RUN_INTERRUPTED.
 * R->err must be initialised; it is reset first.
 */
int run_once(char *const *argv, char *const *envp, double timeout,
	     struct run_result *r);

/* "exit status 3", "killed by signal 9 (Killed)", "timed out after 5 s". */
char *run_describe(const struct run_result *r, double timeout);

#endif
