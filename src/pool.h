/*
 * pool.h: a pool of forked worker processes that run numbered jobs, report
 * back in the parent, and are replaced when one dies.
 */
#ifndef POOL_H
#define POOL_H

#include <stddef.h>
#include <sys/types.h>

struct pool_ops {
	/* In each new worker, and once before jobs run in-process. */
	void (*start)(void *ctx);
	/* In a worker (or in-process): run job J; messages it reports are
	 * captured and handed to done().  Returns a status word. */
	int (*run)(void *ctx, size_t j);
	/* In the parent: job J finished with STATUS and messages MSG. */
	void (*done)(void *ctx, size_t j, int status, const char *msg,
		     size_t len);
	/* In the parent: worker PID died with wait status WSTATUS while it
	 * ran job J; messages it reports go to done(J, -1, ...) after. */
	void (*lost)(void *ctx, size_t j, pid_t pid, int wstatus);
	/* In the parent, before done(): what job J gave pool_reply(). */
	void (*result)(void *ctx, size_t j, const void *data, size_t len);
};

/* In run(): hand DATA to the parent's result() (appended, in order). */
void pool_reply(const void *data, size_t len);

/*
 * Run the N jobs in the order ORDER gives, on WORKERS processes forked from
 * this one (in this process when WORKERS is 1).  A job whose worker dies is
 * reported through lost() and the run goes on with a new worker.  On
 * SIGINT, SIGTERM or SIGHUP the workers are stopped (they remove their
 * temporary files) and the signal is raised again here.
 */
void pool_run(const struct pool_ops *ops, void *ctx, const size_t *order,
	      size_t n, unsigned workers);

/* The number of CPUs this process may run on. */
unsigned pool_cpus(void);

#endif
