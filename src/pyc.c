/*
 * pyc.c: .pyc headers (magic, flags, mtime and size or source hash), cache
 * file names, and deciding whether an existing pyc is fresh.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "pyc.h"
#include "pyrt.h"
#include "util.h"

static const char *const mode_names[] = {
	[PYC_TIMESTAMP] = "timestamp",
	[PYC_CHECKED_HASH] = "checked-hash",
	[PYC_UNCHECKED_HASH] = "unchecked-hash",
};

int pyc_mode_parse(const char *s)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(mode_names); i++)
		if (strcmp(s, mode_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *pyc_mode_name(enum pyc_mode mode)
{
	return mode_names[mode];
}

void pyc_magic(unsigned char magic[4])
{
	unsigned m = pyrt_magic();

	magic[0] = m & 0xff;
	magic[1] = (m >> 8) & 0xff;
	magic[2] = '\r';
	magic[3] = '\n';
}

char *pyc_name(const char *srcname, int level, int legacy)
{
	static const char *const opt[] = { "", ".opt-1", ".opt-2" };
	const char *dot = strrchr(srcname, '.'), *tag = pyrt_cache_tag();
	size_t base, taglen = strlen(tag);
	char *name, *p;

	if (legacy)
		return xasprintf("%sc", srcname);
	if (!dot)
		dot = srcname + strlen(srcname);
	base = (size_t)(dot - srcname);
	/* importlib.util.cache_from_source(): a bare ".py" keeps "py". */
	if (!base) {
		srcname = dot + 1;
		base = strlen(srcname);
	}
	p = name = xmalloc(base + taglen + 12);
	memcpy(p, srcname, base);
	p += base;
	*p++ = '.';
	memcpy(p, tag, taglen);
	p += taglen;
	strcpy(p, opt[level > 0 && level <= 2 ? level : 0]);
	strcat(p, ".pyc");
	return name;
}

uint32_t pyc_mtime_field(const struct timespec *ts)
{
	/* The same expression posixmodule.c uses for st_mtime. */
	double mtime = (double)ts->tv_sec + (double)ts->tv_nsec * 1e-9;

	if (mtime >= 9.2e18 || mtime <= -9.2e18)
		return 0;
	return (uint32_t)(int64_t)mtime;
}

static void put_le32(unsigned char *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	p[2] = (v >> 16) & 0xff;
	p[3] = (v >> 24) & 0xff;
}

static uint32_t get_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* One load where the CPU allows: SipHash reads its input through this. */
static inline uint64_t get_le64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND do { \
	v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32); \
	v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2; \
	v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0; \
	v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32); \
} while (0)

uint64_t pyc_siphash13(uint64_t k0, uint64_t k1, const void *src, size_t len)
{
	const unsigned char *p = src;
	uint64_t v0, v1, v2, v3, m, b;
	size_t i, rest;

	v0 = k0 ^ 0x736f6d6570736575ULL;
	v1 = k1 ^ 0x646f72616e646f6dULL;
	v2 = k0 ^ 0x6c7967656e657261ULL;
	v3 = k1 ^ 0x7465646279746573ULL;
	for (i = 0; i + 8 <= len; i += 8) {
		m = get_le64(p + i);
		v3 ^= m;
		SIPROUND;
		v0 ^= m;
	}
	b = (uint64_t)len << 56;
	for (rest = 0; rest < len - i; rest++)
		b |= (uint64_t)p[i + rest] << (8 * rest);
	v3 ^= b;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t pyc_source_hash(const void *src, size_t len)
{
	unsigned char magic[4];

	pyc_magic(magic);
	return pyc_siphash13(get_le32(magic), 0, src, len);
}

static uint32_t mode_flags(enum pyc_mode mode)
{
	switch (mode) {
	case PYC_CHECKED_HASH:
		return 3;
	case PYC_UNCHECKED_HASH:
		return 1;
	default:
		return 0;
	}
}

void pyc_header(unsigned char header[PYC_HEADER_SIZE], enum pyc_mode mode,
		const struct stat *st, const void *src, size_t len)
{
	pyc_magic(header);
	put_le32(header + 4, mode_flags(mode));
	if (mode == PYC_TIMESTAMP) {
		put_le32(header + 8, pyc_mtime_field(&st->st_mtim));
		put_le32(header + 12, (uint32_t)st->st_size);
	} else {
		uint64_t h = pyc_source_hash(src, len);

		put_le32(header + 8, (uint32_t)h);
		put_le32(header + 12, (uint32_t)(h >> 32));
	}
}

/* Hash the current contents of SRCPATH; 0 on success. */
static int hash_file(const char *srcpath, uint64_t *hash)
{
	struct buf b = BUF_INIT;
	int fd, ret = -1;

	fd = open(srcpath, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (read_fd(fd, &b) == 0) {
		*hash = pyc_source_hash(b.data, b.len);
		ret = 0;
	}
	close(fd);
	buf_release(&b);
	return ret;
}

int pyc_is_fresh(int dirfd, const char *name, enum pyc_mode mode,
		 struct pyc_source *src, int *fd)
{
	unsigned char h[PYC_HEADER_SIZE + 1], expect[PYC_HEADER_SIZE];

	*fd = -1;
	if (dirfd < 0)
		return 0;
	/*
	 * One open and one read: O_NOFOLLOW refuses a symlink, O_NONBLOCK
	 * keeps a FIFO from hanging us, a directory fails the read, and the
	 * extra byte tells a bare header from a pyc with a body.
	 */
	*fd = openat(dirfd, name,
		     O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (*fd < 0 || read(*fd, h, sizeof(h)) != (ssize_t)sizeof(h))
		return 0;
	pyc_magic(expect);
	put_le32(expect + 4, mode_flags(mode));
	if (memcmp(h, expect, 8) != 0)
		return 0;
	if (mode == PYC_TIMESTAMP)
		return get_le32(h + 8) == pyc_mtime_field(&src->st->st_mtim) &&
		       get_le32(h + 12) == (uint32_t)src->st->st_size;
	if (!src->hashed)
		src->hashed = hash_file(src->path, &src->hash) == 0 ? 1 : -1;
	return src->hashed > 0 && get_le64(h + 8) == src->hash;
}
