/*
 * cmd-traceback.c: "pyprime traceback": a Python 3.11 traceback of stripped
 * code, with the line numbers, source lines and carets of the original.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "linemap.h"
#include "util.h"

static const char usage[] =
	"usage: pyprime traceback [--map path] [--source dir] [file]\n";

static const char help[] =
	"\n"
	"Copy a Python traceback (from file, or standard input) to standard\n"
	"output with each frame in a stripped tree pointing at the original's\n"
	"line, and showing that line when the original is at hand.  Any other\n"
	"text is copied as it is.\n"
	"\n"
	"      --map path            the line map for every frame (a file, or a\n"
	"                            directory holding pyprime.linemap); a frame\n"
	"                            maps if its path ends in a file it lists\n"
	"                            (default: the nearest pyprime.linemap above\n"
	"                            each file)\n"
	"      --source dir          the original tree (default: the map's)\n"
	"  -h, --help                show this help\n";

enum { OPT_MAP = 256, OPT_SOURCE };

static const struct option longopts[] = {
	{ "map", required_argument, NULL, OPT_MAP },
	{ "source", required_argument, NULL, OPT_SOURCE },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* What both of Python's printers put before a frame's source line. */
#define SOURCE_INDENT "    "
#define FILE_MARK "  File \""
#define LINE_MARK "\", line "

enum { MAP_ABSENT, MAP_OK, MAP_BAD };

/* A line map looked for in DIR. */
struct map {
	char *dir;
	int state;
	struct linemap m;
};

/* An original source file, split into lines as Python's readline does. */
struct source {
	char *path;
	int ok;
	struct buf text;
	struct span {
		size_t start, end;	/* of a line, without its newline */
	} *lines;
	size_t n, alloc;
};

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

struct state {
	const char *source_dir;	/* --source */
	struct map *fixed;	/* --map */
	struct map **maps;
	size_t nmaps;
	struct source **sources;
	size_t nsources;
	int stack_dump;		/* printed without positions, so no carets */
	int ret;
};

