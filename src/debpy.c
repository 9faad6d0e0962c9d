/*
 * debpy.c: Debian's Python conventions, as debpython (the library of
 * py3compile and py3clean) applies them.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "debpy.h"
#include "pyrt.h"
#include "sources.h"
#include "util.h"

#define DEFAULTS "/usr/share/python3/debian_defaults"
#define BCEP "/usr/share/python3/bcep"

enum rule_type { RULE_DIR, RULE_FILE, RULE_RE };

/* One exclusion: the versions it removes, for DNAME and below. */
struct debpy_rule {
	enum rule_type type;
	debpy_set versions;
	char *dname;
	struct pyrt_re *re;	/* RULE_RE (and bcep "file" lines: unused) */
};

static char *under_root(const struct debpy *d, const char *path)
{
	return xasprintf("%s%s", d->root ? d->root : "", path);
}

int debpy_in(debpy_set set, int v)
{
	return v / 100 == 3 && v % 100 <= DEBPY_MAX_MINOR &&
	       (set >> (v % 100) & 1);
}

debpy_set debpy_one(int v)
{
	return v / 100 == 3 && v % 100 <= DEBPY_MAX_MINOR ?
	       (debpy_set)1 << (v % 100) : 0;
}

/* "X.Y[.Z...]": X.Y, as debpython's getver() reads it. */
int debpy_parse_version(const char *s, int *v)
{
	char *end;
	long major, minor;

	while (*s == ' ' || *s == '\t')
		s++;
	major = strtol(s, &end, 10);
	if (end == s || *end != '.' || major < 0 || major > 99)
		return -1;
	s = end + 1;
	minor = strtol(s, &end, 10);
	if (end == s || minor < 0 || minor > 99 ||
	    (*end && *end != '.' && *end != ' ' && *end != '\t'))
		return -1;
	*v = (int)(major * 100 + minor);
	return 0;
}

/* A comma-separated list of [python]X.Y into a set. */
static int parse_list(const char *s, debpy_set *set)
{
	char *copy = xstrdup(s), *item, *save = NULL;
	int v, ret = 0;

	*set = 0;
	for (item = strtok_r(copy, ",", &save); item;
	     item = strtok_r(NULL, ",", &save)) {
		while (*item == ' ')
			item++;
		if (!strncmp(item, "python", 6))
			item += 6;
		if (debpy_parse_version(item, &v) < 0) {
			ret = -1;
			break;
		}
		*set |= debpy_one(v);
	}
	free(copy);
	return ret;
}

/* The value of KEY in the INI text TEXT (a new string), or NULL. */
static char *ini_value(const char *text, const char *key)
{
	size_t klen = strlen(key);
	const char *p = text;

	while (p && *p) {
		const char *eol = strchr(p, '\n'), *q = p;
		size_t len = eol ? (size_t)(eol - p) : strlen(p);

		if (!strncmp(q, key, klen)) {
			q += klen;
			while (*q == ' ' || *q == '\t')
				q++;
			if (*q == '=' || *q == ':') {
				q++;
				while (*q == ' ' || *q == '\t')
					q++;
				len -= (size_t)(q - p);
				while (len && (q[len - 1] == ' ' || q[len - 1] == '\r'))
					len--;
				return xasprintf("%.*s", (int)len, q);
			}
		}
		p = eol ? eol + 1 : NULL;
	}
	return NULL;
}

