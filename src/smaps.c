/*
 * smaps.c: reading /proc/PID/smaps_rollup, and a process copying its own
 * for another to read ("pyprime launch --memory").
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "smaps.h"
#include "util.h"

/* The kB of line "NAME: value kB" in TEXT, added to *OUT; 1 if found. */
static int field(const char *text, const char *name, unsigned long *out)
{
	size_t len = strlen(name);
	const char *p;

	for (p = text; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, name, len) && p[len] == ':') {
			*out += strtoul(p + len + 1, NULL, 10);
			return 1;
		}
	return 0;
}

int smaps_read(const char *path, struct smaps *m)
{
	struct buf b = BUF_INIT;
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret = -1, saved;

	memset(m, 0, sizeof(*m));
	if (fd < 0)
		return -1;
	if (read_fd(fd, &b) < 0) {
		/* errno says why */
	} else if (b.len && field(b.data, "Rss", &m->rss) &&
		   field(b.data, "Pss", &m->pss) &&
		   field(b.data, "Private_Clean", &m->uss) &&
		   field(b.data, "Private_Dirty", &m->uss)) {
		ret = 0;
	} else {
		errno = EINVAL;
	}
	saved = errno;
	close(fd);
	buf_release(&b);
	errno = saved;
	return ret;
}

int smaps_read_pid(pid_t pid, struct smaps *m)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	return smaps_read(path, m);
}

int smaps_copy_self(int fd)
{
	char buf[4096];
	ssize_t n;
	int in = open("/proc/self/smaps_rollup", O_RDONLY | O_CLOEXEC);
	int ret = 0;

	if (in < 0)
		return -1;
	while ((n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || write_full(fd, buf, (size_t)n) < 0) {
			ret = -1;
			break;
		}
	}
	close(in);
	return ret;
}
