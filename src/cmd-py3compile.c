/*
 * cmd-py3compile.c: "pyprime py3compile", a drop-in for Debian's
 * py3compile: the same command line, the same files chosen (package
 * lists, public and private directories, -V ranges, -X and the bcep
 * files), byte for byte the same pycs; but a file that does not compile is
 * a warning and the rest is compiled, and a dpkg root is honoured.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd.h"
#include "compile.h"
#include "debpy.h"
#include "dpkg.h"
#include "foreign.h"
#include "package.h"
#include "pool.h"
#include "pyrt.h"
#include "sources.h"
#include "util.h"

static const char usage[] =
	"usage: pyprime py3compile [-fOqv] [-p package] [-V vrange] [-X regexpr]...\n"
	"                          [--root dir] [dir_or_file...]\n";

static const char help[] =
	"\n"
	"Debian's py3compile, done by pyprime: the same command line and the\n"
	"same pycs.  Compiles a package's public modules (-p alone), its private\n"
	"directories (-p and dirs), or any directory or file, for the installed\n"
	"Python versions.  A file that does not compile is a warning.\n"
	"\n"
	"  -p, --package package     the files of this installed package\n"
	"  -V vrange                 versions: X.Y, X.Y-, -A.B or X.Y-A.B\n"
	"  -X, --exclude regexpr     skip files matching this Python regular\n"
	"                            expression (repeatable; with dirs only)\n"
	"  -O                        write optimised (opt-1) pycs instead\n"
	"  -f, --force               rewrite pycs that are fresh\n"
	"  -v, --verbose             print a summary\n"
	"  -q, --quiet               be quiet (the default)\n"
	"      --root dir            the dpkg root (DPKG_ROOT)\n"
	"      --version             print the version\n"
	"  -h, --help                show this help\n";

enum { OPT_ROOT = 256, OPT_VERSION };

static const struct option longopts[] = {
	{ "package", required_argument, NULL, 'p' },
	{ "exclude", required_argument, NULL, 'X' },
	{ "force", no_argument, NULL, 'f' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "root", required_argument, NULL, OPT_ROOT },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct py3compile {
	struct debpy deb;
	struct select sel;	/* the root */
	const char *package;
	char **regex;		/* -X */
	size_t nregex;
	int optimize, force, verbose;
	int min, max;		/* -V */
	int have_range;
	int embedded;		/* the linked interpreter's version */
	/* What to compile, per version (3.MINOR). */
	struct source_list todo[DEBPY_MAX_MINOR + 1];
};

/* The linked interpreter's X.Y as a version number. */
static int embedded_version(void)
{
	int v = 0;

	debpy_parse_version(pyrt_series(), &v);
	return v;
}

/* Queue the installed file PATH (already stat()ed as ST) for VERSIONS. */
static void queue(struct py3compile *c, const char *path, const char *real,
		  const struct stat *st, debpy_set versions)
{
	int m;

	for (m = 0; m <= DEBPY_MAX_MINOR; m++)
		if (debpy_in(versions, 300 + m))
			sources_push(&c->todo[m], xstrdup(real), xstrdup(path), st);
}

/*
 * Queue FILES (installed paths, NULL-terminated) for the versions E leaves
 * of WANTED, as py3compile's filter_files() does.  A file dpkg lists but
 * that is gone (dpkg's path-exclude) is skipped.
 */
static void queue_files(struct py3compile *c, char **files,
			const struct debpy_excludes *e, debpy_set wanted)
{
	char **f;

	for (f = files; *f; f++) {
		debpy_set versions = debpy_filter(e, *f, wanted);
		char *real;
		struct stat st;

		if (!versions)
			continue;
		real = select_real_path(&c->sel, *f);
		if (stat(real, &st) < 0 || !S_ISREG(st.st_mode)) {
			if (c->verbose)
				warning("'%s' does not exist, skipped", real);
		} else {
			queue(c, *f, real, &st, versions);
		}
		free(real);
	}
}

