/*
 * preload.c: "pyprime preload"'s server: an interpreter that has imported
 * an application's modules forks a child for each launch on its socket
 * and tells the client how it ended.  Single-threaded: a poll() loop over
 * the listening socket and a self-pipe of signals.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "preload-wire.h"
#include "pages.h"
#include "preload.h"
#include "pyrt.h"
#include "util.h"

/* How long a client may take to send its request. */
#define REQUEST_TIMEOUT 5
/* A launch whose child still runs after that long gets the next spare
 * forked meanwhile (one that ends sooner, as soon as it ends). */
#define SPARE_DELAY_MS 50
/* What lets a spare given a request run it: SPARE_GO, and the CPUs it
 * then takes. */
#define SPARE_GO 'g'
struct spare_go {
	char go;
	pid_t client;
	cpu_set_t cpus;
};

struct child {
	pid_t pid;
	int fd;			/* its client's connection */
	int told;		/* its client has its exit status */
};

/* A loaded module's file as it was when imported. */
struct file_id {
	char *path;
	const char *name;	/* in PATH, after its directory */
	size_t dir;		/* in dirs */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

/*
 * A directory of loaded files, held open so that each file costs a stat
 * of one name, not of its whole path; the directory itself is stat'ed
 * by path, so that one moved away and replaced is seen.  FD is -1 past
 * MAX_DIR_FDS directories (or if it cannot be opened): its files are
 * stat'ed by path.
 */
struct dir_id {
	char *path;
	int fd;
	dev_t dev;
	ino_t ino;
};
#define MAX_DIR_FDS 256

static const struct preload_opts *opts;
static int listen_fd = -1;
static int owns_socket;		/* made it: removes it at exit */
static int sig_pipe[2] = { -1, -1 };
static struct child *children;
static size_t nchildren, children_cap;
static struct file_id *files;
static size_t nfiles;
static struct dir_id *dirs;
static size_t ndirs;
static int stale;		/* a file changed: run again when idle */
/* A child forked ahead of the next launch, waiting for its request on
 * FD: a launch that finds it ready costs no fork. */
static struct {
	pid_t pid;
	int fd;
} spare = { 0, -1 };
static int spare_wanted = 1;	/* not since one died unused */
/* The listening socket's address, for a child's notice that it ends. */
static struct sockaddr_un self_addr;
static socklen_t self_len;
static struct timespec last_active;
/* In a spare given a request: the server's word that the code is not
 * stale, to be read before the app's code runs. */
static int go_fd = -1;
/* The CPUs the client may run on, which python3 run by it would have
 * (the server's if they cannot be read): a child takes them.  And the
 * client's pid, which a child tells when it ends. */
static cpu_set_t client_cpus;
static pid_t client_pid;

static void on_signal(int sig)
{
	int saved = errno;
	unsigned char c = (unsigned char)sig;

	if (write(sig_pipe[1], &c, 1) < 0) {
		/* full: the loop has enough to wake up for */
	}
	errno = saved;
}

char *preload_socket_path(const char *name, int make_dir)
{
	const char *run = getenv("XDG_RUNTIME_DIR");
	struct stat st;
	char *dir, *path;

	if (!*name || strchr(name, '/') || name[0] == '.') {
		error("'%s' is not a server name (a plain file name)", name);
		return NULL;
	}
	if (!run || run[0] != '/') {
		error("XDG_RUNTIME_DIR is not set: give the socket with --socket");
		return NULL;
	}
	dir = join_path(run, "pyprime");
	if (make_dir && mkdir(dir, 0700) < 0 && errno != EEXIST) {
		error_errno("cannot make '%s'", dir);
		goto fail;
	}
	/* A directory anyone else could write to would let them put
	 * their own server in the place of ours. */
	if (make_dir && (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) ||
			 st.st_uid != getuid() || (st.st_mode & 077))) {
		error("'%s' is not a private directory of this user (0700)",
		      dir);
		goto fail;
	}
	path = join_path(dir, name);
	free(dir);
	return path;
fail:
	free(dir);
	return NULL;
}

static int fill_addr(struct sockaddr_un *a, const char *path)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(a->sun_path))
		return error("socket path '%s' is too long", path);
	strcpy(a->sun_path, path);
	return 0;
}

