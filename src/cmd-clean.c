/*
 * cmd-clean.c: "pyprime clean": remove the pycs of sources, trees or
 * installed packages.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clean.h"
#include "cmd.h"
#include "dpkg.h"
#include "sources.h"
#include "util.h"

static const char usage[] =
	"usage: pyprime clean [-nqv] [--this-version] [--orphans] [--root dir]\n"
	"                     [-i file [-0]] [-p package]... [path...]\n";

static const char help[] =
	"\n"
	"Remove the .pyc files that belong to Python sources: every level and\n"
	"cache tag in __pycache__, legacy NAME.pyc and NAME.pyo beside a source,\n"
	"then the __pycache__ directories that leaves empty.\n"
	"\n"
	"      --this-version        only this interpreter's pycs\n"
	"      --orphans             also pycs whose source is gone (trees)\n"
	"      --root dir            paths are as installed under dir\n"
	"  -i, --from file           read paths from file ('-': stdin)\n"
	"  -0, --null                paths in that file are NUL-separated\n"
	"  -p, --package package     the .py files an installed package lists\n"
	"  -n, --dry-run             print what would be removed, remove nothing\n"
	"  -q, --quiet               no warnings\n"
	"  -v, --verbose             print each path removed, and a summary\n"
	"  -h, --help                show this help\n";

enum { OPT_THIS = 256, OPT_ORPHANS, OPT_ROOT };

static const struct option longopts[] = {
	{ "this-version", no_argument, NULL, OPT_THIS },
	{ "orphans", no_argument, NULL, OPT_ORPHANS },
	{ "root", required_argument, NULL, OPT_ROOT },
	{ "from", required_argument, NULL, 'i' },
	{ "null", no_argument, NULL, '0' },
	{ "package", required_argument, NULL, 'p' },
	{ "dry-run", no_argument, NULL, 'n' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* A package's .py files, as real paths; NULL after an error. */
static char **package_sources(const struct select *sel, const char *pkg,
			      size_t *count)
{
	char **v = dpkg_python_files(sel->root, pkg);
	size_t n;

	for (n = 0; v && v[n]; n++) {
		char *real = select_real_path(sel, v[n]);

		free(v[n]);
		v[n] = real;
	}
	*count = n;
	return v;
}

static int clean_arg(const struct clean_opts *o, const struct select *sel,
		     const char *arg, struct clean_stats *stats)
{
	char *path = select_real_path(sel, arg);
	int ret = clean_tree(o, path, stats);

	free(path);
	return ret;
}

int cmd_clean(int argc, char **argv)
{
	struct clean_opts o;
	struct clean_stats stats = { 0, 0, 0 };
	struct select sel = { 0 };
	const char **packages = NULL, *from = NULL;
	size_t npackages = 0, i;
	int c, nul = 0, ret = 0;

	memset(&o, 0, sizeof(o));
	optind = 1;
	while ((c = parse_option(argc, argv, "i:0p:nqvh", longopts,
				 usage)) != -1) {
		switch (c) {
		case OPT_THIS:
			o.this_version = 1;
			break;
		case OPT_ORPHANS:
			o.orphans = 1;
			break;
		case OPT_ROOT:
			sel.root = optarg;
			break;
		case 'i':
			from = optarg;
			break;
		case '0':
			nul = 1;
			break;
		case 'p':
			packages = xrealloc(packages,
					    (npackages + 1) * sizeof(*packages));
			packages[npackages++] = optarg;
			break;
		case 'n':
			o.dry_run = 1;
			break;
		case 'q':
			o.quiet = 1;
			break;
		case 'v':
			o.verbose++;
			break;
		case 'h':
			fputs(usage, stdout);
			fputs(help, stdout);
			return 0;
		default:
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (!argc && !from && !npackages)
		return usage_error(usage, "nothing to clean");

	for (i = 0; i < npackages; i++) {
		size_t n;
		char **files = package_sources(&sel, packages[i], &n);

		if (!files) {
			ret = 1;
			continue;
		}
		if (clean_files(&o, files, n, &stats) < 0)
			ret = 1;
		free_strings(files);
	}
	if (from) {
		char **paths = read_path_list(from, nul);

		if (!paths)
			ret = 1;
		for (i = 0; paths && paths[i]; i++)
			if (clean_arg(&o, &sel, paths[i], &stats) < 0)
				ret = 1;
		free_strings(paths);
	}
	for (i = 0; i < (size_t)argc; i++)
		if (clean_arg(&o, &sel, argv[i], &stats) < 0)
			ret = 1;

	if (o.verbose)
		printf("%zu removed, %zu directories removed, %zu failed\n",
		       stats.removed, stats.dirs, stats.failed);
	free(packages);
	return ret;
}
