/*
 * foreign.c: running another installed python3.X for what the embedded
 * interpreter cannot do: compile for another version, tell its cache tag.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "foreign.h"
#include "util.h"

/*
 * What the other interpreter runs: stdin holds NUL-terminated pairs of
 * (file to read, name to record); argv[1] is "1" to force, argv[2] the
 * name to prefix messages with.  It compiles each as py_compile does,
 * reports a failure and goes on, and prints how many failed.
 */
static const char script[] =
	"import importlib.util, os, py_compile, sys\n"
	"force, prog = sys.argv[1] == '1', sys.argv[2]\n"
	"tag = 'python%d.%d' % sys.version_info[:2]\n"
	"items = sys.stdin.buffer.read().split(b'\\0')\n"
	"failed = 0\n"
	"for i in range(0, len(items) - 1, 2):\n"
	"    path, recorded = os.fsdecode(items[i]), os.fsdecode(items[i + 1])\n"
	"    cfile = importlib.util.cache_from_source(path)\n"
	"    try:\n"
	"        if not force:\n"
	"            st = os.stat(path)\n"
	"            try:\n"
	"                with open(cfile, 'rb') as f:\n"
	"                    head = f.read(16)\n"
	"            except OSError:\n"
	"                head = b''\n"
	"            want = (importlib.util.MAGIC_NUMBER + bytes(4)\n"
	"                    + (int(st.st_mtime) & 0xFFFFFFFF).to_bytes(4, 'little')\n"
	"                    + (st.st_size & 0xFFFFFFFF).to_bytes(4, 'little'))\n"
	"            if head == want:\n"
	"                continue\n"
	"        py_compile.compile(path, cfile=cfile, dfile=recorded, doraise=True)\n"
	"    except Exception as e:\n"
	"        failed += 1\n"
	"        msg = str(e).strip().replace('\\n', ' ')\n"
	"        print('%s: warning: %s cannot compile %r: %s' % (prog, tag, path, msg),\n"
	"              file=sys.stderr)\n"
	"print(failed)\n";

static char *interpreter(const char *root, int v)
{
	return xasprintf("%s/usr/bin/python%d.%d", root ? root : "", v / 100,
			 v % 100);
}

/*
 * Run ARGV with INPUT (LEN bytes) on its stdin, its stdout into OUT (or
 * left as ours when OUT is NULL).  Returns its wait status, or -1 after
 * reporting why it could not run.
 */
static int run_with(char *const *argv, const char *input, size_t len,
		    struct buf *out)
{
	int in[2], outp[2] = { -1, -1 }, status;
	void (*oldpipe)(int);
	pid_t pid;

	if (pipe2(in, O_CLOEXEC) < 0)
		return error_errno("cannot create a pipe");
	if (out && pipe2(outp, O_CLOEXEC) < 0) {
		close(in[0]);
		close(in[1]);
		return error_errno("cannot create a pipe");
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		error_errno("cannot fork");
		close(in[0]);
		close(in[1]);
		if (out) {
			close(outp[0]);
			close(outp[1]);
		}
		return -1;
	}
	if (pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		if (dup2(in[0], STDIN_FILENO) < 0 ||
		    (out && dup2(outp[1], STDOUT_FILENO) < 0))
			_exit(127);
		execv(argv[0], argv);
		error_errno("cannot run '%s'", argv[0]);
		_exit(127);
	}
	close(in[0]);
	if (out)
		close(outp[1]);
	oldpipe = signal(SIGPIPE, SIG_IGN);
	if (len && write_full(in[1], input, len) < 0 && errno != EPIPE)
		error_errno("cannot write to '%s'", argv[0]);
	close(in[1]);
	signal(SIGPIPE, oldpipe);
	if (out) {
		if (read_fd(outp[0], out) < 0)
			error_errno("cannot read the output of '%s'", argv[0]);
		close(outp[0]);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return error_errno("cannot wait for '%s'", argv[0]);
	return status;
}

int foreign_compile(const char *root, int v, int optimize, int force,
		    const struct source_list *list, size_t *failed)
{
	char *python = interpreter(root, v);
	char *argv[9];
	struct buf input = BUF_INIT, out = BUF_INIT;
	size_t i;
	int argc = 0, status, ret = -1;

	if (!list->n) {
		free(python);
		return 0;
	}
	argv[argc++] = python;
	argv[argc++] = "-I";
	if (optimize)
		argv[argc++] = "-O";
	argv[argc++] = "-c";
	argv[argc++] = (char *)script;
	argv[argc++] = force ? "1" : "0";
	argv[argc++] = (char *)progname;
	argv[argc] = NULL;
	for (i = 0; i < list->n; i++) {
		buf_add(&input, list->v[i].path, strlen(list->v[i].path) + 1);
		buf_add(&input, list->v[i].recorded,
			strlen(list->v[i].recorded) + 1);
	}
	status = run_with(argv, input.data, input.len, &out);
	buf_release(&input);
	if (status != -1 && WIFEXITED(status) && !WEXITSTATUS(status) &&
	    out.len) {
		*failed += strtoul(out.data, NULL, 10);
		ret = 0;
	} else if (status != -1) {
		error("'%s' failed to compile %zu file%s (%s %d)", python,
		      list->n, list->n == 1 ? "" : "s",
		      WIFSIGNALED(status) ? "signal" : "status",
		      WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	}
	buf_release(&out);
	free(python);
	return ret;
}

char *foreign_cache_tag(const char *root, int v)
{
	char *python = interpreter(root, v);
	char *argv[] = { python, "-I", "-c",
			 "import sys; print(sys.implementation.cache_tag)", NULL };
	struct buf out = BUF_INIT;
	char *tag = NULL;
	int status;

	if (access(python, X_OK) == 0) {
		status = run_with(argv, NULL, 0, &out);
		if (status != -1 && WIFEXITED(status) && !WEXITSTATUS(status) &&
		    out.len > 1 && out.data[out.len - 1] == '\n') {
			out.data[out.len - 1] = '\0';
			tag = xstrdup(out.data);
		}
	}
	buf_release(&out);
	free(python);
	return tag;
}
