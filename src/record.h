/*
 * record.h: what pyprime wrote for a registered package, per source: its
 * size and hash, and the hash of each pyc body (the bytes after the
 * 16-byte header).  A body depends only on the source's bytes, the path
 * recorded in it, the optimisation level and the interpreter, so when an
 * upgrade leaves a source as it was, the body its old pyc holds is what a
 * compile would write again: only the header is new.
 *
 * The hash is SipHash-1-3, CPython's own source hash (PEP 552), but keyed
 * by a secret of the root's (registry.h) rather than by the magic number.
 * With the magic number, which everybody knows, two sources with one hash
 * are found in 2^32 tries, and a package could ship a source that differs
 * from the code that runs.  Under a random key that only root can read,
 * nobody can aim at a hash: two contents share one by a chance of 2^-64.
 * That is what SipHash was made for, and what CPython keys its str hash
 * with against chosen collisions.  It runs three times as fast as SHA-256
 * does with the CPU's SHA instructions, and a reinstall hashes every
 * source and every pyc.
 */
#ifndef RECORD_H
#define RECORD_H

#include <stddef.h>
#include <sys/types.h>

#include "pyc.h"

#define RECORD_HASH 8		/* bytes of a SipHash-1-3 */
#define RECORD_KEY 16		/* bytes of its key */

struct record_entry {
	char *path;		/* the source as installed (as in its pycs) */
	off_t size;
	enum pyc_mode mode;
	unsigned char src[RECORD_HASH];
	unsigned levels;	/* bit N: body[N] is that level's */
	unsigned char body[PYC_MAX_LEVEL + 1][RECORD_HASH];
};

struct record {
	struct record_entry *v;
	size_t n, alloc;
	int usable;		/* this interpreter's, hashed under this key:
				 * bodies may be reused */
	int sorted;
};
#define RECORD_INIT { NULL, 0, 0, 1, 1 }

/* Hash under KEY from now on (before any record_hash(), record_parse()
 * or record_format()). */
void record_set_key(const unsigned char key[RECORD_KEY]);

/* The keyed hash of DATA/LEN into OUT. */
void record_hash(const void *data, size_t len, unsigned char out[RECORD_HASH]);

/* Make room for N more entries. */
void record_reserve(struct record *r, size_t n);

/* Add a copy of E (a later entry for the same path wins). */
void record_add(struct record *r, const struct record_entry *e);

/* The entry for PATH, or NULL. */
const struct record_entry *record_find(struct record *r, const char *path);

/* Whether A and B hold the same entries, and are both usable or not. */
int record_same(struct record *a, struct record *b);

/*
 * Parse the text TEXT/LEN (as record_format() writes it) into R, which
 * must be empty.  Returns 0, or the 1-based number of the first line that
 * is not right (R is then left empty).  A record of another interpreter,
 * of another key than the one set (if one is), or an older one of SHA-256
 * hashes (it has no key line) parses, but is not usable: it still says
 * which pycs were the package's.
 */
size_t record_parse(struct record *r, const char *text, size_t len);

/* Append R as text to OUT: the package name PKG in a comment, the magic
 * number, the key's fingerprint, then a line per source. */
struct buf;
void record_format(struct record *r, const char *pkg, struct buf *out);

void record_release(struct record *r);

#endif
