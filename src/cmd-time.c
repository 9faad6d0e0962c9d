/*
 * cmd-time.c: "pyprime time": time a Python program's start, warm or cold,
 * from disk or a RAM disk.
 */
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "imptime.h"
#include "output.h"
#include "progress.h"
#include "ramdisk.h"
#include "run.h"
#include "stats.h"
#include "timing.h"
#include "tree.h"
#include "util.h"

static const char usage[] =
	"usage: pyprime time [-q] [--python path] [-C dir] [-r runs] [-w runs]\n"
	"                    [--cold] [--purge tree|all|system] [--ramdisk]\n"
	"                    [--ramdisk-dir dir] [--importtime] [--top n]\n"
	"                    [--timeout seconds] [--json file]\n"
	"                    (-m module | -c code | script) [--] [args...]\n";

static const char help[] =
	"\n"
	"Run a Python program again and again and report how long it takes:\n"
	"wall time on the monotonic clock, user and system time, peak RSS.\n"
	"\n"
	"      --python path         the interpreter (default /usr/bin/python3)\n"
	"  -C, --tree dir            the application tree, first on PYTHONPATH\n"
	"  -r, --runs runs           counted runs (default 10)\n"
	"  -w, --warmup runs         uncounted runs first (default 1)\n"
	"      --cold                purge the page cache before every run\n"
	"      --purge what          tree (default): the tree's files; all: also\n"
	"                            the interpreter, its libraries and the\n"
	"                            modules it loads; system: drop_caches (root)\n"
	"      --ramdisk             run a copy of the tree on tmpfs\n"
	"      --ramdisk-dir dir     make that copy in dir\n"
	"      --importtime          gather -X importtime from every run\n"
	"      --top n               modules listed by --importtime (default 15)\n"
	"      --timeout seconds     kill a run that takes longer\n"
	"      --json file           write every figure as JSON ('-': stdout)\n"
	"  -q, --quiet               no progress, no table with --json -\n"
	"  -h, --help                show this help\n";

enum { OPT_COLD = OPT_TIMING_END, OPT_RAMDISK, OPT_IMPORTTIME };

static const struct option longopts[] = {
	{ "python", required_argument, NULL, OPT_PYTHON },
	{ "tree", required_argument, NULL, 'C' },
	{ "runs", required_argument, NULL, 'r' },
	{ "warmup", required_argument, NULL, 'w' },
	{ "cold", no_argument, NULL, OPT_COLD },
	{ "purge", required_argument, NULL, OPT_PURGE },
	{ "ramdisk", no_argument, NULL, OPT_RAMDISK },
	{ "ramdisk-dir", required_argument, NULL, OPT_RAMDISK_DIR },
	{ "importtime", no_argument, NULL, OPT_IMPORTTIME },
	{ "top", required_argument, NULL, OPT_TOP },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "json", required_argument, NULL, OPT_JSON },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static const char *const measure_names[] = { "wall_ms", "user_ms", "sys_ms",
					     "maxrss_kb" };

struct time_opts {
	struct timing_opts t;
	int cold, ramdisk, importtime;
};

static void print_table(const struct time_opts *o, const struct series *s,
			const char *medium)
{
	static const char *const labels[] = { "wall", "user", "sys",
					      "max RSS" };
	size_t i;

	program_print(stdout, &o->t.prog);
	printf("\n  %s, %s", o->cold ? "cold" : "warm", medium);
	if (o->cold)
		printf(" (--purge %s)", purge_names[o->t.purge]);
	printf(", %zu runs after %lu warm-up\n\n", s->n, o->t.warmup);
	printf("  %-8s %9s %9s %9s %9s %9s %9s  %s\n", "", "median", "min",
	       "max", "mean", "sd", "MAD", "outliers");
	for (i = 0; i < ARRAY_SIZE(labels); i++) {
		double *v = series_values(s, i);
		double scale = i == M_RSS ? 1.0 / 1024 : 1;
		struct stats st;

		stats_compute(v, s->n, &st);
		printf("  %-8s", labels[i]);
		print_ms(stdout, 10, st.median * scale);
		print_ms(stdout, 10, st.min * scale);
		print_ms(stdout, 10, st.max * scale);
		print_ms(stdout, 10, st.mean * scale);
		print_ms(stdout, 10, st.sd * scale);
		print_ms(stdout, 10, st.mad * scale);
		printf("  %zu  %s\n", st.outliers, i == M_RSS ? "MB" : "ms");
		free(v);
	}
	if (!o->cold && s->tree_in_ram)
		printf("\n  the tree is on tmpfs: its pages can't be evicted\n");
	if (o->cold) {
		size_t bad = series_not_cold(s);

		if (s->tree_in_ram)
			printf("\n  the tree is on tmpfs: its pages can't be"
			       " evicted, only the rest was purged\n");
		else
			printf("\n  tree resident after purging: %.1f%% at"
			       " most\n", 100 * series_max_resident(s, 0));
		if (o->t.purge != PURGE_TREE)
			printf("  interpreter, libraries and modules resident:"
			       " %.1f%% at most (%zu files; mapped ones"
			       " stay)\n", 100 * series_max_resident(s, 1),
			       s->other_files.n);
		if (bad)
			printf("  NOT COLD: %zu of %zu runs found more than 1%%"
			       " of the tree in memory\n", bad, s->n);
	}
}

