/*
 * pyc.h: the .pyc header and cache-path rules of PEP 3147, 488 and 552, and
 * the freshness check.
 */
#ifndef PYC_H
#define PYC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#define PYC_HEADER_SIZE 16
#define PYC_MAX_LEVEL 2

enum pyc_mode {
	PYC_TIMESTAMP,
	PYC_CHECKED_HASH,
	PYC_UNCHECKED_HASH,
};

/* "timestamp", "checked-hash", "unchecked-hash" to a mode; -1 if unknown. */
int pyc_mode_parse(const char *s);
const char *pyc_mode_name(enum pyc_mode mode);

/* The 4 magic bytes of the linked interpreter's .pyc files. */
void pyc_magic(unsigned char magic[4]);

/*
 * The file name of the pyc for source file name SRCNAME (no directory):
 * "NAME.cpython-311.pyc", "NAME.cpython-311.opt-1.pyc", or with LEGACY
 * "NAME.pyc".  Returns a new string.
 */
char *pyc_name(const char *srcname, int level, int legacy);

/* The 32-bit mtime field for a source modified at TS: int(st_mtime) mod 2^32,
 * computed through a double exactly as os.stat() and importlib do. */
uint32_t pyc_mtime_field(const struct timespec *ts);

/* SipHash-1-3 of SRC/LEN under the 128-bit key K0, K1: CPython's. */
uint64_t pyc_siphash13(uint64_t k0, uint64_t k1, const void *src, size_t len);

/* importlib.util.source_hash(): pyc_siphash13() keyed by the magic number. */
uint64_t pyc_source_hash(const void *src, size_t len);

/*
 * Fill HEADER for a source with stat ST and contents SRC/LEN (only read in
 * the hash-based modes).
 */
void pyc_header(unsigned char header[PYC_HEADER_SIZE], enum pyc_mode mode,
		const struct stat *st, const void *src, size_t len);

/* A source as the freshness check sees it; its hash is read lazily. */
struct pyc_source {
	const char *path;
	const struct stat *st;
	int hashed;		/* 1: hash is set, -1: could not be read */
	uint64_t hash;
};

/*
 * Whether the pyc NAME in directory DIRFD (-1: there is none) is fresh for
 * SRC in MODE: a file whose magic, flags and mtime and size (timestamp) or
 * source hash (hash-based) match.  Returns 1 fresh, 0 stale or missing.
 * The pyc stays open: *FD is its descriptor for the caller to close, or -1.
 */
int pyc_is_fresh(int dirfd, const char *name, enum pyc_mode mode,
		 struct pyc_source *src, int *fd);

#endif
