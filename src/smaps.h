/*
 * smaps.h: a process's memory as /proc/PID/smaps_rollup sums it: resident
 * (RSS), proportional (PSS) and unique (USS: private clean and dirty).
 */
#ifndef SMAPS_H
#define SMAPS_H

#include <sys/types.h>

/* In kB, as the kernel counts them. */
struct smaps {
	unsigned long rss;
	unsigned long pss;
	unsigned long uss;	/* Private_Clean + Private_Dirty */
};

/*
 * The figures of a smaps_rollup text at PATH (/proc/PID/smaps_rollup, or
 * a copy of one that smaps_copy_self() wrote) into M.  Returns 0, or -1
 * (errno set; EINVAL when the text has no Rss or Pss line) with nothing
 * reported.
 */
int smaps_read(const char *path, struct smaps *m);

/* Those of process PID; as smaps_read(). */
int smaps_read_pid(pid_t pid, struct smaps *m);

/*
 * Copy this process's /proc/self/smaps_rollup to FD, as it is now.
 * Returns 0, or -1 (errno set).  Async-signal-safe: no allocation.
 */
int smaps_copy_self(int fd);

#endif
