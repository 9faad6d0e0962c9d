/*
 * tests/fuzz/strip.c: libFuzzer harness for strip_source() and the
 * tokenizer under it.  Any bytes go in; what must hold for any input is
 * checked, and a violation aborts with the reason on stderr.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * The first byte picks the options: its low three bits are
 * strip_opts.what (0, nothing to strip, included), then keep_lines and
 * force_docstrings.  The rest is the source.
 */
#define OPT_KEEP_LINES 8
#define OPT_FORCE_DOCSTRINGS 16

static const char *fuzz_src;
static size_t fuzz_len;
static struct strip_opts fuzz_opts;

static void violated(const char *what, size_t a, size_t b)
{
	fprintf(stderr, "strip invariant violated: %s (%zu, %zu); what=%u "
		"keep_lines=%d force_docstrings=%d, %zu bytes of source\n",
		what, a, b, fuzz_opts.what, fuzz_opts.keep_lines,
		fuzz_opts.force_docstrings, fuzz_len);
	abort();
}

#define CHECK(cond, what, a, b) \
	do { \
		if (!(cond)) \
			violated(what, (size_t)(a), (size_t)(b)); \
	} while (0)

/* Lines as pytok counts them: "\r\n", "\r" and "\n" end one; a last
 * partial line counts. */
static size_t count_lines(const char *s, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		if (s[i] == '\r' && i + 1 < len && s[i + 1] == '\n')
			i++;
		if (s[i] == '\n' || s[i] == '\r')
			n++;
	}
	if (len && s[len - 1] != '\n' && s[len - 1] != '\r')
		n++;
	return n;
}

/* How many times "coding:" or "coding=" occurs in SRC. */
static size_t cookie_like(const char *src, size_t len)
{
	size_t n = 0, i;

	for (i = 0; i + 7 <= len; i++)
		if (!memcmp(src + i, "coding", 6) &&
		    (src[i + 6] == ':' || src[i + 6] == '='))
			n++;
	return n;
}

static void check_result(const struct strip_result *r, const char *src,
			 size_t len, const struct strip_opts *o)
{
	size_t in_lines = count_lines(src, len), i, limit;

	CHECK(r->error == NULL, "an error message on success", 0, 0);
	CHECK(r->in_lines == in_lines, "in_lines is the source's line count",
	      r->in_lines, in_lines);
	CHECK(r->nlines == count_lines(r->out.data, r->out.len),
	      "nlines is the output's line count", r->nlines,
	      count_lines(r->out.data, r->out.len));
	CHECK(r->nlines <= in_lines, "no more lines than the source",
	      r->nlines, in_lines);
	CHECK(!r->nlines || r->lines, "a line map", r->nlines, 0);
	for (i = 0; i < r->nlines; i++) {
		CHECK(r->lines[i] >= 1 && r->lines[i] <= in_lines,
		      "each line maps into the source", i, r->lines[i]);
		CHECK(!i || r->lines[i] > r->lines[i - 1],
		      "the line map increases", i, r->lines[i]);
	}
	/* "pass" (4 bytes) only ever takes the place of a docstring (2 at
	 * least); with --keep-lines a line that removed text spans may get
	 * a backslash. */
	limit = len + 2 * (size_t)r->docstrings + (o->keep_lines ? in_lines : 0);
	CHECK(r->out.len <= limit, "output no longer than the source allows",
	      r->out.len, limit);
	CHECK(!r->out.len || r->out.data[r->out.len] == '\0',
	      "the output is NUL-terminated", r->out.len, 0);
	/* A last line with no line end that loses all it had is no line. */
	if (o->keep_lines)
		CHECK(r->nlines == in_lines ||
		      (r->nlines + 1 == in_lines && len &&
		       src[len - 1] != '\n' && src[len - 1] != '\r' &&
		       (!r->out.len || r->out.data[r->out.len - 1] == '\n' ||
			r->out.data[r->out.len - 1] == '\r')),
		      "--keep-lines keeps every line", r->nlines, in_lines);
	if (!o->what) {
		CHECK(r->out.len == len && !memcmp(r->out.data, src, len),
		      "nothing to strip leaves the source as it is", r->out.len,
		      len);
		CHECK(!r->docstrings && !r->comments, "nothing counted as stripped",
		      r->docstrings, r->comments);
	}
	if (!(o->what & STRIP_DOCSTRINGS))
		CHECK(!r->docstrings, "no docstring stripped unless asked",
		      r->docstrings, 0);
	/* Unasked, only a comment that would become the coding cookie goes. */
	if (!(o->what & STRIP_COMMENTS))
		CHECK(r->comments <= cookie_like(src, len),
		      "no comment stripped unless asked", r->comments,
		      cookie_like(src, len));
	if (r->flags & STRIP_KEPT_DOCSTRINGS)
		CHECK((r->flags & STRIP_READS_DOC) && !o->force_docstrings &&
		      !r->docstrings, "docstrings kept only for __doc__",
		      r->flags, r->docstrings);
}

/*
 * Stripping the result again must work: the one way it may fail is
 * indentation, when a source that only the parser would reject (an
 * indented block after no ':') has its levels fall out of step once a line
 * goes.  Comments and blank lines go in one pass, so a second one finds
 * none; docstrings may not (in such a source, a string statement can
 * become the first of a block only then).
 */
static void check_again(const struct strip_result *r,
			const struct strip_opts *o)
{
	struct strip_result again;

	memset(&again, 0, sizeof(again));
	if (strip_source(r->out.data ? r->out.data : "", r->out.len, o,
			 &again)) {
		CHECK(again.error && strstr(again.error, "indent"),
		      "the output tokenizes", again.error_line, 0);
		strip_result_release(&again);
		return;
	}
	/* Without --comments, a comment that reads as a coding cookie may
	 * still go: it would become the cookie once the lines above went. */
	CHECK((o->what & STRIP_COMMENTS) ? !again.comments :
	      again.comments <= cookie_like(r->out.data, r->out.len),
	      "no comment is left", again.comments, 0);
	if (!(o->what & STRIP_DOCSTRINGS))
		CHECK(again.out.len == r->out.len &&
		      !memcmp(again.out.data, r->out.data, r->out.len),
		      "stripping twice changes nothing", again.out.len,
		      r->out.len);
	strip_result_release(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strip_result r;
	const char *src;
	size_t len, in_lines;

	if (!size)
		return 0;
	memset(&fuzz_opts, 0, sizeof(fuzz_opts));
	fuzz_opts.what = data[0] & STRIP_ALL;
	fuzz_opts.keep_lines = !!(data[0] & OPT_KEEP_LINES);
	fuzz_opts.force_docstrings = !!(data[0] & OPT_FORCE_DOCSTRINGS);
	/* libFuzzer's copy is exactly SIZE bytes: reading past the end is
	 * caught. */
	fuzz_src = src = (const char *)data + 1;
	fuzz_len = len = size - 1;

	memset(&r, 0, sizeof(r));
	if (strip_source(src, len, &fuzz_opts, &r)) {
		in_lines = count_lines(src, len);
		CHECK(r.error != NULL, "an error message on failure", 0, 0);
		CHECK(r.error_line >= 1 && r.error_line <= in_lines + 1,
		      "the error's line is in the source", r.error_line,
		      in_lines);
		CHECK(!r.out.len && !r.nlines, "no output on failure",
		      r.out.len, r.nlines);
	} else {
		check_result(&r, src, len, &fuzz_opts);
		check_again(&r, &fuzz_opts);
	}
	strip_result_release(&r);
	return 0;
}
