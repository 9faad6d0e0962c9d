/*
 * pysrc.c: a light lexical scan of Python source bytes: NUL bytes, coding
 * cookies, and the words that make -O output differ from plain output.
 */
#include <ctype.h>
#include <string.h>

#include "pysrc.h"

int pysrc_find_nul(const char *src, size_t len, long *line, long *col)
{
	const char *nul = memchr(src, '\0', len);
	const char *p, *bol = src;
	long n = 1;

	if (!nul)
		return 0;
	for (p = src; p < nul; p++)
		if (*p == '\n' || (*p == '\r' && p[1] != '\n')) {
			n++;
			bol = p + 1;
		}
	*line = n;
	*col = (long)(nul - bol) + 1;
	return 1;
}

/* End of the line starting at P (the newline itself, or END). */
static const char *line_end(const char *p, const char *end)
{
	while (p < end && *p != '\n' && *p != '\r')
		p++;
	return p;
}

static const char *next_line(const char *p, const char *end)
{
	p = line_end(p, end);
	if (p < end && *p == '\r')
		p++;
	if (p < end && *p == '\n')
		p++;
	return p;
}

/*
 * Whether the line [P, END) carries a PEP 263 cookie naming an encoding
 * other than UTF-8 (what CPython's tokenizer looks for:
 * ^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)).
 */
static int foreign_cookie(const char *p, const char *end)
{
	const char *c;
	char name[32];
	size_t n = 0;

	while (p < end && (*p == ' ' || *p == '\t' || *p == '\f'))
		p++;
	if (p == end || *p != '#')
		return 0;
	for (c = p; c + 7 <= end; c++) {
		const char *q;

		if (memcmp(c, "coding", 6) != 0 || (c[6] != ':' && c[6] != '='))
			continue;
		q = c + 7;
		while (q < end && (*q == ' ' || *q == '\t'))
			q++;
		n = 0;
		while (q < end && n < sizeof(name) - 1 &&
		       (isalnum((unsigned char)*q) || *q == '-' || *q == '_' ||
			*q == '.'))
			name[n++] = (char)tolower((unsigned char)*q++);
		if (n == 0)
			continue;
		name[n] = '\0';
		for (n = 0; name[n]; n++)
			if (name[n] == '_')
				name[n] = '-';
		return !(strcmp(name, "utf-8") == 0 || strcmp(name, "utf8") == 0 ||
			 strncmp(name, "utf-8-", 6) == 0);
	}
	return 0;
}

static int is_word(unsigned char c)
{
	return isalnum(c) || c == '_' || c >= 0x80;
}

/* Skip the string literal whose quote is at P; return the byte after it. */
static const char *skip_string(const char *p, const char *end, int fstring,
			       int *debug)
{
	char q = *p;
	int triple = end - p >= 3 && p[1] == q && p[2] == q;
	const char *start;

	p += triple ? 3 : 1;
	start = p;
	while (p < end) {
		if (*p == '\\') {
			p += 2;
			continue;
		}
		if (*p == q && (!triple || (end - p >= 3 && p[1] == q && p[2] == q)))
			break;
		if (!triple && (*p == '\n' || *p == '\r'))
			break;
		p++;
	}
	if (fstring && memmem(start, (size_t)((p < end ? p : end) - start),
			      "__debug__", 9))
		*debug = 1;
	if (p >= end)
		return end;
	return p + (triple && *p == q ? 3 : 1);
}

/* Whether the word [W, W+N) is a string prefix; sets *F for f-strings. */
static int string_prefix(const char *w, size_t n, int *f)
{
	size_t i;
	int r = 0, b = 0, u = 0;

	*f = 0;
	if (n > 2)
		return 0;
	for (i = 0; i < n; i++)
		switch (tolower((unsigned char)w[i])) {
		case 'r': r++; break;
		case 'b': b++; break;
		case 'u': u++; break;
		case 'f': (*f)++; break;
		default: return 0;
		}
	if (r > 1 || b > 1 || *f > 1 || u > 1)
		return 0;
	return !(u && n > 1) && !(b && *f);
}

int pysrc_uses_debug(const char *src, size_t len)
{
	const char *p = src, *end = src + len, *second;
	int debug = 0, f;

	if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	second = next_line(p, end);
	if (foreign_cookie(p, line_end(p, end)) ||
	    foreign_cookie(second, line_end(second, end)))
		return 1;

	while (p < end && !debug) {
		unsigned char c = (unsigned char)*p;

		if (c == '#') {
			p = line_end(p, end);
		} else if (c == '"' || c == '\'') {
			p = skip_string(p, end, 0, &debug);
		} else if (c == '\\') {
			p += 2;
		} else if (is_word(c)) {
			const char *w = p;
			size_t n;

			while (p < end && is_word((unsigned char)*p))
				p++;
			n = (size_t)(p - w);
			if (p < end && (*p == '"' || *p == '\'') &&
			    string_prefix(w, n, &f))
				p = skip_string(p, end, f, &debug);
			else if ((n == 6 && memcmp(w, "assert", 6) == 0) ||
				 (n == 9 && memcmp(w, "__debug__", 9) == 0))
				debug = 1;
		} else {
			p++;
		}
	}
	return debug;
}
