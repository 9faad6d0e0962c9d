/*
 * timing.c: the runs behind "pyprime time" and "pyprime report": the
 * command line and environment, warm-up, purging and its check, and
 * what each run measured.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imptime.h"
#include "run.h"
#include "timing.h"

extern char **environ;

/* A cold run with more than this of the tree in memory was not cold. */
#define NOT_COLD 0.01

struct argv_builder {
	char **v;
	size_t n;
	size_t alloc;
};

static void push(struct argv_builder *a, const char *s)
{
	if (a->n + 1 >= a->alloc) {
		a->alloc = a->alloc ? 2 * a->alloc : 16;
		a->v = xrealloc(a->v, a->alloc * sizeof(*a->v));
	}
	a->v[a->n++] = s ? xstrdup(s) : NULL;
	a->v[a->n] = NULL;
}

/* PYTHON as a path: a bare name is looked up in PATH, as a shell would. */
static char *find_python(const char *python)
{
	const char *path = getenv("PATH");
	char *copy, *dir, *save = NULL;

	if (strchr(python, '/'))
		return xstrdup(python);
	copy = xstrdup(path ? path : "/usr/bin:/bin");
	for (dir = strtok_r(copy, ":", &save); dir;
	     dir = strtok_r(NULL, ":", &save)) {
		char *cand = join_path(*dir ? dir : ".", python);

		if (access(cand, X_OK) == 0) {
			free(copy);
			return cand;
		}
		free(cand);
	}
	free(copy);
	return xstrdup(python);
}

static char **build_argv(const struct series *s, int verbose)
{
	const struct program *p = s->prog;
	struct argv_builder a = { NULL, 0, 0 };
	char *python;
	size_t i;

	if (s->launcher && !verbose) {
		for (i = 0; s->launcher[i]; i++)
			push(&a, s->launcher[i]);
		goto program;
	}
	python = find_python(p->python);
	push(&a, python);
	free(python);
	if (verbose)
		push(&a, "-v");
	/* the current directory must not shadow the tree being timed */
	if (p->module || p->code)
		push(&a, "-P");
	if (s->no_bytecode)
		push(&a, "-B");
	if (s->optimize)
		push(&a, s->optimize > 1 ? "-OO" : "-O");
	if (s->importtime) {
		push(&a, "-X");
		push(&a, "importtime");
	}
program:
	if (p->module) {
		push(&a, "-m");
		push(&a, p->module);
	} else if (p->code) {
		push(&a, "-c");
		push(&a, p->code);
	} else {
		push(&a, s->script ? s->script : p->script);
	}
	for (i = 0; i < p->nargs; i++)
		push(&a, p->args[i]);
	return a.v;
}

/*
 * pyprime's environment without PYTHON* variables, which would change
 * what is measured (optimisation, bytecode writing, a pycache prefix...),
 * but PYTHONPATH, with the tree first.
 */
static char **build_envp(const struct series *s)
{
	struct argv_builder a = { NULL, 0, 0 };
	const char *old = getenv("PYTHONPATH");
	char **e;

	for (e = environ; *e; e++)
		if (strncmp(*e, "PYTHON", 6))
			push(&a, *e);
	if (s->tree && old && *old) {
		char *v = xasprintf("PYTHONPATH=%s:%s", s->tree, old);

		push(&a, v);
		free(v);
	} else if (s->tree || (old && *old)) {
		char *v = xasprintf("PYTHONPATH=%s", s->tree ? s->tree : old);

		push(&a, v);
		free(v);
	}
	if (!a.v)
		push(&a, NULL);
	return a.v;
}

int series_init(struct series *s)
{
	s->argv = build_argv(s, 0);
	s->envp = build_envp(s);
	s->imptime = s->importtime ? imptime_new() : NULL;
	buf_reset(&s->failure);
	if (s->tree) {
		if (fileset_add_tree(&s->tree_files, s->tree) < 0)
			return -1;
		s->tree_in_ram = cache_on_tmpfs(s->tree);
	}
	if (s->script || s->prog->script)
		fileset_add(&s->tree_files, s->script ? s->script :
			    s->prog->script);
	fileset_uniq(&s->tree_files);
	return 0;
}

void series_release(struct series *s)
{
	free_strings(s->argv);
	free_strings(s->envp);
	fileset_release(&s->tree_files);
	fileset_release(&s->other_files);
	free(s->sample);
	if (s->imptime)
		imptime_free(s->imptime);
	buf_release(&s->failure);
	s->argv = s->envp = NULL;
	s->sample = NULL;
	s->imptime = NULL;
	s->n = s->alloc = 0;
}

static int in_tree(const struct series *s, const char *path)
{
	size_t len;

	if (!s->tree)
		return 0;
	len = strlen(s->tree);
	return !strncmp(path, s->tree, len) && path[len] == '/';
}

