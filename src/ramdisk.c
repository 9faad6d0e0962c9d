/*
 * ramdisk.c: a private tmpfs in a mount namespace, or /dev/shm.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"
#include "ramdisk.h"
#include "tree.h"
#include "util.h"

static char *make_temp_dir(const char *parent, const char *name)
{
	char *path = xasprintf("%s/%s.XXXXXX", parent, name);

	if (!mkdtemp(path)) {
		error_errno("cannot make a directory in '%s'", parent);
		free(path);
		return NULL;
	}
	return path;
}

static int mount_private(struct ramdisk *rd, const char *parent)
{
	char *point;

	if (unshare(CLONE_NEWNS) < 0)
		return -1;
	/* nothing mounted from here on may reach the parent namespace */
	if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return -1;
	point = make_temp_dir(parent, "pyprime-ram");
	if (!point)
		return -1;
	if (mount("pyprime", point, "tmpfs", MS_NOSUID | MS_NODEV,
		  "mode=0700") < 0) {
		rmdir(point);
		free(point);
		return -1;
	}
	rd->mountpoint = point;
	rd->dir = xstrdup(point);
	rd->kind = "private tmpfs";
	return 0;
}

int ramdisk_open(struct ramdisk *rd, const char *dir, const char *parent)
{
	memset(rd, 0, sizeof(*rd));
	if (dir) {
		if (!cache_on_tmpfs(dir))
			warning("'%s' is not on tmpfs: its pages can be"
				" evicted like a disk's", dir);
		rd->dir = make_temp_dir(dir, "pyprime-ram");
		rd->kind = "tmpfs";
		return rd->dir ? 0 : -1;
	}
	if (mount_private(rd, parent) == 0)
		return 0;
	rd->dir = make_temp_dir("/dev/shm", "pyprime-ram");
	rd->kind = "/dev/shm";
	return rd->dir ? 0 : -1;
}

void ramdisk_close(struct ramdisk *rd)
{
	if (!rd->dir)
		return;
	if (rd->mountpoint) {
		if (umount2(rd->mountpoint, MNT_DETACH) < 0)
			error_errno("cannot unmount '%s'", rd->mountpoint);
		else if (rmdir(rd->mountpoint) < 0)
			error_errno("cannot remove '%s'", rd->mountpoint);
	} else {
		tree_remove(rd->dir);
	}
	free(rd->mountpoint);
	free(rd->dir);
	memset(rd, 0, sizeof(*rd));
}
