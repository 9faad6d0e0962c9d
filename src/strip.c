/*
 * strip.c: removing docstrings, comments and blank lines (see strip.h).
 *
 * The source is tokenized, what goes is collected as edits (byte ranges
 * to delete, some replaced by "pass" or by spaces), and the result is
 * written line by line: a line that the edits left blank is dropped, or
 * emptied with --keep-lines; a line that starts inside a string, or
 * follows a backslash continuation, is never touched.  Code that stays
 * keeps its columns wherever it keeps its line start, so that a
 * traceback's carets still fit.
 */
#include <stdlib.h>
#include <string.h>

#include "pytok.h"
#include "strip.h"

struct edit {
	size_t start, end;	/* the bytes removed */
	const char *text;	/* put in their place, or NULL */
	unsigned char pad;	/* put spaces in their place */
	unsigned char cont;	/* --keep-lines: end each line with '\' */
};

struct stripper {
	const char *s;
	size_t len;
	const struct strip_opts *o;
	struct pytok_list toks;
	struct edit *e;
	size_t ne, ealloc;
	struct strip_result *r;
	int cookie_line;	/* the line of the coding cookie in force, or 0 */

	/* Writing: the output line being built. */
	size_t line;		/* of the source, at the current byte */
	size_t line_start;	/* in r->out */
	size_t origin;		/* source line of its first kept text */
	size_t begun;		/* source line where it began */
	int touched;		/* an edit removed something from it */
	int in_string;		/* it starts inside a string */
	int continued;		/* the line before ended in a backslash */
	size_t nalloc;
};

static void add_edit(struct stripper *st, size_t start, size_t end,
		     const char *text)
{
	struct edit *e;

	if (st->ne == st->ealloc) {
		st->ealloc = 2 * st->ealloc + 16;
		st->e = xrealloc(st->e, st->ealloc * sizeof(*st->e));
	}
	e = &st->e[st->ne++];
	e->start = start;
	e->end = end;
	e->text = text;
	e->pad = e->cont = 0;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\f';
}

static int tok_is(const struct stripper *st, const struct pytok *t,
		  const char *word)
{
	size_t n = strlen(word);

	return t->kind == PYTOK_NAME && t->end - t->start == n &&
	       !memcmp(st->s + t->start, word, n);
}

static int op_is(const struct pytok *t, unsigned op)
{
	return t->kind == PYTOK_OP && t->op == op;
}

/* The next token from I on that is not a comment or a non-logical line end. */
static size_t skip_nl(const struct stripper *st, size_t i)
{
	while (st->toks.v[i].kind == PYTOK_NL ||
	       st->toks.v[i].kind == PYTOK_COMMENT)
		i++;
	return i;
}

/*
 * Whether the statement starting at token I is nothing but a string
 * literal (implicit concatenation and parentheses included; f-strings and
 * bytes are not docstrings).  Returns the index of the token that ends it
 * (NEWLINE, ';' or END) and its last token in *LAST, or 0.
 */
static size_t docstring_at(const struct stripper *st, size_t i, size_t *last)
{
	const struct pytok *t = st->toks.v;
	int open = 0, closed = 0, strings = 0;

	for (;; i++) {
		i = skip_nl(st, i);
		if (op_is(&t[i], '(') && !strings) {
			open++;
		} else if (t[i].kind == PYTOK_STRING && !closed) {
			if (t[i].flags)
				return 0;
			strings++;
		} else if (op_is(&t[i], ')') && strings && closed < open) {
			closed++;
		} else {
			break;
		}
		*last = i;
	}
	if (!strings || closed != open)
		return 0;
	if (t[i].kind == PYTOK_NEWLINE || t[i].kind == PYTOK_END ||
	    op_is(&t[i], ';'))
		return i;
	return 0;
}

/* Whether only blanks come before byte POS on its line. */
static int first_on_line(const struct stripper *st, size_t pos)
{
	while (pos > 0 && is_space(st->s[pos - 1]))
		pos--;
	return pos == 0 || st->s[pos - 1] == '\n' || st->s[pos - 1] == '\r' ||
	       (pos == 3 && !memcmp(st->s, "\xef\xbb\xbf", 3));
}

