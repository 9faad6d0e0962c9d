/*
 * pages.c: the pages a launched app wrote, recorded from /proc/self/pagemap
 * and copied ahead by the next spare (see pages.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pages.h"
#include "util.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23	/* Linux 5.14 */
#endif

/* pagemap's bits: the page is present, and mapped by this process only. */
#define PM_PRESENT (UINT64_C(1) << 63)
#define PM_EXCLUSIVE (UINT64_C(1) << 56)

/* At most this many pages are copied ahead (1 GiB of 4 KiB pages): the
 * file is the app's to write, not to make the spare take all memory. */
#define MAX_PAGES (1L << 18)
/* A private writable mapping larger than this is not scanned: not the
 * interpreter's heap but a reservation (a sanitizer's shadow memory is
 * terabytes), whose pagemap would take minutes to read. */
#define MAX_MAPPING (UINT64_C(1) << 30)

static void add_range(struct buf *out, unsigned long start,
		      unsigned long count)
{
	if (count)
		buf_addf(out, "%lx %lu\n", start, count);
}

/* In ENT, the pagemap entries of at most MAX pages from ADDR, below B:
 * how many (0 at B, or on an error). */
static size_t entries(int pagemap, unsigned long addr, unsigned long b,
		      long psz, uint64_t *ent, size_t max)
{
	size_t n = (b - addr) / (unsigned long)psz;
	ssize_t got;

	if (n > max)
		n = max;
	got = pread(pagemap, ent, n * sizeof(*ent),
		    (off_t)(addr / (unsigned long)psz * sizeof(*ent)));
	return got > 0 ? (size_t)got / sizeof(*ent) : 0;
}

/* The exclusive pages of [A, B) as ranges in OUT. */
static void scan(int pagemap, unsigned long a, unsigned long b, long psz,
		 struct buf *out)
{
	uint64_t ent[512];
	unsigned long addr = a, start = 0, count = 0;
	size_t n, i;

	while ((n = entries(pagemap, addr, b, psz, ent, ARRAY_SIZE(ent)))) {
		for (i = 0; i < n; i++, addr += (unsigned long)psz) {
			if ((ent[i] & PM_PRESENT) && (ent[i] & PM_EXCLUSIVE)) {
				if (!count)
					start = addr;
				count++;
				continue;
			}
			add_range(out, start, count);
			count = 0;
		}
	}
	add_range(out, start, count);
}

int pages_record(const char *path)
{
	struct buf out = BUF_INIT;
	char *line = NULL, *tmp = NULL;
	size_t cap = 0;
	long psz = sysconf(_SC_PAGESIZE);
	FILE *maps = fopen("/proc/self/maps", "re");
	int pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	int fd = -1, ret = -1;

	if (!maps || pagemap < 0 || psz <= 0)
		goto out;
	while (getline(&line, &cap, maps) > 0) {
		unsigned long a, b;
		char perm[5];

		if (sscanf(line, "%lx-%lx %4s", &a, &b, perm) == 3 &&
		    !strcmp(perm, "rw-p") && b > a && b - a <= MAX_MAPPING)
			scan(pagemap, a, b, psz, &out);
	}
	tmp = xasprintf("%s.%d", path, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0)
		goto out;
	if (write_full(fd, out.data ? out.data : "", out.len) < 0 ||
	    close(fd) < 0 || rename(tmp, path) < 0) {
		fd = -1;
		unlink(tmp);
		goto out;
	}
	fd = -1;
	ret = 0;
out:
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	if (maps)
		fclose(maps);
	if (pagemap >= 0)
		close(pagemap);
	free(line);
	free(tmp);
	buf_release(&out);
	return ret;
}

long pages_prefault(const char *path)
{
	FILE *f = fopen(path, "re");
	long psz = sysconf(_SC_PAGESIZE), total = 0;
	char line[64];

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long start, count;

		if (sscanf(line, "%lx %lu", &start, &count) != 2 ||
		    start % (unsigned long)psz || !count ||
		    count > (unsigned long)(MAX_PAGES - total))
			break;
		if (madvise((void *)start, count * (unsigned long)psz,
			    MADV_POPULATE_WRITE) == 0) {
			total += (long)count;
			continue;
		}
		/* A kernel without it; otherwise a range not (all) mapped
		 * private and writable here: the next. */
		if (errno == EINVAL && !total)
			break;
	}
	fclose(f);
	return total;
}

/* FD has something to read (or is -1). */
static int ready(int fd)
{
	struct pollfd p = { fd, POLLIN, 0 };

	return fd >= 0 && poll(&p, 1, 0) > 0;
}

/* Read a byte of each page of [A, B) that is present, until STOP has
 * something to read; -1 once it has, else the number of pages.  Not
 * checked by AddressSanitizer: what it reads is no object of ours. */
__attribute__((no_sanitize_address))
static long touch(int pagemap, unsigned long a, unsigned long b, long psz,
		  int stop)
{
	uint64_t ent[512];
	unsigned long addr = a;
	long total = 0;
	size_t n, i;

	while ((n = entries(pagemap, addr, b, psz, ent, ARRAY_SIZE(ent)))) {
		if (ready(stop))
			return -1;
		for (i = 0; i < n; i++, addr += (unsigned long)psz)
			if (ent[i] & PM_PRESENT) {
				(void)*(volatile const char *)addr;
				total++;
			}
	}
	return total;
}

long pages_touch(int stop)
{
	char *line = NULL;
	size_t cap = 0;
	long psz = sysconf(_SC_PAGESIZE), total = 0;
	FILE *maps = fopen("/proc/self/maps", "re");
	int pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);

	if (!maps || pagemap < 0 || psz <= 0)
		goto out;
	while (getline(&line, &cap, maps) > 0) {
		unsigned long a, b;
		char perm[5];
		int path = 0;
		long n;

		if (sscanf(line, "%lx-%lx %4s %*s %*s %*s %n", &a, &b, perm,
			   &path) < 3 || !path)
			continue;
		line[strcspn(line, "\n")] = '\0';
		/* Private and readable, of a regular file or anonymous:
		 * never a device's or what the kernel maps itself. */
		if (perm[0] != 'r' || perm[3] != 'p' || b <= a ||
		    b - a > MAX_MAPPING || !strncmp(line + path, "/dev/", 5) ||
		    (line[path] == '[' && strcmp(line + path, "[heap]") &&
		     strcmp(line + path, "[stack]")))
			continue;
		if ((n = touch(pagemap, a, b, psz, stop)) < 0)
			break;
		total += n;
	}
out:
	if (maps)
		fclose(maps);
	if (pagemap >= 0)
		close(pagemap);
	free(line);
	return total;
}
