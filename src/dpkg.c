/*
 * dpkg.c: asking dpkg-query for a package's files.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dpkg.h"

int dpkg_list_files(const char *root, const char *pkg, struct buf *list)
{
	char *rootopt = NULL;
	char *argv[6];
	struct buf out = BUF_INIT;
	int fds[2], status, argc = 0, ret = -1;
	pid_t pid;

	argv[argc++] = "dpkg-query";
	if (root) {
		rootopt = xasprintf("--root=%s", root);
		argv[argc++] = rootopt;
	}
	argv[argc++] = "--listfiles";
	argv[argc++] = "--";
	argv[argc++] = (char *)pkg;
	argv[argc] = NULL;

	if (pipe2(fds, O_CLOEXEC) < 0) {
		error_errno("cannot create a pipe");
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		error_errno("cannot fork");
		close(fds[0]);
		close(fds[1]);
		goto out;
	}
	if (pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		if (dup2(fds[1], STDOUT_FILENO) < 0)
			_exit(127);
		execvp(argv[0], argv);
		error_errno("cannot run '%s'", argv[0]);
		_exit(127);
	}
	close(fds[1]);
	if (read_fd(fds[0], &out) < 0)
		error_errno("cannot read the output of dpkg-query");
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			error_errno("cannot wait for dpkg-query");
			goto out;
		}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		error("cannot list the files of package '%s'", pkg);
		goto out;
	}
	if (out.len)
		buf_add(list, out.data, out.len);
	ret = 0;
out:
	buf_release(&out);
	free(rootopt);
	return ret;
}