/* Where a frame's path was found. */
struct hit {
	const struct map *map;
	const struct linemap_entry *e;
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

static void emit(const char *s, size_t n)
{
	fwrite(s, 1, n, stdout);
}

static void emit_line(const struct line *l)
{
	emit(l->s, l->len + l->eol);
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

static struct map *get_map(struct state *st, const char *dir)
{
	struct map *map;
	char *file;
	size_t i;

	for (i = 0; i < st->nmaps; i++)
		if (!strcmp(st->maps[i]->dir, dir))
			return st->maps[i];
	map = xcalloc(1, sizeof(*map));
	map->dir = xstrdup(dir);
	file = join_path(dir, LINEMAP_NAME);
	switch (linemap_load(&map->m, file)) {
	case 0:
		map->state = MAP_OK;
		break;
	case 1:
		map->state = MAP_ABSENT;
		break;
	default:
		map->state = MAP_BAD;
		st->ret = 1;
		linemap_release(&map->m);
	}
	free(file);
	st->maps = xrealloc(st->maps, (st->nmaps + 1) * sizeof(*st->maps));
	st->maps[st->nmaps++] = map;
	return map;
}

/*
 * Find PATH's entry: with --map, the file listed whose path is PATH or
 * ends PATH after a '/', the longest; otherwise in the nearest map in
 * PATH's directory or above it, by the path relative to that directory.
 */
static int find_entry(struct state *st, const char *path, struct hit *h)
{
	const struct map *map;
	char *dir, *slash;
	const char *p;

	if (st->fixed) {
		h->map = st->fixed;
		for (p = path;; p++) {
			if ((h->e = linemap_find(&st->fixed->m, p)))
				return 1;
			if (!(p = strchr(p, '/')))
				return 0;
		}
	}
	/* Not a file: <string>, <stdin>, <frozen importlib._bootstrap>. */
	if (path[0] == '<')
		return 0;
	dir = xstrdup(path);
	h->e = NULL;
	for (;;) {
		slash = strrchr(dir, '/');
		if (slash) {
			*slash = '\0';
			p = path + (slash - dir) + 1;
			map = get_map(st, slash == dir ? "/" : dir);
		} else {
			p = path;
			map = get_map(st, ".");
		}
		if (map->state != MAP_ABSENT) {
			h->map = map;
			if (map->state == MAP_OK)
				h->e = linemap_find(&map->m, p);
			break;
		}
		if (!slash || slash == dir)
			break;
	}
	free(dir);
	return h->e != NULL;
}

static struct source *get_source(struct state *st, const char *path)
{
	struct source *src;
	size_t i, start, end, len;
	const char *t;
	int fd;

	for (i = 0; i < st->nsources; i++)
		if (!strcmp(st->sources[i]->path, path))
			return st->sources[i];
	src = xcalloc(1, sizeof(*src));
	src->path = xstrdup(path);
	st->sources = xrealloc(st->sources,
			       (st->nsources + 1) * sizeof(*st->sources));
	st->sources[st->nsources++] = src;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read_fd(fd, &src->text) < 0) {
		/* The map's own source may well be on another machine. */
		if (st->source_dir)
			warning_errno("cannot read '%s'", path);
		if (fd >= 0)
			close(fd);
		return src;
	}
	close(fd);
	src->ok = 1;
	t = src->text.data;
	len = src->text.len;
	/* As linecache, which reads the source as utf-8-sig. */
	start = len >= 3 && !memcmp(t, "\xef\xbb\xbf", 3) ? 3 : 0;
	/* Universal newlines: "\n", "\r\n" and "\r" end a line. */
	for (i = start; i < len; i = start) {
		for (end = i; end < len && t[end] != '\n' && t[end] != '\r'; end++)
			;
		start = end + (end + 1 < len && t[end] == '\r' &&
			       t[end + 1] == '\n' ? 2 : 1);
		if (src->n == src->alloc) {
			src->alloc = src->alloc ? src->alloc * 2 : 256;
			src->lines = xrealloc(src->lines,
					      src->alloc * sizeof(*src->lines));
		}
		src->lines[src->n].start = i;
		src->lines[src->n++].end = end;
	}
	return src;
}

/* Line LINE of H's original, or NULL when there is no original. */
static const char *original_line(struct state *st, const struct hit *h,
				 unsigned line, size_t *len)
{
	const char *dir = st->source_dir ? st->source_dir : h->map->m.source;
	struct source *src;
	char *path;

	if (!dir)
		return NULL;
	path = join_path(dir, h->e->path);
	src = get_source(st, path);
	free(path);
	if (!src->ok || line > src->n)
		return NULL;
	*len = src->lines[line - 1].end - src->lines[line - 1].start;
	return src->text.data + src->lines[line - 1].start;
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

static void emit_carets(const struct line *like, size_t indent, size_t n)
{
	size_t i;

	emit(like->s, indent);
	for (i = 0; i < n; i++)
		emit("^", 1);
	emit(like->s + like->len, like->eol);
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
static void fix_carets(struct state *st, struct input *in, size_t indent,
		       const struct line *src, const char *orig, size_t origlen)
{
	const char *text = src->s + indent;
	size_t textlen = src->len - indent, start, off, i;
	struct line *l = input_get(in);

	if (l && caret_line(l, src, indent, &start)) {
		off = char_offset(text, textlen, start);
		for (i = indent + start; i < l->len && l->s[i] == '^'; i++)
			;
		if (i == l->len && l->len - indent == chars(text, textlen) &&
		    continues(text + off, textlen - off) &&
		    chars(orig, origlen) > start) {
			emit(l->s, indent + start);
			emit_carets(l, 0, chars(orig, origlen) - start);
			return;
		}
		emit_line(l);
		return;
	}
	if (l)
		input_unget(in);
	if (!st->stack_dump && !continues(text, textlen) &&
	    chars(orig, origlen) > chars(text, textlen))
		emit_carets(src, indent, chars(text, textlen));
}

/* Copy frame line L and what belongs to it, mapped back if it can be. */
static void do_frame(struct state *st, struct input *in, const struct line *l)
{
	struct frame f;
	struct hit h;
	struct line *src;
	const char *orig;
	char *path;
	size_t indent, origlen, n;
	unsigned long line;
	unsigned mapped = 0;
	char num[16];
	int found;

	if (!parse_frame(l, &f)) {
		emit_line(l);
		return;
	}
	path = xasprintf("%.*s", (int)f.pathlen, l->s + f.path);
	found = find_entry(st, path, &h);
	free(path);
	snprintf(num, sizeof(num), "%.*s", (int)f.numlen, l->s + f.num);
	if (found && parse_uint(num, ~0u, &line) == 0)
		mapped = linemap_line(h.e, (unsigned)line);
	if (!mapped) {
		emit_line(l);
		return;
	}
	emit(l->s, f.num);
	printf("%u", mapped);
	emit(l->s + f.num + f.numlen, l->len + l->eol - f.num - f.numlen);

	src = input_get(in);
	if (!src)
		return;
	indent = f.prefix + strlen(SOURCE_INDENT);
	if (src->len <= indent || memcmp(src->s, l->s, f.prefix) ||
	    !starts_with(src->s + f.prefix, src->len - f.prefix, SOURCE_INDENT) ||
	    src->s[indent] == ' ') {
		input_unget(in);
		return;
	}
	orig = original_line(st, &h, mapped, &origlen);
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
		emit_line(src);
		return;
	}
	emit(src->s, indent);
	emit(orig, origlen);
	emit(src->s + src->len, src->eol);
	if (f.named)
		fix_carets(st, in, indent, src, orig, origlen);
}

static void state_release(struct state *st)
{
	size_t i;

	for (i = 0; i < st->nmaps; i++) {
		linemap_release(&st->maps[i]->m);
		free(st->maps[i]->dir);
		free(st->maps[i]);
	}
	free(st->maps);
	for (i = 0; i < st->nsources; i++) {
		buf_release(&st->sources[i]->text);
		free(st->sources[i]->lines);
		free(st->sources[i]->path);
		free(st->sources[i]);
	}
	free(st->sources);
	if (st->fixed) {
		linemap_release(&st->fixed->m);
		free(st->fixed->dir);
		free(st->fixed);
	}
}

/* Load --map PATH, a map file or a directory holding one. */
static struct map *load_fixed(const char *path)
{
	struct map *map = xcalloc(1, sizeof(*map));
	struct stat st;
	char *file;
	int ret;

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		file = join_path(path, LINEMAP_NAME);
	else
		file = xstrdup(path);
	ret = linemap_load(&map->m, file);
	if (ret == 1) {
		errno = ENOENT;
		error_errno("cannot open '%s'", file);
	}
	free(file);
	if (ret) {
		linemap_release(&map->m);
		free(map);
		return NULL;
	}
	map->state = MAP_OK;
	map->dir = xstrdup(path);
	return map;
}

int cmd_traceback(int argc, char **argv)
{
	struct state st;
	struct input in;
	struct line *l;
	const char *map = NULL, *file = NULL;
	size_t i;
	int c;

	memset(&st, 0, sizeof(st));
	memset(&in, 0, sizeof(in));
	optind = 1;
	while ((c = parse_option(argc, argv, "h", longopts, usage)) != -1) {
		switch (c) {
		case OPT_MAP:
			map = optarg;
			break;
		case OPT_SOURCE:
			st.source_dir = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			fputs(help, stdout);
			return 0;
		default:
			return 2;
		}
	}
	if (argc - optind > 1)
		return usage_error(usage, "one file at most");
	if (argc > optind && strcmp(argv[optind], "-"))
		file = argv[optind];

	if (map && !(st.fixed = load_fixed(map)))
		return 1;
	in.f = file ? fopen(file, "re") : stdin;
	if (!in.f) {
		error_errno("cannot open '%s'", file);
		state_release(&st);
		return 1;
	}
	while ((l = input_get(&in))) {
		if (ends_with(l->s, l->len, "Traceback (most recent call last):"))
			st.stack_dump = 0;
		else if (ends_with(l->s, l->len, "Stack (most recent call last):"))
			st.stack_dump = 1;
		do_frame(&st, &in, l);
	}
	if (ferror(in.f)) {
		error_errno("cannot read '%s'", file ? file : "standard input");
		st.ret = 1;
	}
	if (file)
		fclose(in.f);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		error_errno("cannot write to standard output");
		st.ret = 1;
	}
	for (i = 0; i < ARRAY_SIZE(in.ring); i++)
		free(in.ring[i].s);
	state_release(&st);
	return st.ret;
}
