/*
 * envinfo.c: kernel, CPU, governor, filesystem and interpreter, from
 * uname(2), /proc and /sys.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "envinfo.h"
#include "run.h"
#include "util.h"

/* The first line of a small file, or NULL. */
static char *read_line(const char *path)
{
	char line[512];
	FILE *f = fopen(path, "re");
	char *s = NULL;

	if (!f)
		return NULL;
	if (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		s = xstrdup(line);
	}
	fclose(f);
	return s;
}

static char *cpu_model(void)
{
	static const char *const keys[] = { "model name", "Hardware",
					    "Processor", "cpu model" };
	char line[512], *found = NULL;
	FILE *f = fopen("/proc/cpuinfo", "re");
	size_t i;

	while (f && !found && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		if (!colon)
			continue;
		for (i = 0; i < ARRAY_SIZE(keys); i++)
			if (!strncmp(line, keys[i], strlen(keys[i]))) {
				colon += strspn(colon + 1, " \t") + 1;
				colon[strcspn(colon, "\n")] = '\0';
				found = xstrdup(colon);
				break;
			}
	}
	if (f)
		fclose(f);
	return found;
}

/*
 * The mount holding TREE: in /proc/self/mountinfo, the entry with TREE's
 * device number and the longest mount point TREE lies under.
 */
static void mount_of(struct envinfo *e, const char *tree)
{
	char line[4096];
	struct stat st;
	size_t best = 0;
	FILE *f;

	if (stat(tree, &st) < 0 || !(f = fopen("/proc/self/mountinfo", "re")))
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned maj, min;
		char point[4096], type[256], source[4096];
		const char *dash = strstr(line, " - ");
		size_t len;

		if (!dash || sscanf(line, "%*d %*d %u:%u %*s %4095s", &maj,
				    &min, point) != 3 ||
		    sscanf(dash + 3, "%255s %4095s", type, source) != 2)
			continue;
		len = strlen(point);
		if (makedev(maj, min) != st.st_dev ||
		    strncmp(tree, point, len) ||
		    (tree[len] != '/' && tree[len] && len > 1) || len < best)
			continue;
		best = len;
		free(e->fs);
		free(e->device);
		e->fs = xstrdup(type);
		e->device = xstrdup(source);
	}
	fclose(f);
	if (major(st.st_dev)) {
		char *p = xasprintf("/sys/dev/block/%u:%u/queue/rotational",
				    major(st.st_dev), minor(st.st_dev));
		char *q = xasprintf("/sys/dev/block/%u:%u/../queue/rotational",
				    major(st.st_dev), minor(st.st_dev));
		char *r = read_line(p);

		if (!r)
			r = read_line(q);
		if (r) {
			e->rotational = xstrdup(!strcmp(r, "1") ? "yes" : "no");
			free(r);
		}
		free(p);
		free(q);
	}
}

static char *python_version(const char *python, int *opt2)
{
	char *argv[] = { (char *)python, "-S", "-c",
		"import sys, os, importlib.util as u; sys.stderr.write("
		"sys.version.splitlines()[0] + '\\n' + "
		"u.cache_from_source(os.__file__, optimization=2))",
		NULL };
	char *envp[] = { NULL };
	struct run_result r = { .err = BUF_INIT };
	char *v = NULL;

	if (run_once(argv, envp, 30, &r) == 0 && !r.status && r.err.len) {
		char *nl = strchr(r.err.data, '\n');
		struct stat st;

		if (nl) {
			*nl = '\0';
			*opt2 = stat(nl + 1, &st) == 0;
		}
		v = xstrdup(r.err.data);
	}
	buf_release(&r.err);
	return v;
}

static char *or_unknown(char *s)
{
	return s ? s : xstrdup("unknown");
}

void envinfo_gather(struct envinfo *e, const char *tree, const char *python)
{
	struct utsname u;

	memset(e, 0, sizeof(*e));
	if (uname(&u) == 0)
		e->kernel = xasprintf("%s %s %s", u.sysname, u.release,
				      u.machine);
	e->cpu = cpu_model();
	if (!e->cpu && uname(&u) == 0)
		e->cpu = xstrdup(u.machine);
	e->cpus = sysconf(_SC_NPROCESSORS_ONLN);
	e->governor = read_line("/sys/devices/system/cpu/cpu0/cpufreq/"
				"scaling_governor");
	mount_of(e, tree);
	e->python = python_version(python, &e->stdlib_opt2);
	e->kernel = or_unknown(e->kernel);
	e->cpu = or_unknown(e->cpu);
	e->governor = or_unknown(e->governor);
	e->fs = or_unknown(e->fs);
	e->device = or_unknown(e->device);
	e->rotational = or_unknown(e->rotational);
	e->python = or_unknown(e->python);
}

void envinfo_release(struct envinfo *e)
{
	free(e->kernel);
	free(e->cpu);
	free(e->governor);
	free(e->fs);
	free(e->device);
	free(e->rotational);
	free(e->python);
	memset(e, 0, sizeof(*e));
}