/* The socket, bound and listening: a new descriptor or -1. */
static int make_socket(const char *path)
{
	struct sockaddr_un a;
	int fd, probe;

	if (fill_addr(&a, path) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return error_errno("cannot make a socket");
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
		/* ours */
	} else if (errno == EADDRINUSE) {
		/* A server that answers keeps it; a dead one's is removed. */
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe >= 0 &&
		    connect(probe, (struct sockaddr *)&a, sizeof(a)) == 0) {
			close(probe);
			close(fd);
			return error("a server is already listening on '%s'",
				     path);
		}
		if (probe >= 0)
			close(probe);
		unlink(path);
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
			goto fail;
	} else {
		goto fail;
	}
	if (listen(fd, 64) < 0)
		goto fail;
	return fd;
fail:
	error_errno("cannot listen on '%s'", path);
	close(fd);
	return -1;
}

/*
 * The listening socket handed over by systemd (LISTEN_FDS) or by this
 * server before it ran itself again (PYPRIME_PRELOAD_FD): the descriptor,
 * or -1 if none was.  Neither variable reaches the children.
 */
static int inherited_socket(void)
{
	const char *pid = getenv("LISTEN_PID"), *n = getenv("LISTEN_FDS");
	const char *own = getenv("PYPRIME_PRELOAD_FD");
	int fd = -1;

	if (pid && n && atol(pid) == (long)getpid() && atoi(n) >= 1)
		fd = 3;	/* SD_LISTEN_FDS_START */
	else if (own) {
		fd = atoi(own);
		owns_socket = 1;
	}
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	unsetenv("PYPRIME_PRELOAD_FD");
	if (fd >= 0)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
	return fd;
}

int preload_learn(const char *dir, const char *name, char *const *flags,
		  char ***imports, size_t *n)
{
	struct buf out = BUF_INIT, other = BUF_INIT;
	char *code = xasprintf("import %s", name), *line, *next;
	char **argv;
	size_t i, argc = 0;
	int pipefd[2], status, ret = -1;
	pid_t pid;

	for (i = 0; flags[i]; i++)
		;
	argv = xcalloc(i + 6, sizeof(*argv));
	argv[argc++] = "/usr/bin/python3";
	for (i = 0; flags[i]; i++)
		argv[argc++] = flags[i];
	argv[argc++] = "-X";
	argv[argc++] = "importtime";
	argv[argc++] = "-c";
	argv[argc++] = code;
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		error_errno("cannot make a pipe");
		goto out;
	}
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 ||
		    dup2(pipefd[1], 2) < 0 || chdir(dir) < 0)
			_exit(127);
		execv(argv[0], argv);
		_exit(127);
	}
	close(pipefd[1]);
	if (pid < 0) {
		close(pipefd[0]);
		error_errno("cannot fork");
		goto out;
	}
	read_fd(pipefd[0], &out);
	close(pipefd[0]);
	if (waitpid(pid, &status, 0) < 0)
		status = -1;
	for (line = out.data; line && *line; line = next) {
		const char *bar;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		else
			next = line + strlen(line);
		if (strncmp(line, "import time:", 12)) {
			buf_addf(&other, "%s\n", line);
			continue;
		}
		/* "import time: self | cumulative | [  ]name" */
		bar = strrchr(line, '|');
		if (!bar || strstr(line, "imported package"))
			continue;
		bar += strspn(bar + 1, " ") + 1;
		/* The app's own module runs as __main__ in each child. */
		if (!strcmp(bar, "__main__") || !strcmp(bar, name))
			continue;
		*imports = xrealloc(*imports, (*n + 2) * sizeof(char *));
		(*imports)[(*n)++] = xstrdup(bar);
		(*imports)[*n] = NULL;
	}
	if (status != 0) {
		fputs(other.data ? other.data : "", stderr);
		error("cannot learn what '%s' imports in '%s'", name, dir);
		goto out;
	}
	ret = 0;
out:
	free(code);
	free(argv);
	buf_release(&out);
	buf_release(&other);
	return ret;
}

/* The index in dirs of the directory of PATH, its first LEN bytes (none
 * for "/"), added if new. */
