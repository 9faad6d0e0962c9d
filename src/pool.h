/*
 * pool.h: a pool of forked worker processes that run numbered jobs,
 * heaviest first, and hand each back in the parent in job order; a worker
 * that dies is reported with its job and replaced.  A spare worker may be
 * forked before the jobs are known, to load what some of them need while
 * the caller works the jobs out.
 */
#ifndef POOL_H
#define POOL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct buf;

/* done()'s status for a job whose worker died. */
#define POOL_LOST (-1)

struct pool_ops {
	/* What a job does, for "cannot VERB 'NAME': worker PID killed by
	 * signal 9 (Killed)": "compile". */
	const char *verb;
	/* fork(2), or one that keeps the process's state sound on both sides
	 * (an embedded interpreter); NULL: fork(2). */
	pid_t (*fork)(void);
	/* In the parent, before any job runs: how much work job J is.  The
	 * heaviest go first, so that no worker is left with a big one at the
	 * end; NULL: in job order. */
	uint64_t (*weight)(void *ctx, size_t j);
	/* In the parent, before any job runs: whether job J needs what a
	 * worker loads once, at a cost, for the first such job it runs (the
	 * interpreter).  While there are both kinds, such jobs go to the
	 * workers that have loaded it and the others to those that have
	 * not, so that fewer pay for it.  NULL: any job to any worker. */
	int (*loads)(void *ctx, size_t j);
	/* What that load costs, in weight()'s units.  A worker that has not
	 * loaded it, with only loads() jobs left, takes one only if they
	 * weigh more than this for each worker that has (it would end
	 * sooner with them alone).  0: it always does. */
	uint64_t load_weight;
	/* In the parent, once the workers are stopped, when one exited with
	 * status 127 (one that cannot load a library it needs, which says
	 * nothing: pool_is_worker()): try the same here, and say why it
	 * fails.  The run then ends with that status. */
	void (*unloadable)(void);
	/* Job J's name in messages (its file); the string stays ctx's. */
	const char *(*name)(void *ctx, size_t j);
	/* In each new worker, and once before jobs run in-process: such as
	 * handlers that remove a temporary file on SIGTERM. */
	void (*start)(void);
	/* In a worker (or in-process): run job J.  The messages it reports
	 * are captured, and what it adds to RESULT (empty) goes to done(),
	 * for the parent.  Returns a status word, not negative. */
	int (*run)(void *ctx, size_t j, struct buf *result);
	/* In the parent, for a spare (pool_spare_start()), which has none
	 * of CTX: what it needs of job J, appended to OUT.  NULL: a spare is
	 * stopped unused. */
	void (*pack)(void *ctx, size_t j, struct buf *out);
	/* In the parent: worker PID died while it ran job J (the pool has
	 * said so): undo what it left half done, such as a temporary file.
	 * Its messages are job J's.  NULL: nothing to undo. */
	void (*lost)(void *ctx, size_t j, pid_t pid);
	/* In the parent, in job order (J after every job before it), once
	 * J's messages are on stderr: its STATUS (POOL_LOST if its worker
	 * died) and the LEN bytes run() added to its result (NULL if none).
	 * RESULT is the pool's, valid during the call. */
	void (*done)(void *ctx, size_t j, int status, const void *result,
		     size_t len);
};

/* What a spare runs, in the spare. */
struct pool_spare_ops {
	/* As pool_ops' start. */
	void (*start)(void);
	/* At once: load what loads() jobs need.  Its messages go with the
	 * first job's. */
	void (*warm)(void);
	/* Run the job pool_ops' pack() made into DATA/LEN, as pool_ops'
	 * run() would have. */
	int (*run)(const void *data, size_t len, struct buf *result);
};

/*
 * Fork a spare worker now, which starts with OPS->warm() while this
 * process goes on, for a pool_run() to come.  NULL if it cannot be
 * forked (the pool then does without).
 */
struct pool_spare *pool_spare_start(const struct pool_spare_ops *ops);

/* Stop SPARE, which no pool_run() took (NULL: nothing to do). */
void pool_spare_stop(struct pool_spare *spare);

/*
 * Run jobs 0 to N-1 as OPS says, with CTX passed to each of its
 * functions, on WORKERS processes forked from this one (in this process,
 * in job order, when WORKERS is 1).  SPARE, if not NULL, is one of them,
 * one that has loaded what loads() jobs need; pool_run() owns it.  Each
 * finished job advances the progress line the caller started.  A job
 * whose worker dies is reported as failed, lost() cleans up after it,
 * and a new worker goes on.  On SIGINT, SIGTERM or SIGHUP the workers
 * are stopped (they remove their temporary files) and the signal is
 * raised again here.
 */
struct pool_spare;
void pool_run(const struct pool_ops *ops, void *ctx, size_t n,
	      unsigned workers, struct pool_spare *spare);

/* Whether this process is a pool's worker. */
int pool_is_worker(void);

/* The number of CPUs this process may run on. */
unsigned pool_cpus(void);

#endif
