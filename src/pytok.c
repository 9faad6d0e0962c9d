/*
 * pytok.c: tokenizing Python 3.11 source (see pytok.h).
 *
 * The rules follow CPython 3.11's Parser/tokenizer.c where they decide a
 * token's extent: string prefixes and quotes, backslash continuations,
 * brackets that join lines, and indentation measured with tabs to the
 * next multiple of 8 and a form feed resetting the column.  What only
 * the parser would reject (a misspelt operator, a bad number) is left to
 * it: such a file fails to compile and is never stripped.
 */
#include <stdlib.h>
#include <string.h>

#include "pytok.h"
#include "util.h"

#define MAXLEVEL 200		/* brackets open at once, as in CPython */
#define MAXINDENT 100		/* indentation levels, as in CPython */

struct scanner {
	const char *s;
	size_t len, pos, line;
	struct pytok_list *list;
	int depth;
	char open[MAXLEVEL];
	size_t open_line[MAXLEVEL];
	int indent[MAXINDENT];
	int nindent;
	const char *err;
	size_t errline;
};

static void emit(struct scanner *sc, int kind, size_t start, size_t end,
		 size_t line)
{
	struct pytok_list *l = sc->list;
	struct pytok *t;

	if (l->n == l->alloc) {
		l->alloc = l->alloc ? 2 * l->alloc : sc->len / 4 + 16;
		l->v = xrealloc(l->v, l->alloc * sizeof(*l->v));
	}
	t = &l->v[l->n++];
	t->kind = kind;
	t->flags = 0;
	t->op = 0;
	t->start = start;
	t->end = end;
	t->line = line;
}

static int fail(struct scanner *sc, const char *msg, size_t line)
{
	sc->err = msg;
	sc->errline = line;
	return -1;
}

static int is_name_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c >= 0x80;
}

static int is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* Whether S (N bytes) is a string prefix: r, u, b, f, rb, br, rf, fr. */
static unsigned string_prefix(const char *s, size_t n, int *ok)
{
	unsigned flags = 0;
	int r = 0, u = 0;
	size_t i;

	*ok = 0;
	if (n > 2)
		return 0;
	for (i = 0; i < n; i++) {
		switch (s[i]) {
		case 'r': case 'R':
			r++;
			break;
		case 'u': case 'U':
			u++;
			break;
		case 'b': case 'B':
			flags |= PYTOK_BYTES;
			break;
		case 'f': case 'F':
			flags |= PYTOK_FSTRING;
			break;
		default:
			return 0;
		}
	}
	if (n == 2 && (u || r != 1))
		return 0;
	*ok = 1;
	return flags;
}

/* A string whose opening quote is at Q and prefix starts at START. */
static int scan_string(struct scanner *sc, size_t start, size_t q,
		       unsigned flags)
{
	const char *s = sc->s;
	size_t len = sc->len, p, n, line = sc->line;
	char quote = s[q];
	int triple = q + 2 < len && s[q + 1] == quote && s[q + 2] == quote;

	for (p = q + (triple ? 3 : 1);; ) {
		if (p >= len)
			return fail(sc, triple ?
				    "unterminated triple-quoted string literal" :
				    "unterminated string literal", line);
		if (s[p] == '\\') {
			p++;
			if ((n = pytok_eol(s, p, len))) {
				p += n;
				sc->line++;
			} else if (p < len) {
				p++;
			}
			continue;
		}
		if (s[p] == quote) {
			if (!triple) {
				p++;
				break;
			}
			if (p + 2 < len && s[p + 1] == quote &&
			    s[p + 2] == quote) {
				p += 3;
				break;
			}
		}
		if ((n = pytok_eol(s, p, len))) {
			if (!triple)
				return fail(sc, "unterminated string literal",
					    line);
			p += n;
			sc->line++;
			continue;
		}
		if (!s[p])
			return fail(sc, "source code cannot contain null bytes",
				    sc->line);
		p++;
	}
	emit(sc, PYTOK_STRING, start, p, line);
	sc->list->v[sc->list->n - 1].flags = flags;
	sc->pos = p;
	return 0;
}