static size_t dir_of(const char *path, size_t len)
{
	struct dir_id *d;
	struct stat st;
	size_t i;

	if (!len)
		len = 1;	/* "/" */
	for (i = ndirs; i-- > 0;)
		if (!strncmp(dirs[i].path, path, len) && !dirs[i].path[len])
			return i;
	dirs = xrealloc(dirs, (ndirs + 1) * sizeof(*dirs));
	d = &dirs[ndirs];
	d->path = xasprintf("%.*s", (int)len, path);
	d->fd = -1;
	if (ndirs < MAX_DIR_FDS) {
		d->fd = open(d->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (d->fd >= 0 && fstat(d->fd, &st) == 0) {
			d->dev = st.st_dev;
			d->ino = st.st_ino;
		} else if (d->fd >= 0) {
			close(d->fd);
			d->fd = -1;
		}
	}
	return ndirs++;
}

static void remember_files(void)
{
	char **paths = pyrt_preload_files(), **p;
	struct stat st;

	for (p = paths; *p; p++)
		nfiles++;
	files = xcalloc(nfiles + 1, sizeof(*files));
	nfiles = 0;
	for (p = paths; *p; p++) {
		const char *slash = strrchr(*p, '/');
		struct file_id *f = &files[nfiles];

		if (!slash || stat(*p, &st) < 0)
			continue;	/* in a zip, or gone already */
		f->path = xstrdup(*p);
		f->name = f->path + (slash + 1 - *p);
		f->dir = dir_of(*p, (size_t)(slash - *p));
		f->dev = st.st_dev;
		f->ino = st.st_ino;
		f->size = st.st_size;
		f->mtime = st.st_mtim;
		nfiles++;
	}
	free_strings(paths);
}

/* The first loaded file that changed since it was imported, or NULL:
 * one stat each, of a name in a directory held open, and one of each
 * such directory's path. */
static const char *changed_file(void)
{
	struct stat st;
	size_t i;

	for (i = 0; i < ndirs; i++) {
		const struct dir_id *d = &dirs[i];

		if (d->fd >= 0 && (stat(d->path, &st) < 0 ||
				   st.st_dev != d->dev || st.st_ino != d->ino))
			return d->path;
	}
	for (i = 0; i < nfiles; i++) {
		const struct file_id *f = &files[i];
		int dfd = dirs[f->dir].fd;

		if ((dfd >= 0 ? fstatat(dfd, f->name, &st, 0) :
		     stat(f->path, &st)) < 0 ||
		    st.st_dev != f->dev || st.st_ino != f->ino ||
		    st.st_size != f->size ||
		    st.st_mtim.tv_sec != f->mtime.tv_sec ||
		    st.st_mtim.tv_nsec != f->mtime.tv_nsec)
			return f->path;
	}
	return NULL;
}

/* The threads other than this one, described ("'name'" or "1234
 * (comm)") in OUT; their number. */
static int other_threads(struct buf *out)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	char **names;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && atol(e->d_name) != (long)gettid())
			n++;
	closedir(d);
	if (!n)
		return 0;
	names = pyrt_preload_threads();
	if (names[0])
		buf_addf(out, "thread '%s'", names[0]);
	else
		buf_addf(out, "%d thread%s not started by Python", n,
			 n > 1 ? "s" : "");
	free_strings(names);
	return n;
}

static void send_reply(int fd, enum preload_reply_type type, int value,
		       const char *text)
{
	struct preload_reply r;

	memset(&r, 0, sizeof(r));
	r.type = type;
	r.value = value;
	if (text)
		snprintf(r.text, sizeof(r.text), "%s", text);
	/* A client that went away gets nothing: no SIGPIPE. */
	if (send(fd, &r, sizeof(r), MSG_NOSIGNAL) < 0) {
		/* nothing to do */
	}
}

static void refuse(int fd, const char *why)
{
	send_reply(fd, PRELOAD_REFUSED, 0, why);
	close(fd);
}

