/*
 * cmd-py3clean.c: "pyprime py3clean", a drop-in for Debian's py3clean: the
 * same command line, the same files removed (a package's, a tree's, or
 * their intersection; every interpreter's or one version's), but each
 * __pycache__ directory read once, never followed through a symlink, and
 * a dpkg root honoured.
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clean.h"
#include "cmd.h"
#include "debpy.h"
#include "dir.h"
#include "dpkg.h"
#include "foreign.h"
#include "pyrt.h"
#include "record.h"
#include "registry.h"
#include "sources.h"
#include "util.h"

static const char usage[] =
	"usage: pyprime py3clean [-qv] [-p package] [-V version] [--root dir]\n"
	"                        [dir_or_file...]\n";

static const char help[] =
	"\n"
	"Debian's py3clean, done by pyprime: remove the pycs of a package's\n"
	"or a tree's .py files (of both: those in both), every interpreter's or\n"
	"one version's, and the __pycache__ directories that leaves empty.\n"
	"\n"
	"  -p, --package package     the files of this installed package\n"
	"  -V version                only this Python version's pycs\n"
	"  -v, --verbose             say how many files were removed\n"
	"  -q, --quiet               be quiet (the default)\n"
	"      --root dir            the dpkg root (DPKG_ROOT)\n"
	"      --version             print the version\n"
	"  -h, --help                show this help\n";

enum { OPT_ROOT = 256, OPT_VERSION };

static const struct option longopts[] = {
	{ "package", required_argument, NULL, 'p' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "root", required_argument, NULL, OPT_ROOT },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Which pycs of a source go: py3clean's destroyer() modes. */
enum what { ALL, LEGACY_ONLY, ONE_TAG };

struct py3clean {
	struct select sel;
	enum what what;
	char *tag;		/* ONE_TAG */
	size_t removed, failed;
};

/*
 * The magic tag -V VERSION removes, as py3clean's get_magic_tag_to_remove():
 * NULL with *STATUS set when nothing is to be done (0: another supported
 * version shares the tag) or it cannot be found (4).
 */
static char *tag_to_remove(const char *root, const char *version, int *status)
{
	struct debpy deb;
	char *tag, *other;
	int v, m, embedded = 0;

	if (debpy_load(&deb, root) < 0) {
		*status = 1;
		return NULL;
	}
	debpy_parse_version(pyrt_series(), &embedded);
	if (debpy_parse_version(version, &v) < 0) {
		error("invalid version '%s'", version);
		debpy_release(&deb);
		*status = 1;
		return NULL;
	}
	tag = v == embedded ? xstrdup(pyrt_cache_tag()) : foreign_cache_tag(root, v);
	if (!tag) {
		error("cannot find magic tag for Python %d.%d", v / 100, v % 100);
		debpy_release(&deb);
		*status = 4;
		return NULL;
	}
	for (m = 0; m <= DEBPY_MAX_MINOR; m++) {
		if (300 + m == v || !debpy_in(deb.supported, 300 + m))
			continue;
		other = 300 + m == embedded ? xstrdup(pyrt_cache_tag())
					    : foreign_cache_tag(root, 300 + m);
		if (other && !strcmp(other, tag)) {
			free(other);
			free(tag);
			debpy_release(&deb);
			*status = 0;
			return NULL;
		}
		free(other);
	}
	debpy_release(&deb);
	return tag;
}

/* Remove NAME in directory FD (PATH), counting it. */
static void remove_at(struct py3clean *c, int fd, const char *path,
		      const char *name)
{
	char *full = join_path(path, name);

	if (unlinkat(fd, name, 0) == 0) {
		c->removed++;
	} else if (errno != ENOENT) {
		error_errno("cannot remove '%s'", full);
		c->failed++;
	}
	free(full);
}

/* NAME.pyc and NAME.pyo beside the source, in directory FD. */
static void remove_classic(struct py3clean *c, int fd, const char *path,
			   const char *name)
{
	static const char *const ext[] = { "c", "o" };
	struct stat st;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ext); i++) {
		char *file = xasprintf("%s%s", name, ext[i]);

		if (fstatat(fd, file, &st, 0) == 0)
			remove_at(c, fd, path, file);
		free(file);
	}
}

