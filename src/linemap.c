/*
 * linemap.c: reading and writing pyprime.linemap (the format is described
 * in linemap.h).  Files are kept as runs of consecutive lines, so that
 * neither a big file nor a hostile map costs memory by its line count.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atomic.h"
#include "linemap.h"
#include "util.h"

#define MAGIC "pyprime-linemap "
#define VERSION "1"
/* Python's line numbers are C ints. */
#define MAX_LINE ((unsigned)INT_MAX)

static void escape(struct buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\\')
			buf_adds(b, "\\\\");
		else if (c == '\t')
			buf_adds(b, "\\t");
		else if (c == '\n')
			buf_adds(b, "\\n");
		else if (c < 0x20 || c == 0x7f)
			buf_addf(b, "\\%03o", c);
		else
			buf_add(b, s, 1);
	}
}

/* The bytes S[0..LEN-1] stand for, or NULL if they are not escaped right. */
static char *unescape(const char *s, size_t len)
{
	char *out = xmalloc(len + 1), *o = out;
	const char *end = s + len;

	while (s < end) {
		unsigned char c = (unsigned char)*s++;

		if (c < 0x20 || c == 0x7f)
			goto bad;
		if (c != '\\') {
			*o++ = (char)c;
			continue;
		}
		if (s == end)
			goto bad;
		c = (unsigned char)*s++;
		if (c == '\\') {
			*o++ = '\\';
		} else if (c == 't') {
			*o++ = '\t';
		} else if (c == 'n') {
			*o++ = '\n';
		} else if (c >= '0' && c <= '3' && end - s >= 2 &&
			   s[0] >= '0' && s[0] <= '7' && s[1] >= '0' && s[1] <= '7') {
			c = (unsigned char)((c - '0') << 6 | (s[0] - '0') << 3 |
					    (s[1] - '0'));
			if (!c)
				goto bad;
			*o++ = (char)c;
			s += 2;
		} else {
			goto bad;
		}
	}
	*o = '\0';
	return out;
bad:
	free(out);
	return NULL;
}

/* A path that stays below the map's directory. */
static int valid_path(const char *p)
{
	if (*p == '/')
		return 0;
	for (;;) {
		size_t n = strcspn(p, "/");

		if (!n || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
		if (!p[n])
			return 1;
		p += n + 1;
	}
}

static int bad(const char *file, size_t line, const char *fmt, ...) PRINTF(3, 4);

static int bad(const char *file, size_t line, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	error("%s:%zu: %s", file, line, b.data);
	buf_release(&b);
	return -1;
}

/* Append stripped lines from source lines SRC.. to E, as a new run or by
 * growing the last one. */
static void add_run(struct linemap_entry *e, unsigned src, unsigned len)
{
	struct linemap_run *last = e->nruns ? &e->runs[e->nruns - 1] : NULL;

	if (last && last->src + last->len == src) {
		last->len += len;
	} else {
		e->runs = xrealloc(e->runs, (e->nruns + 1) * sizeof(*e->runs));
		e->runs[e->nruns].out = e->nlines + 1;
		e->runs[e->nruns].src = src;
		e->runs[e->nruns++].len = len;
	}
	e->nlines += len;
}

/* A decimal number from 1 to MAX_LINE at *P, which is moved past it. */
static unsigned number(const char **p)
{
	uint64_t v = 0;	/* a long would wrap on 32-bit before the check */
	const char *s = *p;

	while (*s >= '0' && *s <= '9') {
		v = v * 10 + (uint64_t)(*s++ - '0');
		if (v > MAX_LINE)
			return 0;
	}
	*p = s;
	return (unsigned)v;
}

/* Parse RUNS into E; -1 with *BADRUN at the run that is wrong. */
static int parse_runs(const char *runs, struct linemap_entry *e,
		      const char **badrun)
{
	const char *p = runs;
	unsigned next = 1;

	if (!*p)
		return 0;
	for (;;) {
		unsigned src, len = 1;

		*badrun = p;
		src = number(&p);
		if (!src || src < next)
			return -1;
		if (*p == ':') {
			p++;
			len = number(&p);
			if (!len)
				return -1;
		}
		if ((*p && *p != ' ') || len - 1 > MAX_LINE - src ||
		    len > MAX_LINE - e->nlines)
			return -1;
		add_run(e, src, len);
		next = src + len;
		if (!*p++)
			return 0;
	}
}

static void entry_release(struct linemap_entry *e)
{
	free(e->path);
	free(e->runs);
}

/* Insert room for an entry at I of M's sorted array; returns it, zeroed. */
static struct linemap_entry *insert_at(struct linemap *m, size_t i)
{
	if (m->n == m->alloc) {
		m->alloc = m->alloc ? m->alloc * 2 : 16;
		m->v = xrealloc(m->v, m->alloc * sizeof(*m->v));
	}
	memmove(m->v + i + 1, m->v + i, (m->n - i) * sizeof(*m->v));
	m->n++;
	memset(&m->v[i], 0, sizeof(m->v[i]));
	return &m->v[i];
}

static int parse_entry(struct linemap *m, const char *file, size_t lineno,
		       const char *line)
{
	const char *tab = strchr(line, '\t'), *badrun;
	struct linemap_entry *e;
	char *path;
	int cmp;

	if (!tab && !strncmp(line, "source ", 7))
		return bad(file, lineno, "'source' must be line 2");
	if (!tab)
		return bad(file, lineno, "no tab after the path");
	path = unescape(line, (size_t)(tab - line));
	if (!path || !valid_path(path)) {
		free(path);
		return bad(file, lineno, "bad path '%.*s'", (int)(tab - line), line);
	}
	cmp = m->n ? strcmp(m->v[m->n - 1].path, path) : -1;
	if (cmp >= 0) {
		free(path);
		return bad(file, lineno, "path '%.*s' %s", (int)(tab - line), line,
			   cmp ? "out of order" : "given twice");
	}
	e = insert_at(m, m->n);
	e->path = path;
	if (parse_runs(tab + 1, e, &badrun) < 0)
		return bad(file, lineno, "bad run '%.*s'",
			   (int)strcspn(badrun, " "), badrun);
	return 0;
}

static int parse_line(struct linemap *m, const char *file, size_t lineno,
		      const char *line)
{
	if (lineno == 1) {
		if (!strcmp(line, MAGIC VERSION))
			return 0;
		if (!strncmp(line, MAGIC, strlen(MAGIC)))
			return bad(file, lineno, "unsupported line map version '%s'",
				   line + strlen(MAGIC));
		return bad(file, lineno, "not a pyprime line map");
	}
	if (lineno == 2 && !strncmp(line, "source ", 7)) {
		m->source = unescape(line + 7, strlen(line + 7));
		if (!m->source || m->source[0] != '/')
			return bad(file, lineno, "bad source '%s'", line + 7);
		return 0;
	}
	return parse_entry(m, file, lineno, line);
}

int linemap_load(struct linemap *m, const char *file)
{
	struct buf b = BUF_INIT;
	size_t lineno = 0;
	char *p, *end;
	int fd, ret = 0;

	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 1;
		return error_errno("cannot open '%s'", file);
	}
	if (read_fd(fd, &b) < 0) {
		error_errno("cannot read '%s'", file);
		close(fd);
		buf_release(&b);
		return -1;
	}
	close(fd);
	if (!b.len) {
		buf_release(&b);
		return bad(file, 1, "not a pyprime line map");
	}
	for (p = b.data, end = b.data + b.len; p < end && !ret; p++) {
		char *nl = memchr(p, '\n', (size_t)(end - p));

		lineno++;
		if (!nl)
			ret = bad(file, lineno, "no newline at the end");
		else if (memchr(p, '\0', (size_t)(nl - p)))
			ret = bad(file, lineno, "NUL byte");
		else {
			*nl = '\0';
			ret = parse_line(m, file, lineno, p);
			p = nl;
		}
	}
	buf_release(&b);
	return ret;
}

