/*
 * compile.c: the compile engine.  The parent checks freshness (a stat per
 * source, an open and a read per pyc, no interpreter), then the stale
 * sources are compiled largest first on forked workers that share the one
 * interpreter started before the fork.
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
#include "compile.h"
#include "pool.h"
#include "progress.h"
#include "pyrt.h"
#include "pysrc.h"
#include "util.h"

#define JOB_FAILED 0x100	/* status bit; the low bits are levels written */

struct job {
	const struct source *src;
	unsigned stale;		/* levels to write */
	struct record_entry known;	/* record mode: the levels reused */
	int hashed;		/* known.size and known.src are set */
};

/* What a worker hands back in record mode. */
struct hashes {
	off_t size;
	unsigned char src[RECORD_HASH];
	unsigned char body[PYC_MAX_LEVEL + 1][RECORD_HASH];
};

struct run {
	const struct compile_opts *o;
	struct compile_stats *stats;
	struct job *jobs;
	size_t njobs;
};

/* Where the pycs of PATH go: the source directory or its __pycache__. */
static char *target_dir(const char *path, int legacy)
{
	char *dir = path_dir(path), *t;

	if (legacy)
		return dir;
	t = join_path(dir, "__pycache__");
	free(dir);
	return t;
}

/*
 * Open the directory the pycs of PATH go to.  With CREATE, make a missing
 * __pycache__ and report every problem, including a __pycache__ that is a
 * symlink or not a directory (-1); without, just say what is there (*fd is
 * -1 if nothing usable is).
 */
static int open_target(const char *path, int legacy, int create, int *fd)
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

/* Compile one source at the levels it needs; returns levels written, with
 * JOB_FAILED if something went wrong. */
static int compile_one(const struct compile_opts *o, const struct job *job,
		       struct buf *result)
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
	struct hashes h;
	long line, col;

	memset(out, 0, sizeof(out));
	memset(&h, 0, sizeof(h));
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
	if (o->record) {
		h.size = st.st_size;
		record_hash(src.data, src.len, h.src);
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
	if (pyrt_begin(&unit) < 0)
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
		if (o->record)
			record_hash(b->data + PYC_HEADER_SIZE,
				    b->len - PYC_HEADER_SIZE, h.body[level]);
	}
	goto out;
fail:
	wrote |= JOB_FAILED;
out:
	if (o->record && (wrote & ~JOB_FAILED))
		buf_add(result, &h, sizeof(h));
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

	/* The levels written are the status; RESULT, in record mode, the
	 * hashes of what was read and written. */
	return compile_one(r->o, &r->jobs[j], result);
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
	int fd;

	/* It can't remove its temporary file any more: do it for it. */
	if (open_target(r->jobs[j].src->path, r->o->legacy, 0, &fd) == 0 &&
	    fd >= 0) {
		atomic_forget(fd, pid);
		close(fd);
	}
}

/*
 * Record mode, in the parent: add what job JOB's pycs now hold to RECORD:
 * the levels the worker wrote (STATUS) with the hashes it sent, and those
 * the parent reused if the worker read the same source.
 */
static void note_compiled(struct record *record, struct job *job, int status,
			  const void *result, size_t len)
{
	struct record_entry *e = &job->known;
	struct hashes h;
	int level;

	if (len != sizeof(h))
		return;
	memcpy(&h, result, sizeof(h));
	if (!job->hashed || e->size != h.size ||
	    memcmp(e->src, h.src, RECORD_HASH))
		e->levels = 0;
	e->size = h.size;
	memcpy(e->src, h.src, RECORD_HASH);
	for (level = 0; level <= PYC_MAX_LEVEL; level++)
		if (status & (1 << level)) {
			e->levels |= 1u << level;
			memcpy(e->body[level], h.body[level], RECORD_HASH);
		}
	record_add(record, e);
}

