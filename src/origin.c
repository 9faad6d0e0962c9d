/*
 * origin.c: finding a stripped file's original through the nearest line
 * map (or the one given), and reading the original's lines.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "linemap.h"
#include "origin.h"
#include "util.h"

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

struct origin {
	char *source_dir;	/* --source */
	struct map *fixed;	/* --map */
	struct map **maps;
	size_t nmaps;
	struct source **sources;
	size_t nsources;
	int failed;		/* a bad map was met */
};

/* Where a frame's path was found. */
struct hit {
	const struct map *map;
	const struct linemap_entry *e;
};

static struct map *get_map(struct origin *o, const char *dir)
{
	struct map *map;
	char *file;
	size_t i;

	for (i = 0; i < o->nmaps; i++)
		if (!strcmp(o->maps[i]->dir, dir))
			return o->maps[i];
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
		o->failed = 1;
		linemap_release(&map->m);
	}
	free(file);
	o->maps = xrealloc(o->maps, (o->nmaps + 1) * sizeof(*o->maps));
	o->maps[o->nmaps++] = map;
	return map;
}

/*
 * Find PATH's entry: with --map, the file listed whose path is PATH or
 * ends PATH after a '/', the longest; otherwise in the nearest map in
 * PATH's directory or above it, by the path relative to that directory.
 */
static int find_entry(struct origin *o, const char *path, struct hit *h)
{
	const struct map *map;
	char *dir, *slash;
	const char *p;

	if (o->fixed) {
		h->map = o->fixed;
		for (p = path;; p++) {
			if ((h->e = linemap_find(&o->fixed->m, p)))
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
			map = get_map(o, slash == dir ? "/" : dir);
		} else {
			p = path;
			map = get_map(o, ".");
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

static struct source *get_source(struct origin *o, const char *path)
{
	struct source *src;
	size_t i, start, end, len;
	const char *t;
	int fd;

	for (i = 0; i < o->nsources; i++)
		if (!strcmp(o->sources[i]->path, path))
			return o->sources[i];
	src = xcalloc(1, sizeof(*src));
	src->path = xstrdup(path);
	o->sources = xrealloc(o->sources,
			      (o->nsources + 1) * sizeof(*o->sources));
	o->sources[o->nsources++] = src;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read_fd(fd, &src->text) < 0) {
		/* The map's own source may well be on another machine. */
		if (o->source_dir)
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

static void map_free(struct map *map)
{
	linemap_release(&map->m);
	free(map->dir);
	free(map);
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
		map_free(map);
		return NULL;
	}
	map->state = MAP_OK;
	map->dir = xstrdup(path);
	return map;
}

struct origin *origin_new(const char *map, const char *source_dir)
{
	struct origin *o = xcalloc(1, sizeof(*o));

	if (map && !(o->fixed = load_fixed(map))) {
		free(o);
		return NULL;
	}
	if (source_dir)
		o->source_dir = xstrdup(source_dir);
	return o;
}

void origin_free(struct origin *o)
{
	size_t i;

	if (!o)
		return;
	for (i = 0; i < o->nmaps; i++)
		map_free(o->maps[i]);
	free(o->maps);
	for (i = 0; i < o->nsources; i++) {
		buf_release(&o->sources[i]->text);
		free(o->sources[i]->lines);
		free(o->sources[i]->path);
		free(o->sources[i]);
	}
	free(o->sources);
	if (o->fixed)
		map_free(o->fixed);
	free(o->source_dir);
	free(o);
}

unsigned origin_line(struct origin *o, const char *path, unsigned line)
{
	struct hit h;

	if (!find_entry(o, path, &h))
		return 0;
	return linemap_line(h.e, line);
}

const char *origin_text(struct origin *o, const char *path, unsigned line,
			size_t *len)
{
	struct source *src;
	const char *dir;
	char *file;
	struct hit h;

	if (!find_entry(o, path, &h))
		return NULL;
	dir = o->source_dir ? o->source_dir : h.map->m.source;
	if (!dir)
		return NULL;
	file = join_path(dir, h.e->path);
	src = get_source(o, file);
	free(file);
	if (!src->ok || !line || line > src->n)
		return NULL;
	*len = src->lines[line - 1].end - src->lines[line - 1].start;
	return src->text.data + src->lines[line - 1].start;
}

int origin_failed(const struct origin *o)
{
	return o->failed;
}