/* The package's .py files under ITEM (a plain prefix, as py3compile). */
static char **filter_directory(char **files, const char *item)
{
	size_t n = 0, len = strlen(item);
	char **v, **f;

	for (f = files; *f; f++)
		n++;
	v = xcalloc(n + 1, sizeof(char *));
	n = 0;
	for (f = files; *f; f++)
		if (!strncmp(*f, item, len))
			v[n++] = xstrdup(*f);
	return v;
}

/* The package's files in public directories for VERSIONS. */
static char **filter_public(char **files, debpy_set versions)
{
	size_t n = 0;
	char **v, **f;
	int dirver;

	for (f = files; *f; f++)
		n++;
	v = xcalloc(n + 1, sizeof(char *));
	n = 0;
	for (f = files; *f; f++) {
		if (debpy_public(&dirver, *f) != 1)
			continue;
		/* "python3" is every 3.X; "python3.Y" only 3.Y. */
		if (dirver == 3 ? versions != 0 : debpy_in(versions, dirver))
			v[n++] = xstrdup(*f);
	}
	return v;
}

/* Queue what py3compile would compile for PATHS, given VERSIONS. */
static int plan(struct py3compile *c, char **paths, size_t npaths,
		debpy_set versions)
{
	struct debpy_excludes e;
	char **pkg = NULL, **files;
	size_t i;
	int ret = 0;

	if (c->package) {
		pkg = dpkg_python_files(c->sel.root, c->package);
		if (!pkg)
			return -1;
	}
	if (c->package && npaths) {
		/* Private directories: the first version, in Debian's order. */
		debpy_set one = debpy_one(debpy_first(&c->deb, versions));

		for (i = 0; i < npaths; i++) {
			char *real = select_real_path(&c->sel, paths[i]);
			struct stat st;

			if (debpy_excludes(&c->deb, &e, paths[i], c->regex,
					   c->nregex, one) < 0) {
				free(real);
				ret = -1;
				break;
			}
			if (stat(real, &st) < 0) {
				warning("No such file or directory: %s", paths[i]);
			} else {
				files = filter_directory(pkg, paths[i]);
				queue_files(c, files, &e, one);
				free_strings(files);
			}
			free(real);
			debpy_excludes_release(&e);
		}
	} else if (c->package) {
		if (debpy_excludes(&c->deb, &e, "/", NULL, 0, 0) < 0) {
			free_strings(pkg);
			return -1;
		}
		files = filter_public(pkg, versions);
		queue_files(c, files, &e, versions);
		free_strings(files);
		debpy_excludes_release(&e);
	} else {
		for (i = 0; i < npaths; i++) {
			if (debpy_excludes(&c->deb, &e, paths[i], c->regex,
					   c->nregex, versions) < 0) {
				ret = -1;
				break;
			}
			files = debpy_py_files(&c->sel, &paths[i], 1);
			queue_files(c, files, &e, versions);
			free_strings(files);
			debpy_excludes_release(&e);
		}
	}
	free_strings(pkg);
	return ret;
}

/* Compile what was queued: the linked version here, others by theirs. */
static int run(struct py3compile *c, size_t *failed)
{
	struct compile_opts o;
	struct compile_stats stats = { 0 };
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	size_t removed = 0;
	int m, ret = 0;

	memset(&o, 0, sizeof(o));
	o.levels = 1u << (c->optimize ? 1 : 0);
	/* py_compile's default: hash-based for reproducible builds. */
	o.mode = sde && *sde ? PYC_CHECKED_HASH : PYC_TIMESTAMP;
	o.force = c->force;
	/* py_compile's output: no progress, its default warning filters. */
	o.quiet = 2;
	o.jobs = pool_cpus();
	for (m = 0; m <= DEBPY_MAX_MINOR; m++) {
		struct source_list *list = &c->todo[m];

		if (!list->n)
			continue;
		sources_dedup(list);
		if (300 + m == c->embedded && c->package) {
			/* A package's: reused and recorded, as "register". */
			if (package_compile_list(c->package, &c->sel, &o, list,
						 &stats, &removed) < 0)
				ret = -1;
			*failed += stats.failed;
		} else if (300 + m == c->embedded) {
			compile_run(&o, list, &stats);
			*failed += stats.failed;
		} else if (foreign_compile(c->sel.root, 300 + m, c->optimize,
					   c->force, list, failed) < 0) {
			ret = -1;
		}
	}
	if (c->verbose)
		printf("%zu compiled, %zu fresh, %zu failed\n",
		       stats.compiled, stats.fresh + stats.reused, *failed);
	return ret;
}