/* In the parent, in walk order: count the source; with -vv, its pycs. */
static void compile_done(void *ctx, size_t j, int status, const void *result,
		     size_t len)
{
	struct run *r = ctx;
	struct job *job = &r->jobs[j];
	const struct source *s = job->src;
	int level;

	if (status == POOL_LOST || (status & JOB_FAILED))
		r->stats->failed++;
	else
		r->stats->compiled++;
	if (r->o->record && status != POOL_LOST)
		note_compiled(r->o->record, job, status, result, len);
	/* The pycs written, of a source that failed at a later level too. */
	if (r->o->verbose < 2 || status == POOL_LOST)
		return;
	for (level = 0; level <= PYC_MAX_LEVEL; level++)
		if (status & (1 << level)) {
			char *dir = target_dir(s->path, r->o->legacy);
			char *name = pyc_name(path_base(s->path), level,
					      r->o->legacy);

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
 * Read the regular file NAME of DIRFD (-1: the path NAME) into B, with its
 * status in ST; -1 if it is not there or not a regular file.  One read(2)
 * of one byte more than its size, most of the time: what is read here is
 * only ever compared with a hash, so a read cut short can only make a
 * source be compiled.
 */
static int read_regular(int dirfd, const char *name, int flags,
			struct buf *b, struct stat *st)
{
	int fd = openat(dirfd < 0 ? AT_FDCWD : dirfd, name, O_RDONLY | O_CLOEXEC |
			O_NOCTTY | O_NONBLOCK | flags);
	size_t want;
	ssize_t n;
	int ret = -1;

	if (fd < 0)
		return -1;
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode))
		goto out;
	want = (size_t)st->st_size + 1;
	buf_grow(b, want + 1);
	do
		n = read(fd, b->data + b->len, want);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		goto out;
	b->len += (size_t)n;
	b->data[b->len] = '\0';
	/* It grew: the rest too. */
	if ((size_t)n == want && read_fd(fd, b) < 0)
		goto out;
	ret = 0;
out:
	close(fd);
	return ret;
}

/*
 * Record mode: which levels of source S must be compiled.  A level whose
 * pyc in TFD (TDIR) has the current magic and the body the record gives
 * for S's size and SHA-256 is kept, its header rewritten if it is not
 * right (*REWROTE set; TFD's leftovers are swept first unless *SWEPT);
 * the levels returned are the others.  E gets what is known of S;
 * *HASHED whether that includes its size and hash.  A header that could
 * not be written is reported and sets *FAILED.  BUFS are two buffers to
 * read into, kept from one call to the next (fewer page faults).
 */
static unsigned check_recorded(const struct compile_opts *o,
			       const struct source *s, int tfd,
			       const char *tdir, struct record_entry *e,
			       int *hashed, int *swept, int *rewrote,
			       int *failed, struct buf *bufs)
{
	const struct record_entry *old = NULL;
	struct buf *src = &bufs[0], *pyc = &bufs[1];
	unsigned char magic[4], header[PYC_HEADER_SIZE],
		      hash[RECORD_HASH];
	unsigned stale = o->levels;
	struct stat st, pst;
	int level;

	memset(e, 0, sizeof(*e));
	e->path = s->recorded;
	e->mode = o->mode;
	*hashed = 0;
	if (!o->force && o->reuse && o->reuse->usable)
		old = record_find(o->reuse, s->recorded);
	/* The size first: most changed files show it without a read. */
	buf_reset(src);
	if (!old || old->size != s->st.st_size || tfd < 0 ||
	    read_regular(-1, s->path, 0, src, &st) < 0)
		return stale;
	e->size = st.st_size;
	record_hash(src->data, src->len, e->src);
	*hashed = 1;
	if (old->size != st.st_size || memcmp(old->src, e->src, RECORD_HASH))
		return stale;
	pyc_magic(magic);
	pyc_header(header, o->mode, &st, src->data, src->len);
	for (level = 0; level <= PYC_MAX_LEVEL; level++) {
		char *name;

		if (!(stale & (1u << level)) || !(old->levels & (1u << level)))
			continue;
		name = pyc_name(path_base(s->path), level, o->legacy);
		buf_reset(pyc);
		if (read_regular(tfd, name, O_NOFOLLOW, pyc, &pst) < 0 ||
		    pyc->len < PYC_HEADER_SIZE || memcmp(pyc->data, magic, 4)) {
			free(name);
			continue;
		}
		record_hash(pyc->data + PYC_HEADER_SIZE,
			    pyc->len - PYC_HEADER_SIZE, hash);
		if (memcmp(hash, old->body[level], RECORD_HASH)) {
			free(name);
			continue;
		}
		if (memcmp(pyc->data, header, PYC_HEADER_SIZE)) {
			/* Leftovers of a killed run, before anyone writes. */
			if (!*swept)
				atomic_sweep(tfd);
			*swept = *rewrote = 1;
			memcpy(pyc->data, header, PYC_HEADER_SIZE);
			if (atomic_write(tfd, tdir, name, pyc->data, pyc->len,
					 (st.st_mode | 0200) & 0666,
					 o->fsync ? ATOMIC_FSYNC : 0) < 0) {
				*failed = 1;
				stale &= ~(1u << level);
				free(name);
				continue;
			}
		}
		free(name);
		stale &= ~(1u << level);
		e->levels |= 1u << level;
		memcpy(e->body[level], hash, RECORD_HASH);
	}
	return stale;
}

