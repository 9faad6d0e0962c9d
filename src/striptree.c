/*
 * striptree.c: stripping trees (see striptree.h).
 *
 * The parent walks the trees (sorted), makes the output directories and
 * symlinks, and hands each file to a worker: a .py file is read,
 * stripped, proven equivalent by compiling both versions (pyrt), and
 * written atomically with its source's mode and times; any other file is
 * copied the same way.  Workers send back their figures and line maps;
 * the parent prints messages in walk order, writes the line map and sets
 * the directories' modes and times last.
 *
 * Nothing is ever written through a symlink: every output directory below
 * the one given is opened with O_NOFOLLOW, and atomic_write() refuses to
 * replace one.  A worker that dies has its temporary file removed by the
 * parent; a whole run killed leaves its files to the next run that
 * writes into those directories.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic.h"
#include "dir.h"
#include "linemap.h"
#include "pool.h"
#include "progress.h"
#include "pyrt.h"
#include "striptree.h"

enum job_kind { JOB_STRIP, JOB_COPY };

/* Job outcomes: the status word a worker returns. */
enum {
	DONE_STRIPPED,		/* written stripped (or unchanged: nothing to strip) */
	DONE_UNCHANGED,		/* invalid or not proven: left as it was */
	DONE_COPIED,
	DONE_FAILED,
};

/*
 * What a worker sends back for a .py file, then, when MAPPED (it was
 * stripped, and not with --keep-lines), its NLINES line numbers.
 */
struct reply {
	uint32_t flags, docstrings, comments, mapped, nlines;
	uint64_t bytes_in, bytes_out, lines_in, lines_out;
};

struct job {
	char *src;		/* the file to read */
	char *rel;		/* its output path, from the output's top */
	enum job_kind kind;
	size_t tree;		/* which PATH it came from */
	off_t size;
	/* Filled in by the parent as results come. */
	int status;
	struct reply rep;
	unsigned *lines;	/* the line map, when stripped */
};

/* An output directory, to get its source's mode and times at the end. */
struct made_dir {
	char *rel;
	struct stat st;
};

struct run {
	const struct strip_tree_opts *o;
	const struct select *sel;
	int outfd;		/* -o: the output directory */
	struct stat outst;
	struct job *jobs;
	size_t njobs, jalloc;
	struct made_dir *dirs;
	size_t ndirs, dalloc;
	struct strip_totals *totals;	/* per tree, and all at [ntrees] */
	size_t ntrees;
	int errors;
};

static struct job *add_job(struct run *r, char *src, char *rel,
			   enum job_kind kind, size_t tree, off_t size)
{
	struct job *job;

	if (r->njobs == r->jalloc) {
		r->jalloc = r->jalloc ? 2 * r->jalloc : 256;
		r->jobs = xrealloc(r->jobs, r->jalloc * sizeof(*r->jobs));
	}
	job = &r->jobs[r->njobs++];
	memset(job, 0, sizeof(*job));
	job->src = src;
	job->rel = rel;
	job->kind = kind;
	job->tree = tree;
	job->size = size;
	return job;
}

/*
 * Open directory REL (components separated by '/', "" or "." for the top) below
 * ROOTFD without following symlinks, creating missing ones with CREATE.
 * Returns the descriptor, or -1 after reporting the error.
 */
static int open_below(int rootfd, const char *root, const char *rel,
		      int create)
{
	char *copy = xstrdup(rel), *p, *slash;
	int fd = dup(rootfd), sub;

	for (p = copy; fd >= 0 && *p; p = slash ? slash + 1 : p + strlen(p)) {
		slash = strchr(p, '/');
		if (slash)
			*slash = '\0';
		sub = openat(fd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
			     O_CLOEXEC);
		if (sub < 0 && errno == ENOENT && create &&
		    mkdirat(fd, p, 0700) == 0)
			sub = openat(fd, p, O_RDONLY | O_DIRECTORY |
				     O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0) {
			if (errno == ELOOP || errno == ENOTDIR)
				error("refusing to write below '%s/%.*s': not a "
				      "directory (or a symlink)", root,
				      (int)(p - copy + strlen(p)), copy);
			else
				error_errno("cannot open directory '%s/%.*s'",
					    root, (int)(p - copy + strlen(p)),
					    copy);
		}
		close(fd);
		fd = sub;
		if (slash)
			*slash = '/';
	}
	free(copy);
	return fd;
}

