/*
 * output.c: JSON, CSV and table cells.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "output.h"
#include "stats.h"
#include "util.h"

void json_string(FILE *f, const char *s)
{
	const unsigned char *p;

	putc('"', f);
	for (p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", f);
		else if (*p == '\t')
			fputs("\\t", f);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\u%04x", *p);
		else
			putc(*p, f);
	}
	putc('"', f);
}

static void json_number(FILE *f, double x)
{
	if (isfinite(x))
		fprintf(f, "%.6g", x);
	else
		fputs("null", f);
}

void json_stats(FILE *f, const struct stats *s)
{
	fprintf(f, "{\"n\": %zu, \"median\": ", s->n);
	json_number(f, s->median);
	fputs(", \"min\": ", f);
	json_number(f, s->min);
	fputs(", \"max\": ", f);
	json_number(f, s->max);
	fputs(", \"mean\": ", f);
	json_number(f, s->mean);
	fputs(", \"sd\": ", f);
	json_number(f, s->sd);
	fputs(", \"mad\": ", f);
	json_number(f, s->mad);
	fprintf(f, ", \"outliers\": %zu}", s->outliers);
}

void csv_field(FILE *f, const char *s)
{
	const char *p;

	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, f);
		return;
	}
	putc('"', f);
	for (p = s; *p; p++) {
		if (*p == '"')
			putc('"', f);
		putc(*p, f);
	}
	putc('"', f);
}

void print_ms(FILE *f, int width, double ms)
{
	if (isnan(ms))
		fprintf(f, "%*s", width, "-");
	else if (ms >= 1000)
		fprintf(f, "%*.0f", width, ms);
	else if (ms >= 10)
		fprintf(f, "%*.1f", width, ms);
	else
		fprintf(f, "%*.2f", width, ms);
}

FILE *output_open(const char *path, int *close)
{
	FILE *f;

	*close = strcmp(path, "-") != 0;
	if (!*close)
		return stdout;
	f = fopen(path, "we");
	if (!f)
		error_errno("cannot open '%s'", path);
	return f;
}

int output_close(FILE *f, const char *path, int close)
{
	int bad = ferror(f);

	if (close ? fclose(f) != 0 : fflush(f) != 0)
		bad = 1;
	if (bad)
		return error_errno("cannot write '%s'", path);
	return 0;
}
