/*
 * reuse.c: compiling a registered package's sources in record mode
 * (record.h): a pyc is kept only as the package's record vouches for it.
 * The work is cut by directory (a large one into several parts, and the
 * sources whose size shows they changed apart from the others), each part
 * one job of compile.c's pool of workers, which reads and hashes its
 * sources and pycs, rewrites the headers of the bodies it keeps, and
 * compiles the rest: reading and hashing is most of a reinstall's
 * configure, and the workers do it side by side, and start the
 * interpreter only if they compile, as few of them as can.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic.h"
#include "compile-int.h"
#include "pool.h"
#include "progress.h"
#include "pyrt.h"
#include "util.h"

/*
 * Read the file NAME of DIRFD into B, whose room is made at least HINT
 * bytes: one read(2) most of the time, and no fstat(2).  -1 if it cannot
 * be opened or read (a directory).  What is read here is only ever
 * compared with a hash, so a read cut short, or the bytes of something
 * that is no longer a regular file, can only make a source be compiled,
 * which compile.c does with every check.
 */
static int read_file(int dirfd, const char *name, int flags, struct buf *b,
		     size_t hint)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY |
			O_NONBLOCK | flags);
	size_t room;
	ssize_t n;
	int ret = -1;

	if (fd < 0)
		return -1;
	buf_grow(b, hint + 1);
	room = b->cap - b->len - 1;
	do
		n = read(fd, b->data + b->len, room);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		goto out;
	b->len += (size_t)n;
	b->data[b->len] = '\0';
	/* It filled the room: the rest too. */
	if ((size_t)n == room && read_fd(fd, b) < 0)
		goto out;
	ret = 0;
out:
	close(fd);
	return ret;
}

/*
 * Record mode: which levels of source S must be compiled.  A level whose
 * pyc in TFD (TDIR) has the current magic and the body the record gives
 * for S's size and hash is kept, its header rewritten if it is not
 * right (*REWROTE set; TFD's leftovers are swept first unless *SWEPT);
 * the levels returned are the others.  S is read from SDIR, by its name;
 * its status is the walk's (a source that changed since then gets a
 * header that tells importlib so, or is compiled).  E gets what is known
 * of S; *HASHED whether that includes its size and hash.  A header that
 * could not be written is reported and sets *FAILED.  BUFS are two
 * buffers to read into, kept from one call to the next (fewer page
 * faults).
 */