/* Recreate the symlink NAME of directory FD as REL in the output. */
static void copy_symlink(struct run *r, int fd, const char *path,
			 const char *name, const char *rel)
{
	char target[PATH_MAX + 1], tmp[64];
	char *dir = path_dir(rel);
	ssize_t n;
	int out;

	n = readlinkat(fd, name, target, sizeof(target) - 1);
	if (n < 0) {
		error_errno("cannot read symlink '%s'", path);
		r->errors++;
		goto out;
	}
	target[n] = '\0';
	out = open_below(r->outfd, r->o->outdir, dir, 1);
	if (out < 0) {
		r->errors++;
		goto out;
	}
	atomic_temp_name(tmp, sizeof(tmp), getpid());
	unlinkat(out, tmp, 0);
	if (symlinkat(target, out, tmp) < 0 ||
	    renameat(out, tmp, out, path_base(rel)) < 0) {
		error_errno("cannot make symlink '%s/%s'", r->o->outdir, rel);
		unlinkat(out, tmp, 0);
		r->errors++;
	}
	close(out);
out:
	free(dir);
}

/*
 * Walk directory FD (PATH on this system, LOGICAL as -x sees it) whose
 * output is REL, for tree TREE.
 */
static void walk(struct run *r, int fd, const char *path, const char *logical,
		 const char *rel, size_t tree)
{
	struct dir_list names;
	struct stat st;
	size_t i;

	if (dir_read(fd, &names, DIR_SORT | DIR_TYPES) < 0) {
		error_errno("cannot read directory '%s'", path);
		r->errors++;
		return;
	}
	for (i = 0; i < names.n; i++) {
		const char *name = names.v[i].name;
		char *p, *l, *o;

		if (!strcmp(name, "__pycache__"))
			continue;
		/* In place this is an output directory: a killed run's
		 * leftovers go before anyone writes here. */
		if (r->outfd < 0 && name[0] == '.' && atomic_stale(fd, name, 1))
			continue;
		if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			error_errno("cannot stat '%s/%s'", path, name);
			r->errors++;
			continue;
		}
		p = join_path(path, name);
		l = join_path(logical, name);
		o = join_path(rel, name);
		if (S_ISDIR(st.st_mode)) {
			int sub;

			/* The output may be inside the tree: not its input. */
			if (r->outfd >= 0 && st.st_dev == r->outst.st_dev &&
			    st.st_ino == r->outst.st_ino)
				goto next;
			sub = openat(fd, name, O_RDONLY | O_DIRECTORY |
				     O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0) {
				error_errno("cannot open directory '%s'", p);
				r->errors++;
				goto next;
			}
			if (r->outfd >= 0) {
				int made = open_below(r->outfd, r->o->outdir, o,
						      1);

				if (made < 0) {
					r->errors++;
					close(sub);
					goto next;
				}
				atomic_sweep(made);
				close(made);
				if (r->ndirs == r->dalloc) {
					r->dalloc = 2 * r->dalloc + 16;
					r->dirs = xrealloc(r->dirs, r->dalloc *
							   sizeof(*r->dirs));
				}
				r->dirs[r->ndirs].rel = xstrdup(o);
				r->dirs[r->ndirs++].st = st;
			}
			walk(r, sub, p, l, o, tree);
			close(sub);
		} else if (S_ISREG(st.st_mode)) {
			int py = has_suffix(name, ".py") &&
				 !select_excluded(r->sel, l);

			if (py || r->outfd >= 0) {
				add_job(r, p, o, py ? JOB_STRIP : JOB_COPY,
					tree, st.st_size);
				p = o = NULL;
			}
		} else if (S_ISLNK(st.st_mode)) {
			if (r->outfd >= 0)
				copy_symlink(r, fd, p, name, o);
		} else if (r->outfd >= 0 && !r->o->quiet) {
			warning("'%s' is not a file, directory or symlink: "
				"not copied", p);
		}
next:
		free(p);
		free(l);
		free(o);
	}
	dir_list_release(&names);
}

