/*
 * output.h: writing figures as text, JSON and CSV, for "pyprime time" and
 * "pyprime report".
 */
#ifndef OUTPUT_H
#define OUTPUT_H

#include <stdio.h>

struct stats;

/* S as a JSON string literal, escaped (bytes that aren't UTF-8 kept). */
void json_string(FILE *f, const char *s);

/* "{"n": ..., "median": ..., ..., "outliers": ...}" */
void json_stats(FILE *f, const struct stats *s);

/* A CSV field: quoted when it holds a comma, quote or line end. */
void csv_field(FILE *f, const char *s);

/* A figure for a table: "123.4", "1.23", "12345"; "-" for NAN. */
void print_ms(FILE *f, int width, double ms);

/*
 * Open PATH for writing ("-" is stdout) for an output file; *CLOSE says
 * whether to close it.  NULL after reporting an error.
 */
FILE *output_open(const char *path, int *close);
/* Close (or flush) F; -1 after reporting an error writing PATH. */
int output_close(FILE *f, const char *path, int close);

#endif