static void print_imports(const struct time_opts *o, struct series *s)
{
	struct imptime_row *rows;
	size_t n, i;

	rows = imptime_rows(s->imptime, &n);
	printf("\n  slowest imports (medians of %zu runs, -X importtime)\n",
	       imptime_runs(s->imptime));
	printf("  %12s %10s  %s\n", "cumulative", "self", "module");
	for (i = 0; i < n && i < o->t.top; i++)
		printf("  %9.0f us %7.0f us  %s\n", rows[i].cumulative_us,
		       rows[i].self_us, rows[i].module);
	free(rows);
}

static void write_json(FILE *f, const struct time_opts *o,
		       const struct series *s, const char *medium)
{
	struct stats wall;
	double *v;
	size_t i, m;

	fputs("{\n  \"command\": [", f);
	for (i = 0; s->argv[i]; i++) {
		fputs(i ? ", " : "", f);
		json_string(f, s->argv[i]);
	}
	fputs("],\n  \"tree\": ", f);
	if (o->t.tree)
		json_string(f, o->t.tree);
	else
		fputs("null", f);
	fprintf(f, ",\n  \"state\": \"%s\",\n  \"medium\": \"%s\",\n",
		o->cold ? "cold" : "warm", medium);
	fprintf(f, "  \"purge\": %s%s%s,\n", o->cold ? "\"" : "",
		o->cold ? purge_names[o->t.purge] : "null", o->cold ? "\"" : "");
	fprintf(f, "  \"runs\": %zu,\n  \"warmup\": %lu,\n", s->n, o->t.warmup);
	fprintf(f, "  \"not_cold\": %zu,\n", series_not_cold(s));
	for (m = 0; m < ARRAY_SIZE(measure_names); m++) {
		struct stats st;

		v = series_values(s, m);
		stats_compute(v, s->n, &st);
		fprintf(f, "  \"%s\": ", measure_names[m]);
		json_stats(f, &st);
		fputs(",\n", f);
		free(v);
	}
	v = series_values(s, M_WALL);
	stats_compute(v, s->n, &wall);
	free(v);
	fputs("  \"samples\": [", f);
	for (i = 0; i < s->n; i++) {
		const struct sample *x = &s->sample[i];

		fprintf(f, "%s\n    {\"wall_ms\": %.4f, \"user_ms\": %.3f,"
			" \"sys_ms\": %.3f, \"maxrss_kb\": %.0f,"
			" \"outlier\": %s", i ? "," : "", x->wall_ms, x->user_ms,
			x->sys_ms, x->maxrss_kb,
			stats_outlier(&wall, x->wall_ms) ? "true" : "false");
		if (o->cold) {
			fprintf(f, ", \"resident_before\": %.4f,"
				" \"resident\": %.4f", x->resident_before,
				x->resident);
			if (o->t.purge != PURGE_TREE)
				fprintf(f, ", \"resident_other\": %.4f",
					x->resident_other);
			fprintf(f, ", \"not_cold\": %s",
				x->not_cold ? "true" : "false");
		}
		fputc('}', f);
	}
	fputs("\n  ],\n  \"imports\": [", f);
	if (s->imptime) {
		struct imptime_row *rows;
		size_t n;

		rows = imptime_rows(s->imptime, &n);
		for (i = 0; i < n; i++) {
			fputs(i ? ",\n    {\"module\": " : "\n    {\"module\": ",
			      f);
			json_string(f, rows[i].module);
			fprintf(f, ", \"runs\": %zu, \"self_us\": %.1f,"
				" \"cumulative_us\": %.1f}", rows[i].runs,
				rows[i].self_us, rows[i].cumulative_us);
		}
		free(rows);
		fputs(n ? "\n  " : "", f);
	}
	fputs("]\n}\n", f);
}

