/*
 * dir.h: reading a whole directory in a few system calls.
 */
#ifndef DIR_H
#define DIR_H

#include <stddef.h>

struct dir_entry {
	const char *name;
	unsigned char type;	/* DT_DIR, DT_REG, DT_LNK, ... or DT_UNKNOWN */
};

struct dir_list {
	struct dir_entry *v;
	size_t n;
	char *buf;		/* owns the names */
};

#define DIR_SORT 1		/* by name (strcmp) */
#define DIR_TYPES 2		/* no DT_UNKNOWN: lstat what the fs won't say */

/*
 * Read the entries of the open directory FD (but "." and "..") into LIST;
 * FD must not have been read from before.
 * Returns 0, or -1 with errno set.  Free with dir_list_release().
 */
int dir_read(int fd, struct dir_list *list, unsigned flags);
void dir_list_release(struct dir_list *list);

#endif