static void learn_path(struct series *s, const char *p, size_t len)
{
	char *path = xmalloc(len + 1);
	struct stat st;

	memcpy(path, p, len);
	path[len] = '\0';
	if (path[0] == '/' && !in_tree(s, path) && stat(path, &st) == 0 &&
	    S_ISREG(st.st_mode))
		fileset_add(&s->other_files, path);
	free(path);
}

/*
 * The files named in "python -v" chatter: "# code object from '/p'",
 * "# /p.pyc matches /p.py", "# extension module 'm' loaded from '/p'",
 * "Processing .pth file: '/p'"; and the mappings of /proc/self/maps.
 */
static void learn_from(struct series *s, const char *text, size_t len)
{
	const char *end = text + len, *line, *eol;

	for (line = text; line < end; line = eol + 1) {
		const char *q, *m;

		eol = memchr(line, '\n', end - line);
		if (!eol)
			eol = end;
		for (q = line; (q = memchr(q, '\'', eol - q)); q = m + 1) {
			m = memchr(q + 1, '\'', eol - q - 1);
			if (!m)
				break;
			learn_path(s, q + 1, m - q - 1);
		}
		if (line[0] == '#' && (m = strstr(line, " matches ")) &&
		    m < eol) {
			learn_path(s, line + 2, m - line - 2);
			learn_path(s, m + 9, eol - m - 9);
		}
		/* /proc/self/maps: "addr perms offset dev inode   path" */
		if ((m = memchr(line, '/', eol - line)) && m > line &&
		    m[-1] == ' ' && line[0] != '#')
			learn_path(s, m, eol - m);
	}
}

static int failed(struct series *s, const struct run_result *r,
		  char *const *argv)
{
	char *how = run_describe(r, s->timeout);
	struct buf other = BUF_INIT;
	char *const *a;

	s->failed = 1;
	buf_reset(&s->failure);
	for (a = argv; *a; a++)
		buf_addf(&s->failure, "%s%s", a == argv ? "" : " ", *a);
	buf_addf(&s->failure, ": %s", how);
	free(how);
	if (s->imptime) {
		struct imptime *scratch = imptime_new();

		imptime_add_run(scratch, r->err.data, r->err.len, &other);
		imptime_free(scratch);
	} else if (r->err.len) {
		buf_add(&other, r->err.data, r->err.len);
	}
	if (other.len) {
		buf_adds(&s->failure, "\n");
		buf_add(&s->failure, other.data, other.len);
		if (other.data[other.len - 1] == '\n')
			s->failure.data[--s->failure.len] = '\0';
	}
	buf_release(&other);
	return -1;
}

static int run(struct series *s, char *const *argv, struct run_result *r)
{
	int ret = run_once(argv, s->envp, s->timeout, r);

	if (ret)
		return ret;
	if (r->timed_out || r->status)
		return failed(s, r, argv);
	return 0;
}

static int learn(struct series *s)
{
	struct run_result r = { .err = BUF_INIT };
	char **argv = build_argv(s, 1);
	char *probe[] = { argv[0], "-S", "-c",
		"import sys; sys.stderr.write(open('/proc/self/maps').read())",
		NULL };
	char real[PATH_MAX];
	int ret;

	if (realpath(argv[0], real))
		learn_path(s, real, strlen(real));
	ret = run(s, probe, &r);
	if (!ret)
		learn_from(s, r.err.data, r.err.len);
	if (!ret)
		ret = run(s, argv, &r);
	if (!ret)
		learn_from(s, r.err.data, r.err.len);
	fileset_uniq(&s->other_files);
	free_strings(argv);
	buf_release(&r.err);
	return ret;
}

int series_prepare(struct series *s, unsigned warmup)
{
	struct run_result r = { .err = BUF_INIT };
	int ret = 0;

	if (s->cold && s->purge != PURGE_TREE)
		ret = learn(s);
	while (!ret && warmup--)
		ret = run(s, s->argv, &r);
	buf_release(&r.err);
	return ret;
}

static int purge(struct series *s, struct sample *x)
{
	struct residency res;

	cache_residency(&s->tree_files, &res);
	x->resident_before = cache_fraction(&res);
	if (s->purge == PURGE_SYSTEM) {
		if (cache_drop_system() < 0) {
			s->failed = 1;
			buf_reset(&s->failure);
			buf_adds(&s->failure, "cannot purge the page cache");
			return -1;
		}
	} else {
		cache_evict(&s->tree_files);
		if (s->purge == PURGE_ALL)
			cache_evict(&s->other_files);
	}
	cache_residency(&s->tree_files, &res);
	x->resident = cache_fraction(&res);
	x->not_cold = !s->tree_in_ram && x->resident > NOT_COLD;
	if (s->purge != PURGE_TREE) {
		cache_residency(&s->other_files, &res);
		x->resident_other = cache_fraction(&res);
	}
	return 0;
}

