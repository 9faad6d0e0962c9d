/*
 * imptime.c: "python3 -X importtime" reports gathered over many runs, in a
 * hash table by module name, every sample kept so that medians are exact.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imptime.h"
#include "stats.h"
#include "util.h"

#define ROW_PREFIX "import time:"
#define HEADER_PREFIX "import time: self [us] |"

struct module {
	char *name;
	size_t runs;
	size_t last_run;	/* the run that last reported it, from 1 */
	double *self;
	double *cumulative;
	size_t n;
	size_t alloc;
};

struct imptime {
	struct module *mod;
	size_t nmod;
	size_t alloc;
	size_t *slot;		/* index into mod plus 1; 0 is free */
	size_t nslots;		/* a power of two, at least twice nmod */
	size_t runs;
};

struct imptime *imptime_new(void)
{
	return xcalloc(1, sizeof(struct imptime));
}

void imptime_free(struct imptime *it)
{
	size_t i;

	if (!it)
		return;
	for (i = 0; i < it->nmod; i++) {
		free(it->mod[i].name);
		free(it->mod[i].self);
		free(it->mod[i].cumulative);
	}
	free(it->mod);
	free(it->slot);
	free(it);
}

size_t imptime_runs(const struct imptime *it)
{
	return it->runs;
}

/* FNV-1a */
static size_t hash(const char *s, size_t len)
{
	uint64_t h = 14695981039346656037ULL;

	while (len--) {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ULL;
	}
	return (size_t)h;
}

static void rehash(struct imptime *it)
{
	size_t i, mask;

	it->nslots = it->nslots ? it->nslots * 2 : 256;
	free(it->slot);
	it->slot = xcalloc(it->nslots, sizeof(*it->slot));
	mask = it->nslots - 1;
	for (i = 0; i < it->nmod; i++) {
		const char *name = it->mod[i].name;
		size_t h = hash(name, strlen(name)) & mask;

		while (it->slot[h])
			h = (h + 1) & mask;
		it->slot[h] = i + 1;
	}
}

/* The module NAME of LEN bytes, added if it is new. */
static struct module *lookup(struct imptime *it, const char *name, size_t len)
{
	struct module *m;
	size_t h, mask;

	if (2 * (it->nmod + 1) > it->nslots)
		rehash(it);
	mask = it->nslots - 1;
	for (h = hash(name, len) & mask; it->slot[h]; h = (h + 1) & mask) {
		m = &it->mod[it->slot[h] - 1];
		if (!strncmp(m->name, name, len) && !m->name[len])
			return m;
	}
	if (it->nmod == it->alloc) {
		it->alloc = it->alloc ? 2 * it->alloc : 256;
		it->mod = xrealloc(it->mod, it->alloc * sizeof(*it->mod));
	}
	m = &it->mod[it->nmod++];
	memset(m, 0, sizeof(*m));
	m->name = xmalloc(len + 1);
	memcpy(m->name, name, len);
	m->name[len] = '\0';
	it->slot[h] = it->nmod;
	return m;
}

static void add_sample(struct imptime *it, struct module *m, double self,
		       double cumulative)
{
	if (m->n == m->alloc) {
		m->alloc = m->alloc ? 2 * m->alloc : 16;
		m->self = xrealloc(m->self, m->alloc * sizeof(*m->self));
		m->cumulative = xrealloc(m->cumulative,
					 m->alloc * sizeof(*m->cumulative));
	}
	m->self[m->n] = self;
	m->cumulative[m->n++] = cumulative;
	/* A run with subinterpreters or children that inherit -X importtime
	 * may report a module twice: each is a sample, but one run. */
	if (m->last_run != it->runs) {
		m->last_run = it->runs;
		m->runs++;
	}
}

static const char *skip_spaces(const char *p, const char *end)
{
	while (p < end && *p == ' ')
		p++;
	return p;
}

/* An unsigned decimal number at *P, before END and between spaces, then
 * SEP; *P is moved past SEP.  0, or -1 if there is none. */
static int number(const char **p, const char *end, char sep, double *out)
{
	const char *s = skip_spaces(*p, end), *digits = s;
	uint64_t v = 0;

	while (s < end && *s >= '0' && *s <= '9') {
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s++ - '0');
	}
	if (s == digits)
		return -1;
	s = skip_spaces(s, end);
	if (s == end || *s != sep)
		return -1;
	*p = s + 1;
	*out = (double)v;
	return 0;
}

/*
 * Whether the line P..END is "import time: SELF | CUMULATIVE | NAME",
 * NAME indented by two spaces a level of nesting; sets the figures and
 * NAME, without its indentation, when it is.
 */
static int parse_row(const char *p, const char *end, double *self,
		     double *cumulative, const char **name, size_t *len)
{
	const char *s;

	if ((size_t)(end - p) < strlen(ROW_PREFIX) ||
	    memcmp(p, ROW_PREFIX, strlen(ROW_PREFIX)))
		return 0;
	p += strlen(ROW_PREFIX);
	if (number(&p, end, '|', self) || number(&p, end, '|', cumulative))
		return 0;
	p = skip_spaces(p, end);
	if (p == end)
		return 0;
	for (s = p; s < end; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return 0;
	*name = p;
	*len = (size_t)(end - p);
	return 1;
}

static int is_header(const char *p, const char *end)
{
	size_t n = strlen(HEADER_PREFIX);

	return (size_t)(end - p) >= n && !memcmp(p, HEADER_PREFIX, n);
}

size_t imptime_add_run(struct imptime *it, const char *text, size_t len,
		       struct buf *other)
{
	const char *p = text, *end = text + len;
	size_t count = 0;

	it->runs++;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end, *next = nl ? nl + 1 : end;
		double self, cumulative;
		const char *name;
		size_t n;

		if (parse_row(p, eol, &self, &cumulative, &name, &n)) {
			add_sample(it, lookup(it, name, n), self, cumulative);
			count++;
		} else if (!is_header(p, eol) && other) {
			buf_add(other, p, (size_t)(next - p));
		}
		p = next;
	}
	return count;
}

static int cmp_rows(const void *a, const void *b)
{
	const struct imptime_row *x = a, *y = b;

	if (x->cumulative_us != y->cumulative_us)
		return x->cumulative_us < y->cumulative_us ? 1 : -1;
	return strcmp(x->module, y->module);
}

struct imptime_row *imptime_rows(struct imptime *it, size_t *count)
{
	struct imptime_row *rows = xmalloc(it->nmod * sizeof(*rows));
	size_t i;

	for (i = 0; i < it->nmod; i++) {
		struct module *m = &it->mod[i];

		rows[i].module = m->name;
		rows[i].runs = m->runs;
		rows[i].self_us = stats_median(m->self, m->n);
		rows[i].cumulative_us = stats_median(m->cumulative, m->n);
	}
	qsort(rows, it->nmod, sizeof(*rows), cmp_rows);
	*count = it->nmod;
	return rows;
}