static void scan_number(struct scanner *sc)
{
	const char *s = sc->s;
	size_t p = sc->pos;
	int hex = s[p] == '0' && p + 1 < sc->len &&
		  (s[p + 1] == 'x' || s[p + 1] == 'X');

	for (p++; p < sc->len; p++) {
		unsigned char c = s[p];

		if (is_name_char(c) && c < 0x80)
			continue;
		if (c == '.')
			continue;
		if ((c == '+' || c == '-') && !hex &&
		    (s[p - 1] == 'e' || s[p - 1] == 'E'))
			continue;
		break;
	}
	emit(sc, PYTOK_NUMBER, sc->pos, p, sc->line);
	sc->pos = p;
}

static int scan_op(struct scanner *sc)
{
	static const char *const unmatched[] = {
		"unmatched ')'", "unmatched ']'", "unmatched '}'",
	};
	const char *s = sc->s;
	size_t p = sc->pos, end = p + 1;
	unsigned op = (unsigned char)s[p];

	switch (s[p]) {
	case '(': case '[': case '{':
		if (sc->depth == MAXLEVEL)
			return fail(sc, "too many nested parentheses",
				    sc->line);
		sc->open[sc->depth] = s[p];
		sc->open_line[sc->depth++] = sc->line;
		break;
	case ')': case ']': case '}':
		if (!sc->depth)
			return fail(sc, unmatched[s[p] == ')' ? 0 :
						 s[p] == ']' ? 1 : 2], sc->line);
		sc->depth--;
		break;
	case ':':
		if (end < sc->len && s[end] == '=') {
			op = PYTOK_WALRUS;
			end++;
		}
		break;
	case '-':
		if (end < sc->len && s[end] == '>') {
			op = PYTOK_ARROW;
			end++;
		}
		break;
	}
	emit(sc, PYTOK_OP, p, end, sc->line);
	sc->list->v[sc->list->n - 1].op = op;
	sc->pos = end;
	return 0;
}

/*
 * At the start of a logical line outside brackets: INDENT or DEDENTs as
 * the indentation says.  Blank and comment-only lines have none.
 */
static int indentation(struct scanner *sc)
{
	const char *s = sc->s;
	size_t p = sc->pos;
	int col = 0;

	for (; p < sc->len; p++) {
		if (s[p] == ' ')
			col++;
		else if (s[p] == '\t')
			col = (col / 8 + 1) * 8;
		else if (s[p] == '\f')
			col = 0;
		else
			break;
	}
	if (p >= sc->len || s[p] == '#' || pytok_eol(s, p, sc->len))
		return 0;
	if (col > sc->indent[sc->nindent - 1]) {
		if (sc->nindent == MAXINDENT)
			return fail(sc, "too many levels of indentation",
				    sc->line);
		sc->indent[sc->nindent++] = col;
		emit(sc, PYTOK_INDENT, p, p, sc->line);
		return 0;
	}
	while (col < sc->indent[sc->nindent - 1]) {
		sc->nindent--;
		emit(sc, PYTOK_DEDENT, p, p, sc->line);
	}
	if (col != sc->indent[sc->nindent - 1])
		return fail(sc, "unindent does not match any outer "
			    "indentation level", sc->line);
	return 0;
}

