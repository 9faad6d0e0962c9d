/*
 * dir.c: getdents64(2) straight into one buffer: no DIR stream, no
 * duplicated descriptor, one allocation for all the names.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "dir.h"
#include "util.h"

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct dir_entry *)a)->name,
		      ((const struct dir_entry *)b)->name);
}

static unsigned char lstat_type(int fd, const char *name)
{
	struct stat st;

	if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return DT_UNKNOWN;
	return S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG :
	       S_ISLNK(st.st_mode) ? DT_LNK : DT_UNKNOWN;
}

int dir_read(int fd, struct dir_list *list, unsigned flags)
{
	size_t len = 0, cap = 32768, off, n = 0;
	char *buf = xmalloc(cap);

	for (;;) {
		long got;

		if (cap - len < 8192) {
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		got = syscall(SYS_getdents64, fd, buf + len, cap - len);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			free(buf);
			return -1;
		}
		if (got == 0)
			break;
		len += (size_t)got;
	}
	for (off = 0; off < len; off += ((struct linux_dirent64 *)(buf + off))->d_reclen)
		n++;
	list->v = xmalloc((n ? n : 1) * sizeof(*list->v));
	list->n = 0;
	list->buf = buf;
	for (off = 0; off < len;) {
		struct linux_dirent64 *de = (struct linux_dirent64 *)(buf + off);
		const char *name = de->d_name;

		off += de->d_reclen;
		if (name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2])))
			continue;
		list->v[list->n].name = name;
		list->v[list->n++].type = de->d_type;
		if (de->d_type == DT_UNKNOWN && (flags & DIR_TYPES))
			list->v[list->n - 1].type = lstat_type(fd, name);
	}
	if (flags & DIR_SORT)
		qsort(list->v, list->n, sizeof(*list->v), cmp_entry);
	return 0;
}

void dir_list_release(struct dir_list *list)
{
	free(list->v);
	free(list->buf);
	list->v = NULL;
	list->buf = NULL;
	list->n = 0;
}