static int has_eol(const struct stripper *st, size_t start, size_t end)
{
	for (; start < end; start++)
		if (st->s[start] == '\n' || st->s[start] == '\r')
			return 1;
	return 0;
}

/*
 * Where the line of a statement that ends at POS ends: past blanks and
 * backslash continuations, which would otherwise be left on a line of
 * their own.
 */
static size_t statement_tail(const struct stripper *st, size_t pos)
{
	size_t n;

	for (;;) {
		if (pos < st->len && is_space(st->s[pos]))
			pos++;
		else if (pos < st->len && st->s[pos] == '\\' &&
			 (n = pytok_eol(st->s, pos + 1, st->len)))
			pos += 1 + n;
		else
			return pos;
	}
}

/*
 * Remove the docstring of the body whose first statement starts at token
 * I: BLOCK says the body is an indented block, MODULE that it is a
 * module's.  A string statement that would become the new docstring goes
 * too, and a body left empty gets "pass".
 */
static void strip_docstring(struct stripper *st, size_t i, int block,
			    int module)
{
	const struct pytok *t = st->toks.v;
	size_t end, last = i, k, start, stop;
	struct edit *e;

	while ((end = docstring_at(st, i, &last))) {
		start = t[i].start;
		st->r->docstrings++;
		if (op_is(&t[end], ';')) {
			k = end + 1;
			while (t[k].kind == PYTOK_COMMENT)
				k++;
			if (t[k].kind != PYTOK_NEWLINE &&
			    t[k].kind != PYTOK_END) {
				/* More statements follow on the line. */
				add_edit(st, start, t[k].start, NULL);
				e = &st->e[st->ne - 1];
				if (has_eol(st, start, t[k].start))
					e->cont = st->o->keep_lines;
				else if (!first_on_line(st, start))
					e->pad = 1;
				i = k;
				continue;
			}
			last = end;
			end = k;
		}
		/* The statement ends its line: what comes next? */
		k = skip_nl(st, end + 1 < st->toks.n ? end + 1 : end);
		stop = statement_tail(st, t[last].end);
		if (!module && (!block || t[k].kind == PYTOK_DEDENT ||
				t[k].kind == PYTOK_END)) {
			add_edit(st, start, stop, "pass");
			return;
		}
		add_edit(st, start, stop, NULL);
		if (!block && !module)
			return;
		i = k;
	}
}

/* The first depth-0 ':' of the def or class header starting at token I. */
static size_t header_colon(const struct stripper *st, size_t i)
{
	const struct pytok *t = st->toks.v;
	int depth = 0;

	for (i++; t[i].kind != PYTOK_NEWLINE && t[i].kind != PYTOK_END; i++) {
		if (t[i].kind != PYTOK_OP)
			continue;
		if (t[i].op == '(' || t[i].op == '[' || t[i].op == '{')
			depth++;
		else if (t[i].op == ')' || t[i].op == ']' || t[i].op == '}')
			depth--;
		else if (t[i].op == ':' && !depth)
			return i;
	}
	return 0;
}

static void find_docstrings(struct stripper *st)
{
	const struct pytok *t = st->toks.v;
	size_t i, c, k;
	int bol = 1;

	i = skip_nl(st, 0);
	if (t[i].kind != PYTOK_INDENT)
		strip_docstring(st, i, 0, 1);
	for (i = 0; i < st->toks.n; i++) {
		switch (t[i].kind) {
		case PYTOK_NEWLINE:
			bol = 1;
			/* fall through */
		case PYTOK_NL: case PYTOK_COMMENT:
		case PYTOK_INDENT: case PYTOK_DEDENT:
			continue;
		}
		if (!bol)
			continue;
		bol = 0;
		k = i;
		if (tok_is(st, &t[k], "async") && tok_is(st, &t[k + 1], "def"))
			k++;
		if (!tok_is(st, &t[k], "def") && !tok_is(st, &t[k], "class"))
			continue;
		if (!(c = header_colon(st, k)))
			continue;
		for (k = c + 1; t[k].kind == PYTOK_COMMENT; k++)
			;
		if (t[k].kind != PYTOK_NEWLINE) {
			strip_docstring(st, c + 1, 0, 0);
			continue;
		}
		k = skip_nl(st, k + 1);
		if (t[k].kind == PYTOK_INDENT)
			strip_docstring(st, k + 1, 1, 0);
	}
}

