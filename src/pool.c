/*
 * pool.c: fork-based workers fed job numbers over a pipe each, answering
 * with a status word, their captured messages and a result over another;
 * and a spare, forked before the jobs are known, fed the jobs themselves.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pool.h"
#include "progress.h"
#include "util.h"

static const int stop_signals[] = { SIGINT, SIGTERM, SIGHUP };

struct worker {
	pid_t pid;		/* 0: no process */
	int to, from;		/* job numbers out, results in */
	long job;		/* the job it is running, or -1 */
	int loaded;		/* it was sent a job that loads() */
	int spare;		/* a spare: its jobs go packed */
};

struct pool_spare {
	pid_t pid;
	int to, from;
};

/* A finished job, kept until every job before it is handed on. */
struct slot {
	char *mem;		/* its messages, then its result; or NULL */
	size_t msglen, reslen;
	int status;
	int ready;
};

struct pool {
	const struct pool_ops *ops;
	void *ctx;
	struct worker *w;
	unsigned nw;
	struct slot *slots;
	size_t n, finished, delivered;
	/* The jobs not yet sent: heaviest first in ORDER, each marked in
	 * SENT once it is; LOADS its loads() (NULL: none does).  FIRST[K]:
	 * below it in ORDER, no job of kind K (2: any) is left to send;
	 * LAST: from it on, no job that loads(). */
	size_t *order, left, first[3], last;
	char *sent, *loads;
	uint64_t *weight;	/* per job: weight() (NULL: none) */
	uint64_t unsent_loads;	/* the weight of the loads() jobs not sent */
	/* Which were ignored when the pool started (nohup): they stay
	 * ignored, in the workers too. */
	int ignored[ARRAY_SIZE(stop_signals)];
};

static volatile sig_atomic_t caught;
static int in_worker;

int pool_is_worker(void)
{
	return in_worker;
}

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

static void run_job(const struct pool_ops *ops, void *ctx, size_t j,
		    struct buf *msgs, struct buf *reply, int *status)
{
	buf_reset(msgs);
	buf_reset(reply);
	msg_capture(msgs);
	*status = ops->run(ctx, j, reply);
	msg_capture(NULL);
}

/*
 * Job J finished with STATUS; MEM holds its MSGLEN bytes of messages, then
 * RESLEN bytes of result, and is the pool's now (NULL when both are 0).
 * Hand on J and the finished jobs after it once every job before it is.
 */
static void complete(struct pool *p, size_t j, int status, char *mem,
		     size_t msglen, size_t reslen)
{
	struct slot *s = &p->slots[j];

	s->mem = mem;
	s->msglen = msglen;
	s->reslen = reslen;
	s->status = status;
	s->ready = 1;
	while (p->delivered < p->n && p->slots[p->delivered].ready) {
		s = &p->slots[p->delivered];
		if (s->msglen) {
			/* After what the jobs before it printed. */
			progress_clear();
			fflush(stdout);
			write_full(STDERR_FILENO, s->mem, s->msglen);
		}
		p->ops->done(p->ctx, p->delivered, s->status,
			     s->reslen ? s->mem + s->msglen : NULL, s->reslen);
		free(s->mem);
		s->mem = NULL;
		p->delivered++;
	}
	fflush(stdout);
	progress_update(++p->finished);
}

/* A new worker's signals: the parent's handlers are not ours; what it
 * ignores (IGNORED, per stop signal) we do too.  Then START. */