int series_run(struct series *s)
{
	struct run_result r = { .err = BUF_INIT };
	struct sample x = {
		.resident_before = -1, .resident = -1, .resident_other = -1,
	};
	int ret = 0;

	if (s->cold)
		ret = purge(s, &x);
	if (!ret)
		ret = run(s, s->argv, &r);
	if (!ret) {
		x.wall_ms = r.wall_ms;
		x.user_ms = r.user_ms;
		x.sys_ms = r.sys_ms;
		x.maxrss_kb = r.maxrss_kb;
		if (s->n == s->alloc) {
			s->alloc = s->alloc ? 2 * s->alloc : 16;
			s->sample = xrealloc(s->sample,
					     s->alloc * sizeof(*s->sample));
		}
		s->sample[s->n++] = x;
		if (s->imptime)
			imptime_add_run(s->imptime, r.err.data, r.err.len,
					NULL);
	}
	buf_release(&r.err);
	return ret;
}

size_t series_not_cold(const struct series *s)
{
	size_t i, k = 0;

	for (i = 0; i < s->n; i++)
		k += s->sample[i].not_cold;
	return k;
}

double series_max_resident(const struct series *s, int other)
{
	double m = 0;
	size_t i;

	for (i = 0; i < s->n; i++) {
		double x = other ? s->sample[i].resident_other :
			s->sample[i].resident;

		if (x > m)
			m = x;
	}
	return m;
}

char *program_script_in(const struct program *p, const char *tree,
			const char *copy)
{
	char real[PATH_MAX];
	size_t len = strlen(tree);

	if (!p->script || !realpath(p->script, real) ||
	    strncmp(real, tree, len) || real[len] != '/')
		return NULL;
	return join_path(copy, real + len + 1);
}

void program_print(FILE *f, const struct program *p)
{
	size_t i;

	fputs(p->python, f);
	if (p->module)
		fprintf(f, " -m %s", p->module);
	else if (p->code)
		fprintf(f, " -c '%s'", p->code);
	else
		fprintf(f, " %s", p->script);
	for (i = 0; i < p->nargs; i++)
		fprintf(f, " %s", p->args[i]);
}

double *series_values(const struct series *s, enum measure m)
{
	double *v = xcalloc(s->n ? s->n : 1, sizeof(*v));
	size_t i;

	for (i = 0; i < s->n; i++) {
		const struct sample *x = &s->sample[i];

		v[i] = m == M_WALL ? x->wall_ms : m == M_USER ? x->user_ms :
			m == M_SYS ? x->sys_ms : x->maxrss_kb;
	}
	return v;
}

const char *const purge_names[] = { "tree", "all", "system", NULL };

static int count(const char *arg, unsigned long min, unsigned long *out)
{
	return parse_uint(arg, 1000000, out) < 0 || *out < min ? -1 : 0;
}

int timing_option(struct timing_opts *o, int c, const char *arg,
		  const char *usage)
{
	char *end;
	size_t i;

	switch (c) {
	case OPT_PYTHON:
		o->prog.python = arg;
		return 1;
	case 'C':
		if (!realpath(arg, o->tree_buf)) {
			error_errno("cannot find tree '%s'", arg);
			return 2;
		}
		o->tree = o->tree_buf;
		return 1;
	case 'r':
		if (count(arg, 1, &o->runs) < 0)
			return usage_error(usage, "bad run count '%s'", arg);
		return 1;
	case 'w':
		if (count(arg, 0, &o->warmup) < 0)
			return usage_error(usage, "bad warm-up count '%s'", arg);
		return 1;
	case OPT_TOP:
		if (count(arg, 0, &o->top) < 0)
			return usage_error(usage, "bad count '%s'", arg);
		return 1;
	case OPT_PURGE:
		for (i = 0; purge_names[i]; i++)
			if (!strcmp(arg, purge_names[i]))
				break;
		if (!purge_names[i])
			return usage_error(usage, "--purge is tree, all or"
					   " system, not '%s'", arg);
		o->purge = i;
		return 1;
	case OPT_TIMEOUT:
		o->timeout = strtod(arg, &end);
		if (end == arg || *end || !(o->timeout > 0) ||
		    !isfinite(o->timeout))
			return usage_error(usage, "bad time limit '%s'", arg);
		return 1;
	case OPT_JSON:
		o->json = arg;
		return 1;
	case OPT_RAMDISK_DIR:
		o->ramdisk_dir = arg;
		return 1;
	case 'm':
		o->prog.module = arg;
		return 1;
	case 'c':
		o->prog.code = arg;
		return 1;
	case 'q':
		o->quiet = 1;
		return 1;
	}
	return 0;
}

int timing_program(struct timing_opts *o, int argc, char **argv,
		   const char *usage)
{
	if (!o->prog.module && !o->prog.code) {
		if (optind >= argc)
			return usage_error(usage, "no module, code or script"
					   " to run");
		o->prog.script = argv[optind++];
	}
	if (optind < argc && !strcmp(argv[optind], "--"))
		optind++;
	o->prog.args = argv + optind;
	o->prog.nargs = argc - optind;
	return 0;
}