/* Whether the module names __doc__, as a name or a string. */
static int reads_doc(const struct stripper *st)
{
	const struct pytok *t;
	size_t n;

	for (t = st->toks.v; t->kind != PYTOK_END; t++) {
		n = t->end - t->start;
		if (t->kind == PYTOK_NAME && n == 7 &&
		    !memcmp(st->s + t->start, "__doc__", 7))
			return 1;
		if (t->kind == PYTOK_STRING && !t->flags && n == 9 &&
		    !memcmp(st->s + t->start + 1, "__doc__", 7))
			return 1;
		if (t->kind == PYTOK_STRING && (t->flags & PYTOK_FSTRING) &&
		    memmem(st->s + t->start, n, "__doc__", 7))
			return 1;
	}
	return 0;
}

static int prefix_icase(const char *p, const char *end, const char *word)
{
	size_t n = strlen(word);

	return (size_t)(end - p) >= n && !strncasecmp(p, word, n);
}

/*
 * The encoding a PEP 263 coding cookie names on the line P..END, which
 * must be a comment alone ("[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)"), or
 * NULL; *N is its length.
 */
static const char *line_cookie(const char *p, const char *end, size_t *n)
{
	const char *name, *q;

	while (p < end && is_space(*p))
		p++;
	if (p >= end || *p != '#')
		return NULL;
	for (; p + 6 < end; p++) {
		if (memcmp(p, "coding", 6) || (p[6] != ':' && p[6] != '='))
			continue;
		for (q = p + 7; q < end && (*q == ' ' || *q == '\t'); q++)
			;
		for (name = q; q < end && (*q == '-' || *q == '_' || *q == '.' ||
		     (*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'z') ||
		     (*q >= 'A' && *q <= 'Z')); q++)
			;
		if (q > name) {
			*n = (size_t)(q - name);
			return name;
		}
	}
	return NULL;
}

/*
 * The coding cookie in force in S (LEN bytes): on line 1, or on line 2
 * when line 1 is blank or a comment, as CPython reads it.  Returns its
 * line and sets *NAME and *N, or returns 0.
 */
static int effective_cookie(const char *s, size_t len, const char **name,
			    size_t *n)
{
	size_t pos = 0, end;
	const char *p;
	int line;

	if (len >= 3 && !memcmp(s, "\xef\xbb\xbf", 3))
		pos = 3;
	for (line = 1; line <= 2 && pos < len; line++) {
		for (end = pos; end < len && s[end] != '\n' && s[end] != '\r';
		     end++)
			;
		if ((*name = line_cookie(s + pos, s + end, n)))
			return line;
		for (p = s + pos; p < s + end && is_space(*p); p++)
			;
		if (p < s + end && *p != '#')
			return 0;
		pos = end + pytok_eol(s, end, len);
	}
	return 0;
}

/* Whether OUT declares the same source encoding as the source did. */
static int same_cookie(const struct stripper *st)
{
	const char *a, *b;
	size_t an, bn;
	int la = effective_cookie(st->s, st->len, &a, &an);
	int lb = effective_cookie(st->r->out.data, st->r->out.len, &b, &bn);

	return la ? lb && an == bn && !memcmp(a, b, an) : !lb;
}

/*
 * Comments that stay: the shebang, the coding cookie in force, and the
 * pragmas tools read.
 */
static int keep_comment(const struct stripper *st, const struct pytok *t)
{
	static const char *const pragmas[] = {
		"type:", "noqa", "pragma:", "fmt:", "pylint:", "mypy:",
		"isort:", "pyright:", "nosec", "flake8:", "ruff:",
	};
	const char *p = st->s + t->start, *end = st->s + t->end;
	size_t i;

	if (!t->start && t->end > 1 && p[1] == '!')
		return 1;
	if ((int)t->line == st->cookie_line && first_on_line(st, t->start))
		return 1;
	p = st->s + t->start + 1;
	while (p < end && is_space(*p))
		p++;
	for (i = 0; i < ARRAY_SIZE(pragmas); i++)
		if (prefix_icase(p, end, pragmas[i]))
			return 1;
	return 0;
}

