/*
 * report.c: the variants of a tree (source, stripped, pycs, -OO pycs,
 * sourceless) built in a scratch directory by this same program, copied to
 * a RAM disk, and timed warm and cold, interleaved.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dir.h"
#include "progress.h"
#include "report.h"
#include "run.h"
#include "util.h"

const char *const report_variants[NVARIANTS] = {
	"source", "stripped", "pyc", "pyc-O2", "sourceless",
};
const char *const report_states[2] = { "warm", "cold" };
const char *const report_media[2] = { "disk", "ram" };

extern char **environ;

/* Run "pyprime ARGS" (this binary), showing its messages as warnings. */
static int run_self(struct report *r, const char *const *args)
{
	const char *argv[16];
	struct run_result res = { .err = BUF_INIT };
	size_t i;
	int ret;

	argv[0] = r->self;
	for (i = 0; args[i] && i < ARRAY_SIZE(argv) - 2; i++)
		argv[i + 1] = args[i];
	argv[i + 1] = NULL;
	ret = run_once((char *const *)argv, environ, 0, &res);
	if (res.err.len) {
		progress_clear();
		fwrite(res.err.data, 1, res.err.len, stderr);
	}
	if (!ret && res.status) {
		char *how = run_describe(&res, 0);

		warning("'pyprime %s' on '%s': %s", args[0],
			args[i - 1], how);
		free(how);
	}
	buf_release(&res.err);
	return ret;
}

static int remove_sources(const char *path)
{
	struct dir_list list;
	size_t i;
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || dir_read(fd, &list, DIR_TYPES) < 0) {
		if (fd >= 0)
			close(fd);
		return error_errno("cannot read directory '%s'", path);
	}
	for (i = 0; i < list.n && !ret; i++) {
		char *sub = join_path(path, list.v[i].name);

		if (list.v[i].type == DT_DIR)
			ret = remove_sources(sub);
		else if (list.v[i].type == DT_REG &&
			 has_suffix(list.v[i].name, ".py") &&
			 unlinkat(fd, list.v[i].name, 0) < 0)
			ret = error_errno("cannot remove '%s'", sub);
		free(sub);
	}
	dir_list_release(&list);
	close(fd);
	return ret;
}

/* SCRIPT as found in variant V at ROOT (NULL if it is outside the tree). */
static char *script_in(const struct report *r, enum variant v,
		       const char *root)
{
	char *path = program_script_in(&r->o->t.prog, r->o->t.tree, root);

	if (path && v == V_SOURCELESS && has_suffix(path, ".py")) {
		char *pyc = xasprintf("%sc", path);

		free(path);
		path = pyc;
	}
	return path;
}

static int build_variant(struct report *r, enum variant v)
{
	char *dir = join_path(r->scratch, report_variants[v]);
	char *root = join_path(dir, path_base(r->o->t.tree));
	const char *src = r->dir[V_SOURCE][0];
	int ret;

	r->dir[v][0] = root;
	if (mkdir(dir, 0700) < 0) {
		ret = error_errno("cannot make directory '%s'", dir);
		goto out;
	}
	if (v == V_SOURCE || !src) {
		ret = tree_copy(r->o->t.tree, root, TREE_NO_BYTECODE);
		if (v == V_SOURCE)
			goto out;
		src = root;
	} else if (v == V_STRIPPED) {
		const char *args[] = { "strip", "-q", "-o", root, src, NULL };

		ret = run_self(r, args);
		goto out;
	} else {
		ret = tree_copy(src, root, 0);
	}
	if (!ret) {
		const char *level[] = { "compile", "-q", "-O", "2", root, NULL };
		const char *plain[] = { "compile", "-q", root, NULL };
		const char *legacy[] = { "compile", "-q", "-b", root, NULL };

		ret = run_self(r, v == V_PYC_O2 ? level :
			       v == V_SOURCELESS ? legacy : plain);
	}
	if (!ret && v == V_SOURCELESS)
		ret = remove_sources(root);
out:
	if (!ret)
		ret = tree_measure(root, &r->usage[v]);
	r->script[v][0] = script_in(r, v, root);
	free(dir);
	return ret;
}

static int build(struct report *r)
{
	const struct report_opts *o = r->o;
	size_t nv = 0, done = 0;
	int v, ret = 0;

	for (v = 0; v < NVARIANTS; v++)
		nv += (o->variants >> v) & 1;
	progress_start("building variants", nv, !o->t.quiet);
	for (v = 0; v < NVARIANTS && !ret && !run_interrupted(); v++) {
		if (!((o->variants >> v) & 1))
			continue;
		ret = build_variant(r, v);
		progress_update(++done);
	}
	progress_end();
	if (ret || run_interrupted() || !((o->media >> 1) & 1))
		return ret;

	if (ramdisk_open(&r->rd, o->t.ramdisk_dir, r->scratch) < 0)
		return -1;
	r->have_rd = 1;
	for (v = 0; v < NVARIANTS && !ret && !run_interrupted(); v++) {
		char *dir;

		if (!((o->variants >> v) & 1))
			continue;
		dir = join_path(r->rd.dir, report_variants[v]);
		r->dir[v][1] = join_path(dir, path_base(o->t.tree));
		if (mkdir(dir, 0700) < 0)
			ret = error_errno("cannot make directory '%s'", dir);
		else
			ret = tree_copy(r->dir[v][0], r->dir[v][1], 0);
		r->script[v][1] = script_in(r, v, r->dir[v][1]);
		free(dir);
	}
	return ret;
}

static void series_for(const struct report *r, struct series *s,
		       enum variant v, int medium)
{
	const struct report_opts *o = r->o;