static int parse(int argc, char **argv, struct py3compile *c)
{
	struct buf why = BUF_INIT;
	struct pyrt_re *re;
	int ch, ret;

	optind = 1;
	while ((ch = parse_option(argc, argv, "vqfOp:V:X:h", longopts,
				  usage)) != -1) {
		switch (ch) {
		case 'v':
			c->verbose = 1;
			break;
		case 'q':
			c->verbose = 0;
			break;
		case 'f':
			c->force = 1;
			break;
		case 'O':
			c->optimize = 1;
			break;
		case 'p':
			c->package = optarg;
			break;
		case 'V':
			if (debpy_parse_range(optarg, &c->min, &c->max) < 0)
				return usage_error(usage, "option -V: version range is invalid: %s",
						   optarg);
			c->have_range = 1;
			break;
		case 'X':
			re = pyrt_re_compile(optarg, &why);
			if (!re) {
				ret = usage_error(usage, "option -X: regular expression is not valid: %s",
						  why.data ? why.data : optarg);
				buf_release(&why);
				return ret;
			}
			pyrt_re_free(re);
			c->regex = xrealloc(c->regex, (c->nregex + 1) * sizeof(*c->regex));
			c->regex[c->nregex++] = optarg;
			break;
		case OPT_ROOT:
			c->sel.root = optarg;
			break;
		case OPT_VERSION:
			printf("py3compile (pyprime %s, Python %s)\n",
			       PYPRIME_VERSION, pyrt_version());
			return 1;
		case 'h':
			fputs(usage, stdout);
			fputs(help, stdout);
			return 1;
		default:
			return 2;
		}
	}
	return 0;
}

int cmd_py3compile(int argc, char **argv)
{
	struct py3compile c;
	debpy_set versions;
	size_t i, failed = 0;
	char **paths;
	int ret, m;

	memset(&c, 0, sizeof(c));
	c.min = c.max = DEBPY_NONE;
	ret = parse(argc, argv, &c);
	if (ret) {
		free(c.regex);
		return ret == 1 ? 0 : 2;
	}
	paths = argv + optind;
	for (i = 0; i < (size_t)(argc - optind); i++)
		if (c.sel.root && paths[i][0] != '/') {
			free(c.regex);
			return usage_error(usage, "'%s' is not an absolute path (--root)",
					   paths[i]);
		}
	if (c.nregex && argc == optind) {
		free(c.regex);
		return usage_error(usage, "--exclude option works with private directories only, please use /usr/share/python3/bcep to specify public modules to skip");
	}
	if (debpy_load(&c.deb, c.sel.root) < 0) {
		free(c.regex);
		return 1;
	}
	c.embedded = embedded_version();

	/* A single version asked for is used if installed, supported or not. */
	if (c.have_range && c.min != DEBPY_NONE && c.min == c.max &&
	    debpy_installed(&c.deb, c.min))
		versions = debpy_one(c.min);
	else
		versions = debpy_requested(&c.deb, c.min, c.max, 1);
	if (!versions) {
		error("Requested versions are not installed");
		ret = 3;
	} else if (!c.package && argc == optind) {
		fputs(usage, stderr);
		ret = 1;
	} else if (plan(&c, paths, (size_t)(argc - optind), versions) < 0 ||
		   run(&c, &failed) < 0) {
		ret = 1;
	}
	if (failed)
		warning("%zu file%s could not be compiled", failed,
			failed == 1 ? "" : "s");
	for (m = 0; m <= DEBPY_MAX_MINOR; m++)
		source_list_release(&c.todo[m]);
	debpy_release(&c.deb);
	free(c.regex);
	return ret;
}