static int time_it(const struct time_opts *o)
{
	struct series s = { 0 };
	struct ramdisk rd = { 0 };
	const char *medium = "disk";
	char *copy = NULL, *script = NULL;
	unsigned long i;
	int ret;

	s.prog = &o->t.prog;
	s.tree = o->t.tree;
	s.cold = o->cold;
	s.purge = o->t.purge;
	s.importtime = o->importtime;
	s.timeout = o->t.timeout;
	run_catch_signals();
	if (o->ramdisk) {
		const char *tmp = getenv("TMPDIR");

		if (!o->t.tree)
			return error("--ramdisk needs a tree (-C)");
		if (ramdisk_open(&rd, o->t.ramdisk_dir, tmp && *tmp ? tmp :
				 "/tmp") < 0)
			return -1;
		copy = join_path(rd.dir, path_base(o->t.tree));
		if (tree_copy(o->t.tree, copy, 0) < 0) {
			ret = -1;
			goto out;
		}
		s.tree = copy;
		if (o->t.prog.script)
			s.script = script = program_script_in(&o->t.prog, o->t.tree,
						      copy);
		medium = rd.kind;
		if (o->cold && o->t.purge == PURGE_TREE)
			warning("the tree is on tmpfs: --purge tree evicts"
				" nothing (try --purge all)");
	}
	ret = series_init(&s);
	if (!ret)
		ret = series_prepare(&s, o->t.warmup);
	progress_start("timing", o->t.runs, !o->t.quiet);
	for (i = 0; !ret && i < o->t.runs; i++) {
		ret = series_run(&s);
		progress_update(i + 1);
	}
	progress_end();
	if (ret == RUN_INTERRUPTED)
		goto out;
	if (s.failed) {
		error("the program failed: %s", s.failure.data);
		ret = -1;
		goto out;
	}
	if (ret)
		goto out;
	if (!(o->t.json && !strcmp(o->t.json, "-") && o->t.quiet)) {
		print_table(o, &s, medium);
		if (s.imptime)
			print_imports(o, &s);
	}
	if (o->t.json) {
		int close;
		FILE *f = output_open(o->t.json, &close);

		if (!f) {
			ret = -1;
		} else {
			write_json(f, o, &s, medium);
			ret = output_close(f, o->t.json, close);
		}
	}
out:
	series_release(&s);
	if (copy)
		ramdisk_close(&rd);
	free(copy);
	free(script);
	return ret;
}

int cmd_time(int argc, char **argv)
{
	struct time_opts o = {
		.t.prog.python = "/usr/bin/python3",
		.t.runs = 10, .t.warmup = 1, .t.top = 15,
	};
	int c, ret;

	optind = 1;
	while ((c = parse_option(argc, argv, "+C:r:w:m:c:qh", longopts,
				 usage)) != -1) {
		ret = timing_option(&o.t, c, optarg, usage);
		if (ret == 2)
			return ret;
		if (ret == 1 && (o.t.prog.module || o.t.prog.code))
			break;
		if (ret == 1)
			continue;
		switch (c) {
		case OPT_COLD:
			o.cold = 1;
			break;
		case OPT_RAMDISK:
			o.ramdisk = 1;
			break;
		case OPT_IMPORTTIME:
			o.importtime = 1;
			break;
		case 'h':
			fputs(usage, stdout);
			fputs(help, stdout);
			return 0;
		default:
			return 2;
		}
	}
	if (o.t.ramdisk_dir)
		o.ramdisk = 1;
	if (timing_program(&o.t, argc, argv, usage))
		return 2;
	ret = time_it(&o);
	if (run_interrupted()) {
		run_reraise();
		return 128 + run_interrupted();
	}
	return ret ? 1 : 0;
}
