/*
 * cmd-report.c: "pyprime report": build a tree's variants (source,
 * stripped, pycs, -OO pycs, sourceless) and time each warm and cold, on
 * disk and on a RAM disk, interleaved.
 */
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "dir.h"
#include "envinfo.h"
#include "imptime.h"
#include "output.h"
#include "progress.h"
#include "ramdisk.h"
#include "run.h"
#include "stats.h"
#include "svg.h"
#include "timing.h"
#include "tree.h"
#include "util.h"

static const char usage[] =
	"usage: pyprime report [-q] [--python path] -C dir [-r runs] [-w runs]\n"
	"                      [--variants list] [--states list] [--media list]\n"
	"                      [--purge tree|all|system] [--ramdisk-dir dir]\n"
	"                      [--scratch dir] [--top n] [--timeout seconds]\n"
	"                      [--json file] [--csv file] [--markdown]\n"
	"                      [--svg file] (-m module | script) [--] [args...]\n";

static const char help[] =
	"\n"
	"Build the variants of an application tree in a scratch directory and\n"
	"time the program's start with each, warm and cold, from disk and from\n"
	"a RAM disk; print medians, sizes and speed-ups, then the slowest\n"
	"imports.\n"
	"\n"
	"      --python path         the interpreter (default /usr/bin/python3)\n"
	"  -C, --tree dir            the application tree\n"
	"  -r, --runs runs           counted runs of each variant (default 10)\n"
	"  -w, --warmup runs         uncounted runs first (default 1)\n"
	"      --variants list       of source, stripped, pyc, pyc-O2, sourceless\n"
	"                            (default: all)\n"
	"      --states list         of warm, cold (default: both)\n"
	"      --media list          of disk, ram (default: both)\n"
	"      --purge what          before a cold run: tree, all (default) or\n"
	"                            system, as for 'pyprime time'\n"
	"      --ramdisk-dir dir     put the RAM disk copies in dir\n"
	"      --scratch dir         build the variants in dir (default /var/tmp)\n"
	"      --top n               slowest imports to list (default 10; 0: none)\n"
	"      --timeout seconds     kill a run that takes longer\n"
	"      --json file           every figure as JSON ('-': stdout)\n"
	"      --csv file            one line per variant, state and medium\n"
	"      --markdown            print the tables as Markdown\n"
	"      --svg file            a bar chart of the medians\n"
	"  -q, --quiet               no progress\n"
	"  -h, --help                show this help\n";

enum {
	OPT_VARIANTS = OPT_TIMING_END, OPT_STATES, OPT_MEDIA, OPT_SCRATCH,
	OPT_CSV, OPT_MARKDOWN, OPT_SVG,
};

static const struct option longopts[] = {
	{ "python", required_argument, NULL, OPT_PYTHON },
	{ "tree", required_argument, NULL, 'C' },
	{ "runs", required_argument, NULL, 'r' },
	{ "warmup", required_argument, NULL, 'w' },
	{ "variants", required_argument, NULL, OPT_VARIANTS },
	{ "states", required_argument, NULL, OPT_STATES },
	{ "media", required_argument, NULL, OPT_MEDIA },
	{ "purge", required_argument, NULL, OPT_PURGE },
	{ "ramdisk-dir", required_argument, NULL, OPT_RAMDISK_DIR },
	{ "scratch", required_argument, NULL, OPT_SCRATCH },
	{ "top", required_argument, NULL, OPT_TOP },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "json", required_argument, NULL, OPT_JSON },
	{ "csv", required_argument, NULL, OPT_CSV },
	{ "markdown", no_argument, NULL, OPT_MARKDOWN },
	{ "svg", required_argument, NULL, OPT_SVG },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

enum variant { V_SOURCE, V_STRIPPED, V_PYC, V_PYC_O2, V_SOURCELESS, NVARIANTS };
static const char *const variant_names[] = {
	"source", "stripped", "pyc", "pyc-O2", "sourceless",
};
static const char *const state_names[] = { "warm", "cold" };
static const char *const medium_names[] = { "disk", "ram" };
static const char *const medium_labels[] = { "disk", "RAM" };

struct report_opts {
	struct timing_opts t;
	unsigned variants, states, media;	/* bit sets */
	const char *scratch;
	const char *csv, *svg;
	int markdown;
};