/* Add the jobs of PATH, tree TREE. */
static void add_path(struct run *r, const char *path, size_t tree)
{
	struct stat st;
	int fd;

	if (lstat(path, &st) < 0) {
		error_errno("cannot access '%s'", path);
		r->errors++;
	} else if (S_ISDIR(st.st_mode)) {
		if (r->outfd >= 0 && st.st_dev == r->outst.st_dev &&
		    st.st_ino == r->outst.st_ino) {
			error("'%s' is the output directory: use --in-place",
			      path);
			r->errors++;
			return;
		}
		fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0) {
			error_errno("cannot open directory '%s'", path);
			r->errors++;
			return;
		}
		walk(r, fd, path, path, "", tree);
		close(fd);
	} else if (S_ISREG(st.st_mode) && has_suffix(path, ".py")) {
		if (!select_excluded(r->sel, path))
			add_job(r, xstrdup(path), xstrdup(path_base(path)),
				JOB_STRIP, tree, st.st_size);
		else if (r->outfd >= 0)
			add_job(r, xstrdup(path), xstrdup(path_base(path)),
				JOB_COPY, tree, st.st_size);
	} else if (S_ISLNK(st.st_mode)) {
		error("'%s' is a symlink: give the file it points to", path);
		r->errors++;
	} else {
		error("'%s' is not a .py file or a directory", path);
		r->errors++;
	}
}

static int read_source(const char *path, struct stat *st, struct buf *b)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK |
		      O_NOFOLLOW);

	if (fd < 0)
		return error_errno("cannot open '%s'", path);
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
		if (S_ISREG(st->st_mode))
			error_errno("cannot stat '%s'", path);
		else
			error("cannot read '%s': not a regular file", path);
		close(fd);
		return -1;
	}
	buf_grow(b, (size_t)st->st_size + 1);
	if (read_fd(fd, b) < 0) {
		error_errno("cannot read '%s'", path);
		close(fd);
		return -1;
	}
	close(fd);
	if (!b->data)
		buf_add(b, "", 0);
	return 0;
}

/*
 * Open the directory JOB's output goes to; *SHOWN (a new string) is its
 * name in messages.  Returns the descriptor, or -1 after reporting why.
 */
static int open_output_dir(const struct run *r, const struct job *job,
			   char **shown)
{
	const char *root = r->outfd >= 0 ? r->o->outdir : NULL;
	char *dir = path_dir(r->outfd >= 0 ? job->rel : job->src);
	int fd;

	*shown = root && strcmp(dir, ".") ? join_path(root, dir) :
		 xstrdup(root ? root : dir);
	if (root)
		fd = open_below(r->outfd, root, dir, 0);
	else if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		error_errno("cannot open directory '%s'", *shown);
	free(dir);
	return fd;
}

/* Write DATA as JOB's output, with ST's mode and times. */
static int write_output(const struct run *r, const struct job *job,
			const struct stat *st, const char *data, size_t len)
{
	char *shown;
	int fd = open_output_dir(r, job, &shown), ret = -1;

	if (fd >= 0) {
		ret = atomic_write_like(fd, shown, path_base(job->rel), data,
					len, st, 0);
		close(fd);
	}
	free(shown);
	return ret;
}

/* Strip, prove and write one .py file; its figures and line map go to
 * RESULT. */
