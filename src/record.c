/*
 * record.c: the per-package record of sources and pyc bodies, in memory
 * and as text:
 *
 *	# pyprime record of PACKAGE
 *	magic a70d0d0a
 *	key FINGERPRINT
 *	SIZE MODE SOURCE-HASH BODY0 BODY1 BODY2 PATH
 *
 * FINGERPRINT is the hash of a fixed string, which tells the key without
 * giving it away; MODE is t, c or u (timestamp, checked-hash,
 * unchecked-hash); the hashes are hex, BODYn "-" where level n was not
 * written; PATH, the rest of the line, may hold spaces but no newline.
 * Without the key line, the hashes are SHA-256s, 32 bytes (older records).
 */
#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"
#include "util.h"

static const char mode_letters[] = "tcu";

static struct {
	uint64_t k0, k1;
	int set;
} key;

void record_set_key(const unsigned char k[RECORD_KEY])
{
	memcpy(&key.k0, k, 8);
	memcpy(&key.k1, k + 8, 8);
	key.k0 = le64toh(key.k0);
	key.k1 = le64toh(key.k1);
	key.set = 1;
}

void record_hash(const void *data, size_t len, unsigned char out[RECORD_HASH])
{
	uint64_t h;

	if (!key.set)
		die("BUG: a record hash without a key");
	h = htole64(pyc_siphash13(key.k0, key.k1, data, len));
	memcpy(out, &h, RECORD_HASH);
}

/* The key's fingerprint: a hash of a fixed string under it. */
static void key_fingerprint(unsigned char out[RECORD_HASH])
{
	static const char text[] = "pyprime record key";

	record_hash(text, sizeof(text) - 1, out);
}

void record_reserve(struct record *r, size_t n)
{
	if (r->alloc - r->n >= n)
		return;
	r->alloc = r->n + n;
	r->v = xrealloc(r->v, r->alloc * sizeof(*r->v));
}

void record_add(struct record *r, const struct record_entry *e)
{
	if (r->n == r->alloc) {
		r->alloc = r->alloc ? 2 * r->alloc : 64;
		r->v = xrealloc(r->v, r->alloc * sizeof(*r->v));
	}
	r->v[r->n] = *e;
	r->v[r->n].path = xstrdup(e->path);
	if (r->n && r->sorted && strcmp(r->v[r->n - 1].path, e->path) >= 0)
		r->sorted = 0;
	r->n++;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct record_entry *x = a, *y = b;
	int c = strcmp(x->path, y->path);

	/* Equal paths keep their order: the later one wins below. */
	return c ? c : (x < y ? -1 : x > y);
}

/* Sort by path, keeping the last entry of each path. */
static void sort_entries(struct record *r)
{
	size_t i, k = 0;

	if (r->sorted)
		return;
	/* An empty record may have no array at all. */
	if (r->n > 1)
		qsort(r->v, r->n, sizeof(*r->v), cmp_entry);
	for (i = 0; i < r->n; i++) {
		if (i + 1 < r->n && !strcmp(r->v[i].path, r->v[i + 1].path)) {
			free(r->v[i].path);
			continue;
		}
		r->v[k++] = r->v[i];
	}
	r->n = k;
	r->sorted = 1;
}