struct cell {
	enum variant v;
	int state, medium;
	struct series s;
	struct stats wall;
	int done;		/* prepared and not failed */
};

struct report {
	const struct report_opts *o;
	char *self;		/* this program, to build the variants */
	char *scratch;
	struct ramdisk rd;
	int have_rd;
	char *dir[NVARIANTS][2];	/* variant trees, by medium */
	char *script[NVARIANTS][2];
	struct tree_usage usage[NVARIANTS];
	struct cell *cell;
	size_t ncells;
	struct series imports[NVARIANTS];
	int failed;
	struct envinfo env;
};

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
	char *dir = join_path(r->scratch, variant_names[v]);
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
		dir = join_path(r->rd.dir, variant_names[v]);
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

static void cell_failed(struct report *r, struct cell *c)
{
	progress_clear();
	error("%s, %s, %s: the program failed: %s", variant_names[c->v],
	      state_names[c->state], medium_names[c->medium],
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
				struct cell *c = &r->cell[r->ncells];

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
		struct cell *c = &r->cell[k];

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
			struct cell *c = &r->cell[(i + k) % r->ncells];

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
		struct cell *c = &r->cell[k];
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

static const struct cell *find(const struct report *r, enum variant v,
			       int state, int medium)
{
	size_t k;

	for (k = 0; k < r->ncells; k++)
		if (r->cell[k].v == v && r->cell[k].state == state &&
		    r->cell[k].medium == medium)
			return &r->cell[k];
	return NULL;
}

static double median_of(const struct cell *c)
{
	return c && c->done && c->s.n ? c->wall.median : NAN;
}

/* The source variant's median over this one's, in the same column. */
static double speedup(const struct report *r, const struct cell *c)
{
	const struct cell *base = find(r, V_SOURCE, c->state, c->medium);

	return median_of(base) / median_of(c);
}

static void format_size(char *out, size_t size, double bytes)
{
	if (bytes >= 1 << 20)
		snprintf(out, size, "%.1f MB", bytes / (1 << 20));
	else if (bytes < 1024)
		snprintf(out, size, "%.0f B", bytes);
	else
		snprintf(out, size, "%.0f kB", bytes / 1024);
}

static void print_environment(FILE *f, const struct report *r, int md)
{
	const struct envinfo *e = &r->env;
	const char *b = md ? "- " : "  ";

	fprintf(f, "%skernel: %s\n", b, e->kernel);
	fprintf(f, "%sCPU: %s, %ld online, governor %s\n", b, e->cpu, e->cpus,
		e->governor);
	fprintf(f, "%sscratch: %s on %s (%s, rotational: %s)\n", b, r->scratch,
		e->device, e->fs, e->rotational);
	if (r->have_rd)
		fprintf(f, "%sRAM disk: %s (%s); tmpfs pages can't be evicted,"
			" so a cold RAM run purges only the rest\n", b,
			r->rd.dir, r->rd.kind);
	fprintf(f, "%sPython: %s\n", b, e->python);
	if ((r->o->variants >> V_PYC_O2) & 1 && !e->stdlib_opt2)
		fprintf(f, "%snote: pyc-O2 runs under -OO, and this Python's"
			" stdlib has no -OO pycs: the stdlib modules it imports"
			" are compiled on every run\n", b);
	fprintf(f, "%spyprime: %s\n", b, PYPRIME_VERSION);
}

/* The columns: (state, medium) pairs measured, disk first. */
static size_t columns(const struct report_opts *o, int *state, int *medium)
{
	size_t n = 0;
	int m, st;

	for (m = 0; m < 2; m++)
		for (st = 0; st < 2; st++)
			if (((o->media >> m) & 1) && ((o->states >> st) & 1)) {
				state[n] = st;
				medium[n++] = m;
			}
	return n;
}

/* The head of a table with a column per (STATE, MEDIUM), and SIZES. */
static void table_head(FILE *f, int md, const int *state, const int *medium,
		       size_t nc, int sizes)
{
	const char *sep = md ? " | " : "  ";
	char label[32];
	size_t j;

	fprintf(f, md ? "| %-10s" : "  %-10s", "variant");
	for (j = 0; j < nc; j++) {
		snprintf(label, sizeof(label), "%s %s", medium_labels[medium[j]],
			 state_names[state[j]]);
		fprintf(f, "%s%10s", sep, label);
	}
	if (sizes)
		fprintf(f, "%s%9s%s%8s", sep, "size", sep, "files");
	fputs(md ? " |\n" : "\n", f);
	if (md) {
		fputs("|:-----------", f);
		for (j = 0; j < nc + (sizes ? 2 : 0); j++)
			fputs("|-----------:", f);
		fputs("|\n", f);
	}
}

static void print_tables(FILE *f, const struct report *r, int md)
{
	const struct report_opts *o = r->o;
	int state[4], medium[4], v;
	size_t nc = columns(o, state, medium), j;
	char size[32];
	const char *sep = md ? " | " : "  ";

	fprintf(f, md ? "## Start-up time, median of %lu runs (ms)\n\n" :
		"start-up time, median of %lu runs (ms)\n\n", o->t.runs);
	table_head(f, md, state, medium, nc, 1);
	for (v = 0; v < NVARIANTS; v++) {
		if (!((o->variants >> v) & 1))
			continue;
		fprintf(f, md ? "| %-10s" : "  %-10s", variant_names[v]);
		for (j = 0; j < nc; j++) {
			const struct cell *c = find(r, v, state[j], medium[j]);
			int flag = c && c->done && series_not_cold(&c->s);

			fputs(sep, f);
			print_ms(f, flag ? 9 : 10, median_of(c));
			if (flag)
				fputc('*', f);
		}
		format_size(size, sizeof(size), r->usage[v].bytes);
		fprintf(f, "%s%9s%s%8llu%s\n", sep, size, sep,
			(unsigned long long)r->usage[v].files, md ? " |" : "");
	}

	fprintf(f, md ? "\n## Speed-up against source\n\n" :
		"\nspeed-up against source (its median over the variant's)\n\n");
	table_head(f, md, state, medium, nc, 0);
	for (v = 0; v < NVARIANTS; v++) {
		if (!((o->variants >> v) & 1))
			continue;
		fprintf(f, md ? "| %-10s" : "  %-10s", variant_names[v]);
		for (j = 0; j < nc; j++) {
			const struct cell *c = find(r, v, state[j], medium[j]);
			double x = c ? speedup(r, c) : NAN;

			if (isnan(x))
				fprintf(f, "%s%10s", sep, "-");
			else
				fprintf(f, "%s%9.2fx", sep, x);
		}
		fputs(md ? " |\n" : "\n", f);
	}
}

static void print_statistics(FILE *f, const struct report *r, int md)
{
	size_t k, bad = 0;

	fprintf(f, md ? "\n## Statistics (wall time, ms)\n\n"
		"| variant | state | medium | runs | median | min | max | mean |"
		" sd | MAD | outliers | resident |\n"
		"|:--|:--|:--|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n" :
		"\nstatistics (wall time, ms)\n\n"
		"  %-10s %-5s %-6s %4s %8s %8s %8s %8s %7s %7s %4s %9s\n",
		"variant", "state", "medium", "runs", "median", "min", "max",
		"mean", "sd", "MAD", "out", "resident");
	for (k = 0; k < r->ncells; k++) {
		const struct cell *c = &r->cell[k];
		const struct stats *s = &c->wall;
		char res[32] = "-";

		if (!c->done) {
			fprintf(f, md ? "| %s | %s | %s | failed |||||||||\n" :
				"  %-10s %-5s %-6s failed\n",
				variant_names[c->v], state_names[c->state],
				medium_names[c->medium]);
			continue;
		}
		if (c->state && c->s.tree_in_ram)
			snprintf(res, sizeof(res), "tmpfs");
		else if (c->state)
			snprintf(res, sizeof(res), "%.1f%%%s",
				 100 * series_max_resident(&c->s, 0),
				 series_not_cold(&c->s) ? "*" : "");
		bad += series_not_cold(&c->s);
		fprintf(f, md ? "| %s | %s | %s | %zu |" : "  %-10s %-5s %-6s %4zu",
			variant_names[c->v], state_names[c->state],
			medium_names[c->medium], s->n);
		print_ms(f, md ? 0 : 9, s->median);
		fputs(md ? " |" : "", f);
		print_ms(f, md ? 0 : 9, s->min);
		fputs(md ? " |" : "", f);
		print_ms(f, md ? 0 : 9, s->max);
		fputs(md ? " |" : "", f);
		print_ms(f, md ? 0 : 9, s->mean);
		fputs(md ? " |" : "", f);
		print_ms(f, md ? 0 : 8, s->sd);
		fputs(md ? " |" : "", f);
		print_ms(f, md ? 0 : 8, s->mad);
		fprintf(f, md ? " | %zu | %s |\n" : " %4zu %9s\n", s->outliers,
			res);
	}
	fprintf(f, "\n%sresident: the largest part of the tree still in memory"
		" after a purge\n", md ? "" : "  ");
	if (bad)
		fprintf(f, "%s* NOT COLD: %zu cold runs found more than 1%% of"
			" the tree in memory\n", md ? "" : "  ", bad);
}

static void print_imports(FILE *f, const struct report *r, int md)
{
	const struct report_opts *o = r->o;
	struct imptime_row *rows[NVARIANTS] = { NULL };
	size_t n[NVARIANTS] = { 0 }, i, j;
	int v, first = -1;

	for (v = 0; v < NVARIANTS; v++)
		if (r->imports[v].imptime && !r->imports[v].failed) {
			rows[v] = imptime_rows(r->imports[v].imptime, &n[v]);
			if (first < 0)
				first = v;
		}
	if (first < 0)
		return;
	fprintf(f, md ? "\n## Slowest imports (cumulative ms, median of %lu"
		" warm runs, -X importtime)\n\n| %s" :
		"\nslowest imports (cumulative ms, median of %lu warm runs,"
		" -X importtime)\n\n  %-32s", o->t.runs, "module");
	for (v = 0; v < NVARIANTS; v++)
		if (rows[v])
			fprintf(f, md ? " | %s" : " %10s", variant_names[v]);
	fputs(md ? " |\n|:--" : "\n", f);
	for (v = 0; md && v < NVARIANTS; v++)
		if (rows[v])
			fputs("|--:", f);
	fputs(md ? "|\n" : "", f);
	for (i = 0; i < n[first] && i < o->t.top; i++) {
		const char *name = rows[first][i].module;

		fprintf(f, md ? "| %s" : "  %-32s", name);
		for (v = 0; v < NVARIANTS; v++) {
			double x = NAN;

			if (!rows[v])
				continue;
			for (j = 0; j < n[v]; j++)
				if (!strcmp(rows[v][j].module, name))
					x = rows[v][j].cumulative_us / 1000;
			fputs(md ? " | " : " ", f);
			print_ms(f, md ? 0 : 10, x);
		}
		fputs(md ? " |\n" : "\n", f);
	}
	for (v = 0; v < NVARIANTS; v++)
		free(rows[v]);
}

static void print_report(FILE *f, const struct report *r, int md)
{
	fprintf(f, md ? "# pyprime report: `" : "pyprime report: ");
	program_print(f, &r->o->t.prog);
	fprintf(f, md ? "`\n\n" : "\n");
	fprintf(f, md ? "- tree: `%s`\n- %lu runs per cell after %lu warm-up,"
		" interleaved; cold: --purge %s\n" :
		"  tree: %s\n  %lu runs per cell after %lu warm-up, interleaved;"
		" cold: --purge %s\n", r->o->t.tree, r->o->t.runs, r->o->t.warmup,
		purge_names[r->o->t.purge]);
	print_environment(f, r, md);
	fputc('\n', f);
	print_tables(f, r, md);
	print_statistics(f, r, md);
	print_imports(f, r, md);
}

static const char *const measure_keys[] = { "wall_ms", "user_ms", "sys_ms",
					    "maxrss_kb" };

static void json_env(FILE *f, const struct report *r)
{
	const struct envinfo *e = &r->env;

	fputs("  \"environment\": {\"kernel\": ", f);
	json_string(f, e->kernel);
	fputs(", \"cpu\": ", f);
	json_string(f, e->cpu);
	fprintf(f, ", \"cpus\": %ld, \"governor\": ", e->cpus);
	json_string(f, e->governor);
	fputs(", \"scratch\": ", f);
	json_string(f, r->scratch);
	fputs(", \"filesystem\": ", f);
	json_string(f, e->fs);
	fputs(", \"device\": ", f);
	json_string(f, e->device);
	fputs(", \"rotational\": ", f);
	json_string(f, e->rotational);
	fputs(", \"ramdisk\": ", f);
	if (r->have_rd)
		json_string(f, r->rd.kind);
	else
		fputs("null", f);
	fputs(", \"python\": ", f);
	json_string(f, e->python);
	fprintf(f, ", \"stdlib_opt2_pycs\": %s", e->stdlib_opt2 ? "true" :
		"false");
	fputs(", \"pyprime\": ", f);
	json_string(f, PYPRIME_VERSION);
	fputs("},\n", f);
}

static void write_json(FILE *f, const struct report *r)
{
	const struct report_opts *o = r->o;
	size_t k, i, m;
	int v, any = 0;

	fputs("{\n  \"command\": [", f);
	for (k = 0; r->cell && k < r->ncells; k++)
		if (r->cell[k].s.argv) {
			for (i = 0; r->cell[k].s.argv[i]; i++) {
				fputs(i ? ", " : "", f);
				json_string(f, r->cell[k].s.argv[i]);
			}
			break;
		}
	fputs("],\n  \"tree\": ", f);
	json_string(f, o->t.tree);
	fprintf(f, ",\n  \"runs\": %lu,\n  \"warmup\": %lu,\n  \"purge\": "
		"\"%s\",\n", o->t.runs, o->t.warmup, purge_names[o->t.purge]);
	json_env(f, r);
	fputs("  \"variants\": [", f);
	for (v = 0; v < NVARIANTS; v++) {
		if (!((o->variants >> v) & 1))
			continue;
		fprintf(f, "%s\n    {\"name\": \"%s\", \"files\": %llu,"
			" \"bytes\": %llu, \"disk_bytes\": %llu}", any ? "," : "",
			variant_names[v],
			(unsigned long long)r->usage[v].files,
			(unsigned long long)r->usage[v].bytes,
			(unsigned long long)r->usage[v].disk);
		any = 1;
	}
	fputs("\n  ],\n  \"cells\": [", f);
	for (k = 0; k < r->ncells; k++) {
		const struct cell *c = &r->cell[k];
		double x = speedup(r, c);

		fprintf(f, "%s\n    {\"variant\": \"%s\", \"state\": \"%s\","
			" \"medium\": \"%s\", \"failed\": ", k ? "," : "",
			variant_names[c->v], state_names[c->state],
			medium_names[c->medium]);
		if (c->done)
			fputs("null", f);
		else
			json_string(f, c->s.failed ? c->s.failure.data :
				    "not run");
		fprintf(f, ", \"runs\": %zu, \"not_cold\": %zu",
			c->s.n, series_not_cold(&c->s));
		if (c->state)
			fprintf(f, ", \"resident_max\": %.4f",
				series_max_resident(&c->s, 0));
		fputs(", \"speedup\": ", f);
		if (isfinite(x))
			fprintf(f, "%.6g", x);
		else
			fputs("null", f);
		for (m = 0; m < ARRAY_SIZE(measure_keys); m++) {
			double *val = series_values(&c->s, m);
			struct stats st;

			stats_compute(val, c->s.n, &st);
			fprintf(f, ",\n     \"%s\": ", measure_keys[m]);
			json_stats(f, &st);
			free(val);
		}
		fputs(",\n     \"samples_ms\": [", f);
		for (i = 0; i < c->s.n; i++)
			fprintf(f, "%s%.4f", i ? ", " : "",
				c->s.sample[i].wall_ms);
		fputs("],\n     \"outliers_ms\": [", f);
		for (i = 0, any = 0; i < c->s.n; i++)
			if (stats_outlier(&c->wall, c->s.sample[i].wall_ms))
				fprintf(f, "%s%.4f", any++ ? ", " : "",
					c->s.sample[i].wall_ms);
		fputs("]}", f);
	}
	fputs("\n  ],\n  \"imports\": {", f);
	any = 0;
	for (v = 0; v < NVARIANTS; v++) {
		struct imptime_row *rows;
		size_t n;

		if (!r->imports[v].imptime || r->imports[v].failed)
			continue;
		rows = imptime_rows(r->imports[v].imptime, &n);
		fprintf(f, "%s\n    \"%s\": [", any ? "," : "", variant_names[v]);
		for (i = 0; i < n; i++) {
			fputs(i ? ",\n      {\"module\": " :
			      "\n      {\"module\": ", f);
			json_string(f, rows[i].module);
			fprintf(f, ", \"runs\": %zu, \"self_us\": %.1f,"
				" \"cumulative_us\": %.1f}", rows[i].runs,
				rows[i].self_us, rows[i].cumulative_us);
		}
		fputs("]", f);
		free(rows);
		any = 1;
	}
	fputs(any ? "\n  }\n}\n" : "}\n}\n", f);
}

static void write_csv(FILE *f, const struct report *r)
{
	size_t k;

	fputs("variant,state,medium,runs,median_ms,min_ms,max_ms,mean_ms,"
	      "sd_ms,mad_ms,outliers,not_cold,speedup,user_ms,sys_ms,"
	      "maxrss_kb,disk_bytes\n", f);
	for (k = 0; k < r->ncells; k++) {
		const struct cell *c = &r->cell[k];
		struct stats st[ARRAY_SIZE(measure_keys)];
		double x = speedup(r, c);
		size_t m;

		if (!c->done)
			continue;
		for (m = 0; m < ARRAY_SIZE(measure_keys); m++) {
			double *val = series_values(&c->s, m);

			stats_compute(val, c->s.n, &st[m]);
			free(val);
		}
		fprintf(f, "%s,%s,%s,%zu,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%zu,%zu,",
			variant_names[c->v], state_names[c->state],
			medium_names[c->medium], st[0].n, st[0].median,
			st[0].min, st[0].max, st[0].mean, st[0].sd, st[0].mad,
			st[0].outliers, series_not_cold(&c->s));
		if (isfinite(x))
			fprintf(f, "%.6g", x);
		fprintf(f, ",%.6g,%.6g,%.6g,%llu\n", st[1].median, st[2].median,
			st[3].median, (unsigned long long)r->usage[c->v].disk);
	}
}

static int write_svg(FILE *f, const struct report *r)
{
	const struct report_opts *o = r->o;
	const char *groups[NVARIANTS], *series[4];
	char labels[4][32], sub[256];
	double value[NVARIANTS * 4], lo[NVARIANTS * 4], hi[NVARIANTS * 4];
	int state[4], medium[4], v;
	size_t nc = columns(o, state, medium), ng = 0, j;
	struct chart c = { 0 };

	for (j = 0; j < nc; j++) {
		snprintf(labels[j], sizeof(labels[j]), "%s %s",
			 medium_labels[medium[j]], state_names[state[j]]);
		series[j] = labels[j];
	}
	for (v = 0; v < NVARIANTS; v++) {
		if (!((o->variants >> v) & 1))
			continue;
		for (j = 0; j < nc; j++) {
			const struct cell *cl = find(r, v, state[j], medium[j]);
			int ok = cl && cl->done && cl->s.n;

			value[ng * nc + j] = ok ? cl->wall.median : NAN;
			lo[ng * nc + j] = ok ? cl->wall.min : NAN;
			hi[ng * nc + j] = ok ? cl->wall.max : NAN;
		}
		groups[ng++] = variant_names[v];
	}
	snprintf(sub, sizeof(sub), "median of %lu runs, whiskers min to max;"
		 " Python %.*s; %ld CPUs; %s", o->t.runs,
		 (int)strcspn(r->env.python, " "), r->env.python, r->env.cpus,
		 r->env.cpu);
	c.title = "Start-up time by variant";
	c.subtitle = sub;
	c.unit = "ms";
	c.axis = "start-up time";
	c.ngroups = ng;
	c.groups = groups;
	c.nseries = nc;
	c.series = series;
	c.value = value;
	c.lo = lo;
	c.hi = hi;
	return svg_write(f, &c);
}

static int write_outputs(const struct report *r)
{
	const struct report_opts *o = r->o;
	int ret = 0, close;
	FILE *f;

	if (!(o->t.json && !strcmp(o->t.json, "-")))
		print_report(stdout, r, o->markdown);
	if (o->t.json && (f = output_open(o->t.json, &close))) {
		write_json(f, r);
		ret |= output_close(f, o->t.json, close);
	} else if (o->t.json) {
		ret = -1;
	}
	if (o->csv && (f = output_open(o->csv, &close))) {
		write_csv(f, r);
		ret |= output_close(f, o->csv, close);
	} else if (o->csv) {
		ret = -1;
	}
	if (o->svg && (f = output_open(o->svg, &close))) {
		if (write_svg(f, r) < 0)
			ret = -1;
		ret |= output_close(f, o->svg, close);
	} else if (o->svg) {
		ret = -1;
	}
	return ret;
}

static void release(struct report *r)
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

static int run_report(const struct report_opts *o)
{
	struct report r = { .o = o };
	char self[PATH_MAX];
	ssize_t n;
	int ret;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		return error_errno("cannot find this program");
	self[n] = '\0';
	r.self = xstrdup(self);
	if (realpath(o->scratch, self)) {
		size_t len = strlen(o->t.tree);

		if (!strncmp(self, o->t.tree, len) &&
		    (self[len] == '/' || !self[len]))
			return error("the scratch directory '%s' is inside the"
				     " tree '%s'", o->scratch, o->t.tree);
	}
	run_catch_signals();
	r.scratch = xasprintf("%s/pyprime-report.XXXXXX", o->scratch);
	if (!mkdtemp(r.scratch)) {
		error_errno("cannot make a directory in '%s'", o->scratch);
		free(r.scratch);
		r.scratch = NULL;
		ret = -1;
		goto out;
	}
	envinfo_gather(&r.env, r.scratch, o->t.prog.python);
	ret = build(&r);
	if (ret || run_interrupted())
		goto out;
	make_cells(&r);
	ret = measure(&r);
	if (!ret && o->t.top)
		ret = measure_imports(&r);
	if (ret || run_interrupted())
		goto out;
	ret = write_outputs(&r);
out:
	progress_end();
	release(&r);
	if (!ret && r.failed)
		ret = -1;
	return ret;
}

/* Parse a comma-separated subset of NAMES into a bit set. */
static int parse_set(const char *arg, const char *const *names, size_t n,
		     unsigned *set)
{
	char *copy = xstrdup(arg), *tok, *save = NULL;
	size_t i;

	*set = 0;
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < n; i++)
			if (!strcmp(tok, names[i]))
				break;
		if (i == n) {
			free(copy);
			return -1;
		}
		*set |= 1u << i;
	}
	free(copy);
	return *set ? 0 : -1;
}

