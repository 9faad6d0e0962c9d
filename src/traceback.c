/*
 * traceback.c: rewriting a traceback of stripped code: frame lines parsed,
 * their numbers mapped back, the original's source lines and carets put in.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "origin.h"
#include "traceback.h"
#include "util.h"

/* What both of Python's printers put before a frame's source line. */
#define SOURCE_INDENT "    "
#define FILE_MARK "  File \""
#define LINE_MARK "\", line "

/* One line of input: LEN bytes, then EOL bytes of "\n" or "\r\n". */
struct line {
	char *s;
	size_t cap, len, eol;
};

/* The input, with room to look two lines ahead and push one back. */
struct input {
	FILE *f;
	struct line ring[3];
	unsigned next;
	struct line *last;
	int pushed;
};

/* One traceback_map() call. */
struct state {
	struct input in;
	FILE *out;
	struct origin *o;
	int stack_dump;		/* printed without positions, so no carets */
};

/* The parts of '  File "P", line N, in NAME' (and of the forms without
 * ", in NAME" and with " in NAME"), as offsets into the line. */
struct frame {
	size_t prefix;		/* what comes before FILE_MARK */
	size_t path, pathlen;
	size_t num, numlen;
	int named;		/* not the SyntaxError form */
};

static struct line *input_get(struct input *in)
{
	struct line *l;
	ssize_t n;

	if (in->pushed) {
		in->pushed = 0;
		return in->last;
	}
	l = &in->ring[in->next];
	n = getline(&l->s, &l->cap, in->f);
	if (n <= 0)
		return NULL;
	in->next = (in->next + 1) % ARRAY_SIZE(in->ring);
	l->len = (size_t)n;
	l->eol = 0;
	if (l->s[l->len - 1] == '\n') {
		l->eol = l->len >= 2 && l->s[l->len - 2] == '\r' ? 2 : 1;
		l->len -= l->eol;
	}
	in->last = l;
	return l;
}

/* Have the next input_get() return the line the last one did. */
static void input_unget(struct input *in)
{
	in->pushed = 1;
}

static void emit(FILE *out, const char *s, size_t n)
{
	fwrite(s, 1, n, out);
}

static void emit_line(FILE *out, const struct line *l)
{
	emit(out, l->s, l->len + l->eol);
}

static int starts_with(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && !memcmp(s, prefix, n);
}

static int ends_with(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);

	return len >= n && !memcmp(s + len - n, suffix, n);
}

/* Characters, as Python counts them: code points of UTF-8. */
static size_t chars(const char *s, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			n++;
	return n;
}

/* The byte offset of character CH of S (LEN bytes at most). */
static size_t char_offset(const char *s, size_t len, size_t ch)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80 && !ch--)
			return i;
	return len;
}

/* The length of the whitespace character (as str.isspace() has it, in
 * UTF-8) that S[0..LEN) is, or 0. */
static size_t space_len(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;

	if (len == 1 && ((s[0] >= '\t' && s[0] <= '\r') || s[0] == ' ' ||
			 (s[0] >= 0x1c && s[0] <= 0x1f)))
		return 1;
	if (len == 2 && s[0] == 0xc2 && (s[1] == 0x85 || s[1] == 0xa0))
		return 2;
	if (len != 3)
		return 0;
	if ((s[0] == 0xe1 && s[1] == 0x9a && s[2] == 0x80) ||
	    (s[0] == 0xe2 && s[1] == 0x80 && (s[2] <= 0x8a || s[2] == 0xa8 ||
					      s[2] == 0xa9 || s[2] == 0xaf)) ||
	    (s[0] == 0xe2 && s[1] == 0x81 && s[2] == 0x9f) ||
	    (s[0] == 0xe3 && s[1] == 0x80 && s[2] == 0x80))
		return 3;
	return 0;
}

/* Whitespace at the start or end of S, in bytes. */
static size_t leading_space(const char *s, size_t len)
{
	size_t i = 0, n, k;

	while (i < len) {
		for (n = 0, k = 1; k <= 3 && i + k <= len && !n; k++)
			n = space_len(s + i, k);
		if (!n)
			break;
		i += n;
	}
	return i;
}

static size_t trailing_space(const char *s, size_t len)
{
	size_t i = len, n, k;

	while (i > 0) {
		for (n = 0, k = 1; k <= 3 && k <= i && !n; k++)
			n = space_len(s + i - k, k);
		if (!n)
			break;
		i -= n;
	}
	return len - i;
}

