/*
 * pyload.c: the functions of pyrt.h as the program sees them.  The
 * interpreter (pyrt*.c and libpython) is a module of its own,
 * pyprime-python.so, loaded the first time one of them needs it; what is
 * known from the build (magic number, cache tag, X.Y) needs no loading.
 *
 * The module is looked for beside the program first (the build tree, a
 * copy taken with it), then where it is installed (PYRT_MODULE).  A module
 * that cannot be loaded ends the run with status 127, as the dynamic
 * loader would have for a missing libpython, so that wrappers that fall
 * back on a status they do not know (py3-divert) still do.
 */
#include <dlfcn.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pool.h"
#include "pyrt-ops.h"
#include "util.h"

#ifndef PYRT_SERIES
#error "PYRT_SERIES (the interpreter's X.Y) must come from the build"
#endif
#ifndef PYRT_MODULE
#error "PYRT_MODULE (where the module is installed) must come from the build"
#endif

#define MODULE_NAME "pyprime-python.so"

/*
 * importlib's MAGIC_NUMBER per minor version, so that an up-to-date tree
 * can be checked without the interpreter.  pyrt_init() checks the entry
 * against the running interpreter.
 */
static const struct {
	int minor;
	unsigned magic;
} magics[] = {
	{ 9, 3425 }, { 10, 3439 }, { 11, 3495 }, { 12, 3531 }, { 13, 3571 },
};

static const struct pyrt_ops *ops;

/* The minor version of PYRT_SERIES ("3.11": 11). */
static int series_minor(void)
{
	const char *dot = strchr(PYRT_SERIES, '.');

	return dot ? atoi(dot + 1) : -1;
}

const char *pyrt_series(void)
{
	return PYRT_SERIES;
}

unsigned pyrt_magic(void)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(magics); i++)
		if (magics[i].minor == series_minor() &&
		    !strncmp(PYRT_SERIES, "3.", 2))
			return magics[i].magic;
	die("no .pyc magic number known for Python %s", PYRT_SERIES);
}

const char *pyrt_cache_tag(void)
{
	static char tag[32];

	if (!tag[0])
		snprintf(tag, sizeof(tag), "cpython-%.*s%d",
			 (int)strcspn(PYRT_SERIES, "."), PYRT_SERIES,
			 series_minor());
	return tag;
}

/* MODULE_NAME in the directory of PROGRAM, if it is there; NULL if not. */
static char *beside(const char *program)
{
	const char *slash = strrchr(program, '/');
	char *path;

	if (!slash)
		return NULL;
	path = xasprintf("%.*s/%s", (int)(slash - program), program,
			 MODULE_NAME);
	if (access(path, R_OK) == 0)
		return path;
	free(path);
	return NULL;
}

/*
 * The module beside the program, if there is one there: NULL if not.  The
 * program's path, or else the one it was run by (argv[0]), for a directory
 * whose parents this user may not search.
 */
static char *beside_program(void)
{
	char exe[PATH_MAX], *path = NULL;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	FILE *f;

	if (n > 0) {
		exe[n] = '\0';
		path = beside(exe);
	}
	if (!path && (f = fopen("/proc/self/cmdline", "re"))) {
		n = (ssize_t)fread(exe, 1, sizeof(exe) - 1, f);
		fclose(f);
		exe[n > 0 ? n : 0] = '\0';
		path = beside(exe);
	}
	return path;
}

/* The run ends: said on stderr, not into a worker's captured messages,
 * and by the pool's parent rather than by each of its workers, which end
 * quietly (pool.h). */
static void NORETURN PRINTF(1, 2) unloadable(const char *fmt, ...)
{
	struct buf msg = BUF_INIT;
	va_list ap;

	if (pool_is_worker())
		exit(127);
	va_start(ap, fmt);
	buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	msg_capture(NULL);
	error("%s", msg.data);
	exit(127);
}

static const struct pyrt_ops *load(void)
{
	char *path;
	void *handle;

	if (ops)
		return ops;
	path = beside_program();
	if (!path)
		path = xstrdup(PYRT_MODULE);
	/* Global: extension modules the interpreter loads look libpython's
	 * symbols up there. */
	handle = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
	if (!handle)
		unloadable("cannot load the embedded interpreter: %s",
			   dlerror());
	ops = dlsym(handle, PYRT_OPS_SYMBOL);
	if (!ops || ops->size != sizeof(*ops) ||
	    strcmp(ops->version, PYPRIME_VERSION))
		unloadable("'%s' is not the interpreter module of pyprime %s",
			   path, PYPRIME_VERSION);
	free(path);
	return ops;
}

int pyrt_init(void)
{
	return load()->init();
}

int pyrt_started(void)
{
	return ops && ops->started();
}

const char *pyrt_version(void)
{
	return load()->python_version();
}

pid_t pyrt_fork(void)
{
	return ops ? ops->fork() : fork();
}

void pyrt_load(void)
{
	load();
}

int pyrt_begin(struct pyrt_unit *u)
{
	return load()->begin(u);
}

int pyrt_compile(struct pyrt_unit *u, int optimize, struct buf *out,
		 unsigned *traits)
{
	return load()->compile(u, optimize, out, traits);
}

void pyrt_end(struct pyrt_unit *u)
{
	load()->end(u);
}

int pyrt_equivalent(struct pyrt_unit *u, const char *stripped, size_t len,
		    int optimize, struct buf *why)
{
	return load()->equivalent(u, stripped, len, optimize, why);
}

struct pyrt_re *pyrt_re_compile(const char *pattern, struct buf *why)
{
	return load()->re_compile(pattern, why);
}

int pyrt_re_match(const struct pyrt_re *r, const char *s, char **group1)
{
	return load()->re_match(r, s, group1);
}

void pyrt_re_free(struct pyrt_re *r)
{
	load()->re_free(r);
}

int pyrt_preload_start(const char *dir, char *const *imports,
		       char *const *optional, char *const *flags)
{
	return load()->preload_start(dir, imports, optional, flags);
}

char **pyrt_preload_files(void)
{
	return load()->preload_files();
}

char **pyrt_preload_threads(void)
{
	return load()->preload_threads();
}

pid_t pyrt_preload_fork(void)
{
	return load()->preload_fork();
}

void pyrt_preload_rehearse(void)
{
	load()->preload_rehearse();
}

void pyrt_preload_run(const struct pyrt_launch *l)
{
	load()->preload_run(l);
}