static unsigned check_recorded(const struct compile_opts *o,
			       const struct source *s, int sdir, int tfd,
			       const char *tdir, struct record_entry *e,
			       int *hashed, int *swept, int *rewrote,
			       int *failed, struct buf *bufs)
{
	const struct record_entry *old = NULL;
	struct buf *src = &bufs[0], *pyc = &bufs[1];
	unsigned char magic[4], header[PYC_HEADER_SIZE],
		      hash[RECORD_HASH];
	unsigned stale = o->levels;
	const struct stat *st = &s->st;
	int level;

	memset(e, 0, sizeof(*e));
	e->path = s->recorded;
	e->mode = o->mode;
	*hashed = 0;
	if (!o->force && o->reuse && o->reuse->usable)
		old = record_find(o->reuse, s->recorded);
	/* The size first: most changed files show it without a read. */
	buf_reset(src);
	if (!old || old->size != st->st_size || tfd < 0 || sdir < 0 ||
	    read_file(sdir, path_base(s->path), 0, src,
		      (size_t)st->st_size + 1) < 0)
		return stale;
	e->size = src->len;
	record_hash(src->data, src->len, e->src);
	*hashed = 1;
	if (old->size != e->size || memcmp(old->src, e->src, RECORD_HASH))
		return stale;
	pyc_magic(magic);
	pyc_header(header, o->mode, st, src->data, src->len);
	for (level = 0; level <= PYC_MAX_LEVEL; level++) {
		char *name;

		if (!(stale & (1u << level)) || !(old->levels & (1u << level)))
			continue;
		name = pyc_name(path_base(s->path), level, o->legacy);
		buf_reset(pyc);
		if (read_file(tfd, name, O_NOFOLLOW, pyc, 2 * src->len + 4096) < 0 ||
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
					 (st->st_mode | 0200) & 0666,
					 ATOMIC_CHECKED |
					 (o->fsync ? ATOMIC_FSYNC : 0)) < 0) {
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

/* A run in record mode: a job per directory. */
struct reuse {
	const struct compile_opts *o;
	const struct source_list *list;
	struct compile_stats *stats;
	size_t *order, *bounds;	/* job g: order[bounds[g]..[g + 1]), of
				 * one directory */
	uint64_t *cost;		/* per source of LIST: source_cost() */
	char *compiles;		/* per source: source_cost() expects it */
	size_t largest;		/* the size of the largest source */
};

/* What a job hands back per source, in its directory's order. */
struct outcome {
	int status;
	struct hashes h;
};

/*
 * Keep what the record vouches for of source S, in SDIR, whose pycs are
 * in TFD (TDIR), compile the rest; fill OUT.  BUFS are the worker's.
 */
static void reuse_source(const struct compile_opts *o, const struct source *s,
			 int sdir, int tfd, const char *tdir, int *swept,
			 struct outcome *out, struct buf *bufs)
{
	struct record_entry e;
	struct hashes c;
	struct job rest = { s, 0 };
	int hashed, rewrote = 0, failed = 0, level;

	memset(out, 0, sizeof(*out));
	rest.stale = check_recorded(o, s, sdir, tfd, tdir, &e, &hashed, swept,
				    &rewrote, &failed, bufs);
	out->h.size = e.size;
	memcpy(out->h.src, e.src, RECORD_HASH);
	out->h.levels = e.levels;
	memcpy(out->h.body, e.body, sizeof(out->h.body));
	if (failed) {
		out->status = JOB_FAILED;
	} else if (rest.stale) {
		/* Leftovers of a killed run, before anyone writes here. */
		if (!*swept && tfd >= 0)
			atomic_sweep(tfd);
		*swept = 1;
		memset(&c, 0, sizeof(c));
		out->status = compile_one(o, &rest, &c);
		/* What was kept goes with the source compiled only if that is
		 * the source checked. */
		if (!hashed || out->h.size != c.size ||
		    memcmp(out->h.src, c.src, RECORD_HASH))
			out->h.levels = 0;
		out->h.size = c.size;
		memcpy(out->h.src, c.src, RECORD_HASH);
		for (level = 0; level <= PYC_MAX_LEVEL; level++)
			if (c.levels & (1u << level)) {
				out->h.levels |= 1u << level;
				memcpy(out->h.body[level], c.body[level],
				       RECORD_HASH);
			}
	}
	if (rewrote)
		out->status |= JOB_REUSED;
}

/*
 * A job: the N sources V[0..N) of one directory, the largest LARGEST
 * bytes, as O says; an outcome each into RESULT.
 */
static void run_sources(const struct compile_opts *o,
			const struct source *const *v, size_t n,
			size_t largest, struct buf *result)
{
	/* A worker's, from one job to the next (fewer page faults). */
	static struct buf bufs[2] = { BUF_INIT, BUF_INIT };
	char *tdir = target_dir(v[0]->path, o->legacy),
	     *sdirpath = path_dir(v[0]->path);
	size_t k;
	int tfd, sdir, swept = 0;

	/* Room for the largest source and its pyc, grown once. */
	if (!bufs[0].cap) {
		buf_grow(&bufs[0], largest + 1);
		buf_grow(&bufs[1], 2 * largest + 4096);
	}
	open_target(v[0]->path, o->legacy, 0, &tfd);
	/* The job's sources share it; each is opened by its name. */
	sdir = open(sdirpath, O_PATH | O_DIRECTORY | O_CLOEXEC);
	for (k = 0; k < n; k++) {
		struct outcome out;

		reuse_source(o, v[k], sdir, tfd, tdir, &swept, &out, bufs);
		buf_add(result, &out, sizeof(out));
	}
	if (sdir >= 0)
		close(sdir);
	if (tfd >= 0)
		close(tfd);
	free(sdirpath);
	free(tdir);
}

static int reuse_job(void *ctx, size_t g, struct buf *result)
{
	struct reuse *r = ctx;
	size_t n = r->bounds[g + 1] - r->bounds[g], k;
	const struct source **v = xmalloc(n * sizeof(*v));

	for (k = 0; k < n; k++)
		v[k] = &r->list->v[r->order[r->bounds[g] + k]];
	run_sources(r->o, v, n, r->largest, result);
	free(v);
	return 0;
}

/*
 * The spare (pool.h): forked while the sources are listed, at the first
 * that the record shows changed (package.c), with a copy of the options
 * and of the record, it starts the interpreter, then runs the jobs it
 * gets packed: first those of such sources (their size differs, or the
 * record has none), then any.
 */
static struct compile_opts spare_opts;

static void spare_warm(void)
{
	pyrt_init();
}

/* A source of job G, as the spare gets it: the stat, the length of the
 * path's directory, then the path and the recorded name, each with its
 * NUL. */
static void reuse_pack(void *ctx, size_t g, struct buf *out)
{
	struct reuse *r = ctx;
	size_t k;

	for (k = r->bounds[g]; k < r->bounds[g + 1]; k++) {
		const struct source *s = &r->list->v[r->order[k]];

		buf_add(out, &s->st, sizeof(s->st));
		buf_add(out, &s->dirlen, sizeof(s->dirlen));
		buf_add(out, s->path, strlen(s->path) + 1);
		buf_add(out, s->recorded, strlen(s->recorded) + 1);
	}
}

static int spare_run(const void *data, size_t len, struct buf *result)
{
	const char *p = data, *end = p + len;
	struct source *v = NULL;
	const struct source **pv;
	size_t n = 0, k, largest = 0;
	const char *nul;

	while ((size_t)(end - p) > sizeof(v->st) + sizeof(v->dirlen)) {
		v = xrealloc(v, (n + 1) * sizeof(*v));
		memcpy(&v[n].st, p, sizeof(v->st));
		p += sizeof(v->st);
		memcpy(&v[n].dirlen, p, sizeof(v->dirlen));
		p += sizeof(v->dirlen);
		v[n].path = (char *)p;
		nul = memchr(p, '\0', (size_t)(end - p));
		if (!nul || !(nul = memchr(nul + 1, '\0', (size_t)(end - nul - 1))))
			die("BUG: a spare's job is cut short");
		v[n].recorded = (char *)p + strlen(p) + 1;
		p = nul + 1;
		if ((uint64_t)v[n].st.st_size > largest &&
		    v[n].st.st_size < (16 << 20))
			largest = (size_t)v[n].st.st_size;
		n++;
	}
	if (!n)
		die("BUG: a spare's job is empty");
	pv = xmalloc(n * sizeof(*pv));
	for (k = 0; k < n; k++)
		pv[k] = &v[k];
	run_sources(&spare_opts, pv, n, largest, result);
	free(pv);
	free(v);
	return 0;
}

struct pool_spare *compile_spare(const struct compile_opts *o)
{
	static const struct pool_spare_ops ops = {
		.start = atomic_catch_signals, .warm = spare_warm,
		.run = spare_run,
	};

	if (o->jobs < 2)
		return NULL;
	spare_opts = *o;
	/* What it finds, its outcomes tell the parent. */
	spare_opts.record = NULL;
	spare_opts.spare = NULL;
	return pool_spare_start(&ops);
}

/*
 * A compile costs a worker about this many times what reading and hashing
 * the source and its pyc does.  The standard library's 866 sources (13 MB)
 * compile at about 5 MB/s, the median file at 4.6; a worker reads and
 * hashes 824 of them with their pycs at 156 MB/s.  Long strings compile
 * faster (pydoc_data/topics.py: 47 MB/s): such a file is overweighted.
 */
#define COMPILE_COST 32

/*
 * Loading libpython and starting the interpreter costs a worker about what
 * reading and hashing this many bytes of sources (and their pycs) does:
 * 30 ms at 156 MB/s.
 */
#define LOAD_COST (4u << 20)

/*
 * What source S will cost a worker, in bytes: its size when the record
 * holds it at that size (it is read and hashed, and most likely kept),
 * COMPILE_COST times that a level when not (it is compiled).  Sets
 * *COMPILES to which.
 */
static uint64_t source_cost(const struct compile_opts *o,
			    const struct source *s, char *compiles)
{
	const struct record_entry *e = NULL;
	uint64_t size = (uint64_t)s->st.st_size + 1;
	unsigned levels = o->levels, n = 0;

	if (!o->force && o->reuse && o->reuse->usable)
		e = record_find(o->reuse, s->recorded);
	*compiles = !e || e->size != s->st.st_size;
	if (!*compiles)
		return size;
	for (; levels; levels &= levels - 1)
		n++;
	return size * COMPILE_COST * (n ? n : 1);
}

/* The heaviest jobs first: what their sources will cost. */
static uint64_t reuse_weight(void *ctx, size_t g)
{
	struct reuse *r = ctx;
	uint64_t w = 0;
	size_t k;

	for (k = r->bounds[g]; k < r->bounds[g + 1]; k++)
		w += r->cost[r->order[k]];
	return w;
}

/* Whether job G expects to compile: the first of its sources tells. */
static int reuse_loads(void *ctx, size_t g)
{
	struct reuse *r = ctx;

	return r->compiles[r->order[r->bounds[g]]];
}

/* A directory's job in messages: its first source. */
static const char *reuse_name(void *ctx, size_t g)
{
	struct reuse *r = ctx;

	return r->list->v[r->order[r->bounds[g]]].path;
}

static void reuse_lost(void *ctx, size_t g, pid_t pid)
{
	compile_forget(reuse_name(ctx, g), ((struct reuse *)ctx)->o->legacy,
		       pid);
}

/* In the parent: count each source of directory G, note its pycs. */
static void reuse_done(void *ctx, size_t g, int status, const void *result,
		       size_t len)
{
	struct reuse *r = ctx;
	const struct compile_opts *o = r->o;
	size_t k, n = r->bounds[g + 1] - r->bounds[g];

	for (k = 0; k < n; k++) {
		const struct source *s = &r->list->v[r->order[r->bounds[g] + k]];
		struct outcome out;
		struct record_entry e;

		/* A worker that died: nothing of the directory is known. */
		if (status == POOL_LOST || len != n * sizeof(out)) {
			r->stats->failed++;
			continue;
		}
		memcpy(&out, (const char *)result + k * sizeof(out),
		       sizeof(out));
		if (out.status & JOB_FAILED)
			r->stats->failed++;
		else if (out.status & JOB_LEVELS)
			r->stats->compiled++;
		else if (out.status & JOB_REUSED)
			r->stats->reused++;
		else
			r->stats->fresh++;
		if (o->verbose >= 2)
			compile_print(o, s, out.status);
		if (!out.h.levels)
			continue;
		memset(&e, 0, sizeof(e));
		e.path = s->recorded;
		e.mode = o->mode;
		e.size = out.h.size;
		memcpy(e.src, out.h.src, RECORD_HASH);
		e.levels = out.h.levels;
		memcpy(e.body, out.h.body, sizeof(e.body));
		record_add(o->record, &e);
	}
}

/*
 * Put first in each of the NGROUPS directories of BOUNDS (into ORDER) the
 * sources that COMPILES says will be compiled, as a group of their own:
 * a job then either needs the interpreter or most likely does not, and
 * the pool gives the former to the workers that have it (pool.h).
 * Returns the count of groups.
 */
static size_t split_kinds(const char *compiles, size_t nsrc, size_t *order,
			  size_t **bounds, size_t ngroups)
{
	size_t *b = *bounds, *out = xmalloc((2 * ngroups + 1) * sizeof(*out)),
	       *tmp = xmalloc((nsrc ? nsrc : 1) * sizeof(*tmp)), g, k, m, c,
	       n = 0;

	for (g = 0; g < ngroups; g++) {
		for (k = b[g], m = 0; k < b[g + 1]; k++)
			if (compiles[order[k]])
				tmp[m++] = order[k];
		for (k = b[g], c = m; k < b[g + 1]; k++)
			if (!compiles[order[k]])
				tmp[m++] = order[k];
		memcpy(order + b[g], tmp, m * sizeof(*tmp));
		out[n++] = b[g];
		if (c && c < m)
			out[n++] = b[g] + c;
	}
	out[n] = b[ngroups];
	free(tmp);
	free(b);
	*bounds = out;
	return n;
}

/*
 * Cut the NGROUPS groups of BOUNDS (each within one directory; N sources,
 * of COST, through ORDER) into jobs of at most a quarter of a worker's
 * share of the cost, so that a directory that holds much of the tree (the
 * standard library's top one: 43%) does not keep one worker busy while
 * the others are done.  Jobs of one directory share it safely: each
 * source's pycs are its job's alone, and atomic.c's temporary files are
 * per process.  Returns the count.
 */
static size_t split_groups(const uint64_t *cost, size_t nsrc,
			   const size_t *order, size_t **bounds, size_t ngroups,
			   unsigned jobs)
{
	size_t *b = *bounds, *out, g, k, n = 0, alloc = ngroups + 1;
	uint64_t total = 0, most, w;

	for (k = 0; k < nsrc; k++)
		total += cost[k];
	most = total / (4 * (jobs ? jobs : 1)) + 1;
	out = xmalloc(alloc * sizeof(*out));
	for (g = 0; g < ngroups; g++) {
		out[n++] = b[g];
		for (k = b[g], w = 0; k < b[g + 1]; k++) {
			if (w >= most) {
				if (n + 1 >= alloc)
					out = xrealloc(out, (alloc *= 2) * sizeof(*out));
				out[n++] = k;
				w = 0;
			}
			w += cost[order[k]];
		}
		if (n + 1 >= alloc)
			out = xrealloc(out, (alloc *= 2) * sizeof(*out));
	}
	out[n] = b[ngroups];
	free(b);
	*bounds = out;
	return n;
}

int reuse_run(const struct compile_opts *o, const struct source_list *list,
	      struct compile_stats *stats)
{
	static const struct pool_ops ops = {
		.verb = "compile", .fork = pyrt_fork,
		.weight = reuse_weight, .loads = reuse_loads,
		.load_weight = LOAD_COST, .name = reuse_name,
		.unloadable = pyrt_load,
		.start = atomic_catch_signals, .run = reuse_job,
		.pack = reuse_pack, .lost = reuse_lost, .done = reuse_done,
	};
	struct reuse r = { o, list, stats, NULL, NULL, NULL, NULL, 0 };
	size_t failed = stats->failed, ngroups, i;

	r.cost = xmalloc((list->n ? list->n : 1) * sizeof(*r.cost));
	r.compiles = xmalloc(list->n ? list->n : 1);
	for (i = 0; i < list->n; i++) {
		r.cost[i] = source_cost(o, &list->v[i], &r.compiles[i]);
		/* Past a reasonable size, a buffer grows as it is used. */
		if ((uint64_t)list->v[i].st.st_size > r.largest &&
		    list->v[i].st.st_size < (16 << 20))
			r.largest = (size_t)list->v[i].st.st_size;
	}

	r.order = compile_order(list, &r.bounds, &ngroups);
	ngroups = split_kinds(r.compiles, list->n, r.order, &r.bounds, ngroups);
	ngroups = split_groups(r.cost, list->n, r.order, &r.bounds, ngroups,
			       o->jobs);
	if (ngroups) {
		progress_start("compiling", ngroups, !o->quiet);
		pool_run(&ops, &r, ngroups, o->jobs, o->spare);
		progress_end();
	} else {
		pool_spare_stop(o->spare);
	}
	free(r.cost);
	free(r.compiles);
	free(r.order);
	free(r.bounds);
	return stats->failed > failed;
}