/*
 * Whether the code in S (LEN bytes, starting outside any string) goes on
 * on the next line: a bracket or a triple-quoted string left open, a
 * backslash at the end, or a compound statement's header (ending in ':').
 * A string begun on an earlier line fools it.
 */
static int continues(const char *s, size_t len)
{
	size_t i = 0;
	int depth = 0;
	char last = 0;

	while (i < len) {
		char c = s[i];

		if (c == '#')
			break;
		if (c != ' ' && c != '\t' && c != '\f')
			last = c;
		if (c == '\'' || c == '"') {
			int triple = i + 2 < len && s[i + 1] == c && s[i + 2] == c;
			size_t q = triple ? 3 : 1;

			for (i += q;; i++) {
				if (i >= len)
					return triple;
				if (s[i] == '\\') {
					if (++i >= len)
						return 1;
				} else if (s[i] == c && (!triple || (i + 2 < len &&
						s[i + 1] == c && s[i + 2] == c))) {
					i += q;
					break;
				}
			}
			continue;
		}
		if (c == '(' || c == '[' || c == '{')
			depth++;
		else if ((c == ')' || c == ']' || c == '}') && depth > 0)
			depth--;
		else if (c == '\\' && i + 1 == len)
			return 1;
		i++;
	}
	return depth > 0 || last == ':';
}

/*
 * Parse L as a frame line into F.  The path runs up to the last
 * '", line N' that is followed by the end of the line, ", in " or " in "
 * (faulthandler's form), so that a path may hold anything.
 */
static int parse_frame(const struct line *l, struct frame *f)
{
	const char *s = l->s, *mark;
	size_t i, j;

	mark = memmem(s, l->len, FILE_MARK, strlen(FILE_MARK));
	if (!mark)
		return 0;
	f->prefix = (size_t)(mark - s);
	f->path = f->prefix + strlen(FILE_MARK);
	for (i = l->len; i-- > f->path;) {
		if (!starts_with(s + i, l->len - i, LINE_MARK))
			continue;
		f->num = i + strlen(LINE_MARK);
		for (j = f->num; j < l->len && s[j] >= '0' && s[j] <= '9'; j++)
			;
		f->numlen = j - f->num;
		if (!f->numlen || f->numlen > 9)
			continue;
		f->named = starts_with(s + j, l->len - j, ", in ") ||
			   starts_with(s + j, l->len - j, " in ");
		if (!f->named && j != l->len)
			continue;
		f->pathlen = i - f->path;
		return !memchr(s + f->path, '\0', f->pathlen);
	}
	return 0;
}

/* Whether L is a caret line under source line SRC, whose text starts at
 * INDENT: the same prefix, blanks, then '^' and '~' only.  *START is where
 * the carets start in the text, in characters (blanks are one byte). */
static int caret_line(const struct line *l, const struct line *src,
		      size_t indent, size_t *start)
{
	size_t i = indent;

	if (l->len <= i || memcmp(l->s, src->s, indent))
		return 0;
	while (i < l->len && (l->s[i] == ' ' || l->s[i] == '\t'))
		i++;
	*start = i - indent;
	if (i == l->len)
		return 0;
	for (; i < l->len; i++)
		if (l->s[i] != '^' && l->s[i] != '~')
			return 0;
	return 1;
}

static void emit_carets(FILE *out, const struct line *like, size_t indent, size_t n)
{
	size_t i;

	emit(out, like->s, indent);
	for (i = 0; i < n; i++)
		emit(out, "^", 1);
	emit(out, like->s + like->len, like->eol);
}

/*
 * Write the caret line for ORIG, the original of source line SRC (whose
 * text starts at INDENT), as Python would have; the caret line after SRC
 * in the input, if any, was for the stripped text.  Both of Python's
 * printers (format_frame_summary() in traceback.py, tb_displayline() in
 * Python/traceback.c) underline the span's columns, which strip keeps, run
 * a span over several lines to the end of its first line, and leave the
 * carets out when they would be all '^' under all of the line (stripped of
 * whitespace).  So:
 *
 * - no caret line, and the text complete on its line: a span on one line
 *   covered all of it; the longer original (a comment was removed) gets
 *   carets as long as the text.  Text that goes on on the next line (an
 *   open bracket, a backslash, a header ending in ':') can't be all of a
 *   span on one line, so the span ran over several lines and ORIG's
 *   carets are left out too.
 * - carets up to the end of the text, under code that goes on on the next
 *   line: a span over several lines, now run to the end of ORIG.
 *
 * What can't be told apart is a span over several lines whose part on the
 * first line is complete in itself ("(1  # c" then "/ 0)"): its carets
 * stay as they were, short of the comment.  Nor can a traceback printed
 * without positions (a stack dump, -X no_debug_ranges) be told from one
 * whose spans all covered their lines; a stack dump has a header, though.
 */
