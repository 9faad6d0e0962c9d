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
#include "record.h"
#include "registry.h"
#include "sources.h"
#include "util.h"

static const char usage[] =
	"usage: pyprime clean [-nqv] [--this-version] [--orphans] [--root dir]\n"
	"                     [-i file [-0]] [[--keep-reusable] -p package]...\n"
	"                     [path...]\n";

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
	"      --keep-reusable       keep a package's pycs its record lists that\n"
	"                            the next compile can reuse (an upgrade)\n"
	"  -n, --dry-run             print what would be removed, remove nothing\n"
	"  -q, --quiet               no warnings\n"
	"  -v, --verbose             print each path removed, and a summary\n"
	"  -h, --help                show this help\n";

enum { OPT_THIS = 256, OPT_ORPHANS, OPT_ROOT, OPT_KEEP };

static const struct option longopts[] = {
	{ "this-version", no_argument, NULL, OPT_THIS },
	{ "orphans", no_argument, NULL, OPT_ORPHANS },
	{ "root", required_argument, NULL, OPT_ROOT },
	{ "from", required_argument, NULL, 'i' },
	{ "null", no_argument, NULL, '0' },
	{ "package", required_argument, NULL, 'p' },
	{ "keep-reusable", no_argument, NULL, OPT_KEEP },
	{ "dry-run", no_argument, NULL, 'n' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/*
 * Remove the pycs of package PKG's .py files.  With O's keep_reusable,
 * those of the sources its record lists that the next compile can reuse
 * stay (none if it has no usable record).
 */
static int clean_package(const struct clean_opts *o, const struct select *sel,
			 const char *pkg, struct clean_stats *stats)
{
	struct record rec = RECORD_INIT;
	struct clean_opts drop = *o;
	char **v = dpkg_python_files(sel->root, pkg), **keep;
	size_t n, nkeep = 0, ndrop = 0;
	int ret = 0;

	if (!v)
		return -1;
	if (o->keep_reusable)
		registry_load_record(sel->root, pkg, &rec);
	drop.keep_reusable = 0;
	for (n = 0; v[n]; n++)
		;
	keep = xcalloc(n + 1, sizeof(*keep));
	for (n = 0; v[n]; n++) {
		char *path = v[n], *real = select_real_path(sel, path);
		int kept = rec.usable && record_find(&rec, path);

		free(path);
		if (kept)
			keep[nkeep++] = real;
		else
			v[ndrop++] = real;
	}
	v[ndrop] = NULL;
	if (clean_files(&drop, v, ndrop, stats) < 0 ||
	    clean_files(o, keep, nkeep, stats) < 0)
		ret = -1;
	free_strings(keep);
	free_strings(v);
	record_release(&rec);
	return ret;
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
		case OPT_KEEP:
			o.keep_reusable = 1;
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
	if (o.keep_reusable && !npackages) {
		free(packages);
		return usage_error(usage, "--keep-reusable goes with -p");
	}

	for (i = 0; i < npackages; i++)
		if (clean_package(&o, &sel, packages[i], &stats) < 0)
			ret = 1;
	o.keep_reusable = 0;
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
