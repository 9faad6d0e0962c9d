/*
 * cache.c: page cache residency (mincore) and eviction (fadvise,
 * drop_caches) for the cold runs of "pyprime time".
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "cache.h"
#include "dir.h"
#include "util.h"

void fileset_add(struct fileset *fs, const char *path)
{
	if (fs->n == fs->alloc) {
		fs->alloc = fs->alloc ? 2 * fs->alloc : 64;
		fs->path = xrealloc(fs->path, fs->alloc * sizeof(*fs->path));
	}
	fs->path[fs->n++] = xstrdup(path);
}

static int add_dir(struct fileset *fs, int fd, const char *path)
{
	struct dir_list list;
	size_t i;
	int ret = 0;

	if (dir_read(fd, &list, DIR_TYPES) < 0) {
		close(fd);
		return error_errno("cannot read directory '%s'", path);
	}
	for (i = 0; i < list.n; i++) {
		const struct dir_entry *e = &list.v[i];
		char *sub = join_path(path, e->name);

		if (e->type == DT_REG) {
			fileset_add(fs, sub);
		} else if (e->type == DT_DIR) {
			int sfd = openat(fd, e->name, O_RDONLY | O_DIRECTORY |
					 O_NOFOLLOW | O_CLOEXEC);

			if (sfd < 0)
				ret = error_errno("cannot open directory '%s'",
						  sub);
			else if (add_dir(fs, sfd, sub) < 0)
				ret = -1;
		}
		free(sub);
	}
	dir_list_release(&list);
	close(fd);
	return ret;
}

int fileset_add_tree(struct fileset *fs, const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return error_errno("cannot open directory '%s'", dir);
	return add_dir(fs, fd, dir);
}

void fileset_uniq(struct fileset *fs)
{
	size_t i, j = 0;

	if (!fs->n)
		return;
	qsort(fs->path, fs->n, sizeof(*fs->path), cmp_strings);
	for (i = 0; i < fs->n; i++) {
		if (j && !strcmp(fs->path[j - 1], fs->path[i]))
			free(fs->path[i]);
		else
			fs->path[j++] = fs->path[i];
	}
	fs->n = j;
}

void fileset_release(struct fileset *fs)
{
	size_t i;

	for (i = 0; i < fs->n; i++)
		free(fs->path[i]);
	free(fs->path);
	fs->path = NULL;
	fs->n = fs->alloc = 0;
}

static void file_residency(const char *path, long page,
			   struct residency *r)
{
	unsigned char *vec;
	struct stat st;
	size_t pages, i;
	void *map;
	int fd;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);
	if (fd < 0 && errno == EPERM)
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || !st.st_size) {
		close(fd);
		return;
	}
	pages = (st.st_size + page - 1) / page;
	map = mmap(NULL, st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return;
	vec = xmalloc(pages);
	if (mincore(map, st.st_size, vec) == 0) {
		r->pages += pages;
		for (i = 0; i < pages; i++)
			r->resident += vec[i] & 1;
	}
	free(vec);
	munmap(map, st.st_size);
}

void cache_residency(const struct fileset *fs, struct residency *r)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t i;

	r->pages = r->resident = 0;
	for (i = 0; i < fs->n; i++)
		file_residency(fs->path[i], page, r);
}

double cache_fraction(const struct residency *r)
{
	return r->pages ? (double)r->resident / r->pages : 0;
}

void cache_evict(const struct fileset *fs)
{
	size_t i;

	for (i = 0; i < fs->n; i++) {
		int fd = open(fs->path[i], O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
			      O_NONBLOCK);

		if (fd < 0)
			continue;
		/* dirty pages can't be dropped: write them back first */
		fdatasync(fd);
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
		close(fd);
	}
}

int cache_drop_system(void)
{
	int fd;

	sync();
	fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return error_errno("cannot open '/proc/sys/vm/drop_caches'"
				   " (--purge system needs root)");
	if (write_full(fd, "3\n", 2) < 0) {
		int saved = errno;

		close(fd);
		errno = saved;
		return error_errno("cannot write '/proc/sys/vm/drop_caches'");
	}
	close(fd);
	return 0;
}

int cache_on_tmpfs(const char *path)
{
	struct statfs sfs;

	if (statfs(path, &sfs) < 0)
		return 0;
	return (unsigned long)sfs.f_type == TMPFS_MAGIC ||
	       (unsigned long)sfs.f_type == RAMFS_MAGIC;
}