static void remove_comment(struct stripper *st, const struct pytok *t)
{
	size_t start = t->start;

	while (start > 0 && is_space(st->s[start - 1]))
		start--;
	add_edit(st, start, t->end, NULL);
	st->r->comments++;
}

/*
 * Remove the comments that read as coding cookies but are not the one in
 * force: they would be once what is before them went.
 */
static void remove_false_cookies(struct stripper *st)
{
	const struct pytok *t;
	const char *end;
	size_t n;

	for (t = st->toks.v; t->kind != PYTOK_END; t++) {
		end = st->s + t->end;
		if (t->kind == PYTOK_COMMENT && (int)t->line != st->cookie_line &&
		    line_cookie(st->s + t->start, end, &n))
			remove_comment(st, t);
	}
}

static void find_comments(struct stripper *st)
{
	const struct pytok *t;

	for (t = st->toks.v; t->kind != PYTOK_END; t++) {
		if (t->kind == PYTOK_COMMENT && !keep_comment(st, t))
			remove_comment(st, t);
	}
}

static int cmp_edits(const void *a, const void *b)
{
	const struct edit *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->end < y->end ? 1 : x->end > y->end ? -1 : 0;
}

/*
 * Sort the edits.  One inside another (a comment in a docstring) goes; one
 * that overlaps the one before (a comment after a docstring's tail of
 * blanks) extends it.
 */
static void sort_edits(struct stripper *st)
{
	size_t i, n = 0;

	if (!st->ne)
		return;
	qsort(st->e, st->ne, sizeof(*st->e), cmp_edits);
	for (i = 0; i < st->ne; i++) {
		if (n && st->e[i].start < st->e[n - 1].end) {
			if (st->e[i].end > st->e[n - 1].end)
				st->e[n - 1].end = st->e[i].end;
			continue;
		}
		st->e[n++] = st->e[i];
	}
	st->ne = n;
}

static void new_line(struct stripper *st, int in_string, int continued)
{
	st->line_start = st->r->out.len;
	st->origin = 0;
	st->begun = st->line;
	st->touched = 0;
	st->in_string = in_string;
	st->continued = continued;
}

/*
 * The output line ends with the line end EOL (LEN bytes, 0 at the end of
 * the input): keep it, empty it or drop it.
 */
static void end_line(struct stripper *st, const char *eol, size_t len)
{
	struct buf *out = &st->r->out;
	size_t i, start = st->line_start;
	int blank = 1;

	/* A BOM is no content, but stays where it is. */
	if (!start && out->len >= 3 && !memcmp(out->data, "\xef\xbb\xbf", 3))
		start = 3;
	for (i = start; i < out->len && blank; i++)
		blank = is_space(out->data[i]);
	if (blank && !st->in_string && !st->continued &&
	    (st->touched || (st->o->what & STRIP_BLANK_LINES))) {
		if (!st->o->keep_lines) {
			out->len = start;
			return;
		}
		/* Kept: a blank line is what it should be already; one
		 * that held removed text is emptied. */
		if (st->touched)
			out->len = start;
	}
	if (!len && out->len == st->line_start)
		return;		/* nothing after the last line end, or no more */
	/* A lone CR and then LF would read as one CRLF. */
	if (len && eol[0] == '\n' && out->len && out->data[out->len - 1] == '\r')
		eol = "\r";
	buf_add(out, eol, len);
	if (st->r->nlines == st->nalloc) {
		st->nalloc = 2 * st->nalloc + 64;
		st->r->lines = xrealloc(st->r->lines,
					st->nalloc * sizeof(unsigned));
	}
	st->r->lines[st->r->nlines++] = st->origin ? st->origin : st->begun;
}

static void copy(struct stripper *st, size_t from, size_t to)
{
	size_t i;

	if (!st->origin)
		for (i = from; i < to; i++)
			if (!is_space(st->s[i])) {
				st->origin = st->line;
				break;
			}
	buf_add(&st->r->out, st->s + from, to - from);
}

