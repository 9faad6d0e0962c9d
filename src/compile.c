/*
 * compile.c: the compile engine.  The parent checks freshness (a stat per
 * source, an open and a read per pyc, no interpreter), then the stale
 * sources are compiled largest first on forked workers that share the one
 * interpreter started before the fork.  A registered package's compile
 * trusts no pyc its record does not vouch for: that is reuse.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic.h"
#include "compile-int.h"
#include "pool.h"
#include "progress.h"
#include "pyrt.h"
#include "pysrc.h"
#include "util.h"

struct run {
	const struct compile_opts *o;
	struct compile_stats *stats;
	struct job *jobs;
	size_t njobs;
};

char *target_dir(const char *path, int legacy)
{
	char *dir = path_dir(path), *t;

	if (legacy)
		return dir;
	t = join_path(dir, "__pycache__");
	free(dir);
	return t;
}

int open_target(const char *path, int legacy, int create, int *fd)
{
	char *dir = path_dir(path), *pc = NULL;
	struct stat st;
	int dfd, made = 0, ret = -1, err;

	*fd = -1;
	if (!legacy) {
		/* Usually it is there: one system call. */
		pc = join_path(dir, "__pycache__");
		*fd = open(pc, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (*fd >= 0) {
			ret = 0;
			goto out;
		}
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		if (create)
			error_errno("cannot open directory '%s'", dir);
		goto out;
	}
	if (legacy) {
		*fd = dfd;
		ret = 0;
		goto out;
	}
	for (;;) {
		*fd = openat(dfd, "__pycache__",
			     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (*fd >= 0 || errno != ENOENT || !create || made)
			break;
		if (mkdirat(dfd, "__pycache__", 0777) < 0 && errno != EEXIST) {
			error_errno("cannot create directory '%s'", pc);
			goto close;
		}
		made = 1;
	}
	err = errno;
	if (*fd >= 0 || !create)
		ret = 0;
	else if (fstatat(dfd, "__pycache__", &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		 S_ISLNK(st.st_mode))
		error("refusing to write through symlink '%s'", pc);
	else if (err == ENOTDIR)
		error("cannot use '%s': not a directory", pc);
	else
		error("cannot open directory '%s': %s", pc, strerror(err));
close:
	close(dfd);
out:
	free(pc);
	free(dir);
	return ret;
}

int compile_one(const struct compile_opts *o, const struct job *job,
		struct hashes *h)
{
	const struct source *s = job->src;
	struct buf src = BUF_INIT, out[PYC_MAX_LEVEL + 1];
	struct pyrt_unit unit;
	unsigned char header[PYC_HEADER_SIZE];
	struct stat st;
	char *tdir = NULL;
	int fd, tfd = -1, level, same01 = -1, wrote = 0, began = 0;
	unsigned traits = PYRT_DOCSTRINGS;
	const struct buf *have[PYC_MAX_LEVEL + 1] = { NULL };
	long line, col;

	memset(out, 0, sizeof(out));
	/* O_NONBLOCK: a source swapped for a FIFO since the walk must not
	 * hang the worker; it is refused below. */
	fd = open(s->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		error_errno("cannot open '%s'", s->path);
		goto fail;
	}
	if (fstat(fd, &st) < 0) {
		error_errno("cannot stat '%s'", s->path);
		close(fd);
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		error("cannot compile '%s': not a regular file", s->path);
		close(fd);
		goto fail;
	}
	buf_grow(&src, (size_t)st.st_size + 1);
	if (read_fd(fd, &src) < 0) {
		error_errno("cannot read '%s'", s->path);
		close(fd);
		goto fail;
	}
	close(fd);
	if (!src.data)
		buf_add(&src, "", 0);
	if (h) {
		h->size = st.st_size;
		record_hash(src.data, src.len, h->src);
	}
	if (pysrc_find_nul(src.data, src.len, &line, &col)) {
		report("%s:%ld:%ld: SyntaxError: source code cannot contain null bytes",
		       s->path, line, col);
		goto fail;
	}
	if (open_target(s->path, o->legacy, 1, &tfd) < 0)
		goto fail;
	tdir = target_dir(s->path, o->legacy);

	unit.path = s->path;
	unit.recorded = s->recorded;
	unit.source = src.data;
	unit.len = src.len;
	unit.quiet = o->quiet;
	/* Started in the worker, when it first compiles. */
	if (pyrt_init() < 0 || pyrt_begin(&unit) < 0)
		goto fail;
	began = 1;
	pyc_header(header, o->mode, &st, src.data, src.len);

	for (level = 0; level <= PYC_MAX_LEVEL; level++) {
		const struct buf *b;
		char *name;
		int r;

		if (!(job->stale & (1u << level)))
			continue;
		/*
		 * Without assert and __debug__, -O changes nothing; without
		 * docstrings, -OO changes nothing more: reuse what an earlier
		 * level produced rather than compile the same thing again.
		 */
		if (same01 < 0 && have[0])
			same01 = !pysrc_uses_debug(src.data, src.len);
		b = NULL;
		if (level == 1 && have[0] && same01)
			b = have[0];
		else if (level == 2 && !(traits & PYRT_DOCSTRINGS))
			b = have[1] ? have[1] : (have[0] && same01 ? have[0] : NULL);
		if (!b) {
			/* Docstrings matter only if level 2 comes after this. */
			int later2 = level < 2 && (job->stale & 4);

			buf_add(&out[level], header, sizeof(header));
			if (pyrt_compile(&unit, level, &out[level],
					 later2 ? &traits : NULL) < 0)
				goto fail;
			b = &out[level];
		}
		have[level] = b;
		name = pyc_name(path_base(s->path), level, o->legacy);
		r = atomic_write(tfd, tdir, name, b->data, b->len,
				 (st.st_mode | 0200) & 0666,
				 o->fsync ? ATOMIC_FSYNC : 0);
		free(name);
		if (r < 0)
			goto fail;
		wrote |= 1 << level;
		if (h) {
			h->levels |= 1u << level;
			record_hash(b->data + PYC_HEADER_SIZE,
				    b->len - PYC_HEADER_SIZE, h->body[level]);
		}
	}
	goto out;
fail:
	wrote |= JOB_FAILED;
out:
	if (began)
		pyrt_end(&unit);
	if (tfd >= 0)
		close(tfd);
	free(tdir);
	for (level = 0; level <= PYC_MAX_LEVEL; level++)
		buf_release(&out[level]);
	buf_release(&src);
	return wrote;
}

static int compile_job(void *ctx, size_t j, struct buf *result)
{
	struct run *r = ctx;

	(void)result;	/* the levels written are the status */
	return compile_one(r->o, &r->jobs[j], NULL);
}

/* Largest first: a source's size by the levels it is compiled at. */
static uint64_t compile_weight(void *ctx, size_t j)
{
	const struct job *job = &((struct run *)ctx)->jobs[j];

	return (uint64_t)job->src->st.st_size *
	       (unsigned)__builtin_popcount(job->stale);
}

static const char *source_path(void *ctx, size_t j)
{
	return ((struct run *)ctx)->jobs[j].src->path;
}

/* In the parent: the worker died while compiling job J. */
static void forget_temp(void *ctx, size_t j, pid_t pid)
{
	struct run *r = ctx;

	compile_forget(r->jobs[j].src->path, r->o->legacy, pid);
}

void compile_forget(const char *path, int legacy, pid_t pid)
{
	int fd;

	/* It can't remove its temporary file any more: do it for it. */
	if (open_target(path, legacy, 0, &fd) == 0 && fd >= 0) {
		atomic_forget(fd, pid);
		close(fd);
	}
}

/* In the parent, in walk order: count the source; with -vv, its pycs. */
static void compile_done(void *ctx, size_t j, int status, const void *result,
		     size_t len)
{
	struct run *r = ctx;

	(void)result;
	(void)len;
	if (status == POOL_LOST || (status & JOB_FAILED))
		r->stats->failed++;
	else
		r->stats->compiled++;
	if (r->o->verbose >= 2 && status != POOL_LOST)
		compile_print(r->o, r->jobs[j].src, status);
}

void compile_print(const struct compile_opts *o, const struct source *s,
		   int status)
{
	int level;

	/* The pycs written, of a source that failed at a later level too. */
	for (level = 0; level <= PYC_MAX_LEVEL; level++)
		if (status & (1 << level)) {
			char *dir = target_dir(s->path, o->legacy);
			char *name = pyc_name(path_base(s->path), level,
					      o->legacy);

			progress_clear();
			printf("%s/%s\n", dir, name);
			free(dir);
			free(name);
		}
}

/* By directory, then in list order: each directory is visited once. */
static int cmp_dir(const void *a, const void *b, void *arg)
{
	const struct source_list *list = arg;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	const struct source *x = &list->v[i], *y = &list->v[j];
	int c = memcmp(x->path, y->path,
		       x->dirlen < y->dirlen ? x->dirlen : y->dirlen);

	if (!c)
		c = (x->dirlen > y->dirlen) - (x->dirlen < y->dirlen);
	return c ? c : (i > j) - (i < j);
}

/*
 * Descriptors of pycs whose headers were read: closed a directory at a
 * time, with one close_range(2) where they are consecutive (an up-to-date
 * tree costs little more than these system calls, so they count).
 */
struct fdrun {
	int first, last;
};

static void fdrun_flush(struct fdrun *r)
{
	int fd;

	if (r->first < 0)
		return;
	if (close_range((unsigned)r->first, (unsigned)r->last, 0) < 0)
		for (fd = r->first; fd <= r->last; fd++)
			close(fd);
	r->first = r->last = -1;
}

static void fdrun_add(struct fdrun *r, int fd)
{
	if (r->first >= 0 && (fd != r->last + 1 || r->last - r->first >= 255))
		fdrun_flush(r);
	if (r->first < 0)
		r->first = fd;
	r->last = fd;
}

/*
 * Check the sources order[from..to) of LIST, which share a directory,
 * setting stale[] for them.
 */
static void check_dir(const struct compile_opts *o,
		      const struct source_list *list, const size_t *order,
		      size_t from, size_t to, unsigned *stale)
{
	struct fdrun run = { -1, -1 };
	size_t k;
	int tfd, swept = 0;

	open_target(list->v[order[from]].path, o->legacy, 0, &tfd);
	for (k = from; k < to; k++) {
		const struct source *s = &list->v[order[k]];
		struct pyc_source ps = { s->path, &s->st, 0, 0 };
		int level, fd;

		for (level = 0; level <= PYC_MAX_LEVEL; level++) {
			char *name;

			if (!(o->levels & (1u << level)))
				continue;
			name = pyc_name(path_base(s->path), level, o->legacy);
			fd = -1;
			if (o->force || tfd < 0 ||
			    !pyc_is_fresh(tfd, name, o->mode, &ps, &fd))
				stale[order[k]] |= 1u << level;
			if (fd >= 0)
				fdrun_add(&run, fd);
			free(name);
		}
		/* Leftovers of a killed run, before anyone writes here. */
		if (stale[order[k]] && tfd >= 0 && !swept++)
			atomic_sweep(tfd);
	}
	fdrun_flush(&run);
	if (tfd >= 0)
		close(tfd);
}

/* Which of LIST's sources need compiling; fills R's jobs in list order. */
static void find_stale(struct run *r, const struct source_list *list)
{
	size_t n = list->n ? list->n : 1, *order, *bounds, i, g, ngroups;
	unsigned *stale;

	order = compile_order(list, &bounds, &ngroups);
	stale = xcalloc(n, sizeof(*stale));
	for (g = 0; g < ngroups; g++)
		check_dir(r->o, list, order, bounds[g], bounds[g + 1], stale);

	r->jobs = xcalloc(n, sizeof(*r->jobs));
	for (i = 0; i < list->n; i++) {
		if (!stale[i]) {
			r->stats->fresh++;
			continue;
		}
		r->jobs[r->njobs].src = &list->v[i];
		r->jobs[r->njobs++].stale = stale[i];
	}
	free(order);
	free(bounds);
	free(stale);
}

size_t *compile_order(const struct source_list *list, size_t **bounds,
		      size_t *ngroups)
{
	size_t n = list->n ? list->n : 1, *order, i;

	order = xmalloc(n * sizeof(*order));
	*bounds = xmalloc((n + 1) * sizeof(**bounds));
	*ngroups = 0;
	for (i = 0; i < list->n; i++)
		order[i] = i;
	qsort_r(order, list->n, sizeof(*order), cmp_dir, (void *)list);
	for (i = 0; i < list->n; i++) {
		const struct source *s = &list->v[order[i]];
		const struct source *t = i ? &list->v[order[i - 1]] : NULL;

		if (!t || t->dirlen != s->dirlen ||
		    memcmp(t->path, s->path, s->dirlen))
			(*bounds)[(*ngroups)++] = i;
	}
	(*bounds)[*ngroups] = list->n;
	return order;
}

int compile_run(const struct compile_opts *o, const struct source_list *list,
		struct compile_stats *stats)
{
	static const struct pool_ops ops = {
		.verb = "compile", .fork = pyrt_fork,
		.weight = compile_weight, .name = source_path,
		.unloadable = pyrt_load,
		.start = atomic_catch_signals, .run = compile_job,
		.lost = forget_temp, .done = compile_done,
	};
	struct run r = { o, stats, NULL, 0 };
	size_t failed = stats->failed;

	if (o->record)
		return reuse_run(o, list, stats);
	pool_spare_stop(o->spare);
	find_stale(&r, list);
	if (!r.njobs) {
		free(r.jobs);
		return 0;
	}
	/* The interpreter is loaded and started by each worker as it first
	 * compiles (compile_one()): see reuse_run(). */
	progress_start("compiling", r.njobs, !o->quiet);
	pool_run(&ops, &r, r.njobs, o->jobs, NULL);
	progress_end();
	free(r.jobs);
	return stats->failed > failed;
}