int debpy_load(struct debpy *d, const char *root)
{
	const char *supported = getenv("DEBPYTHON3_SUPPORTED");
	const char *deflt = getenv("DEBPYTHON3_DEFAULT");
	char *path, *s = NULL, *f = NULL;
	struct buf text = BUF_INIT;
	int fd, ret = -1;

	memset(d, 0, sizeof(*d));
	d->root = root;
	path = under_root(d, DEFAULTS);
	if (!supported || !*supported || !deflt || !*deflt) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || read_fd(fd, &text) < 0) {
			error_errno("cannot read '%s'", path);
			if (fd >= 0)
				close(fd);
			goto out;
		}
		close(fd);
		if (!deflt || !*deflt) {
			f = ini_value(text.data ? text.data : "", "default-version");
			deflt = f && strlen(f) > 6 ? f + 6 : NULL;
		}
		if (!supported || !*supported)
			supported = s = ini_value(text.data ? text.data : "",
						  "supported-versions");
	}
	if (!deflt || debpy_parse_version(deflt, &d->deflt) < 0 ||
	    !supported || parse_list(supported, &d->supported) < 0) {
		error("cannot read the default and supported Python versions from '%s'",
		      path);
		goto out;
	}
	ret = 0;
out:
	buf_release(&text);
	free(path);
	free(s);
	free(f);
	return ret;
}

void debpy_release(struct debpy *d)
{
	size_t i;

	for (i = 0; i < d->nbcep; i++) {
		free(d->bcep[i].dname);
		pyrt_re_free(d->bcep[i].re);
	}
	free(d->bcep);
	d->bcep = NULL;
	d->nbcep = 0;
}

/* One "X.Y" at *S, as RANGE_RE's \d\.\d+; advances *S. */
static int range_version(const char **s, int *v)
{
	const char *p = *s;
	int minor = 0, digits = 0;

	if (p[0] < '0' || p[0] > '9' || p[1] != '.')
		return -1;
	for (p += 2; *p >= '0' && *p <= '9'; p++, digits++)
		if (minor < 1000)
			minor = minor * 10 + (*p - '0');
	if (!digits || minor > 99)
		return -1;
	*v = (*s)[0] - '0';
	*v = *v * 100 + minor;
	*s = p;
	return 0;
}

/* As debpython's parse_vrange(): RANGE_RE matched at the start. */
int debpy_parse_range(const char *s, int *min, int *max)
{
	int lead = 0, a, b;

	*min = *max = DEBPY_NONE;
	if (!*s || !strcmp(s, "-"))
		return 0;
	if (*s == '-') {
		lead = 1;
		s++;
	}
	if (range_version(&s, &a) < 0)
		return -1;
	if (lead) {
		*max = a;
		return 0;
	}
	*min = a;
	if (*s != '-') {
		*max = a;
		return 0;
	}
	s++;
	if (range_version(&s, &b) == 0) {
		if (a > b)
			return -1;
		*max = b;
	}
	return 0;
}

int debpy_installed(const struct debpy *d, int v)
{
	char *path = xasprintf("%s/usr/bin/python%d.%d", d->root ? d->root : "",
			       v / 100, v % 100);
	int ret = access(path, F_OK) == 0;

	free(path);
	return ret;
}

debpy_set debpy_requested(const struct debpy *d, int min, int max,
			  int available)
{
	debpy_set set = 0;
	int m;

	if (min == DEBPY_NONE && max == DEBPY_NONE) {
		set = d->supported;
	} else {
		if (min == DEBPY_NONE)
			min = 0;
		if (max == DEBPY_NONE)
			max = 9999;
		for (m = 0; m <= DEBPY_MAX_MINOR; m++) {
			int v = 300 + m;

			if (!debpy_in(d->supported, v))
				continue;
			if (min == max ? v == min : (v >= min && v < max))
				set |= debpy_one(v);
		}
	}
	if (available)
		for (m = 0; m <= DEBPY_MAX_MINOR; m++)
			if (debpy_in(set, 300 + m) && !debpy_installed(d, 300 + m))
				set &= ~debpy_one(300 + m);
	return set;
}

int debpy_first(const struct debpy *d, debpy_set set)
{
	int m, older = DEBPY_NONE;

	for (m = 0; m <= DEBPY_MAX_MINOR; m++) {
		if (!debpy_in(set, 300 + m))
			continue;
		if (300 + m >= d->deflt)
			return 300 + m;
		older = 300 + m;
	}
	return older;
}

