/*
 * package.c: a registered package's settings, and compiling its files.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clean.h"
#include "dpkg.h"
#include "package.h"
#include "pool.h"
#include "record.h"
#include "registry.h"
#include "util.h"

const char package_usage[] =
	"usage: pyprime register [-qv] [--deferred] [--root dir] [-b] [-O level]...\n"
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
	"  -v, --verbose             print what was compiled, reused and removed\n"
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
	{ "verbose", no_argument, NULL, 'v' },
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
	while ((c = parse_option(argc, argv, "O:bx:qvh", longopts,
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
		case 'v':
			p->verbose = 1;
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

/* A package in a run: its sources are LIST's [from, to). */
struct member {
	const char *name;
	const struct select *sel;
	size_t from, to;
	struct record old;
	int loaded;		/* OLD is read already */
	int found;		/* and was on disk */
};

static void load_record(struct member *m)
{
	if (!m->loaded)
		m->found = registry_load_record(m->sel->root, m->name,
						&m->old) > 0;
	m->loaded = 1;
}

/*
 * What a run of the N packages M trusts: a package's own record, or
 * theirs merged into MERGED (RECORD_INIT).  Reads them, if not yet.
 */
static struct record *run_record(struct member *m, size_t n,
				 struct record *merged)
{
	size_t i, k;

	for (i = 0; i < n; i++)
		load_record(&m[i]);
	if (n == 1)
		return &m[0].old;
	for (i = 0; i < n; i++)
		for (k = 0; m[i].old.usable && k < m[i].old.n; k++)
			record_add(merged, &m[i].old.v[k]);
	return merged;
}

static int cmp_str_ptr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Whether the directory PATH is there and empty. */
static int empty_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int empty = d != NULL;

	while (d && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			empty = 0;
	if (d)
		closedir(d);
	return empty;
}

/*
 * dpkg could not remove the directories of sources that are gone while
 * their pycs were there: remove those that are now empty and that no
 * package owns, and their parents likewise.  GONE are installed paths.
 */
static void prune_dirs(const struct select *sel, char **gone, size_t n)
{
	char *last = NULL;
	size_t i;

	for (i = 0; i < n; i++) {
		char *dir = path_dir(gone[i]);

		while (strcmp(dir, "/") && strcmp(dir, ".") &&
		       (!last || strcmp(dir, last))) {
			char *real = select_real_path(sel, dir), *up;
			int removed = empty_dir(real) &&
				      dpkg_owned(sel->root, dir) == 0 &&
				      rmdir(real) == 0;

			free(real);
			free(last);
			last = xstrdup(dir);
			if (!removed)
				break;
			up = path_dir(dir);
			free(dir);
			dir = up;
		}
		free(dir);
	}
	free(last);
}

/*
 * M's record after the run: what the run wrote or reused for its sources
 * (NOW), and the old entries of sources the run did not cover that still
 * exist.  The pycs of old entries whose source is gone are removed.
 */
static int update_record(const struct compile_opts *o, struct member *m,
			 const struct source_list *list, struct record *now,
			 size_t *removed)
{
	struct clean_opts co = { .quiet = o->quiet };
	struct clean_stats cs = { 0, 0, 0 };
	struct record mine = RECORD_INIT;
	size_t n = m->to - m->from, k, ngone = 0;
	char **covered = xcalloc(n ? n : 1, sizeof(*covered)), **gone = NULL,
	     **gone_paths = NULL;
	int ret = 0;

	record_reserve(&mine, n + m->old.n);
	for (k = 0; k < n; k++) {
		const struct source *s = &list->v[m->from + k];
		const struct record_entry *e = record_find(now, s->recorded);

		covered[k] = s->recorded;
		if (e)
			record_add(&mine, e);
	}
	qsort(covered, n, sizeof(*covered), cmp_str_ptr);
	for (k = 0; k < m->old.n; k++) {
		const struct record_entry *e = &m->old.v[k];
		struct stat st;
		char *real;

		if (bsearch(&e->path, covered, n, sizeof(*covered), cmp_str_ptr))
			continue;
		real = select_real_path(m->sel, e->path);
		if (lstat(real, &st) == 0 || errno != ENOENT) {
			if (m->old.usable)
				record_add(&mine, e);
			free(real);
			continue;
		}
		gone = xrealloc(gone, (ngone + 1) * sizeof(*gone));
		gone_paths = xrealloc(gone_paths, (ngone + 1) * sizeof(*gone));
		gone_paths[ngone] = e->path;
		gone[ngone++] = real;
	}
	/* Sources this version no longer ships: their pycs go. */
	if (ngone && clean_files(&co, gone, ngone, &cs) < 0)
		ret = -1;
	*removed += cs.removed;
	if (cs.dirs) {
		qsort(gone_paths, ngone, sizeof(*gone_paths), cmp_str_ptr);
		prune_dirs(m->sel, gone_paths, ngone);
	}
	while (ngone)
		free(gone[--ngone]);
	free(gone);
	free(gone_paths);
	free(covered);
	/* A reinstall's is most often the same: not written again. */
	if ((!m->found || !record_same(&mine, &m->old)) &&
	    registry_save_record(m->sel->root, m->name, &mine) < 0)
		ret = -1;
	record_release(&mine);
	return ret;
}

