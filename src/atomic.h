/*
 * atomic.h: replacing a file atomically, and cleaning up after writers that
 * were killed half way.
 */
#ifndef ATOMIC_H
#define ATOMIC_H

#include <stddef.h>
#include <sys/types.h>

#define ATOMIC_FSYNC 1	/* make the file and its directory entry durable */
#define ATOMIC_CHECKED 2	/* the caller has just found NAME a regular
				 * file, opened with O_NOFOLLOW */

/*
 * Replace NAME in directory DIRFD (shown as DIRPATH in messages) with
 * DATA/LEN: a temporary file created there with O_EXCL|O_NOFOLLOW and MODE
 * (less the umask), written, then renamed over NAME.  NAME must not be a
 * symlink or anything but a regular file.  On any error, or when SIGINT,
 * SIGTERM or SIGHUP arrive with atomic_catch_signals() in force, the
 * temporary file is removed.  Returns 0, or -1 after reporting the error.
 */
int atomic_write(int dirfd, const char *dirpath, const char *name,
		 const void *data, size_t len, mode_t mode, unsigned flags);

/*
 * As atomic_write(), but the file gets LIKE's permission bits (whatever
 * the umask) and its access and modification times.
 */
struct stat;
int atomic_write_like(int dirfd, const char *dirpath, const char *name,
		      const void *data, size_t len, const struct stat *like,
		      unsigned flags);

/* The temporary file name process PID uses in any directory. */
void atomic_temp_name(char *out, size_t size, pid_t pid);

/*
 * Whether NAME in DIRFD is a temporary file of a pyprime process that is
 * gone; with REMOVE, remove it too (and say so only if that worked).
 */
int atomic_stale(int dirfd, const char *name, int remove);

/* Remove DIRFD's temporary files left by pyprime processes that are gone;
 * returns how many were removed. */
int atomic_sweep(int dirfd);

/* Remove the temporary file of PID (a worker that died) in DIRFD, if no
 * live writer holds it. */
void atomic_forget(int dirfd, pid_t pid);

/* Install handlers for SIGINT, SIGTERM and SIGHUP that remove the temporary
 * file being written, then let the signal take its default action. */
void atomic_catch_signals(void);

#endif