static int strip_one(const struct run *r, const struct job *job,
		     struct buf *result)
{
	const struct strip_tree_opts *o = r->o;
	struct buf src = BUF_INIT, why = BUF_INIT;
	struct strip_result res;
	struct reply rep;
	struct pyrt_unit unit;
	struct stat st;
	const char *data;
	size_t len;
	int status = DONE_STRIPPED, same, v;

	memset(&res, 0, sizeof(res));
	memset(&rep, 0, sizeof(rep));
	if (read_source(job->src, &st, &src) < 0) {
		status = DONE_FAILED;
		goto out;
	}
	data = src.data;
	len = src.len;
	rep.bytes_in = rep.bytes_out = len;
	if (strip_source(src.data, src.len, &o->strip, &res) < 0) {
		if (!o->quiet)
			warning("%s:%zu: cannot strip: %s; left unchanged",
				job->src, res.error_line, res.error);
		status = DONE_UNCHANGED;
		goto write;
	}
	rep.lines_in = rep.lines_out = res.in_lines;
	rep.flags = res.flags;
	same = res.out.len == src.len &&
	       !memcmp(res.out.data ? res.out.data : "", src.data, src.len);
	if (!same && o->verify) {
		int level = (o->strip.what & STRIP_DOCSTRINGS) &&
			    !(res.flags & STRIP_KEPT_DOCSTRINGS) ? 2 : 0;

		unit.path = job->src;
		unit.recorded = job->src;
		unit.source = src.data;
		unit.len = src.len;
		unit.quiet = 1;
		if (pyrt_begin(&unit) < 0) {
			status = DONE_FAILED;
			goto out;
		}
		buf_add(&res.out, "", 0);	/* NUL-terminated */
		v = pyrt_equivalent(&unit, res.out.data, res.out.len, level,
				    &why);
		pyrt_end(&unit);
		if (v != 1) {
			if (!o->quiet && v == -1)
				warning("%s; left unchanged", why.data);
			else if (!o->quiet)
				warning("'%s': stripped code differs (%s): left "
					"unchanged", job->src, why.data ?
					why.data : "no reason given");
			status = DONE_UNCHANGED;
			goto write;
		}
	}
	data = res.out.data ? res.out.data : "";
	len = res.out.len;
	rep.bytes_out = len;
	rep.lines_out = res.nlines;
	rep.docstrings = res.docstrings;
	rep.comments = res.comments;
	if (!same && !o->strip.keep_lines) {
		rep.mapped = 1;
		rep.nlines = (uint32_t)res.nlines;
	}
	if (same && r->outfd < 0)
		goto out;	/* nothing to write in place */
write:
	if ((r->outfd >= 0 || status == DONE_STRIPPED) &&
	    write_output(r, job, &st, data, len) < 0)
		status = DONE_FAILED;
out:
	if (status != DONE_FAILED) {
		buf_add(result, &rep, sizeof(rep));
		if (rep.nlines)
			buf_add(result, res.lines,
				rep.nlines * sizeof(unsigned));
	}
	strip_result_release(&res);
	buf_release(&src);
	buf_release(&why);
	return status;
}

static int copy_one(const struct run *r, const struct job *job)
{
	struct buf b = BUF_INIT;
	struct stat st;
	int status = DONE_COPIED;

	if (read_source(job->src, &st, &b) < 0 ||
	    write_output(r, job, &st, b.data, b.len) < 0)
		status = DONE_FAILED;
	buf_release(&b);
	return status;
}

static int strip_job(void *ctx, size_t j, struct buf *result)
{
	struct run *r = ctx;
	const struct job *job = &r->jobs[j];

	return job->kind == JOB_STRIP ? strip_one(r, job, result) :
	       copy_one(r, job);
}

static uint64_t file_size(void *ctx, size_t j)
{
	return (uint64_t)((struct run *)ctx)->jobs[j].size;
}

