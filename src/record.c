/*
 * record.c: the per-package record of sources and pyc bodies, in memory
 * and as text:
 *
 *	# pyprime record of PACKAGE
 *	magic a70d0d0a
 *	SIZE MODE SOURCE-SHA256 BODY0 BODY1 BODY2 PATH
 *
 * MODE is t, c or u (timestamp, checked-hash, unchecked-hash); BODYn is
 * the hex SHA-256 of the level-n body, or "-" where that level was not
 * written; PATH, the rest of the line, may hold spaces but no newline.
 */
#include <dlfcn.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"
#include "util.h"

static const char mode_letters[] = "tcu";

#ifndef CRYPTO_SONAME
#error "CRYPTO_SONAME (libcrypto's) must come from the build"
#endif

/*
 * OpenSSL's libcrypto, loaded the first time a hash is wanted rather than
 * linked: its relocations cost every run 3 ms, and most runs hash nothing.
 * Not loadable: status 127, as for the interpreter (pyload.c).
 */
static struct {
	__typeof__(EVP_Digest) *digest;
	__typeof__(EVP_sha256) *sha256;
} crypto;

void record_hash_load(void)
{
	void *handle;

	if (crypto.digest)
		return;
	handle = dlopen(CRYPTO_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (handle) {
		crypto.sha256 = (__typeof__(EVP_sha256) *)dlsym(handle, "EVP_sha256");
		crypto.digest = (__typeof__(EVP_Digest) *)dlsym(handle, "EVP_Digest");
	}
	if (!crypto.digest || !crypto.sha256) {
		/* Not into a worker's captured messages: the run ends. */
		msg_capture(NULL);
		error("cannot load %s: %s", CRYPTO_SONAME, dlerror());
		exit(127);
	}
}

void record_hash(const void *data, size_t len, unsigned char out[RECORD_HASH])
{
	unsigned int n = RECORD_HASH;

	record_hash_load();
	/* Only if the library is broken beyond use. */
	if (!crypto.digest(data, len, out, &n, crypto.sha256(), NULL) ||
	    n != RECORD_HASH)
		die("cannot compute a SHA-256");
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

/* One "SIZE MODE SRC BODY0 BODY1 BODY2 PATH" line, without its newline. */
static int parse_entry(struct record *r, const char *s, const char *end)
{
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
	if (parse_hex(&s, end, e.src, RECORD_HASH) < 0)
		return -1;
	for (level = 0; level <= PYC_MAX_LEVEL; level++) {
		if (end - s >= 2 && s[0] == '-' && s[1] == ' ') {
			s += 2;
			continue;
		}
		if (parse_hex(&s, end, e.body[level], RECORD_HASH) < 0)
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
	unsigned char want[4], magic[4];
	size_t line = 0;
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
		} else if (parse_entry(r, p, nl) < 0) {
			goto bad;
		}
		p = nl + 1;
	}
	if (!have_magic) {
		line++;
		goto bad;
	}
	pyc_magic(want);
	r->usable = !memcmp(want, magic, 4);
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
	unsigned char magic[4];
	size_t i;
	int level;

	sort_entries(r);
	pyc_magic(magic);
	buf_addf(out, "# pyprime record of %s\nmagic ", pkg);
	add_hex(out, magic, 4);
	buf_adds(out, "\n");
	/* A line is about 330 bytes, and a reinstall writes hundreds: one
	 * formatted number each, and the rest copied. */
	buf_grow(out, r->n * 340);
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