int debpy_public(int *dirver, const char *path)
{
	static struct pyrt_re *re;
	struct buf why = BUF_INIT;
	char *group = NULL;
	int ret;

	*dirver = DEBPY_NONE;
	if (!re) {
		re = pyrt_re_compile(".*?/usr/lib/python(\\d(?:.\\d+)?)/(site|dist)-packages",
				     &why);
		if (!re) {
			error("cannot compile the public directory pattern: %s",
			      why.data ? why.data : "");
			buf_release(&why);
			return -1;
		}
	}
	ret = pyrt_re_match(re, path, &group);
	if (ret < 0)
		return error("cannot match '%s'", path);
	if (ret && group) {
		if (strlen(group) == 1)
			*dirver = group[0] - '0';
		else if (debpy_parse_version(group, dirver) < 0)
			*dirver = DEBPY_NONE;
	}
	free(group);
	return ret;
}

/* Add a bcep line ("type|vrange|dname[|pattern]") of FILE as a rule. */
static void bcep_line(struct debpy *d, const char *file, char *line)
{
	char *field[4] = { NULL, NULL, NULL, NULL }, *p = line;
	struct debpy_rule rule;
	struct buf why = BUF_INIT;
	int i, min, max;

	for (i = 0; i < 4 && p; i++) {
		field[i] = p;
		p = i < 3 ? strchr(p, '|') : NULL;
		if (p)
			*p++ = '\0';
	}
	if (!field[2]) {
		warning("skipping invalid line in '%s': '%s'", file, line);
		return;
	}
	if (debpy_parse_range(field[1], &min, &max) < 0) {
		warning("skipping invalid version range in '%s': '%s'",
			file, field[1]);
		return;
	}
	memset(&rule, 0, sizeof(rule));
	if (!strcmp(field[0], "dir"))
		rule.type = RULE_DIR;
	else if (!strcmp(field[0], "file"))
		rule.type = RULE_FILE;
	else
		rule.type = RULE_RE;
	rule.versions = debpy_requested(d, min, max, 1);
	if (!rule.versions)
		return;
	/* Three fields mean the pattern ".*". */
	if (!field[3])
		field[3] = ".*";
	if (rule.type == RULE_RE || *field[3]) {
		rule.re = pyrt_re_compile(field[3], &why);
		if (!rule.re) {
			warning("skipping invalid pattern in '%s': '%s'",
				file, field[3]);
			buf_release(&why);
			return;
		}
	}
	if (rule.type != RULE_FILE) {
		size_t n = strlen(field[2]);

		while (n && field[2][n - 1] == '/')
			n--;
		rule.dname = xasprintf("%.*s/", (int)n, field[2]);
	} else {
		rule.dname = xstrdup(field[2]);
	}
	d->bcep = xrealloc(d->bcep, (d->nbcep + 1) * sizeof(*d->bcep));
	d->bcep[d->nbcep++] = rule;
}

/* Read the bcep files once (in directory order, as os.listdir()). */
static void bcep_load(struct debpy *d)
{
	char *dir = under_root(d, BCEP);
	DIR *dp;
	struct dirent *de;

	d->bcep_loaded = 1;
	dp = opendir(dir);
	if (!dp) {
		if (errno != ENOENT && errno != ENOTDIR)
			warning_errno("cannot read '%s'", dir);
		free(dir);
		return;
	}
	while ((de = readdir(dp))) {
		char *path, **lines, **l;

		if (de->d_name[0] == '.')
			continue;
		path = join_path(dir, de->d_name);
		lines = read_path_list(path, 0);
		for (l = lines; l && *l; l++)
			if (**l != '#')
				bcep_line(d, path, *l);
		free_strings(lines);
		free(path);
	}
	closedir(dp);
	free(dir);
}