static void fix_carets(struct state *st, size_t indent,
		       const struct line *src, const char *orig, size_t origlen)
{
	const char *text = src->s + indent;
	size_t textlen = src->len - indent, start, off, i;
	struct line *l = input_get(&st->in);

	if (l && caret_line(l, src, indent, &start)) {
		off = char_offset(text, textlen, start);
		for (i = indent + start; i < l->len && l->s[i] == '^'; i++)
			;
		if (i == l->len && l->len - indent == chars(text, textlen) &&
		    continues(text + off, textlen - off) &&
		    chars(orig, origlen) > start) {
			emit(st->out, l->s, indent + start);
			emit_carets(st->out, l, 0,
				    chars(orig, origlen) - start);
			return;
		}
		emit_line(st->out, l);
		return;
	}
	if (l)
		input_unget(&st->in);
	if (!st->stack_dump && !continues(text, textlen) &&
	    chars(orig, origlen) > chars(text, textlen))
		emit_carets(st->out, src, indent, chars(text, textlen));
}

/* Copy frame line L and what belongs to it, mapped back if it can be. */
static void do_frame(struct state *st, const struct line *l)
{
	struct frame f;
	struct line *src;
	const char *orig;
	char *path;
	size_t indent, origlen, n;
	unsigned long line;
	unsigned mapped;
	char num[16];

	if (!parse_frame(l, &f)) {
		emit_line(st->out, l);
		return;
	}
	snprintf(num, sizeof(num), "%.*s", (int)f.numlen, l->s + f.num);
	if (parse_uint(num, ~0u, &line) < 0)
		line = 0;	/* which maps nowhere */
	path = xasprintf("%.*s", (int)f.pathlen, l->s + f.path);
	mapped = origin_line(st->o, path, (unsigned)line);
	if (!mapped) {
		emit_line(st->out, l);
		goto out;
	}
	emit(st->out, l->s, f.num);
	fprintf(st->out, "%u", mapped);
	emit(st->out, l->s + f.num + f.numlen,
	     l->len + l->eol - f.num - f.numlen);

	src = input_get(&st->in);
	if (!src)
		goto out;
	indent = f.prefix + strlen(SOURCE_INDENT);
	if (src->len <= indent || memcmp(src->s, l->s, f.prefix) ||
	    !starts_with(src->s + f.prefix, src->len - f.prefix, SOURCE_INDENT) ||
	    src->s[indent] == ' ') {
		input_unget(&st->in);
		goto out;
	}
	orig = origin_text(st->o, path, mapped, &origlen);
	if (orig && f.named) {
		/* As line.strip(); trailing space stays if it did in the input
		 * (tb_displayline() only strips the indentation). */
		n = leading_space(orig, origlen);
		orig += n;
		origlen -= n;
		if (!trailing_space(src->s + indent, src->len - indent))
			origlen -= trailing_space(orig, origlen);
	} else if (orig) {
		/* A SyntaxError's text: print_error_text() strips the
		 * indentation only; its carets stay as they are. */
		for (; origlen && (*orig == ' ' || *orig == '\t' || *orig == '\f');
		     orig++, origlen--)
			;
	}
	if (!orig || !origlen) {
		emit_line(st->out, src);
		goto out;
	}
	emit(st->out, src->s, indent);
	emit(st->out, orig, origlen);
	emit(st->out, src->s + src->len, src->eol);
	if (f.named)
		fix_carets(st, indent, src, orig, origlen);
out:
	free(path);
}

int traceback_map(FILE *in, const char *name, FILE *out, struct origin *o)
{
	struct state st;
	struct line *l;
	size_t i;
	int ret = 0;

	memset(&st, 0, sizeof(st));
	st.in.f = in;
	st.out = out;
	st.o = o;
	while ((l = input_get(&st.in))) {
		if (ends_with(l->s, l->len, "Traceback (most recent call last):"))
			st.stack_dump = 0;
		else if (ends_with(l->s, l->len, "Stack (most recent call last):"))
			st.stack_dump = 1;
		do_frame(&st, l);
	}
	if (ferror(in))
		ret = error_errno("cannot read '%s'", name);
	for (i = 0; i < ARRAY_SIZE(st.in.ring); i++)
		free(st.in.ring[i].s);
	return ret;
}