/* What find_stale() learns of each source. */
struct verdict {
	unsigned stale;		/* levels to compile */
	int rewrote;		/* a recorded body got a new header */
	int failed;		/* ... or could not */
	int hashed;
	struct record_entry known;	/* record mode */
};

/*
 * Check the sources order[from..to) of LIST, which share a directory,
 * filling their verdicts V.
 */
static void check_dir(const struct compile_opts *o,
		      const struct source_list *list, const size_t *order,
		      size_t from, size_t to, struct verdict *v,
		      struct buf *bufs)
{
	struct fdrun run = { -1, -1 };
	size_t k;
	int tfd, swept = 0;
	char *tdir = NULL;

	open_target(list->v[order[from]].path, o->legacy, 0, &tfd);
	if (o->record)
		tdir = target_dir(list->v[order[from]].path, o->legacy);
	for (k = from; k < to; k++) {
		const struct source *s = &list->v[order[k]];
		struct verdict *d = &v[order[k]];
		struct pyc_source ps = { s->path, &s->st, 0, 0 };
		int level, fd;

		if (o->record) {
			d->stale = check_recorded(o, s, tfd, tdir, &d->known,
						  &d->hashed, &swept,
						  &d->rewrote, &d->failed, bufs);
		}
		for (level = 0; level <= PYC_MAX_LEVEL && !o->record; level++) {
			char *name;

			if (!(o->levels & (1u << level)))
				continue;
			name = pyc_name(path_base(s->path), level, o->legacy);
			fd = -1;
			if (o->force || tfd < 0 ||
			    !pyc_is_fresh(tfd, name, o->mode, &ps, &fd))
				d->stale |= 1u << level;
			if (fd >= 0)
				fdrun_add(&run, fd);
			free(name);
		}
		/* Leftovers of a killed run, before anyone writes here. */
		if (d->stale && tfd >= 0 && !swept++)
			atomic_sweep(tfd);
	}
	fdrun_flush(&run);
	if (tfd >= 0)
		close(tfd);
	free(tdir);
}

/* Which of LIST's sources need compiling; fills R's jobs in list order. */
static void find_stale(struct run *r, const struct source_list *list)
{
	const struct compile_opts *o = r->o;
	size_t n = list->n ? list->n : 1, *order, i, from;
	struct verdict *v;
	struct buf bufs[2] = { BUF_INIT, BUF_INIT };

	order = xmalloc(n * sizeof(*order));
	v = xcalloc(n, sizeof(*v));
	for (i = 0; i < list->n; i++)
		order[i] = i;
	qsort_r(order, list->n, sizeof(*order), cmp_dir, (void *)list);
	for (from = 0; from < list->n; from = i) {
		const struct source *s = &list->v[order[from]];

		for (i = from + 1; i < list->n; i++) {
			const struct source *t = &list->v[order[i]];

			if (t->dirlen != s->dirlen ||
			    memcmp(t->path, s->path, s->dirlen))
				break;
		}
		check_dir(o, list, order, from, i, v, bufs);
	}
	buf_release(&bufs[0]);
	buf_release(&bufs[1]);

	r->jobs = xcalloc(n, sizeof(*r->jobs));
	for (i = 0; i < list->n; i++) {
		struct job *job;

		if (v[i].failed) {
			r->stats->failed++;
		} else if (!v[i].stale) {
			if (v[i].rewrote)
				r->stats->reused++;
			else
				r->stats->fresh++;
		}
		if (!v[i].stale || v[i].failed) {
			if (o->record && v[i].known.levels)
				record_add(o->record, &v[i].known);
			continue;
		}
		job = &r->jobs[r->njobs++];
		job->src = &list->v[i];
		job->stale = v[i].stale;
		job->known = v[i].known;
		job->hashed = v[i].hashed;
	}
	free(order);
	free(v);
}

int compile_run(const struct compile_opts *o, const struct source_list *list,
		struct compile_stats *stats)
{
	static const struct pool_ops ops = {
		.verb = "compile", .fork = pyrt_fork,
		.weight = compile_weight, .name = source_path,
		.start = atomic_catch_signals, .run = compile_job,
		.lost = forget_temp, .done = compile_done,
	};
	struct run r = { o, stats, NULL, 0 };
	size_t failed = stats->failed;

	/* Headers rewritten here are as atomic on Ctrl-C as a worker's. */
	if (o->record)
		atomic_catch_signals();
	find_stale(&r, list);
	if (!r.njobs) {
		free(r.jobs);
		return 0;
	}
	if (pyrt_init() < 0) {
		stats->failed += r.njobs;
		free(r.jobs);
		return 1;
	}
	progress_start("compiling", r.njobs, !o->quiet);
	pool_run(&ops, &r, r.njobs, o->jobs);
	progress_end();
	free(r.jobs);
	return stats->failed > failed;
}