static void apply_edit(struct stripper *st, const struct edit *e)
{
	size_t p, n;

	if (e->pad) {
		for (p = e->start; p < e->end; p++)
			buf_add(&st->r->out, " ", 1);
	} else if (e->text) {
		if (!st->origin)
			st->origin = st->line;
		buf_adds(&st->r->out, e->text);
	}
	st->touched = 1;
	for (p = e->start; p < e->end; p++) {
		if (!(n = pytok_eol(st->s, p, e->end)))
			continue;
		if (st->o->keep_lines) {
			if (e->cont)
				buf_add(&st->r->out, "\\", 1);
			end_line(st, st->s + p, n);
			st->line++;
			new_line(st, 0, e->cont);
			st->touched = 1;
		} else {
			st->line++;
		}
		p += n - 1;
	}
}

static void write_output(struct stripper *st)
{
	const char *s = st->s;
	const struct pytok *str = st->toks.v;
	size_t pos = 0, ei = 0, stop, q, n, ci = 0;
	int in_string, continued;

	st->line = 1;
	new_line(st, 0, 0);
	buf_grow(&st->r->out, st->len + 1);
	while (pos < st->len) {
		if (ei < st->ne && st->e[ei].start == pos) {
			apply_edit(st, &st->e[ei]);
			pos = st->e[ei++].end;
			continue;
		}
		stop = ei < st->ne ? st->e[ei].start : st->len;
		for (q = pos; q < stop && s[q] != '\n' && s[q] != '\r'; q++)
			;
		copy(st, pos, q);
		pos = q;
		if (q == stop)
			continue;
		n = pytok_eol(s, q, st->len);
		while (str->kind != PYTOK_END && (str->kind != PYTOK_STRING ||
		       str->end <= q))
			str++;
		in_string = str->kind == PYTOK_STRING && str->start < q;
		while (ci < st->toks.ncont && st->toks.cont[ci] + 1 < q)
			ci++;
		continued = ci < st->toks.ncont && st->toks.cont[ci] + 1 == q;
		end_line(st, s + q, n);
		pos += n;
		st->line++;
		new_line(st, in_string, continued);
	}
	end_line(st, "", 0);
	/* A BOM and nothing else is nothing. */
	if (!st->o->keep_lines && !st->r->nlines)
		st->r->out.len = 0;
	buf_grow(&st->r->out, 1);
	st->r->out.data[st->r->out.len] = '\0';
}

int strip_source(const char *src, size_t len, const struct strip_opts *opts,
		 struct strip_result *r)
{
	struct stripper st;
	const char *cookie;
	size_t n;
	int ret = 0;

	memset(&st, 0, sizeof(st));
	st.s = src;
	st.len = len;
	st.o = opts;
	st.r = r;
	if (pytok_scan(src, len, &st.toks, &r->error, &r->error_line)) {
		ret = -1;
		goto out;
	}
	r->in_lines = st.toks.lines;
	if (reads_doc(&st))
		r->flags |= STRIP_READS_DOC;
	if (opts->what & STRIP_DOCSTRINGS) {
		if (!(r->flags & STRIP_READS_DOC) || opts->force_docstrings)
			find_docstrings(&st);
		else
			r->flags |= STRIP_KEPT_DOCSTRINGS;
	}
	st.cookie_line = effective_cookie(src, len, &cookie, &n);
	if (opts->what & STRIP_COMMENTS)
		find_comments(&st);
	sort_edits(&st);
	write_output(&st);
	if (!same_cookie(&st)) {
		/* A comment moved up to line 1 or 2 and became the cookie. */
		remove_false_cookies(&st);
		sort_edits(&st);
		r->out.len = 0;
		r->nlines = 0;
		write_output(&st);
		if (!same_cookie(&st)) {
			r->error = "stripping would change the coding cookie";
			r->error_line = 1;
			r->out.len = 0;
			r->nlines = 0;
			ret = -1;
		}
	}
out:
	pytok_release(&st.toks);
	free(st.e);
	return ret;
}

void strip_result_release(struct strip_result *r)
{
	buf_release(&r->out);
	free(r->lines);
	memset(r, 0, sizeof(*r));
}
