/*
 * ramdisk.h: a directory on tmpfs to run a tree from.
 */
#ifndef RAMDISK_H
#define RAMDISK_H

struct ramdisk {
	char *dir;		/* where to put trees */
	char *mountpoint;	/* the private tmpfs mounted here, or NULL */
	const char *kind;	/* "private tmpfs", "/dev/shm" or "tmpfs" */
};

/*
 * Make a directory on tmpfs.  With DIR: a new directory inside DIR (a
 * warning if DIR is not on tmpfs).  Else a tmpfs of its own, mounted on a
 * new directory in PARENT, in a mount namespace of this process's own
 * (nobody else sees it, and it goes when the process does); where that
 * is not permitted, a new directory in /dev/shm.
 * Returns 0, or -1 after reporting an error.
 */
int ramdisk_open(struct ramdisk *rd, const char *dir, const char *parent);

/* Remove everything in it, unmount it, remove its directory. */
void ramdisk_close(struct ramdisk *rd);

#endif
