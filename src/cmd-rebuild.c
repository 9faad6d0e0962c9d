/*
 * cmd-rebuild.c: "pyprime rebuild": compile registered packages again, as
 * they were registered: all of them when pyprime is upgraded (perhaps to a
 * build for another interpreter), or those that deferred their compilation
 * to the pyprime-rebuild trigger, in one process.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "dpkg.h"
#include "package.h"
#include "registry.h"
#include "sources.h"
#include "util.h"

static const char usage[] =
	"usage: pyprime rebuild [-qv] [--root dir] (--all | --pending | package...)\n";

static const char help[] =
	"\n"
	"Compile registered packages again, as they were registered.\n"
	"\n"
	"      --all                 every registered package that is installed\n"
	"      --pending             the packages waiting for the trigger\n"
	"      --root dir            the dpkg root (DPKG_ROOT)\n"
	"  -q, --quiet               no warnings but the summary\n"
	"  -v, --verbose             print what was compiled, reused and removed\n"
	"  -h, --help                show this help\n";

enum { OPT_ROOT = 256, OPT_ALL, OPT_PENDING };

static const struct option longopts[] = {
	{ "root", required_argument, NULL, OPT_ROOT },
	{ "all", no_argument, NULL, OPT_ALL },
	{ "pending", no_argument, NULL, OPT_PENDING },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Load PKG's settings into P; 0, 1 if it is to be skipped, -1 on error. */
static int load(const char *root, const char *pkg, int quiet, struct package *p)
{
	char **args, **argv;
	size_t n, i, k = 0;
	int ret;

	args = registry_load(root, pkg);
	if (!args)
		return errno == ENOENT ?
		       error("package '%s' is not registered", pkg) : -1;
	/* Removed (but not purged): nothing to compile. */
	if (!dpkg_installed(root, pkg)) {
		free_strings(args);
		return 1;
	}
	for (n = 0; args[n]; n++)
		;
	/* register [-q] OPTIONS... PACKAGE DIRS... */
	argv = xcalloc(n + 4, sizeof(*argv));
	argv[k++] = "register";
	if (quiet)
		argv[k++] = "-q";
	for (i = 0; i < n; i++)
		if (args[i][0] == '-')
			argv[k++] = args[i];
	argv[k++] = (char *)pkg;
	for (i = 0; i < n; i++)
		if (args[i][0] != '-')
			argv[k++] = args[i];
	ret = package_parse((int)k, argv, root, p) ? -1 : 0;
	free(argv);
	free_strings(args);
	return ret;
}

int cmd_rebuild(int argc, char **argv)
{
	const char *root = NULL;
	struct package *p = NULL;
	char **names = NULL;
	struct compile_stats stats = { 0 };
	size_t n = 0, i, removed = 0;
	int c, all = 0, pending = 0, quiet = 0, verbose = 0, ret = 0;

	optind = 1;
	while ((c = parse_option(argc, argv, "qvh", longopts, usage)) != -1) {
		switch (c) {
		case OPT_ROOT:
			root = optarg;
			break;
		case OPT_ALL:
			all = 1;
			break;
		case OPT_PENDING:
			pending = 1;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'h':
			fputs(usage, stdout);
			fputs(help, stdout);
			return 0;
		default:
			return 2;
		}
	}
	if (all + pending + (optind < argc) != 1)
		return usage_error(usage, "give --all, --pending or packages");
	/* pyprime's postinst: the records' key is made here, as pyprime
	 * is configured, rather than by the first package registered. */
	if (all && registry_load_key(root) < 0)
		ret = 1;
	if (all || pending) {
		names = registry_packages(root, pending);
		if (!names)
			return 1;
	} else {
		names = xcalloc((size_t)(argc - optind) + 1, sizeof(*names));
		for (i = 0; optind < argc; optind++)
			names[i++] = xstrdup(argv[optind]);
	}
	for (i = 0; names[i]; i++) {
		p = xrealloc(p, (n + 1) * sizeof(*p));
		memset(&p[n], 0, sizeof(p[n]));
		switch (load(root, names[i], quiet, &p[n])) {
		case 0:
			n++;
			break;
		case 1:
			package_release(&p[n]);
			break;
		default:
			package_release(&p[n]);
			ret = 1;
		}
	}
	if (n && package_compile(p, n, &stats, &removed) < 0)
		ret = 1;
	for (i = 0; names[i]; i++)
		if (registry_set_pending(root, names[i], 0) < 0)
			ret = 1;
	if (stats.failed)
		warning("%zu file%s could not be compiled", stats.failed,
			stats.failed == 1 ? "" : "s");
	if (verbose)
		package_print_stats(&stats, removed);
	for (i = 0; i < n; i++)
		package_release(&p[i]);
	free(p);
	free_strings(names);
	return ret;
}