int debpy_excludes(struct debpy *d, struct debpy_excludes *e,
		   const char *directory, char *const *regexes, size_t nregex,
		   debpy_set versions)
{
	size_t i, n = strlen(directory), len;
	char *dir;

	memset(e, 0, sizeof(*e));
	while (n && directory[n - 1] == '/')
		n--;
	dir = xasprintf("%.*s/", (int)n, directory);
	len = strlen(dir);
	if (nregex) {
		e->own = xcalloc(nregex, sizeof(*e->own));
		for (i = 0; i < nregex; i++) {
			struct buf why = BUF_INIT;
			struct debpy_rule *r = &e->own[e->nown];

			r->type = RULE_RE;
			r->versions = versions ? versions : d->supported;
			r->dname = xstrdup(dir);
			r->re = pyrt_re_compile(regexes[i], &why);
			if (!r->re) {
				error("invalid regular expression '%s': %s",
				      regexes[i], why.data ? why.data : "");
				buf_release(&why);
				free(r->dname);
				free(dir);
				debpy_excludes_release(e);
				return -1;
			}
			e->nown++;
		}
	}
	if (!d->bcep_loaded)
		bcep_load(d);
	e->v = xcalloc(e->nown + d->nbcep + 1, sizeof(*e->v));
	for (i = 0; i < e->nown; i++)
		e->v[e->n++] = &e->own[i];
	for (i = 0; i < d->nbcep; i++) {
		const struct debpy_rule *r = &d->bcep[i];
		size_t m = strlen(r->dname);

		/* dname.startswith(directory[:len(dname)]) */
		if (strncmp(r->dname, dir, m < len ? m : len) != 0)
			continue;
		if (versions && !(versions & r->versions))
			continue;
		e->v[e->n++] = r;
	}
	free(dir);
	return 0;
}

void debpy_excludes_release(struct debpy_excludes *e)
{
	size_t i;

	for (i = 0; i < e->nown; i++) {
		free(e->own[i].dname);
		pyrt_re_free(e->own[i].re);
	}
	free(e->own);
	free(e->v);
	memset(e, 0, sizeof(*e));
}

debpy_set debpy_filter(const struct debpy_excludes *e, const char *path,
		       debpy_set wanted)
{
	debpy_set valid = wanted;
	size_t i;
	int dirver;

	for (i = 0; i < e->n; i++) {
		const struct debpy_rule *r = e->v[i];
		size_t m = strlen(r->dname);

		if (strncmp(path, r->dname, m) != 0)
			continue;
		if (r->type == RULE_DIR ||
		    (r->type == RULE_FILE && !strcmp(path, r->dname)) ||
		    (r->type == RULE_RE &&
		     (pyrt_re_match(r->re, path, NULL) == 1 ||
		      pyrt_re_match(r->re, path + m, NULL) == 1)))
			valid &= ~r->versions;
		if (!valid)
			break;
	}
	if (valid && debpy_public(&dirver, path) == 1 && dirver >= 100)
		return debpy_one(dirver);
	return valid;
}

char **debpy_py_files(const struct select *sel, char *const *items, size_t n)
{
	struct source_list list = { NULL, 0, 0 };
	char **files;
	size_t i;

	for (i = 0; i < n; i++) {
		char *real = select_real_path(sel, items[i]), *abs;
		struct stat st;

		if (stat(real, &st) < 0) {
			warning_errno("cannot access '%s'", real);
		} else if (S_ISDIR(st.st_mode)) {
			abs = abs_path(items[i]);
			sources_add(&list, sel, abs);
			free(abs);
		} else if (has_suffix(items[i], ".py")) {
			sources_push(&list, xstrdup(real), xstrdup(items[i]), &st);
		}
		free(real);
	}
	files = xcalloc(list.n + 1, sizeof(*files));
	for (i = 0; i < list.n; i++) {
		files[i] = list.v[i].recorded;
		list.v[i].recorded = NULL;
	}
	source_list_release(&list);
	return files;
}
