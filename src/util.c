/*
 * util.c: diagnostics in the "pyprime: message" style, checked allocation,
 * byte buffers and full reads and writes.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

const char *progname = "pyprime";
static struct buf *capture;

void buf_grow(struct buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;

	if (need < b->len)
		die("out of memory");
	if (need <= b->cap)
		return;
	if (b->cap * 2 > need)
		need = b->cap * 2;
	b->data = xrealloc(b->data, need);
	b->cap = need;
}

void buf_add(struct buf *b, const void *data, size_t len)
{
	buf_grow(b, len);
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void buf_vaddf(struct buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		die("cannot format message");
	buf_grow(b, (size_t)n);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(b, fmt, ap);
	va_end(ap);
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void buf_release(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void msg_capture(struct buf *b)
{
	capture = b;
}

static void vmessage(const char *prefix, const char *fmt, va_list ap, int err)
{
	struct buf line = BUF_INIT;

	buf_adds(&line, prefix);
	buf_vaddf(&line, fmt, ap);
	if (err)
		buf_addf(&line, ": %s", strerror(err));
	buf_add(&line, "\n", 1);
	if (capture)
		buf_add(capture, line.data, line.len);
	else
		write_full(STDERR_FILENO, line.data, line.len);
	buf_release(&line);
}

static void vprefixed(const char *kind, const char *fmt, va_list ap, int err)
{
	char prefix[64];

	snprintf(prefix, sizeof(prefix), "%s: %s", progname, kind);
	vmessage(prefix, fmt, ap, err);
}

void die(const char *fmt, ...)
{
	va_list ap;

	capture = NULL;
	va_start(ap, fmt);
	vprefixed("", fmt, ap, 0);
	va_end(ap);
	exit(1);
}

void die_errno(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	capture = NULL;
	va_start(ap, fmt);
	vprefixed("", fmt, ap, err);
	va_end(ap);
	exit(1);
}

int error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprefixed("", fmt, ap, 0);
	va_end(ap);
	return -1;
}

int error_errno(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	va_start(ap, fmt);
	vprefixed("", fmt, ap, err);
	va_end(ap);
	errno = err;
	return -1;
}

void warning(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprefixed("warning: ", fmt, ap, 0);
	va_end(ap);
}

void warning_errno(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	va_start(ap, fmt);
	vprefixed("warning: ", fmt, ap, err);
	va_end(ap);
	errno = err;
}

void report(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage("", fmt, ap, 0);
	va_end(ap);
}

int usage_error(const char *usage, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprefixed("", fmt, ap, 0);
	va_end(ap);
	write_full(STDERR_FILENO, usage, strlen(usage));
	return 2;
}

/* "--name" of a long option as the user wrote it, without "=value". */
static int long_name_len(const char *arg)
{
	const char *eq = strchr(arg, '=');

	return eq ? (int)(eq - arg) : (int)strlen(arg);
}

int parse_option(int argc, char **argv, const char *shortopts,
		 const struct option *longopts, const char *usage)
{
	char spec[128];
	const char *arg;
	size_t skip = *shortopts == '+' || *shortopts == '-';
	int c;

	/* A leading ':' (after '+' or '-') makes getopt tell a missing
	 * value (':') from an unknown option ('?'), and say nothing. */
	if (strlen(shortopts) + 2 > sizeof(spec))
		die("option string too long");
	memcpy(spec, shortopts, skip);
	spec[skip] = ':';
	strcpy(spec + skip + 1, shortopts + skip);
	opterr = 0;
	c = getopt_long(argc, argv, spec, longopts, NULL);
	if (c != ':' && c != '?')
		return c;
	/* A long option is always the last element getopt took; a short
	 * one is in optopt. */
	arg = argv[optind - 1];
	if (strncmp(arg, "--", 2))
		usage_error(usage, c == ':' ? "option '-%c' needs a value" :
			    "unknown option '-%c'", optopt);
	else if (c == ':')
		usage_error(usage, "option '%.*s' needs a value",
			    long_name_len(arg), arg);
	else if (optopt)	/* "--quiet=yes" */
		usage_error(usage, "option '%.*s' takes no value",
			    long_name_len(arg), arg);
	else
		usage_error(usage, "unknown option '%.*s'", long_name_len(arg),
			    arg);
	return '?';
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		die("out of memory");
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		die("out of memory");
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		die("out of memory");
	return p;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		die("out of memory");
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	if (!b.data)
		return xstrdup("");
	return b.data;
}

