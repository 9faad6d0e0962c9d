/*
 * pytok.h: a tokenizer for Python 3.11 source, as far as stripping needs:
 * exact token boundaries (strings above all), logical lines, indentation.
 *
 * It works on bytes.  Source in any encoding CPython accepts is
 * ASCII-compatible, so quotes, brackets, '#' and line ends are found the
 * same way whatever the coding cookie says.  Like CPython, "\r\n", "\r"
 * and "\n" all end a line.
 */
#ifndef PYTOK_H
#define PYTOK_H

#include <stddef.h>

enum pytok_kind {
	PYTOK_END,		/* end of input */
	PYTOK_NAME,
	PYTOK_NUMBER,
	PYTOK_STRING,		/* with its prefix; an f-string is one token */
	PYTOK_OP,
	PYTOK_COMMENT,		/* from '#' to the end of the line */
	PYTOK_NEWLINE,		/* ends a logical line */
	PYTOK_NL,		/* a line end inside one, or a blank line's */
	PYTOK_INDENT,
	PYTOK_DEDENT,
};

/* pytok.flags of a string. */
#define PYTOK_FSTRING 1
#define PYTOK_BYTES 2

/* pytok.op of the operators that are not one character. */
#define PYTOK_WALRUS 256	/* := */
#define PYTOK_ARROW 257		/* -> */

struct pytok {
	unsigned char kind;
	unsigned char flags;
	unsigned short op;	/* the character, or PYTOK_WALRUS... */
	size_t start, end;	/* byte offsets; zero-width for INDENT... */
	size_t line;		/* of START, from 1 */
};

struct pytok_list {
	struct pytok *v;
	size_t n, alloc;
	size_t *cont;		/* offsets of line-continuation backslashes */
	size_t ncont, contalloc;
	size_t lines;		/* lines in the source (a last partial one too) */
};

/*
 * Tokenize SRC (LEN bytes) into LIST (zeroed by the caller; free with
 * pytok_release()).  Returns 0, or -1 with a static message in *ERR and
 * its line in *ERRLINE.
 */
int pytok_scan(const char *src, size_t len, struct pytok_list *list,
	       const char **err, size_t *errline);
void pytok_release(struct pytok_list *list);

/* The length of the line end at SRC[POS] ("\r\n" is 2), or 0. */
static inline size_t pytok_eol(const char *src, size_t pos, size_t len)
{
	if (pos >= len)
		return 0;
	if (src[pos] == '\n')
		return 1;
	if (src[pos] == '\r')
		return pos + 1 < len && src[pos + 1] == '\n' ? 2 : 1;
	return 0;
}

#endif