static void worker_signals(const int *ignored, void (*start)(void),
			   pid_t parent)
{
	size_t i;

	in_worker = 1;
	for (i = 0; i < ARRAY_SIZE(stop_signals); i++)
		if (!ignored[i])
			signal(stop_signals[i], SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	if (start)
		start();
	block_signals(SIG_UNBLOCK);
	/* Don't outlive the parent (a SIGKILL there would orphan us). */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(1);
}

/* Hand job J's STATUS, MSGS and REPLY to the parent over OUT. */
static void reply_job(int out, uint32_t j, int status, const struct buf *msgs,
		      const struct buf *reply)
{
	uint32_t hdr[4];

	hdr[0] = j;
	hdr[1] = (uint32_t)status;
	hdr[2] = (uint32_t)msgs->len;
	hdr[3] = (uint32_t)reply->len;
	if (write_full(out, hdr, sizeof(hdr)) < 0 ||
	    write_full(out, msgs->data, msgs->len) < 0 ||
	    write_full(out, reply->data, reply->len) < 0)
		_exit(1);
}

/* Done: the parent hears it now, not once the kernel has torn this
 * process's memory down (milliseconds, after a large compile). */
static void NORETURN worker_end(int out)
{
	close(out);
	_exit(0);
}

static void NORETURN worker_main(struct pool *p, int in, int out, pid_t parent)
{
	struct buf msgs = BUF_INIT, reply = BUF_INIT;
	uint32_t j;
	int status;

	worker_signals(p->ignored, p->ops->start, parent);
	while (read_full(in, &j, sizeof(j)) == (ssize_t)sizeof(j)) {
		run_job(p->ops, p->ctx, j, &msgs, &reply, &status);
		reply_job(out, j, status, &msgs, &reply);
	}
	worker_end(out);
}

/*
 * A spare: load what OPS->warm() loads, then run the jobs that come
 * packed, each a job number and a length before its bytes.  What warm()
 * said goes with the first job's messages.
 */
static void NORETURN spare_main(const struct pool_spare_ops *ops,
				const int *ignored, int in, int out,
				pid_t parent)
{
	struct buf msgs = BUF_INIT, reply = BUF_INIT, warm = BUF_INIT,
		   data = BUF_INIT;
	uint32_t hdr[2];
	int status;

	worker_signals(ignored, ops->start, parent);
	msg_capture(&warm);
	ops->warm();
	msg_capture(NULL);
	while (read_full(in, hdr, sizeof(hdr)) == (ssize_t)sizeof(hdr)) {
		buf_reset(&data);
		buf_grow(&data, hdr[1]);
		if (read_full(in, data.data, hdr[1]) != (ssize_t)hdr[1])
			_exit(1);
		buf_reset(&msgs);
		buf_reset(&reply);
		if (warm.len)
			buf_add(&msgs, warm.data, warm.len);
		buf_reset(&warm);
		msg_capture(&msgs);
		status = ops->run(data.data, hdr[1], &reply);
		msg_capture(NULL);
		reply_job(out, hdr[0], status, &msgs, &reply);
	}
	worker_end(out);
}

/* A new worker's pipes: TO, jobs out, and FROM, results in.  -1 with
 * errno set if they cannot be had. */
static int open_pipes(int to[2], int from[2])
{
	int e;

	if (pipe2(to, O_CLOEXEC) < 0)
		return -1;
	if (pipe2(from, O_CLOEXEC) < 0) {
		e = errno;
		close(to[0]);
		close(to[1]);
		errno = e;
		return -1;
	}
	return 0;
}

/* After forking PID, the parent's side: its ends of TO and FROM, all
 * closed if PID is -1 (returned). */
static pid_t parent_ends(pid_t pid, int to[2], int from[2])
{
	block_signals(SIG_UNBLOCK);
	close(to[0]);
	close(from[1]);
	if (pid < 0) {
		close(to[1]);
		close(from[0]);
	}
	return pid;
}

/* Which stop signals this process ignores (nohup): IGNORED[i]. */
static void ignored_signals(int *ignored)
{
	struct sigaction old;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(stop_signals); i++) {
		sigaction(stop_signals[i], NULL, &old);
		ignored[i] = old.sa_handler == SIG_IGN;
	}
}

struct pool_spare *pool_spare_start(const struct pool_spare_ops *ops)
{
	int to[2], from[2], ignored[ARRAY_SIZE(stop_signals)];
	pid_t parent = getpid(), pid;
	struct pool_spare *s;

	if (open_pipes(to, from) < 0)
		return NULL;
	ignored_signals(ignored);
	block_signals(SIG_BLOCK);
	pid = fork();
	if (pid == 0) {
		close(to[1]);
		close(from[0]);
		spare_main(ops, ignored, to[0], from[1], parent);
	}
	/* Without one the pool forks its workers as it would anyway. */
	if (parent_ends(pid, to, from) < 0)
		return NULL;
	s = xmalloc(sizeof(*s));
	s->pid = pid;
	s->to = to[1];
	s->from = from[0];
	return s;
}

