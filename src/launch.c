/*
 * launch.c: "pyprime launch"'s client.  It hands the request and its
 * descriptors to the server, forwards signals to the child's process
 * group, stops and continues with it, and ends as it ended.  Whatever
 * goes wrong before the child starts, /usr/bin/python3 runs instead.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launch.h"
#include "preload-wire.h"
#include "util.h"

#define PYTHON3 "/usr/bin/python3"

/* What a terminal, a window manager or kill(1) sends that the app must
 * see; SIGTSTP and SIGCONT for stopping and continuing with it. */
static const int forwarded[] = {
	SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH,
	SIGTSTP, SIGCONT,
};

static sigset_t blocked;

/* python3 with the same arguments, in this process; with NO_FALLBACK,
 * an error (1) instead.  WHY, when not NULL, is said first. */
static int fallback(const struct launch_opts *o, const char *why)
{
	size_t n = 0, i;
	char **argv;

	if (o->no_fallback) {
		error("%s", why ? why : "no server to launch with");
		return 1;
	}
	if (why)
		warning("%s: running %s", why, PYTHON3);
	while (o->args[n])
		n++;
	for (i = 0; o->python_flags[i]; i++)
		n++;
	argv = xcalloc(n + 4, sizeof(*argv));
	n = 0;
	argv[n++] = PYTHON3;
	for (i = 0; o->python_flags[i]; i++)
		argv[n++] = o->python_flags[i];
	if (o->module)
		argv[n++] = "-m";
	argv[n++] = (char *)o->target;
	for (i = 0; o->args[i]; i++)
		argv[n++] = o->args[i];
	sigprocmask(SIG_UNBLOCK, &blocked, NULL);
	execv(PYTHON3, argv);
	die_errno("cannot run '%s'", PYTHON3);
}

/* The launch cannot be served: -1, with MSG (if any) as the reason. */
static int not_served(struct buf *why, const char *msg)
{
	if (msg)
		buf_adds(why, msg);
	return -1;
}

/* Connected to the server on PATH, which must be this user's: the
 * descriptor, or -1 with the reason in WHY (none when there is no
 * server, the everyday case). */
static int connect_server(const char *path, struct buf *why)
{
	struct sockaddr_un a;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int fd;

	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(a.sun_path)) {
		buf_addf(why, "socket path '%s' is too long", path);
		return -1;
	}
	strcpy(a.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
	    cred.uid != getuid()) {
		buf_addf(why, "the server on '%s' is not this user's", path);
		close(fd);
		return -1;
	}
	return fd;
}

/* The request, with descriptors 0-2, the current directory and the
 * memory file if any: 0 or -1. */
static int send_request(int fd, const struct launch_opts *o)
{
	extern char **environ;
	struct preload_request r = { .magic = PRELOAD_MAGIC,
				     .version = PRELOAD_VERSION };
	struct buf strs = BUF_INIT;
	int fds[PRELOAD_FDS_MAX] = { 0, 1, 2, -1, o->memory_fd }, ret = -1;
	size_t nfds = PRELOAD_FDS + (o->memory_fd >= 0);
	char **p;
	mode_t mask;

	r.module = (uint32_t)o->module;
	r.flags = o->memory_fd >= 0 ? PRELOAD_MEMORY : 0;
	mask = umask(0);
	umask(mask);
	r.umask = (uint32_t)mask;
	buf_add(&strs, o->target, strlen(o->target) + 1);
	for (p = o->args; *p; p++, r.argc++)
		buf_add(&strs, *p, strlen(*p) + 1);
	for (p = environ; *p; p++, r.envc++)
		buf_add(&strs, *p, strlen(*p) + 1);
	for (p = o->python_flags; *p; p++, r.npyflags++)
		buf_add(&strs, *p, strlen(*p) + 1);
	r.len = (uint32_t)strs.len;
	if (strs.len > PRELOAD_MAX_LEN)
		goto out;
	fds[3] = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fds[3] < 0)
		goto out;
	if (send_fds(fd, &r, sizeof(r), fds, nfds) < 0)
		goto out;
	if (send(fd, strs.data, strs.len, MSG_NOSIGNAL) != (ssize_t)strs.len)
		goto out;
	ret = 0;
out:
	if (fds[3] >= 0)
		close(fds[3]);
	buf_release(&strs);
	return ret;
}

/* End as the child did: its exit status, or its fatal signal (without
 * a core of this process). */
static int end_like(int status)
{
	struct rlimit none = { 0, 0 };
	sigset_t one;
	int sig;

	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (!WIFSIGNALED(status))
		return 1;
	sig = WTERMSIG(status);
	setrlimit(RLIMIT_CORE, &none);
	signal(sig, SIG_DFL);
	sigemptyset(&one);
	sigaddset(&one, sig);
	sigprocmask(SIG_UNBLOCK, &one, NULL);
	raise(sig);
	return 128 + sig;
}