int cmd_report(int argc, char **argv)
{
	struct report_opts o = {
		.t.prog.python = "/usr/bin/python3",
		.t.runs = 10, .t.warmup = 1, .t.top = 10, .t.purge = PURGE_ALL,
		.variants = (1u << NVARIANTS) - 1, .states = 3, .media = 3,
		.scratch = "/var/tmp",
	};
	int c, ret;

	optind = 1;
	while ((c = parse_option(argc, argv, "+C:r:w:m:qh", longopts,
				 usage)) != -1) {
		ret = timing_option(&o.t, c, optarg, usage);
		if (ret == 2)
			return ret;
		if (ret == 1 && o.t.prog.module)
			break;
		if (ret == 1)
			continue;
		switch (c) {
		case OPT_VARIANTS:
			if (parse_set(optarg, variant_names, NVARIANTS,
				      &o.variants) < 0)
				return usage_error(usage, "--variants takes"
					" source, stripped, pyc, pyc-O2 and"
					" sourceless, not '%s'", optarg);
			break;
		case OPT_STATES:
			if (parse_set(optarg, state_names, 2, &o.states) < 0)
				return usage_error(usage, "--states takes warm"
						   " and cold, not '%s'", optarg);
			break;
		case OPT_MEDIA:
			if (parse_set(optarg, medium_names, 2, &o.media) < 0)
				return usage_error(usage, "--media takes disk"
						   " and ram, not '%s'", optarg);
			break;
		case OPT_SCRATCH:
			o.scratch = optarg;
			break;
		case OPT_CSV:
			o.csv = optarg;
			break;
		case OPT_MARKDOWN:
			o.markdown = 1;
			break;
		case OPT_SVG:
			o.svg = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			fputs(help, stdout);
			return 0;
		default:
			return 2;
		}
	}
	if (!o.t.tree)
		return usage_error(usage, "no tree (-C dir)");
	if (timing_program(&o.t, argc, argv, usage))
		return 2;
	ret = run_report(&o);
	if (run_interrupted()) {
		run_reraise();
		return 128 + run_interrupted();
	}
	return ret ? 1 : 0;
}