static const char *file_path(void *ctx, size_t j)
{
	return ((struct run *)ctx)->jobs[j].src;
}

/* In the parent: the worker died while writing job J. */
static void forget_output_temp(void *ctx, size_t j, pid_t pid)
{
	char *shown;
	int fd = open_output_dir(ctx, &((struct run *)ctx)->jobs[j], &shown);

	/* It can't remove its temporary file any more: do it for it. */
	if (fd >= 0) {
		atomic_forget(fd, pid);
		close(fd);
	}
	free(shown);
}

/* Take what a worker sent back for JOB: its figures and line map. */
static void take_result(struct job *job, const void *data, size_t len)
{
	if (len < sizeof(job->rep))
		return;
	memcpy(&job->rep, data, sizeof(job->rep));
	if (job->rep.mapped &&
	    len == sizeof(job->rep) + job->rep.nlines * sizeof(unsigned)) {
		job->lines = xmalloc(job->rep.nlines * sizeof(unsigned) + 1);
		memcpy(job->lines, (const char *)data + sizeof(job->rep),
		       job->rep.nlines * sizeof(unsigned));
	} else {
		job->rep.mapped = job->rep.nlines = 0;
	}
}

static void count(struct strip_totals *t, const struct job *job)
{
	const struct reply *rep = &job->rep;

	if (job->kind == JOB_COPY) {
		if (job->status == DONE_COPIED)
			t->copied++;
		else
			t->failed++;
		return;
	}
	t->files++;
	switch (job->status) {
	case DONE_STRIPPED:
		t->stripped++;
		break;
	case DONE_UNCHANGED:
		t->unchanged++;
		break;
	default:
		t->failed++;
		return;
	}
	if (rep->flags & STRIP_KEPT_DOCSTRINGS)
		t->kept_doc++;
	t->docstrings += rep->docstrings;
	t->comments += rep->comments;
	t->bytes_in += rep->bytes_in;
	t->bytes_out += rep->bytes_out;
	t->lines_in += rep->lines_in;
	t->lines_out += rep->lines_out;
}

/* In the parent, in walk order: count the file; with -v, its figures. */
static void strip_done(void *ctx, size_t j, int status, const void *result,
		     size_t len)
{
	struct run *r = ctx;
	struct job *job = &r->jobs[j];

	job->status = status == POOL_LOST ? DONE_FAILED : status;
	take_result(job, result, len);
	count(&r->totals[job->tree], job);
	count(&r->totals[r->ntrees], job);
	if (r->o->verbose && job->kind == JOB_STRIP &&
	    job->status != DONE_FAILED) {
		progress_clear();
		printf("%s: %llu -> %llu bytes, %llu -> %llu lines%s\n",
		       job->src,
		       (unsigned long long)job->rep.bytes_in,
		       (unsigned long long)job->rep.bytes_out,
		       (unsigned long long)job->rep.lines_in,
		       (unsigned long long)job->rep.lines_out,
		       job->status == DONE_UNCHANGED ? " (unchanged)" :
		       job->rep.flags & STRIP_KEPT_DOCSTRINGS ?
		       " (names __doc__: docstrings kept)" : "");
	}
}

/* Where tree PATH's files come from, for the map: absolute, or NULL. */
static char *tree_base(const char *path)
{
	struct stat st;
	char *dir, *real;

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return realpath(path, NULL);
	dir = path_dir(path);
	real = realpath(dir, NULL);
	free(dir);
	return real;
}

/*
 * Record the stripped files' lines in the map of each output: -o's top,
 * or (in place) each tree's directory, where an earlier map is composed
 * with this one so that it still leads to the original lines.
 */
