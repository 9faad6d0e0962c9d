/*
 * tree.c: whole-tree copy, removal and size, through directory file
 * descriptors, with O_NOFOLLOW everywhere.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dir.h"
#include "tree.h"
#include "util.h"

static int is_bytecode(const struct dir_entry *e)
{
	if (e->type == DT_DIR)
		return !strcmp(e->name, "__pycache__");
	return has_suffix(e->name, ".pyc") || has_suffix(e->name, ".pyo");
}

static int copy_file(int sfd, int dfd, const char *name, const char *path)
{
	char chunk[65536];
	struct stat st;
	int in, out, ret = 0;
	ssize_t n;

	in = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		return error_errno("cannot open '%s'", path);
	if (fstat(in, &st) < 0) {
		ret = error_errno("cannot stat '%s'", path);
		goto out_in;
	}
	out = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		     O_CLOEXEC, 0600);
	if (out < 0) {
		ret = error_errno("cannot create a copy of '%s'", path);
		goto out_in;
	}
	while ((n = read_full(in, chunk, sizeof(chunk))) > 0)
		if (write_full(out, chunk, n) < 0) {
			ret = error_errno("cannot write a copy of '%s'", path);
			break;
		}
	if (n < 0)
		ret = error_errno("cannot read '%s'", path);
	if (!ret) {
		struct timespec times[2] = { st.st_atim, st.st_mtim };

		if (fchmod(out, st.st_mode & 07777) < 0 ||
		    futimens(out, times) < 0)
			ret = error_errno("cannot set the mode and times of"
					  " a copy of '%s'", path);
	}
	if (close(out) < 0 && !ret)
		ret = error_errno("cannot write a copy of '%s'", path);
out_in:
	close(in);
	return ret;
}

static int copy_link(int sfd, int dfd, const char *name, const char *path)
{
	char target[4096];
	ssize_t n = readlinkat(sfd, name, target, sizeof(target) - 1);

	if (n < 0)
		return error_errno("cannot read symlink '%s'", path);
	target[n] = '\0';
	if (symlinkat(target, dfd, name) < 0)
		return error_errno("cannot make a copy of symlink '%s'", path);
	return 0;
}

static int copy_dir(int sfd, int dfd, const char *path, unsigned flags)
{
	struct dir_list list;
	struct stat st;
	size_t i;
	int ret = 0;

	if (dir_read(sfd, &list, DIR_SORT | DIR_TYPES) < 0)
		return error_errno("cannot read directory '%s'", path);
	for (i = 0; i < list.n && !ret; i++) {
		const struct dir_entry *e = &list.v[i];
		char *sub = join_path(path, e->name);

		if ((flags & TREE_NO_BYTECODE) && is_bytecode(e)) {
			/* left out */
		} else if (e->type == DT_REG) {
			ret = copy_file(sfd, dfd, e->name, sub);
		} else if (e->type == DT_LNK) {
			ret = copy_link(sfd, dfd, e->name, sub);
		} else if (e->type == DT_DIR) {
			int s, d = -1;

			s = openat(sfd, e->name, O_RDONLY | O_DIRECTORY |
				   O_NOFOLLOW | O_CLOEXEC);
			if (s < 0)
				ret = error_errno("cannot open directory '%s'",
						  sub);
			else if (mkdirat(dfd, e->name, 0700) < 0 ||
				 (d = openat(dfd, e->name, O_RDONLY |
					     O_DIRECTORY | O_NOFOLLOW |
					     O_CLOEXEC)) < 0)
				ret = error_errno("cannot make a copy of '%s'",
						  sub);
			else
				ret = copy_dir(s, d, sub, flags);
			if (s >= 0)
				close(s);
			if (d >= 0)
				close(d);
		}
		free(sub);
	}
	dir_list_release(&list);
	if (!ret && fstat(sfd, &st) == 0) {
		struct timespec times[2] = { st.st_atim, st.st_mtim };

		/* times last: making the entries changed them */
		if (fchmod(dfd, st.st_mode & 07777) < 0 ||
		    futimens(dfd, times) < 0)
			ret = error_errno("cannot set the mode and times of"
					  " a copy of '%s'", path);
	}
	return ret;
}

int tree_copy(const char *src, const char *dst, unsigned flags)
{
	int sfd, dfd = -1, ret;

	sfd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sfd < 0)
		return error_errno("cannot open directory '%s'", src);
	if (mkdir(dst, 0700) < 0 ||
	    (dfd = open(dst, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
			O_CLOEXEC)) < 0)
		ret = error_errno("cannot make directory '%s'", dst);
	else
		ret = copy_dir(sfd, dfd, src, flags);
	close(sfd);
	if (dfd >= 0)
		close(dfd);
	return ret;
}

static int remove_dir(int fd, const char *path)
{
	struct dir_list list;
	size_t i;
	int ret = 0;

	if (dir_read(fd, &list, DIR_TYPES) < 0)
		return error_errno("cannot read directory '%s'", path);
	for (i = 0; i < list.n; i++) {
		const struct dir_entry *e = &list.v[i];
		char *sub = join_path(path, e->name);

		if (e->type == DT_DIR) {
			int sfd = openat(fd, e->name, O_RDONLY | O_DIRECTORY |
					 O_NOFOLLOW | O_CLOEXEC);

			if (sfd < 0 || remove_dir(sfd, sub) < 0)
				ret = sfd < 0 ? error_errno("cannot open"
					" directory '%s'", sub) : -1;
			if (sfd >= 0)
				close(sfd);
			if (!ret && unlinkat(fd, e->name, AT_REMOVEDIR) < 0)
				ret = error_errno("cannot remove '%s'", sub);
		} else if (unlinkat(fd, e->name, 0) < 0) {
			ret = error_errno("cannot remove '%s'", sub);
		}
		free(sub);
	}
	dir_list_release(&list);
	return ret;
}

int tree_remove(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int ret;

	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return error_errno("cannot open directory '%s'", path);
	}
	ret = remove_dir(fd, path);
	close(fd);
	if (!ret && rmdir(path) < 0)
		ret = error_errno("cannot remove '%s'", path);
	return ret;
}

static int measure_dir(int fd, const char *path, struct tree_usage *u)
{
	struct dir_list list;
	struct stat st;
	size_t i;
	int ret = 0;

	if (fstat(fd, &st) == 0)
		u->disk += (uint64_t)st.st_blocks * 512;
	if (dir_read(fd, &list, DIR_TYPES) < 0)
		return error_errno("cannot read directory '%s'", path);
	for (i = 0; i < list.n && !ret; i++) {
		const struct dir_entry *e = &list.v[i];
		char *sub = join_path(path, e->name);

		if (e->type == DT_DIR) {
			int sfd = openat(fd, e->name, O_RDONLY | O_DIRECTORY |
					 O_NOFOLLOW | O_CLOEXEC);

			if (sfd < 0) {
				ret = error_errno("cannot open directory '%s'",
						  sub);
			} else {
				ret = measure_dir(sfd, sub, u);
				close(sfd);
			}
		} else if (fstatat(fd, e->name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			ret = error_errno("cannot stat '%s'", sub);
		} else if (S_ISREG(st.st_mode)) {
			u->files++;
			u->bytes += st.st_size;
			u->disk += (uint64_t)st.st_blocks * 512;
		}
		free(sub);
	}
	dir_list_release(&list);
	return ret;
}

int tree_measure(const char *path, struct tree_usage *u)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int ret;

	memset(u, 0, sizeof(*u));
	if (fd < 0)
		return error_errno("cannot open directory '%s'", path);
	ret = measure_dir(fd, path, u);
	close(fd);
	return ret;
}