/* Remove the entries of CACHE (read once) that glob PATTERN matches. */
static void remove_matching(struct py3clean *c, int fd, const char *path,
			    struct dir_list *cache, char *gone,
			    const char *pattern)
{
	size_t i;

	for (i = 0; i < cache->n; i++) {
		const char *name = cache->v[i].name;

		/* glob() skips hidden names unless the pattern is hidden. */
		if (gone[i] || (name[0] == '.' && pattern[0] != '.'))
			continue;
		if (fnmatch(pattern, name, 0) == 0) {
			gone[i] = 1;
			remove_at(c, fd, path, name);
		}
	}
}

/* The pycs of the sources NAMES (N of them) in directory DIR. */
static void clean_dir(struct py3clean *c, const char *dir, char **names,
		      size_t n)
{
	char *real = select_real_path(&c->sel, dir), *cache_path;
	struct dir_list cache = { NULL, 0, NULL };
	size_t i, before;
	char *gone = NULL;
	int fd, cfd = -1;

	fd = open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		free(real);
		return;
	}
	cache_path = join_path(real, "__pycache__");
	if (c->what != LEGACY_ONLY) {
		cfd = openat(fd, "__pycache__", O_RDONLY | O_DIRECTORY |
			     O_NOFOLLOW | O_CLOEXEC);
		if (cfd >= 0 && dir_read(cfd, &cache, 0) < 0) {
			error_errno("cannot read directory '%s'", cache_path);
			c->failed++;
			close(cfd);
			cfd = -1;
		}
		gone = xcalloc(cache.n + 1, 1);
	}
	before = c->removed;
	for (i = 0; i < n; i++) {
		const char *base = names[i];
		size_t len = strlen(base);
		char *stem, *dot, *pattern;

		if (c->what != ONE_TAG)
			remove_classic(c, fd, real, base);
		if (c->what == LEGACY_ONLY)
			continue;
		stem = len > 3 && base[0] != '.' ? xasprintf("%.*s", (int)(len - 3), base)
						 : xstrdup(base);
		pattern = c->what == ALL ? xasprintf("%s.*", stem)
					 : xasprintf("%s.%s.py[co]", stem, c->tag);
		if (cfd >= 0)
			remove_matching(c, cfd, cache_path, &cache, gone, pattern);
		free(pattern);
		/* As py3clean, for https://bugs.python.org/issue22966: a
		 * dotted name's first part too. */
		dot = strchr(stem, '.');
		if (dot) {
			*dot = '\0';
			pattern = c->what == ALL ? xasprintf("%s.*", stem)
						 : xasprintf("%s.%s.py[co]", stem, c->tag);
			if (cfd >= 0)
				remove_matching(c, cfd, cache_path, &cache, gone,
						pattern);
			if (c->what == ALL)
				remove_classic(c, fd, real, stem);
			free(pattern);
		}
		free(stem);
	}
	if (cfd >= 0) {
		close(cfd);
		if (c->removed > before)
			unlinkat(fd, "__pycache__", AT_REMOVEDIR);
	}
	dir_list_release(&cache);
	free(gone);
	free(cache_path);
	close(fd);
	free(real);
}

/* By directory, so that each is read once. */
static int cmp_dirs(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;
	size_t lx = (size_t)(strrchr(x, '/') - x), ly = (size_t)(strrchr(y, '/') - y);
	int r = strncmp(x, y, lx < ly ? lx : ly);

	if (r)
		return r;
	if (lx != ly)
		return lx < ly ? -1 : 1;
	return strcmp(x + lx, y + ly);
}

static void clean(struct py3clean *c, char **files, size_t n)
{
	size_t i, j, k;

	qsort(files, n, sizeof(*files), cmp_dirs);
	for (i = 0; i < n; i = j) {
		size_t dlen = (size_t)(strrchr(files[i], '/') - files[i]);
		char *dir = xasprintf("%.*s", (int)(dlen ? dlen : 1), files[i]);
		char **names;

		for (j = i; j < n && (size_t)(strrchr(files[j], '/') - files[j]) == dlen &&
		     !strncmp(files[j], files[i], dlen); j++)
			;
		names = xcalloc(j - i, sizeof(*names));
		for (k = i; k < j; k++)
			names[k - i] = strrchr(files[k], '/') + 1;
		/* Duplicates (a file named twice) are harmless. */
		clean_dir(c, dir, names, j - i);
		free(names);
		free(dir);
	}
}