/* Where PATH is, or would go, in M's sorted array; *FOUND says which. */
static size_t position(const struct linemap *m, const char *path, int *found)
{
	size_t lo = 0, hi = m->n;

	*found = 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int cmp = strcmp(m->v[mid].path, path);

		if (!cmp) {
			*found = 1;
			return mid;
		}
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void linemap_put(struct linemap *m, const char *path, const unsigned *lines,
		 size_t n)
{
	struct linemap_entry *e;
	size_t i, j;
	int found;

	i = position(m, path, &found);
	if (found) {
		e = &m->v[i];
		free(e->runs);
		e->runs = NULL;
		e->nruns = 0;
		e->nlines = 0;
	} else {
		e = insert_at(m, i);
		e->path = xstrdup(path);
	}
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && lines[j] == lines[j - 1] + 1; j++)
			;
		add_run(e, lines[i], (unsigned)(j - i));
	}
}

void linemap_set_source(struct linemap *m, const char *source)
{
	free(m->source);
	m->source = source ? xstrdup(source) : NULL;
}

int linemap_save(const struct linemap *m, const char *dir)
{
	struct buf b = BUF_INIT;
	size_t i, j;
	int fd, ret;

	buf_adds(&b, MAGIC VERSION "\n");
	if (m->source) {
		buf_adds(&b, "source ");
		escape(&b, m->source);
		buf_adds(&b, "\n");
	}
	for (i = 0; i < m->n; i++) {
		const struct linemap_entry *e = &m->v[i];

		escape(&b, e->path);
		buf_adds(&b, "\t");
		for (j = 0; j < e->nruns; j++) {
			const struct linemap_run *r = &e->runs[j];

			buf_addf(&b, j ? " %u" : "%u", r->src);
			if (r->len > 1)
				buf_addf(&b, ":%u", r->len);
		}
		buf_adds(&b, "\n");
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		buf_release(&b);
		return error_errno("cannot open directory '%s'", dir);
	}
	ret = atomic_write(fd, dir, LINEMAP_NAME, b.data, b.len, 0666, 0);
	close(fd);
	buf_release(&b);
	return ret;
}

const struct linemap_entry *linemap_find(const struct linemap *m,
					 const char *path)
{
	int found;
	size_t i = position(m, path, &found);

	return found ? &m->v[i] : NULL;
}

unsigned linemap_line(const struct linemap_entry *e, unsigned line)
{
	size_t lo = 0, hi = e->nruns;

	if (!line || line > e->nlines)
		return 0;
	/* The last run that starts at or before LINE. */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (e->runs[mid].out <= line)
			lo = mid;
		else
			hi = mid;
	}
	return e->runs[lo].src + (line - e->runs[lo].out);
}

void linemap_release(struct linemap *m)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		entry_release(&m->v[i]);
	free(m->v);
	free(m->source);
	memset(m, 0, sizeof(*m));
}
