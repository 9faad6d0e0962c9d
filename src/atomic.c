/*
 * atomic.c: write-to-temporary-and-rename.  The temporary file is named
 * after the writer's pid (one write at a time per process) and locked while
 * it is written, so that a later run can tell a dead writer's leftovers
 * from a live writer's file.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic.h"
#include "dir.h"
#include "util.h"

#define TEMP_PREFIX ".pyprime-"
#define TEMP_SUFFIX ".tmp"

/* What the signal handler needs to remove the file being written. */
static volatile sig_atomic_t temp_dirfd = -1;
static char temp_name[64];

void atomic_temp_name(char *out, size_t size, pid_t pid)
{
	snprintf(out, size, TEMP_PREFIX "%ld" TEMP_SUFFIX, (long)pid);
}

/* Whether NAME is named like one of our temporary files. */
static int temp_like(const char *name)
{
	const char *p;

	if (strncmp(name, TEMP_PREFIX, strlen(TEMP_PREFIX)) != 0)
		return 0;
	p = name + strlen(TEMP_PREFIX);
	if (*p < '1' || *p > '9')
		return 0;
	while (*p >= '0' && *p <= '9')
		p++;
	return strcmp(p, TEMP_SUFFIX) == 0;
}

/*
 * A writer holds an exclusive flock(2) on its temporary file for as long as
 * it lives, so a lock we can take means the writer is gone, whatever became
 * of its pid (reused, a zombie, another pid namespace).
 */
int atomic_stale(int dirfd, const char *name, int remove)
{
	struct stat mine, now;
	int fd, stale = 0;

	if (!temp_like(name))
		return 0;
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return 0;
	/*
	 * Locked, and still under NAME: a writer renames its file away
	 * before it lets go of the lock, and the name may be its next file
	 * already, which must not be removed for this one.
	 */
	if (flock(fd, LOCK_EX | LOCK_NB) == 0 && fstat(fd, &mine) == 0 &&
	    fstatat(dirfd, name, &now, AT_SYMLINK_NOFOLLOW) == 0 &&
	    mine.st_ino == now.st_ino && mine.st_dev == now.st_dev) {
		stale = 1;
		if (remove && unlinkat(dirfd, name, 0) < 0)
			stale = 0;
	}
	close(fd);
	return stale;
}

int atomic_sweep(int dirfd)
{
	struct dir_list list;
	size_t i;
	int removed = 0;

	if (dir_read(dirfd, &list, 0) < 0)
		return 0;
	for (i = 0; i < list.n; i++)
		if (list.v[i].name[0] == '.' &&
		    atomic_stale(dirfd, list.v[i].name, 1))
			removed++;
	dir_list_release(&list);
	return removed;
}

void atomic_forget(int dirfd, pid_t pid)
{
	char name[64];

	atomic_temp_name(name, sizeof(name), pid);
	/* Unless a live process holds it: PID may be another's already. */
	atomic_stale(dirfd, name, 1);
}

static void on_signal(int sig)
{
	int fd = temp_dirfd;

	if (fd >= 0)
		unlinkat(fd, temp_name, 0);
	signal(sig, SIG_DFL);
	raise(sig);
}

void atomic_catch_signals(void)
{
	catch_stop_signals(on_signal);
}

/* This process's pid, asked once per process: a header rewrite is a
 * handful of system calls, and this was one of them. */
static pid_t pid_cache;

static void forget_pid(void)
{
	pid_cache = 0;
}

static pid_t my_pid(void)
{
	static int registered;

	if (!registered) {
		pthread_atfork(NULL, NULL, forget_pid);
		registered = 1;
	}
	if (!pid_cache)
		pid_cache = getpid();
	return pid_cache;
}

/* Refuse to replace anything but a regular file (or nothing). */
static int check_target(int dirfd, const char *dirpath, const char *name)
{
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		return error_errno("cannot stat '%s/%s'", dirpath, name);
	}
	if (S_ISLNK(st.st_mode))
		return error("refusing to write through symlink '%s/%s'",
			     dirpath, name);
	if (!S_ISREG(st.st_mode))
		return error("refusing to replace '%s/%s': not a regular file",
			     dirpath, name);
	return 0;
}

static int write_atomic(int dirfd, const char *dirpath, const char *name,
			const void *data, size_t len, mode_t mode,
			const struct stat *like, unsigned flags)
{
	struct stat st;
	int fd = -1, ret = -1, retried = 0, err;

	if (!(flags & ATOMIC_CHECKED) && check_target(dirfd, dirpath, name) < 0)
		return -1;
	atomic_temp_name(temp_name, sizeof(temp_name), my_pid());
	temp_dirfd = dirfd;
again:
	fd = openat(dirfd, temp_name,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0) {
		/* A leftover of a dead process that had our pid. */
		if (errno == EEXIST && retried++ < 3 &&
		    atomic_stale(dirfd, temp_name, 1))
			goto again;
		err = errno;
		temp_dirfd = -1;
		errno = err;
		return error_errno("cannot create a file in '%s'", dirpath);
	}
	/* Held until we are done; see atomic_stale(). */
	if (flock(fd, LOCK_EX) == 0 && fstat(fd, &st) == 0 && st.st_nlink == 0 &&
	    retried++ < 3) {
		/* A sweeper took it for a leftover before we locked it. */
		close(fd);
		goto again;
	}
	if (write_full(fd, data, len) < 0) {
		error_errno("cannot write '%s/%s'", dirpath, name);
		goto out;
	}
	if (like) {
		struct timespec times[2] = { like->st_atim, like->st_mtim };

		if (fchmod(fd, like->st_mode & 0777) < 0 ||
		    futimens(fd, times) < 0) {
			error_errno("cannot set the mode and times of '%s/%s'",
				    dirpath, name);
			goto out;
		}
	}
	if ((flags & ATOMIC_FSYNC) && fsync(fd) < 0) {
		error_errno("cannot sync '%s/%s'", dirpath, name);
		goto out;
	}
	/* Renamed while still locked: see atomic_stale(). */
	if (renameat(dirfd, temp_name, dirfd, name) < 0) {
		error_errno("cannot rename into '%s/%s'", dirpath, name);
		goto out;
	}
	temp_dirfd = -1;
	if (close(fd) < 0)
		return error_errno("cannot write '%s/%s'", dirpath, name);
	if ((flags & ATOMIC_FSYNC) && fsync(dirfd) < 0)
		return error_errno("cannot sync directory '%s'", dirpath);
	return 0;
out:
	err = errno;
	if (fd >= 0)
		close(fd);
	unlinkat(dirfd, temp_name, 0);
	temp_dirfd = -1;
	errno = err;
	return ret;
}

int atomic_write(int dirfd, const char *dirpath, const char *name,
		 const void *data, size_t len, mode_t mode, unsigned flags)
{
	return write_atomic(dirfd, dirpath, name, data, len, mode, NULL, flags);
}

int atomic_write_like(int dirfd, const char *dirpath, const char *name,
		      const void *data, size_t len, const struct stat *like,
		      unsigned flags)
{
	return write_atomic(dirfd, dirpath, name, data, len, 0600, like,
			    flags);
}