const struct record_entry *record_find(struct record *r, const char *path)
{
	size_t lo = 0, hi;

	sort_entries(r);
	hi = r->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(r->v[mid].path, path);

		if (!c)
			return &r->v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

int record_same(struct record *a, struct record *b)
{
	size_t i;
	int level;

	sort_entries(a);
	sort_entries(b);
	if (a->usable != b->usable || a->n != b->n)
		return 0;
	for (i = 0; i < a->n; i++) {
		const struct record_entry *x = &a->v[i], *y = &b->v[i];

		if (strcmp(x->path, y->path) || x->size != y->size ||
		    x->mode != y->mode || x->levels != y->levels ||
		    memcmp(x->src, y->src, RECORD_HASH))
			return 0;
		for (level = 0; level <= PYC_MAX_LEVEL; level++)
			if ((x->levels & (1u << level)) &&
			    memcmp(x->body[level], y->body[level], RECORD_HASH))
				return 0;
	}
	return 1;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* N bytes from the 2N lower-case hex digits at S. */
static int unhex(const char *s, unsigned char *out, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

/* N bytes of hex at *P, then one space, before END. */
static int parse_hex(const char **p, const char *end, unsigned char *out,
		     size_t n)
{
	const char *s = *p;

	if ((size_t)(end - s) < 2 * n + 1 || s[2 * n] != ' ' ||
	    unhex(s, out, n) < 0)
		return -1;
	*p = s + 2 * n + 1;
	return 0;
}

/* One "SIZE MODE SRC BODY0 BODY1 BODY2 PATH" line, without its newline;
 * its hashes are WIDTH bytes (only RECORD_HASH ones are kept). */
static int parse_entry(struct record *r, const char *s, const char *end,
		       size_t width)
{
	unsigned char old[32];
	struct record_entry e;
	const char *m;
	int level;

	memset(&e, 0, sizeof(e));
	if (s == end || *s < '0' || *s > '9')
		return -1;
	for (m = s; m < end && *m >= '0' && *m <= '9'; m++)
		;
	if (m - s > 18 || m + 3 > end || m[0] != ' ' || m[2] != ' ')
		return -1;
	for (e.size = 0; s < m; s++)
		e.size = e.size * 10 + (*s - '0');
	s = m;
	if (!m[1] || !strchr(mode_letters, m[1]))
		return -1;
	e.mode = (enum pyc_mode)(strchr(mode_letters, m[1]) - mode_letters);
	s = m + 3;
	if (parse_hex(&s, end, width == RECORD_HASH ? e.src : old, width) < 0)
		return -1;
	for (level = 0; level <= PYC_MAX_LEVEL; level++) {
		if (end - s >= 2 && s[0] == '-' && s[1] == ' ') {
			s += 2;
			continue;
		}
		if (parse_hex(&s, end, width == RECORD_HASH ? e.body[level] : old,
			      width) < 0)
			return -1;
		e.levels |= 1u << level;
	}
	if (s == end || memchr(s, '\0', (size_t)(end - s)))
		return -1;
	e.path = xasprintf("%.*s", (int)(end - s), s);
	record_add(r, &e);
	free(e.path);
	return 0;
}

size_t record_parse(struct record *r, const char *text, size_t len)
{
	const char *p = text, *end = text + len;
	unsigned char want[4], magic[4], fp[RECORD_HASH], ours[RECORD_HASH];
	size_t line = 0, width = 0;
	int have_magic = 0;

	/* An entry a line: no array copied as it grows. */
	for (; p < end && (p = memchr(p, '\n', (size_t)(end - p))); p++)
		line++;
	record_reserve(r, line);
	p = text;
	line = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		line++;
		if (!nl)
			goto bad;	/* cut short */
		if (*p == '#') {
			/* a comment */
		} else if (!have_magic) {
			if (nl - p != 6 + 8 || memcmp(p, "magic ", 6) ||
			    unhex(p + 6, magic, 4) < 0)
				goto bad;
			have_magic = 1;
		} else if (!width) {
			/* The key line, or an older record's first entry. */
			width = 32;
			if (nl - p == 4 + 2 * RECORD_HASH &&
			    !memcmp(p, "key ", 4)) {
				if (unhex(p + 4, fp, RECORD_HASH) < 0)
					goto bad;
				width = RECORD_HASH;
			} else if (parse_entry(r, p, nl, width) < 0) {
				goto bad;
			}
		} else if (parse_entry(r, p, nl, width) < 0) {
			goto bad;
		}
		p = nl + 1;
	}
	if (!have_magic) {
		line++;
		goto bad;
	}
	pyc_magic(want);
	r->usable = !memcmp(want, magic, 4) && width == RECORD_HASH;
	/* Without a key (clean, which hashes nothing), not judged by it. */
	if (r->usable && key.set) {
		key_fingerprint(ours);
		r->usable = !memcmp(fp, ours, RECORD_HASH);
	}
	return 0;
bad:
	record_release(r);
	return line;
}

static void add_hex(struct buf *out, const unsigned char *h, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	buf_grow(out, 2 * n + 1);
	for (i = 0; i < n; i++) {
		out->data[out->len++] = digits[h[i] >> 4];
		out->data[out->len++] = digits[h[i] & 15];
	}
	out->data[out->len] = '\0';
}

void record_format(struct record *r, const char *pkg, struct buf *out)
{
	unsigned char magic[4], fp[RECORD_HASH];
	size_t i;
	int level;

	sort_entries(r);
	pyc_magic(magic);
	key_fingerprint(fp);
	buf_addf(out, "# pyprime record of %s\nmagic ", pkg);
	add_hex(out, magic, 4);
	buf_adds(out, "\nkey ");
	add_hex(out, fp, RECORD_HASH);
	buf_adds(out, "\n");
	/* A reinstall writes hundreds of lines: one formatted number each,
	 * and the rest copied. */
	buf_grow(out, r->n * (80 + 8 * RECORD_HASH));
	for (i = 0; i < r->n; i++) {
		const struct record_entry *e = &r->v[i];
		char head[32];
		int n;

		if (strchr(e->path, '\n'))
			continue;	/* never reused: compiled each time */
		n = snprintf(head, sizeof(head), "%lld %c ",
			     (long long)e->size, mode_letters[e->mode]);
		buf_add(out, head, (size_t)n);
		add_hex(out, e->src, RECORD_HASH);
		for (level = 0; level <= PYC_MAX_LEVEL; level++) {
			buf_adds(out, " ");
			if (e->levels & (1u << level))
				add_hex(out, e->body[level], RECORD_HASH);
			else
				buf_adds(out, "-");
		}
		buf_add(out, " ", 1);
		buf_adds(out, e->path);
		buf_add(out, "\n", 1);
	}
}

void record_release(struct record *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		free(r->v[i].path);
	free(r->v);
	r->v = NULL;
	r->n = r->alloc = 0;
	r->usable = 1;
	r->sorted = 1;
}
