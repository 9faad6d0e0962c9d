/*
 * cmd-report.c: "pyprime report": build a tree's variants (source,
 * stripped, pycs, -OO pycs, sourceless; the pycs served by a preloader)
 * and time each warm and cold, on disk and on a RAM disk, interleaved.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "report.h"
#include "run.h"
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
	"      --variants list       of source, stripped, pyc, pyc-O2, sourceless,\n"
	"                            preloaded (default: all but preloaded)\n"
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

static int run_report(const struct report_opts *o)
{
	struct report r;
	int ret;

	ret = report_measure(&r, o);
	if (!ret && !run_interrupted())
		ret = report_write(&r);
	if (!ret && r.failed)
		ret = -1;
	report_release(&r);
	return ret;
}

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
		.variants = REPORT_DEFAULT_VARIANTS, .states = 3, .media = 3,
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
			if (parse_set(optarg, report_variants, NVARIANTS,
				      &o.variants) < 0)
				return usage_error(usage, "--variants takes"
					" source, stripped, pyc, pyc-O2,"
					" sourceless and preloaded, not '%s'",
					optarg);
			break;
		case OPT_STATES:
			if (parse_set(optarg, report_states, 2, &o.states) < 0)
				return usage_error(usage, "--states takes warm"
						   " and cold, not '%s'", optarg);
			break;
		case OPT_MEDIA:
			if (parse_set(optarg, report_media, 2, &o.media) < 0)
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
	/* A server learns what a module imports; launch runs no -c. */
	if ((o.variants >> V_PRELOADED) & 1 && !o.t.prog.module)
		return usage_error(usage, "the preloaded variant needs -m"
				   " module, not a script or -c");
	ret = run_report(&o);
	if (run_interrupted()) {
		run_reraise();
		return 128 + run_interrupted();
	}
	return ret ? 1 : 0;
}