/*
 * As the sources of a run are listed: at the first that the record shows
 * changed (its size differs, or it has none), a spare worker (compile.h)
 * starts the interpreter for it and those like it while the listing goes
 * on.  A reinstall, which compiles nothing, has none.
 */
struct spare_watch {
	const struct compile_opts *o;
	struct member *m;	/* the package being listed */
	struct pool_spare *spare;
	int started;
};

static void watch_source(void *arg, const struct source *s)
{
	struct spare_watch *w = arg;
	const struct record_entry *e = NULL;

	if (w->started)
		return;
	if (!w->o->force && w->m->old.usable)
		e = record_find(&w->m->old, s->recorded);
	if (e && e->size == s->st.st_size)
		return;
	w->started = 1;
	w->spare = compile_spare(w->o);
}

/*
 * Compile LIST, the sources of the N packages M, as O says, trusting their
 * pycs only through their records (record.h) as REUSE (run_record()) has
 * them, then write those again.
 */
static int compile_recorded(const struct compile_opts *o, struct member *m,
			    size_t n, const struct source_list *list,
			    struct record *reuse, struct pool_spare *spare,
			    struct compile_stats *stats, size_t *removed)
{
	struct record now = RECORD_INIT;
	struct compile_opts ro = *o;
	size_t i;
	int ret = 0;

	record_reserve(&now, list->n);
	ro.reuse = reuse;
	ro.record = &now;
	ro.spare = spare;
	compile_run(&ro, list, stats);
	for (i = 0; i < n; i++)
		if (update_record(o, &m[i], list, &now, removed) < 0)
			ret = -1;
	record_release(&now);
	return ret;
}

int package_compile_list(const char *pkg, const struct select *sel,
			 const struct compile_opts *o,
			 const struct source_list *list,
			 struct compile_stats *stats, size_t *removed)
{
	struct member m = { pkg, sel, 0, list->n, RECORD_INIT, 0, 0 };
	int ret = registry_load_key(sel->root) < 0 ? -1 : 0;

	if (compile_recorded(o, &m, 1, list, run_record(&m, 1, NULL), NULL,
			     stats, removed) < 0)
		ret = -1;

	record_release(&m.old);
	return ret;
}

int package_compile(struct package *p, size_t n, struct compile_stats *stats,
		    size_t *removed)
{
	struct clean_opts co = { .other_versions = 1 };
	struct clean_stats cs = { 0, 0, 0 };
	struct member *m = xcalloc(n ? n : 1, sizeof(*m));
	char *done = xcalloc(n ? n : 1, 1);
	size_t i, j, k, nm;
	int ret = 0;

	for (i = 0; i < n; i++) {
		struct source_list list = { NULL, 0, 0 };
		struct compile_opts so = p[i].o;
		struct spare_watch watch = { &so, NULL, NULL, 0 };
		struct record merged = RECORD_INIT;
		char **paths;

		if (done[i])
			continue;
		/* Every package compiled like this one, in one run. */
		for (j = i, nm = 0; j < n; j++) {
			if (done[j] || !same_settings(&p[i], &p[j]))
				continue;
			done[j] = 1;
			memset(&m[nm], 0, sizeof(m[nm]));
			m[nm].name = p[j].name;
			m[nm++].sel = &p[j].sel;
		}
		/* Before a spare is forked: it hashes with it. */
		if (registry_load_key(m[0].sel->root) < 0)
			ret = -1;
		for (k = 0; k < nm; k++) {
			struct dpkg_listing l;

			dpkg_list_start(m[k].sel->root, m[k].name, &l);
			/* While the first dpkg-query runs, if one must (16
			 * ms of its own start-up): what the run needs from
			 * the registry. */
			if (k == 0)
				so.reuse = run_record(m, nm, &merged);
			m[k].from = list.n;
			watch.m = &m[k];
			if (sources_add_listed(&list, m[k].sel, m[k].name,
					       dpkg_list_finish(&l),
					       watch_source, &watch))
				ret = -1;
			m[k].to = list.n;
		}
		if (compile_recorded(&p[i].o, m, nm, &list, so.reuse,
				     watch.spare, stats, removed) < 0)
			ret = -1;
		for (k = 0; k < nm; k++)
			record_release(&m[k].old);
		record_release(&merged);
		co.quiet = p[i].o.quiet;
		/* A new interpreter's pycs replace the old ones'. */
		paths = xcalloc(list.n + 1, sizeof(*paths));
		for (k = 0; k < list.n; k++)
			paths[k] = list.v[k].path;
		if (!p[i].o.legacy && clean_files(&co, paths, list.n, &cs) < 0)
			ret = -1;
		free(paths);
		source_list_release(&list);
	}
	free(m);
	free(done);
	return ret;
}

void package_print_stats(const struct compile_stats *stats, size_t removed)
{
	printf("%zu compiled, %zu reused, %zu fresh, %zu failed, %zu removed\n",
	       stats->compiled, stats->reused, stats->fresh, stats->failed,
	       removed);
}