char *path_dir(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xasprintf("%.*s", (int)(slash - path), path);
}

const char *path_base(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

char *join_path(const char *base, const char *name)
{
	size_t n = strlen(base), m = strlen(name);
	int sep = n > 0 && base[n - 1] != '/';
	char *p = xmalloc(n + sep + m + 1);

	memcpy(p, base, n);
	if (sep)
		p[n] = '/';
	memcpy(p + n + sep, name, m + 1);
	return p;
}

ssize_t read_full(int fd, void *p, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = read(fd, (char *)p + done, len - done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

int write_full(int fd, const void *p, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(fd, (const char *)p + done, len - done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		done += (size_t)n;
	}
	return 0;
}

char **add_words(char **v, size_t *n, const char *s)
{
	for (;;) {
		size_t len;

		s += strspn(s, " \t\n");
		if (!*s)
			break;
		len = strcspn(s, " \t\n");
		v = xrealloc(v, (*n + 2) * sizeof(*v));
		v[(*n)++] = xasprintf("%.*s", (int)len, s);
		v[*n] = NULL;
		s += len;
	}
	return v;
}

int send_fds(int sock, const void *p, size_t len, const int *fds,
	     size_t nfds)
{
	union {
		char buf[CMSG_SPACE(8 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { (void *)p, len };
	struct msghdr msg = { 0 };
	struct cmsghdr *c;
	ssize_t n;

	if (nfds > 8) {
		errno = EINVAL;
		return -1;
	}
	memset(&u, 0, sizeof(u));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = u.buf;
	msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
	memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	do
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n >= 0 && (size_t)n != len)
		errno = EMSGSIZE;
	return n >= 0 && (size_t)n == len ? 0 : -1;
}

int read_fd(int fd, struct buf *b)
{
	struct stat st;

	/* A file's size: room for it at once, and one read. */
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
	    st.st_size < (1 << 30))
		buf_grow(b, (size_t)st.st_size + 1);
	for (;;) {
		ssize_t n;

		if (b->cap - b->len < 2)
			buf_grow(b, 65536);
		n = read(fd, b->data + b->len, b->cap - b->len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		b->len += (size_t)n;
	}
	b->data[b->len] = '\0';
	return 0;
}

int has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

int cmp_strings(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void free_strings(char **v)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; v[i]; i++)
		free(v[i]);
	free(v);
}

int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

void catch_stop_signals(void (*handler)(int))
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa, old;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < ARRAY_SIZE(sigs); i++) {
		if (sigaction(sigs[i], NULL, &old) == 0 &&
		    old.sa_handler == SIG_IGN)
			continue;
		sigaction(sigs[i], &sa, NULL);
	}
}

char *abs_path(const char *path)
{
	struct buf b = BUF_INIT;
	char cwd[4096];
	const char *p, *q;

	if (path[0] != '/') {
		if (!getcwd(cwd, sizeof(cwd)))
			die_errno("cannot get the current directory");
		buf_adds(&b, cwd);
	}
	for (p = path; *p; p = q) {
		size_t len;

		while (*p == '/')
			p++;
		q = strchrnul(p, '/');
		len = (size_t)(q - p);
		if (!len || (len == 1 && p[0] == '.'))
			continue;
		if (len == 2 && p[0] == '.' && p[1] == '.') {
			char *slash = b.len ? strrchr(b.data, '/') : NULL;

			b.len = slash ? (size_t)(slash - b.data) : 0;
			if (b.data)
				b.data[b.len] = '\0';
			continue;
		}
		buf_adds(&b, "/");
		buf_add(&b, p, len);
	}
	if (!b.len)
		buf_adds(&b, "/");
	return b.data;
}