static int save_maps(struct run *r, char *const *paths)
{
	struct linemap m;
	size_t t, j, i;
	int ret = 0, loaded;
	char *dir, *file, *base = NULL, *b;

	for (t = 0; t < (r->outfd >= 0 ? 1 : r->ntrees); t++) {
		int any = 0;

		if (r->outfd >= 0)
			dir = xstrdup(r->o->outdir);
		else
			dir = tree_base(paths[t]);
		if (!dir) {
			error_errno("cannot resolve '%s'", paths[t]);
			ret = -1;
			continue;
		}
		memset(&m, 0, sizeof(m));
		file = join_path(dir, LINEMAP_NAME);
		loaded = linemap_load(&m, file);
		free(file);
		if (loaded < 0) {
			linemap_release(&m);
			free(dir);
			ret = -1;
			continue;
		}
		for (j = 0; j < r->njobs; j++) {
			struct job *job = &r->jobs[j];
			const struct linemap_entry *old;

			if (job->kind != JOB_STRIP ||
			    (r->outfd < 0 && job->tree != t) || !job->rep.mapped)
				continue;
			old = r->outfd < 0 ? linemap_find(&m, job->rel) : NULL;
			if (old)
				for (i = 0; i < job->rep.nlines; i++)
					job->lines[i] = linemap_line(old,
								     job->lines[i]);
			linemap_put(&m, job->rel, job->lines, job->rep.nlines);
			any = 1;
		}
		if (r->outfd >= 0) {
			/* One original tree for all, or none named. */
			for (i = 0; i < r->ntrees; i++) {
				b = tree_base(paths[i]);
				if (!i) {
					base = b;
				} else if (!b || !base || strcmp(b, base)) {
					free(b);
					free(base);
					base = NULL;
					break;
				} else {
					free(b);
				}
			}
			if (base)
				linemap_set_source(&m, base);
			free(base);
		}
		if (any && linemap_save(&m, dir) < 0)
			ret = -1;
		linemap_release(&m);
		free(dir);
	}
	return ret;
}

/* Give the output directories their sources' modes and times, deepest
 * first (making a file in a directory changes its times). */
static void finish_dirs(struct run *r)
{
	size_t i;

	for (i = r->ndirs; i-- > 0; ) {
		struct made_dir *d = &r->dirs[i];
		struct timespec times[2] = { d->st.st_atim, d->st.st_mtim };
		int fd = open_below(r->outfd, r->o->outdir, d->rel, 0);

		if (fd < 0) {
			r->errors++;
		} else if (fchmod(fd, d->st.st_mode & 07777) < 0 ||
			   futimens(fd, times) < 0) {
			error_errno("cannot set the mode and times of '%s/%s'",
				    r->o->outdir, d->rel);
			r->errors++;
		}
		if (fd >= 0)
			close(fd);
		free(d->rel);
	}
}

static void print_totals(const char *name, const struct strip_totals *t)
{
	printf("%s\n", name);
	printf("  files      %zu .py: %zu stripped, %zu unchanged, %zu failed; "
	       "%zu other copied\n", t->files, t->stripped, t->unchanged,
	       t->failed, t->copied);
	printf("  bytes      %llu -> %llu (%+.1f%%)\n", t->bytes_in, t->bytes_out,
	       t->bytes_in ? 100.0 * ((double)t->bytes_out - t->bytes_in) /
			     t->bytes_in : 0.0);
	printf("  lines      %llu -> %llu (%+.1f%%)\n", t->lines_in, t->lines_out,
	       t->lines_in ? 100.0 * ((double)t->lines_out - t->lines_in) /
			     t->lines_in : 0.0);
	printf("  removed    %zu docstrings, %zu comments\n", t->docstrings,
	       t->comments);
	if (t->kept_doc)
		printf("  __doc__    %zu named __doc__ and kept their docstrings "
		       "(--force-docstrings strips them)\n", t->kept_doc);
}

