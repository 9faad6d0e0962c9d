/*
 * cmd-compile.c: "pyprime compile": options, the sources to work on, and
 * the summary.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "compile.h"
#include "pool.h"
#include "sources.h"
#include "util.h"

static const char usage[] =
	"usage: pyprime compile [-bfqv] [-O level]... [--invalidation-mode mode]\n"
	"                       [-d dir] [--root dir] [-x regex]... [-i file [-0]]\n"
	"                       [-p package]... [-j jobs] [--fsync] [path...]\n";

static const char help[] =
	"\n"
	"Byte-compile Python sources (.py files, or trees of them) to .pyc files\n"
	"that are byte for byte what py_compile writes.\n"
	"\n"
	"  -O, --optimize level      0, 1 or 2; repeat for several (default 0)\n"
	"  -b, --legacy              write NAME.pyc beside the source\n"
	"      --invalidation-mode mode\n"
	"                            timestamp, checked-hash or unchecked-hash\n"
	"  -d, --destdir dir         record file names under dir instead\n"
	"      --root dir            paths are as installed under dir\n"
	"  -x, --exclude regex       skip paths matching regex (repeatable)\n"
	"  -i, --from file           read paths from file ('-': stdin)\n"
	"  -0, --null                paths in that file are NUL-separated\n"
	"  -p, --package package     the .py files an installed package lists\n"
	"  -j, --jobs jobs           worker processes (default: CPUs)\n"
	"  -f, --force               rewrite pycs that are fresh\n"
	"      --fsync               make each pyc durable before success\n"
	"  -q, --quiet               no warnings, no progress\n"
	"  -v, --verbose             print a summary; twice, each pyc written\n"
	"  -h, --help                show this help\n";

enum { OPT_MODE = 256, OPT_ROOT, OPT_FSYNC };

static const struct option longopts[] = {
	{ "optimize", required_argument, NULL, 'O' },
	{ "legacy", no_argument, NULL, 'b' },
	{ "invalidation-mode", required_argument, NULL, OPT_MODE },
	{ "destdir", required_argument, NULL, 'd' },
	{ "root", required_argument, NULL, OPT_ROOT },
	{ "exclude", required_argument, NULL, 'x' },
	{ "from", required_argument, NULL, 'i' },
	{ "null", no_argument, NULL, '0' },
	{ "package", required_argument, NULL, 'p' },
	{ "jobs", required_argument, NULL, 'j' },
	{ "force", no_argument, NULL, 'f' },
	{ "fsync", no_argument, NULL, OPT_FSYNC },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* What the command line asks for. */
struct args {
	struct compile_opts o;
	struct select sel;
	const char **packages;
	size_t npackages;
	const char *from;
	int nul;
	char **paths;
	size_t npaths;
};

static void args_release(struct args *a)
{
	select_release(&a->sel);
	free(a->packages);
}

/* Parse the options into A; 0, 1 for --help (done), or 2 (reported). */
static int parse_args(int argc, char **argv, struct args *a)
{
	const char *sde;
	char msg[256];
	unsigned long v;
	int c, mode = -1;

	a->o.jobs = pool_cpus();
	optind = 1;
	while ((c = parse_option(argc, argv, "O:bd:x:i:0p:j:fqvh", longopts,
				 usage)) != -1) {
		switch (c) {
		case 'O':
			if (parse_uint(optarg, PYC_MAX_LEVEL, &v) < 0)
				return usage_error(usage, "invalid optimisation level '%s'",
						   optarg);
			a->o.levels |= 1u << v;
			break;
		case 'b':
			a->o.legacy = 1;
			break;
		case OPT_MODE:
			mode = pyc_mode_parse(optarg);
			if (mode < 0)
				return usage_error(usage, "invalid invalidation mode '%s'",
						   optarg);
			break;
		case 'd':
			a->sel.destdir = optarg;
			break;
		case OPT_ROOT:
			a->sel.root = optarg;
			break;
		case 'x':
			if (select_exclude(&a->sel, optarg, msg, sizeof(msg)) < 0)
				return usage_error(usage, "invalid regex '%s': %s",
						   optarg, msg);
			break;
		case 'i':
			a->from = optarg;
			break;
		case '0':
			a->nul = 1;
			break;
		case 'p':
			a->packages = xrealloc(a->packages, (a->npackages + 1) *
					       sizeof(*a->packages));
			a->packages[a->npackages++] = optarg;
			break;
		case 'j':
			if (parse_uint(optarg, 1024, &v) < 0)
				return usage_error(usage, "invalid number of jobs '%s'",
						   optarg);
			a->o.jobs = v ? (unsigned)v : pool_cpus();
			break;
		case 'f':
			a->o.force = 1;
			break;
		case OPT_FSYNC:
			a->o.fsync = 1;
			break;
		case 'q':
			a->o.quiet = 1;
			a->sel.quiet = 1;
			break;
		case 'v':
			a->o.verbose++;
			break;
		case 'h':
			fputs(usage, stdout);
			fputs(help, stdout);
			return 1;
		default:
			return 2;
		}
	}
	a->paths = argv + optind;
	a->npaths = (size_t)(argc - optind);
	if (!a->npaths && !a->from && !a->npackages)
		return usage_error(usage, "nothing to compile");
	if (!a->o.levels)
		a->o.levels = 1;
	if (a->o.legacy && (a->o.levels & (a->o.levels - 1)))
		return usage_error(usage, "--legacy takes one optimisation level");
	/* As py_compile: reproducible builds want hash-based pycs. */
	sde = getenv("SOURCE_DATE_EPOCH");
	if (mode < 0)
		mode = sde && *sde ? PYC_CHECKED_HASH : PYC_TIMESTAMP;
	a->o.mode = (enum pyc_mode)mode;
	return 0;
}

int cmd_compile(int argc, char **argv)
{
	struct args a;
	struct compile_stats stats = { 0 };
	struct source_list list = { NULL, 0, 0 };
	size_t i;
	int errors = 0, ret;

	memset(&a, 0, sizeof(a));
	ret = parse_args(argc, argv, &a);
	if (ret) {
		args_release(&a);
		return ret == 1 ? 0 : 2;
	}

	for (i = 0; i < a.npackages; i++)
		errors += sources_add_package(&list, &a.sel, a.packages[i]);
	if (a.from)
		errors += sources_add_from(&list, &a.sel, a.from, a.nul);
	for (i = 0; i < a.npaths; i++)
		errors += sources_add(&list, &a.sel, a.paths[i]);
	sources_dedup(&list);

	ret = compile_run(&a.o, &list, &stats) || errors ? 1 : 0;
	stats.failed += (size_t)errors;
	if (a.o.verbose)
		printf("%zu compiled, %zu fresh, %zu failed\n", stats.compiled,
		       stats.fresh, stats.failed);

	source_list_release(&list);
	args_release(&a);
	return ret;
}
