/*
 * reuse.c: compiling a registered package's sources in record mode
 * (record.h): a pyc is kept only as the package's record vouches for it.
 * The work is cut by directory (a large one into several parts), each
 * part one job of compile.c's pool of workers, which reads and hashes its
 * sources and pycs, rewrites
 * the headers of the bodies it keeps, and compiles the rest: reading and
 * hashing is most of a reinstall's configure, and the workers do it side
 * by side, and start the interpreter only if they compile.
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
 * for S's size and SHA-256 is kept, its header rewritten if it is not
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

static int reuse_job(void *ctx, size_t g, struct buf *result)
{
	/* A worker's, from one job to the next (fewer page faults). */
	static struct buf bufs[2] = { BUF_INIT, BUF_INIT };
	struct reuse *r = ctx;
	const struct source *first = &r->list->v[r->order[r->bounds[g]]];
	char *tdir = target_dir(first->path, r->o->legacy),
	     *sdirpath = path_dir(first->path);
	size_t k;
	int tfd, sdir, swept = 0;

	/* Room for the largest source and its pyc, grown once. */
	if (!bufs[0].cap) {
		buf_grow(&bufs[0], r->largest + 1);
		buf_grow(&bufs[1], 2 * r->largest + 4096);
	}
	open_target(first->path, r->o->legacy, 0, &tfd);
	/* The job's sources share it; each is opened by its name. */
	sdir = open(sdirpath, O_PATH | O_DIRECTORY | O_CLOEXEC);
	for (k = r->bounds[g]; k < r->bounds[g + 1]; k++) {
		struct outcome out;

		reuse_source(r->o, &r->list->v[r->order[k]], sdir, tfd, tdir,
			     &swept, &out, bufs);
		buf_add(result, &out, sizeof(out));
	}
	if (sdir >= 0)
		close(sdir);
	if (tfd >= 0)
		close(tfd);
	free(sdirpath);
	free(tdir);
	return 0;
}

/* The heaviest directories first: their sources' sizes. */
static uint64_t reuse_weight(void *ctx, size_t g)
{
	struct reuse *r = ctx;
	uint64_t w = 0;
	size_t k;

	for (k = r->bounds[g]; k < r->bounds[g + 1]; k++)
		w += (uint64_t)r->list->v[r->order[k]].st.st_size;
	return w;
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
 * Cut the NGROUPS directories of BOUNDS (into LIST, through ORDER) into
 * jobs of at most a quarter of a worker's share of the bytes, so that a
 * directory that holds much of the tree (the standard library's top one:
 * 43%) does not keep one worker busy while the others are done.  Jobs of
 * one directory share it safely: each source's pycs are its job's alone,
 * and atomic.c's temporary files are per process.  Returns the count.
 */
static size_t split_groups(const struct source_list *list, const size_t *order,
			   size_t **bounds, size_t ngroups, unsigned jobs)
{
	size_t *b = *bounds, *out, g, k, n = 0, alloc = ngroups + 1;
	uint64_t total = 0, most, w;

	for (k = 0; k < list->n; k++)
		total += (uint64_t)list->v[k].st.st_size;
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
			w += (uint64_t)list->v[order[k]].st.st_size;
		}
		if (n + 1 >= alloc)
			out = xrealloc(out, (alloc *= 2) * sizeof(*out));
	}
	out[n] = b[ngroups];
	free(b);
	*bounds = out;
	return n;
}

/* Whether some source of LIST will be compiled whatever its pycs hold. */
static int will_compile(const struct compile_opts *o,
			const struct source_list *list)
{
	size_t i;

	if (o->force || !o->reuse || !o->reuse->usable)
		return list->n > 0;
	for (i = 0; i < list->n; i++) {
		const struct record_entry *e =
			record_find(o->reuse, list->v[i].recorded);

		if (!e || e->size != list->v[i].st.st_size)
			return 1;
	}
	return 0;
}

int reuse_run(const struct compile_opts *o, const struct source_list *list,
	      struct compile_stats *stats)
{
	static const struct pool_ops ops = {
		.verb = "compile", .fork = pyrt_fork,
		.weight = reuse_weight, .name = reuse_name,
		.start = atomic_catch_signals, .run = reuse_job,
		.lost = reuse_lost, .done = reuse_done,
	};
	struct reuse r = { o, list, stats, NULL, NULL, 0 };
	size_t failed = stats->failed, ngroups, i;

	/* Past a reasonable size, a buffer grows as it is used. */
	for (i = 0; i < list->n; i++)
		if ((uint64_t)list->v[i].st.st_size > r.largest &&
		    list->v[i].st.st_size < (16 << 20))
			r.largest = (size_t)list->v[i].st.st_size;

	r.order = compile_order(list, &r.bounds, &ngroups);
	ngroups = split_groups(list, r.order, &r.bounds, ngroups, o->jobs);
	/* Sorted once here, rather than in each worker. */
	if (o->reuse)
		record_find(o->reuse, "");
	/* Libraries every worker would load, loaded once. */
	if (ngroups) {
		record_hash_load();
		if (will_compile(o, list))
			pyrt_load();
	}
	if (ngroups) {
		progress_start("compiling", ngroups, !o->quiet);
		pool_run(&ops, &r, ngroups, o->jobs);
		progress_end();
	}
	free(r.order);
	free(r.bounds);
	return stats->failed > failed;
}
