/*
 * registry.c: one small text file per package, written atomically.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic.h"
#include "dir.h"
#include "dpkg.h"
#include "pyrt.h"
#include "record.h"
#include "registry.h"
#include "sources.h"
#include "util.h"

#define REGISTRY "/var/lib/pyprime"

static char *registry_dir(const char *root, const char *sub)
{
	const char *r = root ? root : "";
	size_t n = strlen(r);

	while (n > 0 && r[n - 1] == '/')
		n--;
	return xasprintf("%.*s" REGISTRY "%s%s", (int)n, r, sub ? "/" : "",
			 sub ? sub : "");
}

/* mkdir -p DIR (mode 0755). */
static int make_dirs(char *dir)
{
	char *p;

	for (p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
			*p = '/';
			return error_errno("cannot create directory '%s'", dir);
		}
		*p = '/';
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return error_errno("cannot create directory '%s'", dir);
	return 0;
}

/* DIR, made if need be, opened: its descriptor, or -1 after reporting. */
static int open_dir(char *dir)
{
	int fd;

	if (make_dirs(dir) < 0)
		return -1;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		error_errno("cannot open directory '%s'", dir);
	return fd;
}

/* Whether NAME in DIRFD is a regular file holding CONTENT already. */
static int holds(int dirfd, const char *name, const struct buf *content)
{
	struct buf b = BUF_INIT;
	struct stat st;
	int fd, same = 0;

	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    (size_t)st.st_size == content->len && read_fd(fd, &b) == 0)
		same = b.len == content->len &&
		       (!b.len || !memcmp(b.data, content->data, b.len));
	close(fd);
	buf_release(&b);
	return same;
}

/*
 * Replace SUB/PKG with CONTENT, atomically and durably, unless it holds
 * that already (every configure writes the same: on slow flash the syncs
 * would cost more than the rest).
 */
static int write_file(const char *root, const char *sub, const char *pkg,
		      const struct buf *content)
{
	char *dir = registry_dir(root, sub);
	int fd, ret = -1;

	fd = open_dir(dir);
	if (fd < 0)
		goto out;
	/* What a killed pyprime left here. */
	atomic_sweep(fd);
	if (holds(fd, pkg, content))
		ret = 0;
	else
		ret = atomic_write(fd, dir, pkg,
				   content->data ? content->data : "",
				   content->len, 0644, ATOMIC_FSYNC);
	close(fd);
out:
	free(dir);
	return ret;
}

int registry_save(const char *root, const char *pkg, char *const *args,
		  size_t n)
{
	struct buf b = BUF_INIT;
	size_t i;
	int ret;

	if (!dpkg_valid_name(pkg))
		return error("invalid package name '%s'", pkg);
	buf_addf(&b, "# pyprime register arguments of %s\ninterpreter %s\n",
		 pkg, pyrt_cache_tag());
	for (i = 0; i < n; i++) {
		if (strchr(args[i], '\n')) {
			buf_release(&b);
			return error("invalid argument for the registry: '%s'", args[i]);
		}
		buf_addf(&b, "arg %s\n", args[i]);
	}
	ret = write_file(root, "packages", pkg, &b);
	buf_release(&b);
	return ret;
}

char **registry_load(const char *root, const char *pkg)
{
	char *dir = registry_dir(root, "packages"), *path;
	char **lines, **args;
	size_t i, n = 0;

	if (!dpkg_valid_name(pkg)) {
		free(dir);
		errno = ENOENT;
		return NULL;
	}
	path = join_path(dir, pkg);
	free(dir);
	if (access(path, F_OK) < 0 && errno == ENOENT) {
		free(path);
		errno = ENOENT;
		return NULL;
	}
	lines = read_path_list(path, 0);
	free(path);
	if (!lines)
		return NULL;
	for (i = 0; lines[i]; i++)
		;
	args = xcalloc(i + 1, sizeof(*args));
	for (i = 0; lines[i]; i++)
		if (!strncmp(lines[i], "arg ", 4))
			args[n++] = xstrdup(lines[i] + 4);
	args[n] = NULL;
	free_strings(lines);
	return args;
}

char **registry_packages(const char *root, int pending)
{
	char *dir = registry_dir(root, pending ? "pending" : "packages");
	struct dir_list list;
	char **v;
	size_t i, n = 0;
	int fd;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		free(dir);
		return xcalloc(1, sizeof(char *));
	}
	if (fd < 0 || dir_read(fd, &list, 0) < 0) {
		error_errno("cannot read directory '%s'", dir);
		if (fd >= 0)
			close(fd);
		free(dir);
		return NULL;
	}
	close(fd);
	free(dir);
	v = xcalloc(list.n + 1, sizeof(*v));
	for (i = 0; i < list.n; i++)
		if (dpkg_valid_name(list.v[i].name))
			v[n++] = xstrdup(list.v[i].name);
	v[n] = NULL;
	dir_list_release(&list);
	qsort(v, n, sizeof(*v), cmp_strings);
	return v;
}