static int scan(struct scanner *sc)
{
	static const char *const never_closed[] = {
		"'(' was never closed", "'[' was never closed",
		"'{' was never closed",
	};
	const char *s = sc->s;
	size_t len = sc->len, n, start;
	int bol = 1, continued = 0, tokens = 0, ok;
	unsigned flags;

	if (len >= 3 && !memcmp(s, "\xef\xbb\xbf", 3))
		sc->pos = 3;
	for (;;) {
		if (bol) {
			if (!sc->depth && !continued && indentation(sc))
				return -1;
			bol = continued = 0;
		}
		while (sc->pos < len && (s[sc->pos] == ' ' ||
		       s[sc->pos] == '\t' || s[sc->pos] == '\f'))
			sc->pos++;
		if (sc->pos >= len)
			break;
		start = sc->pos;
		if ((n = pytok_eol(s, start, len))) {
			if (!sc->depth && tokens) {
				emit(sc, PYTOK_NEWLINE, start, start + n,
				     sc->line);
				tokens = 0;
			} else {
				emit(sc, PYTOK_NL, start, start + n, sc->line);
			}
			sc->pos += n;
			sc->line++;
			bol = 1;
			continue;
		}
		switch (s[start]) {
		case '#':
			while (sc->pos < len && !pytok_eol(s, sc->pos, len))
				sc->pos++;
			emit(sc, PYTOK_COMMENT, start, sc->pos, sc->line);
			continue;
		case '\\':
			n = pytok_eol(s, start + 1, len);
			if (!n)
				return fail(sc, start + 1 < len ?
					    "unexpected character after line "
					    "continuation character" :
					    "unexpected EOF while parsing",
					    sc->line);
			if (sc->list->ncont == sc->list->contalloc) {
				sc->list->contalloc = 2 * sc->list->contalloc + 8;
				sc->list->cont = xrealloc(sc->list->cont,
					sc->list->contalloc * sizeof(size_t));
			}
			sc->list->cont[sc->list->ncont++] = start;
			sc->pos += 1 + n;
			sc->line++;
			bol = continued = 1;
			continue;
		case '\0':
			return fail(sc, "source code cannot contain null bytes",
				    sc->line);
		case '\'': case '"':
			tokens = 1;
			if (scan_string(sc, start, start, 0))
				return -1;
			continue;
		}
		tokens = 1;
		if (is_name_char(s[start]) && !is_digit(s[start])) {
			while (sc->pos < len && is_name_char(s[sc->pos]))
				sc->pos++;
			flags = string_prefix(s + start, sc->pos - start, &ok);
			if (ok && sc->pos < len &&
			    (s[sc->pos] == '\'' || s[sc->pos] == '"')) {
				if (scan_string(sc, start, sc->pos, flags))
					return -1;
				continue;
			}
			/* A BOM is only one at the very start. */
			if (memmem(s + start, sc->pos - start, "\xef\xbb\xbf", 3))
				return fail(sc, "invalid non-printable character "
					    "U+FEFF", sc->line);
			emit(sc, PYTOK_NAME, start, sc->pos, sc->line);
		} else if (is_digit(s[start]) || (s[start] == '.' &&
			   start + 1 < len && is_digit(s[start + 1]))) {
			scan_number(sc);
		} else if (scan_op(sc)) {
			return -1;
		}
	}
	if (continued)
		return fail(sc, "unexpected EOF while parsing", sc->line);
	if (sc->depth) {
		char c = sc->open[sc->depth - 1];

		return fail(sc, never_closed[c == '(' ? 0 : c == '[' ? 1 : 2],
			    sc->open_line[sc->depth - 1]);
	}
	if (tokens)
		emit(sc, PYTOK_NEWLINE, len, len, sc->line);
	while (sc->nindent > 1) {
		sc->nindent--;
		emit(sc, PYTOK_DEDENT, len, len, sc->line);
	}
	emit(sc, PYTOK_END, len, len, sc->line);
	return 0;
}

int pytok_scan(const char *src, size_t len, struct pytok_list *list,
	       const char **err, size_t *errline)
{
	struct scanner sc;
	const char *nul, *p;

	memset(&sc, 0, sizeof(sc));
	sc.s = src;
	sc.len = len;
	sc.line = 1;
	sc.list = list;
	sc.nindent = 1;
	nul = memchr(src, '\0', len);
	if (nul) {
		*err = "source code cannot contain null bytes";
		*errline = 1;
		for (p = src; p < nul; p++)
			*errline += *p == '\n' || (*p == '\r' && p[1] != '\n');
		return -1;
	}
	if (scan(&sc)) {
		*err = sc.err;
		*errline = sc.errline;
		return -1;
	}
	list->lines = len && !pytok_eol(src, len - 1, len) ? sc.line :
		      sc.line - 1;
	return 0;
}

void pytok_release(struct pytok_list *list)
{
	free(list->v);
	free(list->cont);
	memset(list, 0, sizeof(*list));
}