/*
 * In the prerm of an upgrade (pyprime-py3compile's py3clean runs there
 * for dh_python3's packages), keep the pycs of PKG's FILES that its record
 * lists and the next "py3compile -p" can reuse, as "pyprime clean
 * --keep-reusable" does for pyprime's own prerm; leave the others in
 * FILES, counting those in *N.  Returns the pycs removed.  Otherwise all
 * of PKG's pycs go, and its record with them: those packages have no
 * postrm of pyprime's to remove it on purge.
 */
static size_t keep_reusable(const struct select *sel, const char *pkg,
			    char **files, size_t *n)
{
	struct clean_opts co = { .keep_reusable = 1, .quiet = 1 };
	struct clean_stats cs = { 0, 0, 0 };
	struct record rec = RECORD_INIT;
	char *action = dpkg_maintscript_action("prerm", pkg), **keep;
	size_t i, nkeep = 0, left = 0;

	if (!action || (strcmp(action, "upgrade") &&
			strcmp(action, "failed-upgrade"))) {
		free(action);
		registry_forget_record(sel->root, pkg);
		return 0;
	}
	free(action);
	registry_load_record(sel->root, pkg, &rec);
	keep = xcalloc(*n + 1, sizeof(*keep));
	for (i = 0; i < *n; i++)
		if (rec.usable && record_find(&rec, files[i])) {
			keep[nkeep++] = select_real_path(sel, files[i]);
			free(files[i]);
		} else {
			files[left++] = files[i];
		}
	files[left] = NULL;
	*n = left;
	clean_files(&co, keep, nkeep, &cs);
	free_strings(keep);
	record_release(&rec);
	return cs.removed;
}

static int in_list(char **sorted, size_t n, const char *s)
{
	return bsearch(&s, sorted, n, sizeof(*sorted), cmp_strings) != NULL;
}

int cmd_py3clean(int argc, char **argv)
{
	struct py3clean c;
	const char *package = NULL, *version = NULL;
	char **pkg = NULL, **files = NULL;
	size_t npkg = 0, n = 0, i;
	int ch, verbose = 0, ret = 0;

	memset(&c, 0, sizeof(c));
	optind = 1;
	while ((ch = parse_option(argc, argv, "vqp:V:h", longopts, usage)) != -1) {
		switch (ch) {
		case 'v':
			verbose = 1;
			break;
		case 'q':
			verbose = 0;
			break;
		case 'p':
			package = optarg;
			break;
		case 'V':
			version = optarg;
			break;
		case OPT_ROOT:
			c.sel.root = optarg;
			break;
		case OPT_VERSION:
			printf("py3clean (pyprime %s, Python %s)\n",
			       PYPRIME_VERSION, pyrt_version());
			return 0;
		case 'h':
			fputs(usage, stdout);
			fputs(help, stdout);
			return 0;
		default:
			return 2;
		}
	}
	for (i = (size_t)optind; i < (size_t)argc; i++)
		if (c.sel.root && argv[i][0] != '/')
			return usage_error(usage, "'%s' is not an absolute path (--root)",
					   argv[i]);
	/* As py3clean: -V is looked at before the arguments are. */
	if (version && has_suffix(version, "3.1")) {
		c.what = LEGACY_ONLY;
	} else if (version) {
		c.tag = tag_to_remove(c.sel.root, version, &ret);
		if (!c.tag)
			return ret;
		c.what = ONE_TAG;
	}
	if (!package && optind == argc) {
		fputs(usage, stderr);
		free(c.tag);
		return 1;
	}
	if (package) {
		pkg = dpkg_python_files(c.sel.root, package);
		if (!pkg) {
			free(c.tag);
			return 1;
		}
		for (npkg = 0; pkg[npkg]; npkg++)
			;
		qsort(pkg, npkg, sizeof(*pkg), cmp_strings);
	}
	if (optind < argc) {
		files = debpy_py_files(&c.sel, argv + optind, (size_t)(argc - optind));
		for (i = 0; files[i]; i++)
			if (!package || in_list(pkg, npkg, files[i]))
				files[n++] = files[i];
			else
				free(files[i]);
		files[n] = NULL;
	} else {
		files = pkg;
		n = npkg;
		pkg = NULL;
		if (!version)
			c.removed += keep_reusable(&c.sel, package, files, &n);
	}
	clean(&c, files, n);
	if (verbose)
		printf("removed files: %zu\n", c.removed);
	free_strings(files);
	free_strings(pkg);
	free(c.tag);
	return 0;
}
