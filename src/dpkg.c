/*
 * dpkg.c: a package's files, as dpkg's database or dpkg-query gives them.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dpkg.h"

/*
 * Start dpkg-query with ROOT (or NULL) and ARGS (NULL-terminated); with
 * QUIET, its errors go nowhere.  Returns the read end of its output, its
 * pid in *PID, or -1 after reporting why it could not start.
 */
static int query_start(const char *root, const char *const *args, int quiet,
		       pid_t *pid)
{
	char *rootopt = NULL;
	const char *argv[8];
	posix_spawn_file_actions_t actions;
	posix_spawnattr_t attr;
	sigset_t dfl;
	int fds[2], argc = 0, err;

	argv[argc++] = "dpkg-query";
	if (root) {
		rootopt = xasprintf("--root=%s", root);
		argv[argc++] = rootopt;
	}
	while (*args && argc < 7)
		argv[argc++] = *args++;
	argv[argc] = NULL;

	if (pipe2(fds, O_CLOEXEC) < 0) {
		free(rootopt);
		return error_errno("cannot create a pipe");
	}
	/*
	 * posix_spawn, not fork: the parent's pages are not made
	 * copy-on-write, so it does not fault each one it writes next in
	 * again, which cost milliseconds on some virtual machines.
	 */
	posix_spawn_file_actions_init(&actions);
	posix_spawnattr_init(&attr);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	posix_spawnattr_setsigdefault(&attr, &dfl);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
	err = posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
	if (!err && quiet)
		err = posix_spawn_file_actions_addopen(&actions, STDERR_FILENO,
						       "/dev/null", O_WRONLY, 0);
	if (!err)
		err = posix_spawnp(pid, argv[0], &actions, &attr,
				   (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&actions);
	posix_spawnattr_destroy(&attr);
	close(fds[1]);
	free(rootopt);
	if (err) {
		close(fds[0]);
		errno = err;
		return error_errno("cannot run '%s'", "dpkg-query");
	}
	return fds[0];
}

/*
 * Append the output of the dpkg-query started as PID (FD, query_start())
 * to OUT, and reap it.  Returns its exit status, or -1 after reporting an
 * error.
 */
static int query_finish(pid_t pid, int fd, struct buf *out)
{
	int status;

	if (read_fd(fd, out) < 0)
		error_errno("cannot read the output of dpkg-query");
	close(fd);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return error_errno("cannot wait for dpkg-query");
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static int dpkg_query(const char *root, const char *const *args, int quiet,
		      struct buf *out)
{
	pid_t pid;
	int fd = query_start(root, args, quiet, &pid);

	return fd < 0 ? -1 : query_finish(pid, fd, out);
}

int dpkg_valid_name(const char *pkg)
{
	const char *p;

	if (!*pkg || *pkg == '.' || strlen(pkg) > 200)
		return 0;
	for (p = pkg; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		      *p == '+' || *p == '-' || *p == '.' || *p == ':'))
			return 0;
	return 1;
}

/*
 * PKG's file list as dpkg keeps it, read into OUT: the database's
 * info/PKG.list, or info/PKG:ARCH.list for a Multi-Arch: same package, in
 * the administrative directory dpkg-query would use (ROOT/var/lib/dpkg,
 * else $DPKG_ADMINDIR, which dpkg sets for maintainer scripts, else
 * /var/lib/dpkg).  That is what "dpkg-query -L" prints, without its
 * diversion notes, and it costs one read instead of a program's start-up
 * and the whole status file.  -1 if the file is not there (a Multi-Arch:
 * same package named without its architecture, a database laid out
 * otherwise): dpkg-query is asked then.
 */
static int read_list(const char *root, const char *pkg, struct buf *out)
{
	const char *env = getenv("DPKG_ADMINDIR");
	char *admin, *path;
	const char *colon = strchr(pkg, ':');
	int fd, tries, ret = -1;

	if (!dpkg_valid_name(pkg) || (colon && !colon[1]))
		return -1;
	if (root)
		admin = xasprintf("%s/var/lib/dpkg", root);
	else
		admin = xstrdup(env && *env ? env : "/var/lib/dpkg");
	/* PKG:ARCH.list, then PKG.list: a package that is not Multi-Arch:
	 * same has no architecture in its file names. */
	for (tries = colon ? 2 : 1; ret < 0 && tries > 0; tries--) {
		int len = tries == 2 || !colon ? (int)strlen(pkg) :
			  (int)(colon - pkg);

		path = xasprintf("%s/info/%.*s.list", admin, len, pkg);
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		if (fd >= 0) {
			buf_reset(out);
			ret = read_fd(fd, out);
			close(fd);
		}
		free(path);
	}
	free(admin);
	return ret;
}

int dpkg_list_start(const char *root, const char *pkg,
		    struct dpkg_listing *l)
{
	const char *args[] = { "--listfiles", "--", pkg, NULL };

	l->pkg = pkg;
	l->list = (struct buf)BUF_INIT;
	l->pid = 0;
	l->fd = -1;
	if (read_list(root, pkg, &l->list) == 0) {
		l->read = 1;
		return 0;
	}
	l->read = 0;
	l->fd = query_start(root, args, 0, &l->pid);
	return l->fd < 0 ? -1 : 0;
}

char **dpkg_list_finish(struct dpkg_listing *l)
{
	struct buf out = l->list;
	char **v = NULL, *line, *next;
	size_t n = 0;
	int status = l->read ? 0 : l->fd < 0 ? -1 :
		     query_finish(l->pid, l->fd, &out);

	l->fd = -1;
	l->list = (struct buf)BUF_INIT;
	if (status != 0) {
		if (status > 0)
			error("cannot list the files of package '%s'", l->pkg);
		buf_release(&out);
		return NULL;
	}
	for (line = out.data; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		else
			next = line + strlen(line);
		/* Diversion notes are not paths. */
		if (line[0] != '/' || !has_suffix(line, ".py"))
			continue;
		v = xrealloc(v, (n + 2) * sizeof(*v));
		v[n++] = xstrdup(line);
	}
	buf_release(&out);
	if (!v)
		v = xmalloc(sizeof(*v));
	v[n] = NULL;
	return v;
}

char **dpkg_python_files(const char *root, const char *pkg)
{
	struct dpkg_listing l;

	dpkg_list_start(root, pkg, &l);
	return dpkg_list_finish(&l);
}

int dpkg_installed(const char *root, const char *pkg)
{
	const char *args[] = { "--show", "--showformat=${db:Status-Status}",
			       "--", pkg, NULL };
	struct buf out = BUF_INIT;
	int installed;

	installed = dpkg_query(root, args, 0, &out) == 0 && out.data &&
		    !strcmp(out.data, "installed");
	buf_release(&out);
	return installed;
}

int dpkg_owned(const char *root, const char *path)
{
	const char *args[] = { "--search", "--", path, NULL };
	struct buf out = BUF_INIT;
	int status;

	if (strpbrk(path, "*?[]\\"))
		return -1;
	/* "no path found" is an answer, not an error to show. */
	status = dpkg_query(root, args, 1, &out);
	buf_release(&out);
	return status == 0 ? 1 : status == 1 ? 0 : -1;
}

/* The parent of process PID, from /proc; 0 if it cannot be told. */
static pid_t parent_of(pid_t pid)
{
	char path[64], *close_paren;
	struct buf b = BUF_INIT;
	long ppid = 0;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	/* "PID (COMM) STATE PPID ...": COMM may hold anything. */
	if (read_fd(fd, &b) == 0 && b.data &&
	    (close_paren = strrchr(b.data, ')')))
		sscanf(close_paren + 1, " %*c %ld", &ppid);
	close(fd);
	buf_release(&b);
	return (pid_t)ppid;
}

/* The argument after the path of maintainer script SUFFIX (".prerm") of
 * package RUNNING in process PID's command line; NULL if none. */
static char *script_argument(pid_t pid, const char *running,
			     const char *suffix)
{
	struct buf b = BUF_INIT;
	char path[64], *action = NULL;
	size_t plen = strlen(running), i;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/cmdline", (long)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (read_fd(fd, &b) < 0)
		buf_reset(&b);
	close(fd);
	/* "sh .../info/PKG[:ARCH].prerm ACTION ...". */
	for (i = 0; i < b.len; i += strlen(b.data + i) + 1) {
		const char *arg = b.data + i, *base = strrchr(arg, '/');

		base = base ? base + 1 : arg;
		if (strncmp(base, running, plen) ||
		    (base[plen] != '.' && base[plen] != ':') ||
		    !has_suffix(base, suffix))
			continue;
		i += strlen(arg) + 1;
		if (i < b.len)
			action = xstrdup(b.data + i);
		break;
	}
	buf_release(&b);
	return action;
}

char *dpkg_maintscript_action(const char *script, const char *pkg)
{
	const char *name = getenv("DPKG_MAINTSCRIPT_NAME");
	const char *running = getenv("DPKG_MAINTSCRIPT_PACKAGE");
	char *suffix, *action = NULL;
	size_t plen = strcspn(pkg, ":");
	pid_t pid = getppid();
	int depth;

	if (!name || !running || strcmp(name, script) ||
	    strlen(running) != plen || strncmp(running, pkg, plen))
		return NULL;
	suffix = xasprintf(".%s", script);
	/* The script itself, or a wrapper it ran (py3-divert). */
	for (depth = 0; depth < 3 && pid > 1 && !action; depth++) {
		action = script_argument(pid, running, suffix);
		pid = parent_of(pid);
	}
	free(suffix);
	return action;
}