int registry_set_pending(const char *root, const char *pkg, int pending)
{
	struct buf empty = BUF_INIT;
	char *dir, *path;
	int ret = 0;

	if (!dpkg_valid_name(pkg))
		return error("invalid package name '%s'", pkg);
	if (pending)
		return write_file(root, "pending", pkg, &empty);
	dir = registry_dir(root, "pending");
	path = join_path(dir, pkg);
	if (unlink(path) < 0 && errno != ENOENT)
		ret = error_errno("cannot remove '%s'", path);
	free(path);
	free(dir);
	return ret;
}

/*
 * A record is the package's whatever the architecture: prerm names it
 * "PKG", py3compile's calls "PKG:ARCH".  Returns a new string.
 */
/* The key at PATH into KEY: 0, or -1 (errno 0: not a key). */
static int read_key(const char *path, unsigned char key[RECORD_KEY])
{
	struct buf b = BUF_INIT;
	int fd, ret = -1;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (read_fd(fd, &b) == 0) {
		errno = 0;
		if (b.len == RECORD_KEY) {
			memcpy(key, b.data, RECORD_KEY);
			ret = 0;
		}
	}
	close(fd);
	buf_release(&b);
	return ret;
}

int registry_load_key(const char *root)
{
	static int loaded, status;
	unsigned char key[RECORD_KEY];
	char *dir, *path;
	size_t got = 0;
	int fd;

	if (loaded)
		return status;
	loaded = 1;
	dir = registry_dir(root, NULL);
	path = join_path(dir, "key");
	if (read_key(path, key) == 0)
		goto out;
	if (errno == ENOENT)
		;	/* the first record: the key is made now */
	else if (errno)
		warning_errno("replacing '%s'", path);
	else
		warning("replacing '%s': not a key of %d bytes", path,
			RECORD_KEY);
	while (got < RECORD_KEY) {
		ssize_t n = getrandom(key + got, RECORD_KEY - got, 0);

		if (n < 0 && errno != EINTR)
			die_errno("cannot get random bytes");
		if (n > 0)
			got += (size_t)n;
	}
	status = -1;
	fd = open_dir(dir);
	if (fd < 0)
		goto out;
	if (atomic_write(fd, dir, "key", key, RECORD_KEY, 0600,
			 ATOMIC_FSYNC) == 0) {
		status = 0;
		/* Two runs that each made one at once: the one that stayed. */
		read_key(path, key);
	}
	close(fd);
out:
	/* Should it not be saved: the records of this run vouch for nothing
	 * in the next, which then compiles everything. */
	record_set_key(key);
	free(path);
	free(dir);
	return status;
}

static char *record_name(const char *pkg)
{
	const char *colon = strchr(pkg, ':');

	return colon ? xasprintf("%.*s", (int)(colon - pkg), pkg) :
		       xstrdup(pkg);
}

int registry_load_record(const char *root, const char *pkg, struct record *r)
{
	char *dir, *path, *name;
	struct buf b = BUF_INIT;
	size_t line;
	int fd, ret = 0;

	if (!dpkg_valid_name(pkg))
		return error("invalid package name '%s'", pkg);
	dir = registry_dir(root, "records");
	name = record_name(pkg);
	path = join_path(dir, name);
	free(name);
	free(dir);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT)
			warning_errno("ignoring '%s'", path);
	} else if (read_fd(fd, &b) < 0) {
		warning_errno("ignoring '%s'", path);
	} else if ((line = record_parse(r, b.data ? b.data : "", b.len))) {
		warning("ignoring '%s': line %zu is not a record line", path,
			line);
	} else {
		ret = 1;
	}
	if (fd >= 0)
		close(fd);
	buf_release(&b);
	free(path);
	return ret;
}

int registry_save_record(const char *root, const char *pkg, struct record *r)
{
	struct buf b = BUF_INIT;
	char *name;
	int ret;

	if (!dpkg_valid_name(pkg))
		return error("invalid package name '%s'", pkg);
	name = record_name(pkg);
	record_format(r, name, &b);
	ret = write_file(root, "records", name, &b);
	free(name);
	buf_release(&b);
	return ret;
}

int registry_forget_record(const char *root, const char *pkg)
{
	char *dir, *name, *path;
	int ret = 0;

	if (!dpkg_valid_name(pkg))
		return error("invalid package name '%s'", pkg);
	dir = registry_dir(root, "records");
	name = record_name(pkg);
	path = join_path(dir, name);
	if (unlink(path) < 0 && errno != ENOENT)
		ret = error_errno("cannot remove '%s'", path);
	free(path);
	free(name);
	free(dir);
	return ret;
}
