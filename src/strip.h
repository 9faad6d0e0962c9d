/*
 * strip.h: removing docstrings, comments and blank lines from Python 3.11
 * source, with a map from each line of the result to the line it came from.
 *
 * This is pure byte work on one buffer (no interpreter, no I/O), so that
 * the fuzz harness can drive it; proving the result equivalent is
 * pyrt_equivalent()'s job.
 */
#ifndef STRIP_H
#define STRIP_H

#include <stddef.h>

#include "util.h"

/* What to remove: strip_opts.what. */
#define STRIP_DOCSTRINGS 1
#define STRIP_COMMENTS 2
#define STRIP_BLANK_LINES 4
#define STRIP_ALL (STRIP_DOCSTRINGS | STRIP_COMMENTS | STRIP_BLANK_LINES)

struct strip_opts {
	unsigned what;
	int keep_lines;		/* blank removed lines instead of dropping */
	int force_docstrings;	/* even in a module that reads __doc__ */
};

/* Bits of strip_result.flags. */
#define STRIP_READS_DOC 1	/* the source names __doc__ */
#define STRIP_KEPT_DOCSTRINGS 2	/* ... so its docstrings were kept */

struct strip_result {
	struct buf out;		/* the stripped source */
	unsigned *lines;	/* lines[i]: the source line of line i + 1 */
	size_t nlines;		/* lines in OUT (a last partial line counts) */
	size_t in_lines;	/* lines in the source, counted the same way */
	unsigned flags;
	unsigned docstrings;	/* docstrings removed */
	unsigned comments;	/* comments removed */
	/* Set when the source does not tokenize (the result is then empty). */
	const char *error;	/* a static message */
	size_t error_line;
};

/*
 * Strip SRC (LEN bytes, need not be NUL-terminated) as OPTS says into R
 * (zeroed by the caller; free with strip_result_release()).  Returns 0, or
 * -1 with R->error and R->error_line set when the source does not tokenize.
 */
int strip_source(const char *src, size_t len, const struct strip_opts *opts,
		 struct strip_result *r);
void strip_result_release(struct strip_result *r);

#endif
