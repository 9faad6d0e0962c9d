/*
 * pool.c: fork-based workers fed job numbers over a pipe each, answering
 * with a status word and their captured messages over another.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pool.h"
#include "progress.h"
#include "pyrt.h"
#include "util.h"

struct worker {
	pid_t pid;		/* 0: no process */
	int to, from;		/* job numbers out, results in */
	long job;		/* the job it is running, or -1 */
};

struct pool {
	const struct pool_ops *ops;
	void *ctx;
	struct worker *w;
	unsigned nw;
};

static volatile sig_atomic_t caught;
static const int stop_signals[] = { SIGINT, SIGTERM, SIGHUP };
/* Which were ignored when the pool started (nohup): they stay ignored. */
static int ignored[ARRAY_SIZE(stop_signals)];

static void on_signal(int sig)
{
	caught = sig;
}

unsigned pool_cpus(void)
{
	cpu_set_t set;
	long n;

	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		return (unsigned)CPU_COUNT(&set);
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

static void block_signals(int how)
{
	sigset_t set;
	size_t i;

	sigemptyset(&set);
	for (i = 0; i < ARRAY_SIZE(stop_signals); i++)
		sigaddset(&set, stop_signals[i]);
	sigprocmask(how, &set, NULL);
}

/* Where pool_reply() puts a job's result while it runs. */
static struct buf *reply_buf;

void pool_reply(const void *data, size_t len)
{
	if (reply_buf)
		buf_add(reply_buf, data, len);
}

static void run_job(const struct pool_ops *ops, void *ctx, size_t j,
		    struct buf *msgs, struct buf *reply, int *status)
{
	buf_reset(msgs);
	buf_reset(reply);
	msg_capture(msgs);
	reply_buf = reply;
	*status = ops->run(ctx, j);
	reply_buf = NULL;
	msg_capture(NULL);
}

static void finish_job(const struct pool_ops *ops, void *ctx, size_t j,
		       int status, const char *msg, size_t len,
		       const char *reply, size_t rlen)
{
	if (rlen && ops->result)
		ops->result(ctx, j, reply, rlen);
	ops->done(ctx, j, status, msg, len);
}

static void NORETURN worker_main(struct pool *p, int in, int out, pid_t parent)
{
	struct buf msgs = BUF_INIT, reply = BUF_INIT;
	uint32_t j, hdr[4];
	size_t i;
	int status;

	/* The parent's handlers are not ours; what it ignores we do too. */
	for (i = 0; i < ARRAY_SIZE(stop_signals); i++)
		if (!ignored[i])
			signal(stop_signals[i], SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	if (p->ops->start)
		p->ops->start(p->ctx);
	block_signals(SIG_UNBLOCK);
	/* Don't outlive the parent (a SIGKILL there would orphan us). */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(1);
	while (read_full(in, &j, sizeof(j)) == (ssize_t)sizeof(j)) {
		run_job(p->ops, p->ctx, j, &msgs, &reply, &status);
		hdr[0] = j;
		hdr[1] = (uint32_t)status;
		hdr[2] = (uint32_t)msgs.len;
		hdr[3] = (uint32_t)reply.len;
		if (write_full(out, hdr, sizeof(hdr)) < 0 ||
		    write_full(out, msgs.data, msgs.len) < 0 ||
		    write_full(out, reply.data, reply.len) < 0)
			_exit(1);
	}
	_exit(0);
}

static int spawn(struct pool *p, struct worker *w)
{
	int to[2], from[2];
	pid_t parent = getpid(), pid;
	unsigned i;

	if (pipe2(to, O_CLOEXEC) < 0)
		return error_errno("cannot create a pipe");
	if (pipe2(from, O_CLOEXEC) < 0) {
		close(to[0]);
		close(to[1]);
		return error_errno("cannot create a pipe");
	}
	block_signals(SIG_BLOCK);
	pid = pyrt_fork();
	if (pid == 0) {
		/* Only our own pipes: a sibling's must see EOF when the
		 * parent closes them. */
		for (i = 0; i < p->nw; i++)
			if (p->w[i].pid) {
				if (p->w[i].to >= 0)
					close(p->w[i].to);
				close(p->w[i].from);
			}
		close(to[1]);
		close(from[0]);
		worker_main(p, to[0], from[1], parent);
	}
	block_signals(SIG_UNBLOCK);
	close(to[0]);
	close(from[1]);
	if (pid < 0) {
		close(to[1]);
		close(from[0]);
		return error_errno("cannot fork a worker");
	}
	w->pid = pid;
	w->to = to[1];
	w->from = from[0];
	w->job = -1;
	return 0;
}

static int send_job(struct worker *w, size_t j)
{
	uint32_t v = (uint32_t)j;

	w->job = (long)j;
	return write_full(w->to, &v, sizeof(v));
}

/* Reap W, whose result pipe ended; report its job if it had one. */
static void reap(struct pool *p, struct worker *w)
{
	struct buf msgs = BUF_INIT;
	int status = 0;

	if (w->to >= 0)
		close(w->to);
	close(w->from);
	while (waitpid(w->pid, &status, 0) < 0 && errno == EINTR)
		;
	if (w->job >= 0) {
		msg_capture(&msgs);
		p->ops->lost(p->ctx, (size_t)w->job, w->pid, status);
		msg_capture(NULL);
		p->ops->done(p->ctx, (size_t)w->job, -1, msgs.data, msgs.len);
	}
	buf_release(&msgs);
	w->pid = 0;
	w->job = -1;
}

/* Read one result from W; 0, or -1 if the worker is gone. */
static int receive(struct pool *p, struct worker *w)
{
	uint32_t hdr[4];
	char *msg = NULL;
	size_t len;
	int ret = -1;

	if (read_full(w->from, hdr, sizeof(hdr)) != (ssize_t)sizeof(hdr) ||
	    hdr[0] != (uint32_t)w->job)
		return -1;
	len = (size_t)hdr[2] + hdr[3];
	if (len) {
		msg = xmalloc(len);
		if (read_full(w->from, msg, len) != (ssize_t)len)
			goto out;
	}
	w->job = -1;
	finish_job(p->ops, p->ctx, hdr[0], (int)hdr[1], msg, hdr[2],
		   msg ? msg + hdr[2] : NULL, hdr[3]);
	ret = 0;
out:
	free(msg);
	return ret;
}

static void NORETURN interrupted(struct pool *p, int sig)
{
	unsigned i;
	int status;

	for (i = 0; i < p->nw; i++)
		if (p->w[i].pid)
			kill(p->w[i].pid, SIGTERM);
	for (i = 0; i < p->nw; i++)
		if (p->w[i].pid)
			while (waitpid(p->w[i].pid, &status, 0) < 0 &&
			       errno == EINTR)
				;
	progress_clear();
	signal(sig, SIG_DFL);
	block_signals(SIG_UNBLOCK);
	raise(sig);
	_exit(128 + sig);
}

static void run_inline(const struct pool_ops *ops, void *ctx,
		       const size_t *order, size_t from, size_t n)
{
	struct buf msgs = BUF_INIT, reply = BUF_INIT;
	size_t i;
	int status;

	if (ops->start)
		ops->start(ctx);
	for (i = from; i < n; i++) {
		run_job(ops, ctx, order[i], &msgs, &reply, &status);
		finish_job(ops, ctx, order[i], status, msgs.data, msgs.len,
			   reply.data, reply.len);
	}
	buf_release(&msgs);
	buf_release(&reply);
}

void pool_run(const struct pool_ops *ops, void *ctx, const size_t *order,
	      size_t n, unsigned workers)
{
	struct pool p = { ops, ctx, NULL, 0 };
	struct pollfd *fds;
	struct sigaction sa, old[ARRAY_SIZE(stop_signals)], oldpipe;
	size_t next = 0, i;
	unsigned live = 0;

	if (workers > n)
		workers = (unsigned)n;
	if (workers <= 1) {
		run_inline(ops, ctx, order, 0, n);
		return;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < ARRAY_SIZE(stop_signals); i++) {
		sigaction(stop_signals[i], NULL, &old[i]);
		ignored[i] = old[i].sa_handler == SIG_IGN;
		if (!ignored[i])
			sigaction(stop_signals[i], &sa, NULL);
	}
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, &oldpipe);

	p.w = xcalloc(workers, sizeof(*p.w));
	p.nw = workers;
	fds = xcalloc(workers, sizeof(*fds));
	for (i = 0; i < workers; i++) {
		if (spawn(&p, &p.w[i]) < 0)
			break;
		live++;
		if (send_job(&p.w[i], order[next++]) < 0)
			continue;	/* noticed as a death below */
	}

	while (live) {
		unsigned k, nfds = 0;

		if (caught)
			interrupted(&p, caught);
		for (k = 0; k < workers; k++)
			if (p.w[k].pid) {
				fds[nfds].fd = p.w[k].from;
				fds[nfds].events = POLLIN;
				fds[nfds++].revents = 0;
			}
		if (poll(fds, nfds, -1) < 0) {
			if (errno == EINTR)
				continue;
			die_errno("poll");
		}
		for (k = 0, nfds = 0; k < workers; k++) {
			struct worker *w = &p.w[k];

			if (!w->pid)
				continue;
			if (!fds[nfds++].revents)
				continue;
			if (receive(&p, w) < 0) {
				reap(&p, w);
				live--;
				if (next < n && spawn(&p, w) == 0) {
					live++;
					send_job(w, order[next++]);
				}
				continue;
			}
			if (next < n) {
				send_job(w, order[next++]);
			} else {
				/* No more work: EOF tells it to exit. */
				close(w->to);
				w->to = -1;
			}
		}
	}
	/* Every worker failed to start or died unreplaced: finish here. */
	if (next < n)
		run_inline(ops, ctx, order, next, n);

	for (i = 0; i < ARRAY_SIZE(stop_signals); i++)
		sigaction(stop_signals[i], &old[i], NULL);
	sigaction(SIGPIPE, &oldpipe, NULL);
	if (caught)
		interrupted(&p, caught);
	free(fds);
	free(p.w);
}
