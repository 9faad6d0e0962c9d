/*
 * package.c: a registered package's settings, and compiling its files.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clean.h"
#include "package.h"
#include "pool.h"
#include "util.h"

const char package_usage[] =
	"usage: pyprime register [-q] [--deferred] [--root dir] [-b] [-O level]...\n"
	"                        [--invalidation-mode mode] [-x regex]...\n"
	"                        package [dir...]\n";

static const char help[] =
	"\n"
	"Record how an installed package is to be compiled, then compile the\n"
	"sources dpkg lists for it (under the dirs given, or all of them); what\n"
	"a package's postinst runs.  A source that does not compile is a\n"
	"warning: the exit status stays 0.\n"
	"\n"
	"  -O, --optimize level      0, 1 or 2; repeat for several (default 0)\n"
	"  -b, --legacy              write NAME.pyc beside the source\n"
	"      --invalidation-mode mode\n"
	"                            timestamp, checked-hash or unchecked-hash\n"
	"  -x, --exclude regex       skip paths matching regex (repeatable)\n"
	"      --deferred            only record it, for the pyprime-rebuild\n"
	"                            trigger to compile\n"
	"      --root dir            the dpkg root (DPKG_ROOT)\n"
	"  -q, --quiet               no warnings but the summary\n"
	"  -h, --help                show this help\n";

enum { OPT_MODE = 256, OPT_ROOT, OPT_DEFERRED };

static const struct option longopts[] = {
	{ "optimize", required_argument, NULL, 'O' },
	{ "legacy", no_argument, NULL, 'b' },
	{ "invalidation-mode", required_argument, NULL, OPT_MODE },
	{ "exclude", required_argument, NULL, 'x' },
	{ "root", required_argument, NULL, OPT_ROOT },
	{ "deferred", no_argument, NULL, OPT_DEFERRED },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void save(struct package *p, char *arg)
{
	p->saved = xrealloc(p->saved, (p->nsaved + 1) * sizeof(*p->saved));
	p->saved[p->nsaved++] = arg;
}

int package_parse(int argc, char **argv, const char *root, struct package *p)
{
	unsigned long v;
	char msg[256];
	int c, mode = -1;

	memset(p, 0, sizeof(*p));
	p->sel.root = root;
	p->o.jobs = pool_cpus();
	optind = 1;
	while ((c = parse_option(argc, argv, "O:bx:qh", longopts,
				 package_usage)) != -1) {
		switch (c) {
		case 'O':
			if (parse_uint(optarg, PYC_MAX_LEVEL, &v) < 0)
				return usage_error(package_usage,
						   "invalid optimisation level '%s'", optarg);
			p->o.levels |= 1u << v;
			save(p, xasprintf("--optimize=%lu", v));
			break;
		case 'b':
			p->o.legacy = 1;
			save(p, xstrdup("--legacy"));
			break;
		case OPT_MODE:
			mode = pyc_mode_parse(optarg);
			if (mode < 0)
				return usage_error(package_usage,
						   "invalid invalidation mode '%s'", optarg);
			save(p, xasprintf("--invalidation-mode=%s", optarg));
			break;
		case 'x':
			if (select_exclude(&p->sel, optarg, msg, sizeof(msg)) < 0)
				return usage_error(package_usage, "invalid regex '%s': %s",
						   optarg, msg);
			save(p, xasprintf("--exclude=%s", optarg));
			break;
		case OPT_ROOT:
			p->sel.root = optarg;
			break;
		case OPT_DEFERRED:
			p->deferred = 1;
			break;
		case 'q':
			p->o.quiet = 1;
			p->sel.quiet = 1;
			break;
		case 'h':
			fputs(package_usage, stdout);
			fputs(help, stdout);
			return 1;
		default:
			return 2;
		}
	}
	if (optind >= argc)
		return usage_error(package_usage, "no package named");
	p->name = xstrdup(argv[optind++]);
	for (; optind < argc; optind++) {
		if (argv[optind][0] != '/')
			return usage_error(package_usage,
					   "'%s' is not an absolute path", argv[optind]);
		p->sel.within = xrealloc(p->sel.within, (p->sel.nwithin + 1) *
					 sizeof(*p->sel.within));
		p->sel.within[p->sel.nwithin++] = xstrdup(argv[optind]);
		save(p, xstrdup(argv[optind]));
	}
	if (!p->o.levels)
		p->o.levels = 1;
	if (p->o.legacy && (p->o.levels & (p->o.levels - 1)))
		return usage_error(package_usage, "--legacy takes one optimisation level");
	p->o.mode = mode < 0 ? PYC_TIMESTAMP : (enum pyc_mode)mode;
	return 0;
}

void package_release(struct package *p)
{
	size_t i;

	select_release(&p->sel);
	for (i = 0; i < p->nsaved; i++)
		free(p->saved[i]);
	free(p->saved);
	free(p->name);
	memset(p, 0, sizeof(*p));
}

/* Whether A and B compile the same way (they may share one run). */
static int same_settings(const struct package *a, const struct package *b)
{
	return a->o.levels == b->o.levels && a->o.mode == b->o.mode &&
	       a->o.legacy == b->o.legacy && a->o.quiet == b->o.quiet;
}

int package_compile(struct package *p, size_t n, size_t *failed)
{
	struct clean_opts co = { .other_versions = 1 };
	struct clean_stats cs = { 0, 0, 0 };
	char *done = xcalloc(n ? n : 1, 1);
	size_t i, j, k;
	int ret = 0;

	for (i = 0; i < n; i++) {
		struct source_list list = { NULL, 0, 0 };
		struct compile_stats stats = { 0, 0, 0 };
		char **paths;

		if (done[i])
			continue;
		/* Every package compiled like this one, in one run. */
		for (j = i; j < n; j++) {
			if (done[j] || !same_settings(&p[i], &p[j]))
				continue;
			done[j] = 1;
			if (sources_add_package(&list, &p[j].sel, p[j].name))
				ret = -1;
		}
		compile_run(&p[i].o, &list, &stats);
		co.quiet = p[i].o.quiet;
		*failed += stats.failed;
		/* A new interpreter's pycs replace the old ones'. */
		paths = xcalloc(list.n + 1, sizeof(*paths));
		for (k = 0; k < list.n; k++)
			paths[k] = list.v[k].path;
		if (!p[i].o.legacy && clean_files(&co, paths, list.n, &cs) < 0)
			ret = -1;
		free(paths);
		source_list_release(&list);
	}
	free(done);
	return ret;
}
