/*
 * run.c: spawn, measure and reap one run of the program being timed.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "run.h"

static volatile sig_atomic_t caught;
static int wake[2] = { -1, -1 };	/* self-pipe: SIGCHLD and the signals */

static void on_signal(int sig)
{
	int saved = errno;

	if (sig != SIGCHLD && !caught)
		caught = sig;
	if (wake[1] >= 0 && write(wake[1], "", 1) < 0) {
		/* full: the reader is awake anyway */
	}
	errno = saved;
}

static void wake_init(void)
{
	struct sigaction sa;

	if (wake[0] >= 0)
		return;
	if (pipe2(wake, O_CLOEXEC | O_NONBLOCK) < 0)
		die_errno("cannot create a pipe");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, NULL);
}

void run_catch_signals(void)
{
	wake_init();
	catch_stop_signals(on_signal);
}

int run_interrupted(void)
{
	return caught;
}

void run_reraise(void)
{
	int sig = caught;

	if (!sig)
		return;
	signal(sig, SIG_DFL);
	raise(sig);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double tv_ms(const struct timeval *tv)
{
	return tv->tv_sec * 1e3 + tv->tv_usec / 1e3;
}

static void drain(int fd, struct buf *b, int *open)
{
	char chunk[65536];
	ssize_t n;

	while (*open) {
		n = read(fd, chunk, sizeof(chunk));
		if (n > 0) {
			size_t room = b->len < RUN_ERR_MAX ?
				RUN_ERR_MAX - b->len : 0;

			buf_add(b, chunk, (size_t)n < room ? (size_t)n : room);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 || errno != EAGAIN)
			*open = 0;
		break;
	}
}

static void empty_wake(void)
{
	char junk[64];

	while (read(wake[0], junk, sizeof(junk)) > 0)
		;
}

static int spawn(pid_t *pid, char *const *argv, char *const *envp, int errfd)
{
	static const int defaults[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE,
					SIGCHLD };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, def;
	size_t i;
	int err;

	sigemptyset(&none);
	sigemptyset(&def);
	for (i = 0; i < ARRAY_SIZE(defaults); i++) {
		struct sigaction old;

		/* what was ignored when pyprime started stays so for it too */
		if (sigaction(defaults[i], NULL, &old) == 0 &&
		    old.sa_handler != SIG_IGN)
			sigaddset(&def, defaults[i]);
	}
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
				 POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &def);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, errfd, 2);
	err = posix_spawn(pid, argv[0], &fa, &attr, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	return err;
}

int run_once(char *const *argv, char *const *envp, double timeout,
	     struct run_result *r)
{
	int errpipe[2], open = 1, err, ret = 0;
	double start, deadline;
	struct rusage ru;
	pid_t pid, got;
	sigset_t chld, old;

	wake_init();
	buf_reset(&r->err);
	r->timed_out = 0;
	r->status = 0;
	if (pipe2(errpipe, O_CLOEXEC) < 0)
		return error_errno("cannot create a pipe");
	/* SIGCHLD waits until poll() can see it, so no exit is missed */
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &old);
	empty_wake();

	start = now_ms();
	err = spawn(&pid, argv, envp, errpipe[1]);
	close(errpipe[1]);
	if (err) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		close(errpipe[0]);
		errno = err;
		return error_errno("cannot run '%s'", argv[0]);
	}
	fcntl(errpipe[0], F_SETFL, O_NONBLOCK);
	sigprocmask(SIG_SETMASK, &old, NULL);
	deadline = timeout > 0 ? start + timeout * 1e3 : 0;

	for (;;) {
		struct pollfd pfd[2] = {
			{ wake[0], POLLIN, 0 },
			{ open ? errpipe[0] : -1, POLLIN, 0 },
		};
		int wait_ms = -1;

		got = wait4(pid, &r->status, WNOHANG, &ru);
		if (got == pid)
			break;
		if (caught) {
			kill(-pid, SIGKILL);
			ret = RUN_INTERRUPTED;
		} else if (deadline && now_ms() >= deadline) {
			kill(-pid, SIGKILL);
			r->timed_out = 1;
			deadline = 0;
		}
		if (ret == RUN_INTERRUPTED || r->timed_out) {
			if (wait4(pid, &r->status, 0, &ru) == pid)
				break;
		}
		if (deadline) {
			double left = deadline - now_ms();

			wait_ms = left < 0 ? 0 : (int)left + 1;
		}
		if (poll(pfd, 2, wait_ms) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents)
			empty_wake();
		if (open && pfd[1].revents)
			drain(errpipe[0], &r->err, &open);
	}
	r->wall_ms = now_ms() - start;
	r->user_ms = tv_ms(&ru.ru_utime);
	r->sys_ms = tv_ms(&ru.ru_stime);
	r->maxrss_kb = ru.ru_maxrss;
	/* what it left in the pipe; anything still writing goes with it */
	if (open)
		drain(errpipe[0], &r->err, &open);
	kill(-pid, SIGKILL);
	close(errpipe[0]);
	return ret;
}

char *run_describe(const struct run_result *r, double timeout)
{
	if (r->timed_out)
		return xasprintf("timed out after %g s", timeout);
	if (WIFSIGNALED(r->status))
		return xasprintf("killed by signal %d (%s)",
				 WTERMSIG(r->status),
				 strsignal(WTERMSIG(r->status)));
	return xasprintf("exit status %d", WEXITSTATUS(r->status));
}