static void close_fds(int *fds, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/*
 * The request on FD: the header and descriptors into R and FDS
 * (PRELOAD_FDS_MAX of them, -1 where none came), the strings into STRS.
 * 0, or -1 (nothing to keep).
 */
static int read_request(int fd, struct preload_request *r, int *fds,
			struct buf *strs)
{
	union {
		char buf[CMSG_SPACE(PRELOAD_FDS_MAX * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { r, sizeof(*r) };
	struct msghdr msg = { 0 };
	struct cmsghdr *c;
	ssize_t n;
	size_t i, nfds;

	for (i = 0; i < PRELOAD_FDS_MAX; i++)
		fds[i] = -1;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = u.buf;
	msg.msg_controllen = sizeof(u.buf);
	do
		n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC | MSG_WAITALL);
	while (n < 0 && errno == EINTR);
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			memcpy(fds, CMSG_DATA(c),
			       (c->cmsg_len - CMSG_LEN(0)) < sizeof(int) *
			       PRELOAD_FDS_MAX ? c->cmsg_len - CMSG_LEN(0) :
			       sizeof(int) * PRELOAD_FDS_MAX);
	if (n != (ssize_t)sizeof(*r) || r->magic != PRELOAD_MAGIC ||
	    r->version != PRELOAD_VERSION || r->len > PRELOAD_MAX_LEN ||
	    (msg.msg_flags & MSG_CTRUNC))
		goto bad;
	nfds = r->flags & PRELOAD_ENDED ? 0 :
		PRELOAD_FDS + !!(r->flags & PRELOAD_MEMORY);
	for (i = 0; i < PRELOAD_FDS_MAX; i++)
		if ((fds[i] < 0) == (i < nfds))
			goto bad;
	buf_grow(strs, r->len + 1);
	if (read_full(fd, strs->data, r->len) != (ssize_t)r->len)
		goto bad;
	strs->len = r->len;
	strs->data[r->len] = '\0';
	return 0;
bad:
	close_fds(fds, PRELOAD_FDS_MAX);
	return -1;
}

/* The NUL-terminated strings of STRS as an array of N pointers into it;
 * -1 if there are fewer. */
static int split_strings(struct buf *strs, char **v, size_t n)
{
	char *p = strs->data, *end = strs->data + strs->len;
	size_t i;

	for (i = 0; i < n; i++) {
		char *nul = p < end ? memchr(p, '\0', (size_t)(end - p)) : NULL;

		if (!nul)
			return -1;
		v[i] = p;
		p = nul + 1;
	}
	return 0;
}

/* Variables that change what python3 does at start-up, which the
 * preloaded interpreter saw in its own environment. */
static int startup_variable(const char *e)
{
	return !strncmp(e, "PYTHON", 6) || !strncmp(e, "LC_ALL=", 7) ||
		!strncmp(e, "LC_CTYPE=", 9) || !strncmp(e, "LANG=", 5);
}

static int in_env(char *const *env, size_t n, const char *e)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(env[i], e))
			return 1;
	return 0;
}

/* The N strings of V are those of the NULL-terminated W. */
static int same_strings(char *const *v, size_t n, char *const *w)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!w[i] || strcmp(v[i], w[i]))
			return 0;
	return !w[n];
}

/* The first start-up variable that the client's ENV and the server's
 * environment do not agree on ("NAME=value"), or NULL. */
static const char *env_differs(char *const *env, size_t n)
{
	extern char **environ;
	size_t i, mine = 0;
	char **e;

	for (e = environ; *e; e++, mine++)
		if (startup_variable(*e) && !in_env(env, n, *e))
			return *e;
	for (i = 0; i < n; i++)
		if (startup_variable(env[i]) && !in_env(environ, mine, env[i]))
			return env[i];
	return NULL;
}

/* Child PID says it is exiting with STATUS: its client is told now. */
static void child_ended(pid_t pid, int status)
{
	size_t i;

	for (i = 0; i < nchildren; i++)
		if (children[i].pid == pid && !children[i].told) {
			send_reply(children[i].fd, PRELOAD_EXIT,
				   W_EXITCODE(status & 0xff, 0), NULL);
			children[i].told = 1;
		}
}

/* In a child about to exit with STATUS: say so to its client, or else
 * to the server, on a connection of its own (none is open while the app
 * runs). */
static void tell_ending(int status)
{
	struct preload_request r = { .magic = PRELOAD_MAGIC,
				     .version = PRELOAD_VERSION,
				     .flags = PRELOAD_ENDED,
				     .argc = (uint32_t)status };
	union sigval v = { .sival_int = status };
	int fd;

	if (client_pid > 0 &&
	    sigqueue(client_pid, PRELOAD_END_SIGNAL, v) == 0)
		return;
	if (!self_len)
		return;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (connect(fd, (struct sockaddr *)&self_addr, self_len) == 0 &&
	    send(fd, &r, sizeof(r), MSG_NOSIGNAL) == (ssize_t)sizeof(r)) {
		/* sent */
	}
	close(fd);
}

/* In a child: nothing of the server's (socket, connections, handlers,
 * blocked signals), a process group of its own. */
static void leave_server(void)
{
	sigset_t none;
	size_t i;
	int sig;

	setpgid(0, 0);
	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	/* What python3 ignores from the start. */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGXFSZ, SIG_IGN);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);

	close(listen_fd);
	close(sig_pipe[0]);
	close(sig_pipe[1]);
	for (i = 0; i < ndirs; i++)
		if (dirs[i].fd >= 0)
			close(dirs[i].fd);
	for (i = 0; i < nchildren; i++)
		close(children[i].fd);
	if (spare.fd >= 0)
		close(spare.fd);
}