/* mkdir -p PATH. */
static int make_dirs(const char *path)
{
	char *p = xstrdup(path), *slash = p;
	int ret = 0;

	while (!ret && slash) {
		slash = strchr(slash + 1, '/');
		if (slash)
			*slash = '\0';
		if (mkdir(p, 0777) < 0 && errno != EEXIST)
			ret = error_errno("cannot make directory '%s'", p);
		if (slash)
			*slash = '/';
	}
	free(p);
	return ret;
}

int strip_tree_run(const struct strip_tree_opts *o, const struct select *sel,
		   char *const *paths, size_t npaths)
{
	static const struct pool_ops ops = {
		.verb = "strip", .fork = pyrt_fork,
		.weight = file_size, .name = file_path,
		.start = atomic_catch_signals, .run = strip_job,
		.lost = forget_output_temp, .done = strip_done,
	};
	struct run r;
	size_t i, bad;
	int ret = 0;

	memset(&r, 0, sizeof(r));
	r.o = o;
	r.sel = sel;
	r.outfd = -1;
	r.ntrees = npaths;
	r.totals = xcalloc(npaths + 1, sizeof(*r.totals));
	if (o->outdir) {
		if (make_dirs(o->outdir) < 0) {
			free(r.totals);
			return 1;
		}
		r.outfd = open(o->outdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (r.outfd < 0 || fstat(r.outfd, &r.outst) < 0) {
			error_errno("cannot open directory '%s'", o->outdir);
			free(r.totals);
			return 1;
		}
		atomic_sweep(r.outfd);
	}
	for (i = 0; i < npaths; i++)
		add_path(&r, paths[i], i);

	if (r.njobs) {
		int need_py = 0;

		for (i = 0; i < r.njobs; i++)
			need_py |= r.jobs[i].kind == JOB_STRIP;
		if (need_py && o->verify && pyrt_init() < 0) {
			r.errors++;
			goto out;
		}
		progress_start("stripping", r.njobs, !o->quiet);
		pool_run(&ops, &r, r.njobs, o->jobs, NULL);
		progress_end();
		if (!o->strip.keep_lines && save_maps(&r, paths) < 0)
			r.errors++;
	}
	if (r.outfd >= 0)
		finish_dirs(&r);

	if (o->stats) {
		for (i = 0; i < npaths; i++)
			print_totals(paths[i], &r.totals[i]);
		if (npaths > 1)
			print_totals("total", &r.totals[npaths]);
	}
	bad = r.totals[npaths].failed +
	      (o->strict ? r.totals[npaths].unchanged : 0);
	ret = bad || r.errors ? 1 : 0;
out:
	for (i = 0; i < r.njobs; i++) {
		free(r.jobs[i].src);
		free(r.jobs[i].rel);
		free(r.jobs[i].lines);
	}
	free(r.jobs);
	free(r.dirs);
	free(r.totals);
	if (r.outfd >= 0)
		close(r.outfd);
	return r.errors ? 1 : ret;
}

int strip_compare(const char *orig, const char *stripped, int level)
{
	struct buf a = BUF_INIT, b = BUF_INIT, why = BUF_INIT;
	struct pyrt_unit unit;
	struct stat st;
	int v = -1;

	if (read_source(orig, &st, &a) < 0 || read_source(stripped, &st, &b) < 0 ||
	    pyrt_init() < 0)
		goto out;
	unit.path = orig;
	unit.recorded = orig;
	unit.source = a.data;
	unit.len = a.len;
	unit.quiet = 1;
	if (pyrt_begin(&unit) < 0)
		goto out;
	buf_add(&b, "", 0);
	v = pyrt_equivalent(&unit, b.data, b.len, level, &why);
	pyrt_end(&unit);
	if (v == 1)
		printf("'%s' and '%s' compile to the same code\n", orig,
		       stripped);
	else if (v == -1)
		error("%s", why.data);
	else
		error("'%s' and '%s' differ: %s", orig, stripped,
		      why.data ? why.data : "no reason given");
out:
	buf_release(&a);
	buf_release(&b);
	buf_release(&why);
	return v == 1 ? 0 : 1;
}