static int spawn(struct pool *p, struct worker *w)
{
	int to[2], from[2];
	pid_t parent = getpid(), pid;
	unsigned i;

	if (open_pipes(to, from) < 0)
		return error_errno("cannot create a pipe");
	block_signals(SIG_BLOCK);
	pid = p->ops->fork ? p->ops->fork() : fork();
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
	if (parent_ends(pid, to, from) < 0)
		return error_errno("cannot fork a worker");
	w->pid = pid;
	w->to = to[1];
	w->from = from[0];
	w->job = -1;
	w->loaded = 0;
	w->spare = 0;
	return 0;
}

/* The heaviest job not yet sent of kind K (0 or 1: its loads(); 2: any),
 * or -1. */
static long unsent(struct pool *p, int k)
{
	size_t *c = &p->first[k];

	while (*c < p->n && (p->sent[p->order[*c]] ||
			     (k < 2 && p->loads[p->order[*c]] != k)))
		(*c)++;
	return *c < p->n ? (long)p->order[*c] : -1;
}

/* The lightest job not yet sent that loads(), or -1. */
static long unsent_light(struct pool *p)
{
	while (p->last && (p->sent[p->order[p->last - 1]] ||
			   !p->loads[p->order[p->last - 1]]))
		p->last--;
	return p->last ? (long)p->order[p->last - 1] : -1;
}

/*
 * Whether W, which has not loaded what loads() jobs need while other
 * workers have, should load it for the loads() jobs left: only if they
 * would keep those workers busy for longer than loading takes (with R
 * left, L workers that have loaded and C to load, W helping ends them
 * at about (R + C) / (L + 1) rather than R / L: sooner if R > L * C).
 */
static int worth_loading(struct pool *p, const struct worker *w)
{
	uint64_t loaded = 0;
	unsigned i;

	if (!p->ops->load_weight || !p->weight)
		return 1;
	for (i = 0; i < p->nw; i++)
		loaded += &p->w[i] != w && p->w[i].pid && p->w[i].loaded;
	return p->unsent_loads > loaded * p->ops->load_weight;
}

/*
 * Send W the next job: the heaviest left, but that while some worker has
 * loaded what loads() jobs need, those go to such workers, and the
 * others to workers that have not; one of these that has nothing else
 * left takes the lightest, leaving the heavy ones to the workers that
 * need not load first, if that is worth it.  A spare gets the job
 * packed.  -1 if none is left for W, or if W is gone.
 */
static int send_next(struct pool *p, struct worker *w)
{
	struct buf job = BUF_INIT;
	long j = -1;
	uint32_t v, hdr[2];
	unsigned i;
	int any = 0, ret;

	if (!p->left)
		return -1;
	if (p->loads) {
		for (i = 0; i < p->nw; i++)
			any |= p->w[i].pid && p->w[i].loaded;
		if (w->loaded || any)
			j = unsent(p, w->loaded);
		if (j < 0 && any && !w->loaded) {
			if (!worth_loading(p, w))
				return -1;
			j = unsent_light(p);
		}
	}
	if (j < 0)
		j = unsent(p, 2);
	if (p->loads && p->loads[j]) {
		w->loaded = 1;
		if (p->weight)
			p->unsent_loads -= p->weight[j];
	}
	p->sent[j] = 1;
	p->left--;
	w->job = j;
	if (!w->spare) {
		v = (uint32_t)j;
		return write_full(w->to, &v, sizeof(v));
	}
	p->ops->pack(p->ctx, (size_t)j, &job);
	hdr[0] = (uint32_t)j;
	hdr[1] = (uint32_t)job.len;
	ret = write_full(w->to, hdr, sizeof(hdr)) < 0 ||
	      write_full(w->to, job.data, job.len) < 0 ? -1 : 0;
	buf_release(&job);
	return ret;
}

/* Send W its next job, or, if none is left for it, tell it to end: EOF. */
static void feed(struct pool *p, struct worker *w)
{
	if (send_next(p, w) < 0 && w->job < 0) {
		close(w->to);
		w->to = -1;
	}
}

/* Stop the workers (they remove their temporary files) and reap them. */
static void stop_workers(struct pool *p)
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
}