/*
 * In a spare given its request: wait for the server's word that no
 * loaded file changed, checked while this child set itself up.  0 to
 * go on; -1 if the code is stale or the server is gone (the client
 * falls back: the app must not run here as well).
 */
static int wait_go(void)
{
	struct spare_go msg = { 0 };
	ssize_t n;

	n = read_full(go_fd, &msg, sizeof(msg));
	close(go_fd);
	go_fd = -1;
	if (n != (ssize_t)sizeof(msg) || msg.go != SPARE_GO)
		return -1;
	/* A launched app outlives the server, as a forked one does. */
	prctl(PR_SET_PDEATHSIG, 0);
	sched_setaffinity(0, sizeof(msg.cpus), &msg.cpus);
	client_pid = msg.client;
	return 0;
}

/* In a child that left the server: take the client's descriptors,
 * directory and umask, and run the request V (split as R says). */
static void NORETURN run_request(const int *fds,
				 const struct preload_request *r, char **v)
{
	struct pyrt_launch l = {
		.module = (int)r->module, .target = v[0],
		.args = v + 1, .nargs = r->argc,
		.env = v + 1 + r->argc, .nenv = r->envc,
		.flags = v + 1 + r->argc + r->envc, .nflags = r->npyflags,
		.pages = opts->pages,
		.memory_fd = fds[PRELOAD_FDS],
		.ending = tell_ending,
		.ready = go_fd >= 0 ? wait_go : NULL,
	};
	size_t i;

	for (i = 0; i < 3; i++)
		if (dup2(fds[i], (int)i) < 0)
			_exit(127);
	if (fchdir(fds[3]) < 0)
		_exit(127);
	for (i = 0; i < PRELOAD_FDS; i++)
		if (fds[i] > 2)
			close(fds[i]);
	umask((mode_t)r->umask);
	if (go_fd < 0)
		sched_setaffinity(0, sizeof(client_cpus), &client_cpus);
	pyrt_preload_run(&l);
}

/* The spare, once forked: wait for the request the server passes on
 * from a client (on FD, as the client sent it), then run it.  Ends with
 * the server. */
static void NORETURN spare_wait(int fd, pid_t server)
{
	struct preload_request r;
	struct buf strs = BUF_INIT;
	int fds[PRELOAD_FDS_MAX];
	char **v;
	size_t n;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != server)
		_exit(0);
	pyrt_preload_rehearse();
	if (opts->pages)
		pages_prefault(opts->pages);
	pages_touch(fd);
	if (read_request(fd, &r, fds, &strs) < 0)
		_exit(0);
	n = 1 + (size_t)r.argc + (size_t)r.envc + (size_t)r.npyflags;
	v = xcalloc(n, sizeof(*v));
	if (split_strings(&strs, v, n) < 0)
		_exit(127);
	go_fd = fd;
	run_request(fds, &r, v);
}

/*
 * Fork the spare, unless there is one, the code is stale, the server
 * was told not to, or a thread runs (the launch will say so).
 */
static void make_spare(void)
{
	struct buf why = BUF_INIT;
	pid_t pid, server = getpid();
	int sv[2];

	if (opts->no_spare || !spare_wanted || spare.pid > 0 || stale)
		return;
	/* Until the next launch. */
	spare_wanted = 0;
	if (other_threads(&why)) {
		buf_release(&why);
		return;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return;
	pid = pyrt_preload_fork();
	if (pid == 0) {
		close(sv[0]);
		leave_server();
		spare_wait(sv[1], server);
	}
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		return;
	}
	setpgid(pid, pid);
	spare.pid = pid;
	spare.fd = sv[0];
	spare_wanted = 1;
}

static void kill_spare(void)
{
	if (spare.pid <= 0)
		return;
	kill(spare.pid, SIGKILL);
	close(spare.fd);
	while (waitpid(spare.pid, NULL, 0) < 0 && errno == EINTR)
		;
	spare.pid = 0;
	spare.fd = -1;
}

/*
 * Pass the request R (its descriptors FDS, its strings STRS) to the
 * spare, as the client sent it, so that it sets itself up while the
 * server checks the request and the loaded files; then tell it to go on
 * (give_go()) or kill it.  0, or -1 (no spare, or it failed: it is
 * gone).
 */
