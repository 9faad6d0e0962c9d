/*
 * util.h: error reporting, allocation, byte buffers and small I/O helpers
 * shared by every module.
 */
#ifndef UTIL_H
#define UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <sys/types.h>

#define NORETURN __attribute__((noreturn))
#define PRINTF(f, a) __attribute__((format(printf, f, a)))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

extern const char *progname;

/* A growable byte buffer; always NUL-terminated when len > 0. */
struct buf {
	char *data;
	size_t len;
	size_t cap;
};
#define BUF_INIT { NULL, 0, 0 }

void buf_grow(struct buf *b, size_t extra);
void buf_add(struct buf *b, const void *data, size_t len);
void buf_adds(struct buf *b, const char *s);
void buf_addf(struct buf *b, const char *fmt, ...) PRINTF(2, 3);
void buf_vaddf(struct buf *b, const char *fmt, va_list ap) PRINTF(2, 0);
void buf_reset(struct buf *b);
void buf_release(struct buf *b);

/*
 * Diagnostics go to stderr as "pyprime: message", or into the capture
 * buffer while one is set (workers send their messages to the parent,
 * which prints them in order).  error*() return -1.
 */
void die(const char *fmt, ...) NORETURN PRINTF(1, 2);
void die_errno(const char *fmt, ...) NORETURN PRINTF(1, 2);
int error(const char *fmt, ...) PRINTF(1, 2);
int error_errno(const char *fmt, ...) PRINTF(1, 2);
void warning(const char *fmt, ...) PRINTF(1, 2);
void warning_errno(const char *fmt, ...) PRINTF(1, 2);
/* A message without the program name prefix (compiler diagnostics). */
void report(const char *fmt, ...) PRINTF(1, 2);
void msg_capture(struct buf *b);
/* Report a usage error and print USAGE to stderr; returns 2. */
int usage_error(const char *usage, const char *fmt, ...) PRINTF(2, 3);
/*
 * getopt_long() for a command, with pyprime's usage errors: an unknown
 * option or one without its value is reported on one line, USAGE follows on
 * stderr, and '?' is returned (the command then returns 2).  SHORTOPTS is
 * getopt's, without a ':' of its own in front; set optind to 1 before the
 * first call.
 */
struct option;
int parse_option(int argc, char **argv, const char *shortopts,
		 const struct option *longopts, const char *usage);

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) PRINTF(1, 2);

/*
 * join_path: BASE and NAME joined with one '/', as os.path.join does for a
 * relative NAME (no separator added when BASE is empty or ends in '/').
 * Returns a new string.
 */
char *join_path(const char *base, const char *name);
/* The directory of PATH ("." for a bare name; a new string), its last part. */
char *path_dir(const char *path);
const char *path_base(const char *path);

/* PATH made absolute (from the current directory) and normalised
 * without looking at the file system, as os.path.abspath(); a new string. */
char *abs_path(const char *path);
/* Read or write exactly LEN bytes, retrying on EINTR and short counts.
 * read_full returns the number read (less only at end of file) or -1. */
ssize_t read_full(int fd, void *p, size_t len);
int write_full(int fd, const void *p, size_t len);
/* The words of S (separated by blanks) appended to the NULL-terminated
 * array V of *N new strings; V as reallocated. */
char **add_words(char **v, size_t *n, const char *s);
/* Send LEN bytes of P on socket SOCK in one message, with the NFDS (at
 * most 8) descriptors FDS (SCM_RIGHTS), without SIGPIPE: 0, or -1 with
 * errno set (a short send is EMSGSIZE). */
int send_fds(int sock, const void *p, size_t len, const int *fds,
	     size_t nfds);

/* Read a whole file (or stream) into B; -1 with errno set on error. */
int read_fd(int fd, struct buf *b);

int has_suffix(const char *s, const char *suffix);
/* qsort(3) comparison of two char * by strcmp. */
int cmp_strings(const void *a, const void *b);
/* Free a NULL-terminated array of strings and the strings. */
void free_strings(char **v);
/*
 * Install HANDLER for SIGINT, SIGTERM and SIGHUP; a signal that was
 * ignored when pyprime started (nohup, a shell's background job) stays
 * ignored.
 */
void catch_stop_signals(void (*handler)(int));

int parse_uint(const char *s, unsigned long max, unsigned long *out);

#endif