/* Signal SIG to the child's process group, or to the child if it left it. */
static void pass_on(pid_t child, int sig)
{
	if (kill(-child, sig) < 0)
		kill(child, sig);
}

/* The server went away with the child running: wait for it to end, as
 * the terminal would have.  Its status is lost. */
static int orphaned(pid_t child)
{
	int pfd = (int)syscall(SYS_pidfd_open, child, 0);
	struct pollfd p = { pfd, POLLIN, 0 };

	error("the server went away while running the app (pid %d): its "
	      "exit status is unknown", (int)child);
	if (pfd >= 0) {
		while (poll(&p, 1, -1) < 0 && errno == EINTR)
			;
		close(pfd);
	}
	return 1;
}

static int run_served(const struct launch_opts *o, struct buf *why)
{
	struct preload_reply r;
	struct signalfd_siginfo si;
	struct pollfd p[2];
	struct stat st;
	unsigned long pending = 0;
	pid_t child = 0, ended = 0;
	int ended_status = 0;
	size_t i;
	int fd, sfd;
	ssize_t n;

	sigemptyset(&blocked);
	if (!o->socket)
		return not_served(why, NULL);
	/* What python3 does itself: a closed standard descriptor, a
	 * directory or zip file to run. */
	for (i = 0; i < 3; i++)
		if (fcntl((int)i, F_GETFD) < 0)
			return not_served(why, NULL);
	if (!o->module && stat(o->target, &st) == 0 && !S_ISREG(st.st_mode))
		return not_served(why, NULL);

	for (i = 0; i < ARRAY_SIZE(forwarded); i++)
		sigaddset(&blocked, forwarded[i]);
	sigaddset(&blocked, PRELOAD_END_SIGNAL);
	sigprocmask(SIG_BLOCK, &blocked, NULL);
	sfd = signalfd(-1, &blocked, SFD_CLOEXEC);
	if (sfd < 0)
		return not_served(why, "cannot make a signalfd");
	fd = connect_server(o->socket, why);
	if (fd < 0) {
		close(sfd);
		if (!why->len && o->no_fallback)
			buf_addf(why, "no server on '%s'", o->socket);
		return not_served(why, NULL);
	}
	if (send_request(fd, o) < 0) {
		close(fd);
		close(sfd);
		return not_served(why, "the server did not take the launch");
	}

	p[0] = (struct pollfd){ fd, POLLIN, 0 };
	p[1] = (struct pollfd){ sfd, POLLIN, 0 };
	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			die_errno("poll");
		}
		if (p[1].revents & POLLIN &&
		    read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			int sig = (int)si.ssi_signo;

			/* The child's word that it ended, with its status
			 * (maybe before the server's that it started). */
			if (sig == PRELOAD_END_SIGNAL) {
				if (si.ssi_code != SI_QUEUE)
					continue;
				if (child && (pid_t)si.ssi_pid == child) {
					close(fd);
					close(sfd);
					return end_like(W_EXITCODE(
						si.ssi_int & 0xff, 0));
				}
				if (!child) {
					ended = (pid_t)si.ssi_pid;
					ended_status = si.ssi_int & 0xff;
				}
				continue;
			}
			if (!child) {
				pending |= 1ul << sig;
				if (sig != SIGTSTP)
					continue;
			}
			if (sig == SIGTSTP) {
				/* Stopped as a job is, with the child: a
				 * child outside the terminal's session
				 * would ignore SIGTSTP. */
				if (child)
					pass_on(child, SIGSTOP);
				kill(getpid(), SIGSTOP);
				pending &= ~(1ul << SIGTSTP);
			} else {
				pass_on(child, sig);
			}
		}
		if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		n = read_full(fd, &r, sizeof(r));
		if (n != (ssize_t)sizeof(r)) {
			if (child)
				return orphaned(child);
			close(fd);
			close(sfd);
			return not_served(why, "the server ended during the launch");
		}
		r.text[sizeof(r.text) - 1] = '\0';
		switch (r.type) {
		case PRELOAD_REFUSED:
			close(fd);
			close(sfd);
			if (!strcmp(r.text, "stale"))
				return not_served(why, o->no_fallback ?
						"the server's code is stale" :
						NULL);
			buf_addf(why, "the server refused the launch: %s",
				 r.text);
			return -1;
		case PRELOAD_STARTED:
			child = (pid_t)r.value;
			if (ended && ended == child) {
				close(fd);
				close(sfd);
				return end_like(W_EXITCODE(ended_status, 0));
			}
			for (i = 1; i < 8 * sizeof(pending); i++)
				if (pending & (1ul << i) && (int)i != SIGCONT)
					pass_on(child, (int)i);
			pending = 0;
			break;
		case PRELOAD_EXIT:
			close(fd);
			close(sfd);
			return end_like(r.value);
		}
	}
}

int launch_run(const struct launch_opts *o)
{
	struct buf why = BUF_INIT;
	int ret = run_served(o, &why);

	if (ret == -1)
		ret = fallback(o, why.len ? why.data : NULL);
	buf_release(&why);
	return ret;
}