/* Reap W, whose result pipe ended; if it had a job, the job failed. */
static void reap(struct pool *p, struct worker *w)
{
	const struct pool_ops *ops = p->ops;
	struct buf msgs = BUF_INIT;
	size_t j = (size_t)w->job;
	int status = 0;

	if (w->to >= 0)
		close(w->to);
	close(w->from);
	while (waitpid(w->pid, &status, 0) < 0 && errno == EINTR)
		;
	/* It could not load a library it needed (pyload.c), nor could any
	 * other: the run ends with that status, and why is said here, once,
	 * rather than by every worker that tried. */
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
		pid_t pid = w->pid;

		if (w->job >= 0 && ops->lost)
			ops->lost(p->ctx, j, pid);
		w->pid = 0;
		stop_workers(p);
		if (ops->unloadable)
			ops->unloadable();
		error("cannot %s: worker %ld could not load what it needs",
		      ops->verb, (long)pid);
		exit(127);
	}
	if (w->job >= 0) {
		msg_capture(&msgs);
		if (WIFSIGNALED(status))
			error("cannot %s '%s': worker %ld killed by signal %d (%s)",
			      ops->verb, ops->name(p->ctx, j), (long)w->pid,
			      WTERMSIG(status), strsignal(WTERMSIG(status)));
		else
			error("cannot %s '%s': worker %ld exited with status %d",
			      ops->verb, ops->name(p->ctx, j), (long)w->pid,
			      WEXITSTATUS(status));
		if (ops->lost)
			ops->lost(p->ctx, j, w->pid);
		msg_capture(NULL);
		complete(p, j, POOL_LOST, msgs.data, msgs.len, 0);
	}
	w->pid = 0;
	w->job = -1;
}

/*
 * Workers that ended after their last job, not waited for then: their
 * exit is the kernel's freeing of their memory, which the run need not
 * wait for.  Reaped when they can be as a pool starts and ends, and at
 * the latest when this process exits, by which time they are gone (so
 * that whoever waits for this process counts their CPU time too).
 */
static pid_t *ended;
static size_t nended;

static void reap_ended(int block)
{
	size_t i, k = 0;

	for (i = 0; i < nended; i++) {
		pid_t r;

		while ((r = waitpid(ended[i], NULL, block ? 0 : WNOHANG)) < 0 &&
		       errno == EINTR)
			;
		if (r == 0)
			ended[k++] = ended[i];
	}
	nended = k;
}

static void reap_at_exit(void)
{
	reap_ended(1);
}

/* PID ended, or will, and need not be waited for now. */
static void let_end(pid_t pid)
{
	static int registered;

	if (!registered) {
		atexit(reap_at_exit);
		registered = 1;
	}
	ended = xrealloc(ended, (nended + 1) * sizeof(*ended));
	ended[nended++] = pid;
}

/* W ended after its last job, and said so by closing its pipe. */
static void finished(struct worker *w)
{
	close(w->from);
	let_end(w->pid);
	w->pid = 0;
}

void pool_spare_stop(struct pool_spare *s)
{
	if (!s)
		return;
	kill(s->pid, SIGTERM);
	close(s->to);
	close(s->from);
	let_end(s->pid);
	free(s);
}

/* Make SPARE W, if it can be sent jobs; else stop it. */
static int adopt(struct pool *p, struct worker *w, struct pool_spare *s)
{
	if (!p->ops->pack) {
		pool_spare_stop(s);
		return -1;
	}
	w->pid = s->pid;
	w->to = s->to;
	w->from = s->from;
	w->job = -1;
	w->loaded = 1;
	w->spare = 1;
	free(s);
	return 0;
}

/* Read one result from W; 0, or -1 if the worker is gone. */
static int receive(struct pool *p, struct worker *w)
{
	uint32_t hdr[4];
	char *mem = NULL;
	size_t len;

	if (read_full(w->from, hdr, sizeof(hdr)) != (ssize_t)sizeof(hdr) ||
	    hdr[0] != (uint32_t)w->job)
		return -1;
	len = (size_t)hdr[2] + hdr[3];
	if (len) {
		mem = xmalloc(len);
		if (read_full(w->from, mem, len) != (ssize_t)len) {
			free(mem);
			return -1;
		}
	}
	w->job = -1;
	complete(p, hdr[0], (int)hdr[1], mem, hdr[2], hdr[3]);
	return 0;
}

static void NORETURN interrupted(struct pool *p, int sig)
{
	stop_workers(p);
	signal(sig, SIG_DFL);
	block_signals(SIG_UNBLOCK);
	raise(sig);
	_exit(128 + sig);
}

/* Run in this process the jobs not sent to a worker (all of them, in job
 * order, when there is no ORDER). */
