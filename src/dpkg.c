/*
 * dpkg.c: asking dpkg-query for a package's files.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
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
	int fds[2], argc = 0;

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
	*pid = fork();
	if (*pid < 0) {
		error_errno("cannot fork");
		close(fds[0]);
		close(fds[1]);
		free(rootopt);
		return -1;
	}
	if (*pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		if (dup2(fds[1], STDOUT_FILENO) < 0)
			_exit(127);
		if (quiet) {
			int null = open("/dev/null", O_WRONLY);

			if (null < 0 || dup2(null, STDERR_FILENO) < 0)
				_exit(127);
		}
		execvp(argv[0], (char *const *)argv);
		error_errno("cannot run '%s'", argv[0]);
		_exit(127);
	}
	close(fds[1]);
	free(rootopt);
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

int dpkg_list_start(const char *root, const char *pkg,
		    struct dpkg_listing *l)
{
	const char *args[] = { "--listfiles", "--", pkg, NULL };

	l->pkg = pkg;
	l->fd = query_start(root, args, 0, &l->pid);
	return l->fd < 0 ? -1 : 0;
}

char **dpkg_list_finish(struct dpkg_listing *l)
{
	struct buf out = BUF_INIT;
	char **v = NULL, *line, *next;
	size_t n = 0;
	int status = l->fd < 0 ? -1 : query_finish(l->pid, l->fd, &out);

	l->fd = -1;
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