static int give_to_spare(const struct preload_request *r, const int *fds,
			 const struct buf *strs)
{
	cpu_set_t others;
	int cpu = sched_getcpu();

	if (spare.pid <= 0)
		return -1;
	/*
	 * On a CPU other than the one the server checks the files on, if
	 * there is one: woken on the same one, it would wait for the
	 * check before it ran.
	 */
	if (cpu >= 0 && sched_getaffinity(0, sizeof(others), &others) == 0 &&
	    CPU_ISSET(cpu, &others) && CPU_COUNT(&others) > 1) {
		CPU_CLR(cpu, &others);
		sched_setaffinity(spare.pid, sizeof(others), &others);
	}
	if (send_fds(spare.fd, r, sizeof(*r), fds, PRELOAD_FDS +
		     !!(r->flags & PRELOAD_MEMORY)) < 0 ||
	    write_full(spare.fd, strs->data, strs->len) < 0) {
		kill_spare();
		return -1;
	}
	return 0;
}

/* Let the spare that has a request run it: its pid, or -1 (it is gone,
 * and ran none of the app). */
static pid_t give_go(void)
{
	struct spare_go msg;
	pid_t pid = spare.pid;

	memset(&msg, 0, sizeof(msg));
	msg.go = SPARE_GO;
	msg.client = client_pid;
	msg.cpus = client_cpus;
	if (write_full(spare.fd, &msg, sizeof(msg)) < 0) {
		kill_spare();
		return -1;
	}
	close(spare.fd);
	spare.pid = 0;
	spare.fd = -1;
	return pid;
}

static void add_child(pid_t pid, int fd)
{
	if (nchildren == children_cap) {
		children_cap = children_cap ? 2 * children_cap : 16;
		children = xrealloc(children, children_cap * sizeof(*children));
	}
	children[nchildren++] = (struct child){ pid, fd, 0 };
}

static void launch(int conn)
{
	struct preload_request r;
	struct buf strs = BUF_INIT, why = BUF_INIT;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct timeval tv = { REQUEST_TIMEOUT, 0 };
	int fds[PRELOAD_FDS_MAX];
	char **v = NULL;
	const char *changed = NULL, *env;
	size_t n;
	pid_t pid = -1;
	int given;

	if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		error_errno("cannot read a client's credentials");
		close(conn);
		return;
	}
	if (cred.uid != getuid()) {
		warning("refused a launch by uid %u (pid %d): not this user's",
			(unsigned)cred.uid, (int)cred.pid);
		refuse(conn, "another user");
		return;
	}
	setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (read_request(conn, &r, fds, &strs) < 0) {
		warning("refused a malformed launch request (pid %d)",
			(int)cred.pid);
		refuse(conn, "malformed request");
		goto out;
	}
	if (r.flags & PRELOAD_ENDED) {
		child_ended(cred.pid, (int)r.argc);
		close(conn);
		goto out;
	}
	n = 1 + (size_t)r.argc + (size_t)r.envc + (size_t)r.npyflags;
	v = xcalloc(n, sizeof(*v));
	if (r.argc > PRELOAD_MAX_LEN || r.envc > PRELOAD_MAX_LEN ||
	    r.npyflags > PRELOAD_MAX_LEN || split_strings(&strs, v, n) < 0) {
		close_fds(fds, PRELOAD_FDS_MAX);
		refuse(conn, "malformed request");
		goto out;
	}
	if (stale) {
		close_fds(fds, PRELOAD_FDS_MAX);
		refuse(conn, "stale");
		goto out;
	}
	/* The spare sets itself up while the server checks the request and
	 * the loaded files: it runs nothing of the app until told to go on
	 * (and is killed if the launch is refused). */
	given = give_to_spare(&r, fds, &strs) == 0;
	if (sched_getaffinity(cred.pid, sizeof(client_cpus), &client_cpus) < 0)
		sched_getaffinity(0, sizeof(client_cpus), &client_cpus);
	client_pid = cred.pid;
	if (!same_strings(v + 1 + r.argc + r.envc, r.npyflags,
			  opts->python_flags)) {
		buf_adds(&why, "python3's options (--python-flags) differ "
			 "from the server's");
		goto refused;
	}
	if ((env = env_differs(v + 1 + r.argc, r.envc))) {
		buf_addf(&why, "%.*s differs from the server's",
			 (int)strcspn(env, "="), env);
		goto refused;
	}
	/* Stale code is never run: each loaded file is checked before the
	 * app's code runs. */
	if ((changed = changed_file())) {
		warning("'%s' changed: loading the code again when the "
			"running launches end", changed);
		stale = 1;
		buf_adds(&why, "stale");
		goto refused;
	}
	if (given)
		pid = give_go();
	/* Another thread may hold a lock a child forked now would copy,
	 * held for good (a spare was forked when none ran). */
	if (pid < 0 && other_threads(&why)) {
		warning("refused a launch: %s is running", why.data);
		buf_adds(&why, " is running");
		goto refused;
	}
	if (pid < 0) {
		pid = pyrt_preload_fork();
		if (pid == 0) {
			leave_server();
			close(conn);
			run_request(fds, &r, v);
		}
	}
	close_fds(fds, PRELOAD_FDS_MAX);
	if (pid < 0) {
		error_errno("cannot fork");
		refuse(conn, "cannot fork");
		goto out;
	}
	/* Also here, so that the client can signal the group as soon as
	 * it knows the pid. */
	setpgid(pid, pid);
	send_reply(conn, PRELOAD_STARTED, (int)pid, NULL);
	add_child(pid, conn);
	spare_wanted = 1;
	goto out;