	s->prog = &o->t.prog;
	s->tree = r->dir[v][medium];
	s->script = r->script[v][medium];
	s->no_bytecode = 1;	/* the runs never change the trees */
	s->optimize = v == V_PYC_O2 ? 2 : 0;
	s->purge = o->t.purge;
	s->timeout = o->t.timeout;
}

static void cell_failed(struct report *r, struct report_cell *c)
{
	progress_clear();
	error("%s, %s, %s: the program failed: %s", report_variants[c->v],
	      report_states[c->state], report_media[c->medium],
	      c->s.failure.data);
	c->done = 0;
	r->failed = 1;
}

static void make_cells(struct report *r)
{
	const struct report_opts *o = r->o;
	int v, st, m;

	r->cell = xcalloc(NVARIANTS * 4, sizeof(*r->cell));
	for (v = 0; v < NVARIANTS; v++)
		for (m = 0; m < 2; m++)
			for (st = 0; st < 2; st++) {
				struct report_cell *c = &r->cell[r->ncells];

				if (!((o->variants >> v) & 1) ||
				    !((o->media >> m) & 1) ||
				    !((o->states >> st) & 1))
					continue;
				c->v = v;
				c->state = st;
				c->medium = m;
				series_for(r, &c->s, v, m);
				c->s.cold = st;
				r->ncells++;
			}
}

/*
 * Every cell's runs, round-robin: round i runs each cell once, starting
 * one further along each round, so that drift and order touch all alike.
 */
static int measure(struct report *r)
{
	const struct report_opts *o = r->o;
	size_t i, k, total = o->t.runs * r->ncells, done = 0;
	int ret = 0;

	progress_start("warming up", r->ncells, !o->t.quiet);
	for (k = 0; k < r->ncells && ret != RUN_INTERRUPTED; k++) {
		struct report_cell *c = &r->cell[k];

		ret = series_init(&c->s);
		if (!ret)
			ret = series_prepare(&c->s, o->t.warmup);
		c->done = !ret;
		if (ret == -1 && c->s.failed)
			cell_failed(r, c);
		else if (ret == -1)
			r->failed = 1;
		progress_update(k + 1);
	}
	progress_end();
	if (ret == RUN_INTERRUPTED)
		return ret;
	progress_start("timing", total, !o->t.quiet);
	for (i = 0; i < o->t.runs; i++) {
		for (k = 0; k < r->ncells; k++) {
			struct report_cell *c = &r->cell[(i + k) % r->ncells];

			if (!c->done)
				continue;
			ret = series_run(&c->s);
			if (ret == RUN_INTERRUPTED)
				return ret;
			if (ret)
				cell_failed(r, c);
			progress_update(++done);
		}
	}
	progress_end();
	for (k = 0; k < r->ncells; k++) {
		struct report_cell *c = &r->cell[k];
		double *v = series_values(&c->s, M_WALL);

		stats_compute(v, c->s.n, &c->wall);
		free(v);
	}
	return 0;
}

/* -X importtime runs of each variant, warm, from disk. */
static int measure_imports(struct report *r)
{
	const struct report_opts *o = r->o;
	size_t i, total = 0, done = 0;
	int v, ret = 0;

	for (v = 0; v < NVARIANTS; v++) {
		struct series *s = &r->imports[v];

		if (!((o->variants >> v) & 1))
			continue;
		series_for(r, s, v, 0);
		s->importtime = 1;
		if (series_init(s) < 0)
			return -1;
		total += o->t.runs;
	}
	progress_start("timing imports", total, !o->t.quiet);
	for (i = 0; i < o->t.runs; i++)
		for (v = 0; v < NVARIANTS; v++) {
			struct series *s = &r->imports[v];

			if (!s->argv || s->failed)
				continue;
			ret = series_run(s);
			if (ret == RUN_INTERRUPTED)
				return ret;
			progress_update(++done);
		}
	progress_end();
	return 0;
}

int report_measure(struct report *r, const struct report_opts *o)
{
	char self[PATH_MAX];
	ssize_t n;
	int ret;

	memset(r, 0, sizeof(*r));
	r->o = o;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		return error_errno("cannot find this program");
	self[n] = '\0';
	r->self = xstrdup(self);
	if (realpath(o->scratch, self)) {
		size_t len = strlen(o->t.tree);

		if (!strncmp(self, o->t.tree, len) &&
		    (self[len] == '/' || !self[len]))
			return error("the scratch directory '%s' is inside the"
				     " tree '%s'", o->scratch, o->t.tree);
	}
	run_catch_signals();
	r->scratch = xasprintf("%s/pyprime-report.XXXXXX", o->scratch);
	if (!mkdtemp(r->scratch)) {
		error_errno("cannot make a directory in '%s'", o->scratch);
		free(r->scratch);
		r->scratch = NULL;
		return -1;
	}
	envinfo_gather(&r->env, r->scratch, o->t.prog.python);
	ret = build(r);
	if (ret || run_interrupted())
		goto out;
	make_cells(r);
	ret = measure(r);
	if (!ret && o->t.top)
		ret = measure_imports(r);
out:
	progress_end();
	return ret;
}

void report_release(struct report *r)
{
	size_t k;
	int v, m;

	for (k = 0; k < r->ncells; k++)
		series_release(&r->cell[k].s);
	free(r->cell);
	for (v = 0; v < NVARIANTS; v++) {
		series_release(&r->imports[v]);
		for (m = 0; m < 2; m++) {
			free(r->dir[v][m]);
			free(r->script[v][m]);
		}
	}
	if (r->have_rd)
		ramdisk_close(&r->rd);
	if (r->scratch) {
		tree_remove(r->scratch);
		free(r->scratch);
	}
	free(r->self);
	envinfo_release(&r->env);
}
