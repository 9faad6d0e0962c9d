/*
 * record.h: what pyprime wrote for a registered package, per source: its
 * size and SHA-256, and the SHA-256 of each pyc body (the bytes after the
 * 16-byte header).  A body depends only on the source's bytes, the path
 * recorded in it, the optimisation level and the interpreter, so when an
 * upgrade leaves a source as it was, the body its old pyc holds is what a
 * compile would write again: only the header is new.
 *
 * SHA-256 rather than the SipHash-1-3 of PEP 552: that one is keyed by the
 * magic number, which everybody knows, so two sources with the same hash
 * are found in 2^32 tries; a package could then ship a source that differs
 * from the code that runs.  SHA-256 comes from OpenSSL's libcrypto, which
 * libpython links already, and which uses the CPU's SHA instructions where
 * there are some.
 */
#ifndef RECORD_H
#define RECORD_H

#include <stddef.h>
#include <sys/types.h>

#include "pyc.h"

#define RECORD_HASH 32		/* bytes of a SHA-256 */

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
	int usable;		/* this interpreter's: bodies may be reused */
	int sorted;
};
#define RECORD_INIT { NULL, 0, 0, 1, 1 }

/* SHA-256 of DATA/LEN into OUT. */
void record_hash(const void *data, size_t len, unsigned char out[RECORD_HASH]);
/* Load the library record_hash() uses, as its first call does: before a
 * fork, so that the children share it. */
void record_hash_load(void);

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
 * is not right (R is then left empty).  A record of another interpreter
 * parses, but is not usable.
 */
size_t record_parse(struct record *r, const char *text, size_t len);

/* Append R as text to OUT: the package name PKG in a comment, the magic
 * number, then a line per source. */
struct buf;
void record_format(struct record *r, const char *pkg, struct buf *out);

void record_release(struct record *r);

#endif