refused:
	if (given)
		kill_spare();
	close_fds(fds, PRELOAD_FDS_MAX);
	refuse(conn, why.data);
out:
	clock_gettime(CLOCK_MONOTONIC, &last_active);
	free(v);
	buf_release(&strs);
	buf_release(&why);
}

static void reap(void)
{
	size_t i;
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < nchildren; i++)
			if (children[i].pid == pid)
				break;
		if (pid == spare.pid) {
			/* Not to be forked again until the next launch. */
			close(spare.fd);
			spare.pid = 0;
			spare.fd = -1;
			spare_wanted = 0;
			continue;
		}
		if (i == nchildren)
			continue;
		if (!children[i].told)
			send_reply(children[i].fd, PRELOAD_EXIT, status, NULL);
		close(children[i].fd);
		children[i] = children[--nchildren];
		clock_gettime(CLOCK_MONOTONIC, &last_active);
	}
	if (!nchildren)
		make_spare();
}

/* The pages a launch wrote are for this server's code only. */
static void forget_pages(void)
{
	if (opts->pages)
		unlink(opts->pages);
}

static void cleanup(void)
{
	kill_spare();
	forget_pages();
	if (owns_socket && opts->socket)
		unlink(opts->socket);
}

/* The server again, from its own binary, on the same socket: the code
 * on disk is what it imports this time. */
static int NORETURN run_again(void)
{
	size_t n = 0;
	char **argv, fd[16];

	while (opts->argv[n])
		n++;
	argv = xcalloc(n + 2, sizeof(*argv));
	argv[0] = (char *)progname;
	memcpy(argv + 1, opts->argv, n * sizeof(*argv));
	snprintf(fd, sizeof(fd), "%d", listen_fd);
	fcntl(listen_fd, F_SETFD, 0);
	if (owns_socket)
		setenv("PYPRIME_PRELOAD_FD", fd, 1);
	else {
		/* systemd's socket: passed on as systemd passed it. */
		char pid[16];

		if (listen_fd != 3 && dup2(listen_fd, 3) < 0)
			die_errno("cannot keep the socket");
		snprintf(pid, sizeof(pid), "%d", (int)getpid());
		setenv("LISTEN_FDS", "1", 1);
		setenv("LISTEN_PID", pid, 1);
	}
	close(sig_pipe[0]);
	close(sig_pipe[1]);
	kill_spare();
	forget_pages();
	execv("/proc/self/exe", argv);
	die_errno("cannot run the server again");
}

/* Milliseconds since the last launch or child's end. */
static long quiet_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - last_active.tv_sec) * 1000 +
		(now.tv_nsec - last_active.tv_nsec) / 1000000;
}

static long idle_left_ms(void)
{
	long ms;

	if (!opts->idle_exit || nchildren)
		return -1;
	ms = (long)(opts->idle_exit * 1000) - quiet_ms();
	return ms > 0 ? ms : 0;
}

/* How long poll() may wait before the next spare is due: -1 (none is
 * due), 0 (it is now), or milliseconds. */
static long spare_due_ms(void)
{
	long ms;

	if (opts->no_spare || !spare_wanted || spare.pid > 0 || stale)
		return -1;
	ms = SPARE_DELAY_MS - quiet_ms();
	return ms > 0 ? ms : 0;
}

