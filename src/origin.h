/*
 * origin.h: the original of a stripped file: its line numbers, through the
 * line maps, and its source lines.
 */
#ifndef ORIGIN_H
#define ORIGIN_H

#include <stddef.h>

struct origin;

/*
 * A new lookup.  MAP, when not NULL, is the one line map for every path (a
 * map file, or a directory holding LINEMAP_NAME); without it each path is
 * looked up in the nearest map in its directory or above, each map loaded
 * once.  SOURCE_DIR, when not NULL, is the original tree, instead of the
 * one the map names.  Both are copied.  Returns NULL after reporting a MAP
 * that cannot be loaded; origin_free() releases the rest.
 */
struct origin *origin_new(const char *map, const char *source_dir);
void origin_free(struct origin *o);

/*
 * The original's line number of line LINE (from 1) of the stripped file
 * PATH, as a traceback names it; 0 when PATH is in no map or LINE in no
 * run.  A map met on the way that cannot be read or is malformed is
 * reported, once.
 */
unsigned origin_line(struct origin *o, const char *path, unsigned line);

/*
 * Line LINE (from 1) of the original of the stripped file PATH, LEN bytes
 * without its end, split as Python's readline splits it ("\n", "\r\n" and
 * "\r"; a UTF-8 BOM left out, as linecache does); owned by O.  NULL when
 * PATH is in no map, no original tree is known, or the original is
 * shorter or cannot be read (a warning, once, when SOURCE_DIR named the
 * tree: the map's own may be on another machine).  Each original is read
 * once.
 */
const char *origin_text(struct origin *o, const char *path, unsigned line,
			size_t *len);

/* Whether a map that cannot be read or is malformed was met. */
int origin_failed(const struct origin *o);

#endif