static void run_inline(struct pool *p)
{
	struct buf msgs = BUF_INIT, reply = BUF_INIT;
	size_t i, j, msglen;
	int status;

	if (p->ops->start)
		p->ops->start();
	for (i = 0; i < p->n; i++) {
		j = p->order ? p->order[i] : i;
		if (p->sent && p->sent[j])
			continue;
		run_job(p->ops, p->ctx, j, &msgs, &reply, &status);
		msglen = msgs.len;
		if (reply.len)
			buf_add(&msgs, reply.data, reply.len);
		complete(p, j, status, msgs.data, msglen, reply.len);
		msgs = (struct buf)BUF_INIT;
	}
	buf_release(&reply);
}

static int cmp_weight(const void *a, const void *b, void *arg)
{
	const uint64_t *w = arg;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;

	if (w[i] != w[j])
		return w[i] > w[j] ? -1 : 1;
	return (i > j) - (i < j);
}

/* The order in which P's jobs start: heaviest first (their weights into
 * P->weight). */
static void job_order(struct pool *p)
{
	size_t i, n = p->n;

	p->order = xmalloc(n * sizeof(*p->order));
	for (i = 0; i < n; i++)
		p->order[i] = i;
	if (!p->ops->weight)
		return;
	p->weight = xmalloc(n * sizeof(*p->weight));
	for (i = 0; i < n; i++)
		p->weight[i] = p->ops->weight(p->ctx, i);
	qsort_r(p->order, n, sizeof(*p->order), cmp_weight, p->weight);
}

void pool_run(const struct pool_ops *ops, void *ctx, size_t n,
	      unsigned workers, struct pool_spare *spare)
{
	struct pool p;
	struct pollfd *fds;
	struct sigaction sa, old[ARRAY_SIZE(stop_signals)], oldpipe;
	size_t i;
	unsigned live = 0;

	reap_ended(0);
	memset(&p, 0, sizeof(p));
	p.ops = ops;
	p.ctx = ctx;
	p.n = n;
	p.slots = xcalloc(n ? n : 1, sizeof(*p.slots));
	if (workers > n)
		workers = (unsigned)n;
	/* One job: here, unless a spare has started on it already. */
	if (workers <= 1 && !(spare && n)) {
		pool_spare_stop(spare);
		run_inline(&p);
		free(p.slots);
		return;
	}
	job_order(&p);
	p.sent = xcalloc(n, 1);
	p.left = p.last = n;
	if (ops->loads) {
		p.loads = xmalloc(n);
		for (i = 0; i < n; i++) {
			p.loads[i] = ops->loads(ctx, i) != 0;
			if (p.loads[i] && p.weight)
				p.unsent_loads += p.weight[i];
		}
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < ARRAY_SIZE(stop_signals); i++) {
		sigaction(stop_signals[i], NULL, &old[i]);
		p.ignored[i] = old[i].sa_handler == SIG_IGN;
		if (!p.ignored[i])
			sigaction(stop_signals[i], &sa, NULL);
	}
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, &oldpipe);

	p.w = xcalloc(workers, sizeof(*p.w));
	p.nw = workers;
	fds = xcalloc(workers, sizeof(*fds));
	for (i = 0; i < workers; i++) {
		if (i > 0 || !spare || adopt(&p, &p.w[i], spare) < 0) {
			if (spawn(&p, &p.w[i]) < 0)
				break;
		}
		live++;
		/* A death is noticed below. */
		feed(&p, &p.w[i]);
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
				/* After its last job: it ended, as told. */
				if (w->job < 0 && w->to < 0) {
					finished(w);
					live--;
					continue;
				}
				reap(&p, w);
				live--;
				if (p.left && spawn(&p, w) == 0) {
					live++;
					feed(&p, w);
				}
				continue;
			}
			feed(&p, w);
		}
	}
	/* Every worker failed to start or died unreplaced: finish here. */
	if (p.left)
		run_inline(&p);

	for (i = 0; i < ARRAY_SIZE(stop_signals); i++)
		sigaction(stop_signals[i], &old[i], NULL);
	sigaction(SIGPIPE, &oldpipe, NULL);
	if (caught)
		interrupted(&p, caught);
	free(fds);
	free(p.w);
	free(p.slots);
	free(p.order);
	free(p.weight);
	free(p.sent);
	free(p.loads);
	reap_ended(0);
}