static int serve(void)
{
	struct pollfd p[2];
	long timeout, due;
	int conn;

	clock_gettime(CLOCK_MONOTONIC, &last_active);
	for (;;) {
		if (stale && !nchildren)
			run_again();
		timeout = idle_left_ms();
		if (timeout == 0)
			break;
		if ((due = spare_due_ms()) == 0) {
			make_spare();
			continue;
		}
		if (due > 0 && (timeout < 0 || due < timeout))
			timeout = due;
		p[0] = (struct pollfd){ sig_pipe[0], POLLIN, 0 };
		p[1] = (struct pollfd){ listen_fd, POLLIN, 0 };
		if (poll(p, 2, timeout > INT32_MAX ? -1 : (int)timeout) < 0) {
			if (errno == EINTR)
				continue;
			error_errno("poll");
			return 1;
		}
		if (p[0].revents & POLLIN) {
			unsigned char sigs[64];
			ssize_t i, n = read(sig_pipe[0], sigs, sizeof(sigs));

			for (i = 0; i < n; i++)
				if (sigs[i] != SIGCHLD)
					return 0;
			reap();
		}
		if ((p[1].revents & POLLIN) &&
		    (conn = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
			launch(conn);
	}
	return 0;
}

static int setup_signals(void)
{
	static const int sigs[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP };
	struct sigaction sa;
	size_t i;

	if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return error_errno("cannot make a pipe");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_NOCLDSTOP | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaction(sigs[i], &sa, NULL);
	return 0;
}

/* Where a server in the background says what it refused. */
static void log_to_file(void)
{
	char *log = xasprintf("%s.log", opts->socket);
	int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

	if (fd >= 0) {
		dup2(fd, 2);
		close(fd);
	}
	free(log);
}

/* Descriptors this process was given other than 0-2 and KEEP (-1: none)
 * are closed: the children must not inherit them, and a test harness
 * waiting for its pipes to close must not wait for the server. */
static void close_inherited(int keep, int keep2)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int fd;

	if (!d)
		return;
	while ((e = readdir(d))) {
		fd = atoi(e->d_name);
		if (e->d_name[0] != '.' && fd > 2 && fd != dirfd(d) &&
		    fd != keep && fd != keep2)
			close(fd);
	}
	closedir(d);
}

int preload_serve(const struct preload_opts *o)
{
	int ready[2] = { -1, -1 }, status, null;
	pid_t pid;
	char c = 1;

	opts = o;
	listen_fd = inherited_socket();
	if (listen_fd < 0) {
		if ((listen_fd = make_socket(o->socket)) < 0)
			return 1;
		owns_socket = 1;
		if (!o->foreground) {
			if (pipe2(ready, O_CLOEXEC) < 0)
				die_errno("cannot make a pipe");
			pid = fork();
			if (pid < 0)
				die_errno("cannot fork");
			if (pid > 0) {
				/* Ready when the child says so; its
				 * status if it ends first. */
				close(ready[1]);
				close(listen_fd);
				if (read(ready[0], &c, 1) == 1)
					return 0;
				if (waitpid(pid, &status, 0) < 0 ||
				    !WIFEXITED(status))
					return 1;
				return WEXITSTATUS(status) ?
					WEXITSTATUS(status) : 1;
			}
			close(ready[0]);
			setsid();
		}
	}
	close_inherited(listen_fd, ready[1]);
	/* The server's handlers come after the interpreter's start, which
	 * records the dispositions it finds as the ones its children have. */
	if (pyrt_preload_start(o->dir, o->imports, o->learned,
			       o->python_flags) < 0 ||
	    setup_signals() < 0) {
		cleanup();
		return 1;
	}
	remember_files();
	forget_pages();
	if (ready[1] >= 0) {
		null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			close(null);
		}
		log_to_file();
		if (write(ready[1], &c, 1) < 0) {
			/* the parent is gone: serve anyway */
		}
		close(ready[1]);
	}
	/* The pid, for whoever reads the log: kill(1) ends the server. */
	fprintf(stderr, "%s: serving '%s' on '%s' (pid %d)\n", progname,
		o->name, o->socket ? o->socket : "systemd's socket",
		(int)getpid());
	self_len = sizeof(self_addr);
	if (getsockname(listen_fd, (struct sockaddr *)&self_addr,
			&self_len) < 0 || self_addr.sun_family != AF_UNIX ||
	    self_len <= offsetof(struct sockaddr_un, sun_path) + 1)
		self_len = 0;
	make_spare();
	status = serve();
	cleanup();
	return status;
}
