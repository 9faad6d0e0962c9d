/*
 * svg.c: a grouped bar chart as SVG 1.1.  Text widths are estimated, on
 * the generous side, from DejaVu Sans' metrics so that the layout can keep
 * labels apart.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svg.h"
#include "util.h"

#define FONT_TITLE 18
#define FONT_SUBTITLE 13
#define FONT_LABEL 12		/* ticks, group names, legend, value axis */
#define FONT_VALUE 11

#define PAD 16			/* around the whole chart */
#define MIN_WIDTH 360
#define PLOT_HEIGHT 300
#define BAR_MIN 28
#define BAR_MAX 56
#define BAR_GAP 3		/* between the bars of a group */
#define GROUP_GAP 24		/* at least, between groups */
#define TICK 5
#define SWATCH 12
#define LEGEND_ROW 20

/* Okabe and Ito's colour-blind-safe palette; yellow last, as it is faint
 * on white.  More series than colours reuse them. */
static const char *const palette[] = {
	"#0072B2", "#E69F00", "#009E73", "#CC79A7",
	"#56B4E9", "#D55E00", "#000000", "#F0E442",
};

struct layout {
	double width, height;
	double x0, y0, w, h;	/* the plot area */
	double step, top;	/* tick spacing, the axis' end */
	int nticks;
	int decimals;		/* of the tick labels */
	double bar;		/* a bar's width */
	double slot;		/* a group's */
	double cluster;		/* its bars' */
	double legend_y;
};

static const char *str(const char *s)
{
	return s ? s : "";
}

/* The length of the UTF-8 sequence at S if XML 1.0 allows it, else 0. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n, i;

	if (*s < 0x80)
		return 1;
	if (*s >= 0xc2 && *s <= 0xdf)
		n = 2;
	else if (*s >= 0xe0 && *s <= 0xef)
		n = 3;
	else if (*s >= 0xf0 && *s <= 0xf4)
		n = 4;
	else
		return 0;
	for (i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	/* overlong forms, surrogates, past U+10FFFF, U+FFFE and U+FFFF */
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) ||
	    (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f) ||
	    (s[0] == 0xef && s[1] == 0xbf && s[2] >= 0xbe))
		return 0;
	return n;
}

/* S as character data; what XML 1.0 cannot hold becomes U+FFFD. */
static void put_text(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	while (*s) {
		size_t n = utf8_len(s);

		if (n > 1) {
			fwrite(s, 1, n, f);
			s += n;
			continue;
		}
		if (!n || (*s < 0x20 && *s != '\t' && *s != '\n' &&
			   *s != '\r'))
			fputs("\xef\xbf\xbd", f);
		else if (*s == '&')
			fputs("&amp;", f);
		else if (*s == '<')
			fputs("&lt;", f);
		else if (*s == '>')
			fputs("&gt;", f);
		else if (*s == '"')
			fputs("&quot;", f);
		else if (*s == '\'')
			fputs("&apos;", f);
		else
			putc(*s, f);
		s++;
	}
}

static double text_width(const char *s, double size)
{
	double em = 0;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c & 0xc0) == 0x80)
			continue;
		if (c >= '0' && c <= '9')
			em += 0.64;
		else if (strchr(" .,:;'!|()[]/-fijlrtI", c))
			em += 0.4;
		else if (strchr("mwMW", c))
			em += 1.0;
		else if (c >= 'A' && c <= 'Z')
			em += 0.75;
		else
			em += 0.62;
	}
	return em * size;
}

/* A text element at X, Y, of SIZE unless 0, with ATTRS (each after a
 * space). */
static void text(FILE *f, double x, double y, int size, const char *attrs,
		 const char *s)
{
	fprintf(f, "<text x=\"%.1f\" y=\"%.1f\"", x, y);
	if (size)
		fprintf(f, " font-size=\"%d\"", size);
	fprintf(f, "%s>", attrs);
	put_text(f, s);
	fputs("</text>\n", f);
}

static int missing(double v)
{
	return !isfinite(v);
}

/*
 * What libm would give, without it (the launch client of the same binary
 * starts faster without libm to load): fmax() and fmin(), a NaN argument
 * yielding the other; 10 to the power E, exact up to 1e22 (the nearest
 * double below 1); floor(log10(A)) for a finite A > 0.  floor(), ceil(),
 * round() and fabs() are single instructions with -fno-math-errno.
 */
static double max_of(double a, double b)
{
	return isnan(a) || b > a ? b : a;
}

static double min_of(double a, double b)
{
	return isnan(a) || b < a ? b : a;
}

static double ten_to(int e)
{
	double r = 1;
	int k;

	for (k = e < 0 ? -e : e; k > 0; k--)
		r *= 10;
	return e < 0 ? 1 / r : r;
}

static int decade(double a)
{
	int e = 0;

	while (a >= ten_to(e + 1))
		e++;
	while (a < ten_to(e))
		e--;
	return e;
}

/* V to three significant digits, without an exponent where that reads
 * well: 0.0123, 1.23, 12.3, 123, 1234. */
static void format_value(char *out, size_t size, double v)
{
	double a = fabs(v);
	int e, dec;

	if (missing(v) || v == 0) {
		snprintf(out, size, "%s", v == 0 ? "0" : "n/a");
		return;
	}
	if (a < 1e-4 || a >= 1e9) {
		snprintf(out, size, "%.3g", v);
		return;
	}
	e = decade(a);
	dec = e < 2 ? 2 - e : 0;
	/* 99.96 rounds to 100.0, which has a digit too many */
	if (dec > 0 && fabs(round(v * ten_to(dec))) >= ten_to(e + 1 + dec))
		dec--;
	snprintf(out, size, "%.*f", dec, v);
}

static void format_tick(char *out, size_t size, const struct layout *L,
			int k)
{
	snprintf(out, size, "%.*f", L->decimals, k * L->step);
}

/* Round ticks, 1, 2 or 5 times a power of ten, four to eight of them. */
static void scale(struct layout *L, double vmax)
{
	double raw, mag, f;

	if (!(vmax > 0))
		vmax = 1;
	raw = vmax / 8;
	mag = ten_to(decade(raw));
	f = raw / mag;
	L->step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
	L->nticks = (int)ceil(vmax / L->step - 1e-9);
	L->top = L->nticks * L->step;
	L->decimals = L->step >= 1 ? 0 : -decade(L->step);
}

static char *axis_label(const struct chart *c)
{
	if (!*str(c->unit))
		return xstrdup(str(c->axis));
	return xasprintf("%s (%s)", str(c->axis), c->unit);
}

/*
 * Place the legend's items in rows from L->legend_y, drawn to F unless it
 * is NULL; returns the number of rows.
 */
static size_t legend(FILE *f, const struct chart *c, const struct layout *L)
{
	double x = PAD, y = L->legend_y, right = L->width - PAD;
	size_t s, rows = c->nseries ? 1 : 0;

	for (s = 0; s < c->nseries; s++) {
		const char *name = str(c->series[s]);
		double w = SWATCH + 6 + text_width(name, FONT_LABEL);

		if (x > PAD && x + w > right) {
			x = PAD;
			y += LEGEND_ROW;
			rows++;
		}
		if (f) {
			fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%d\""
				" height=\"%d\" rx=\"2\" fill=\"%s\"/>\n", x,
				y, SWATCH, SWATCH,
				palette[s % ARRAY_SIZE(palette)]);
			text(f, x + SWATCH + 6, y + SWATCH - 1.5, 0, "", name);
		}
		x += w + 20;
	}
	return rows;
}

static void layout(const struct chart *c, struct layout *L)
{
	size_t i, n = c->ngroups * c->nseries;
	double vmax = 0, label = 0, names = 0, ticks = 0, need;
	char *axis = axis_label(c);
	char s[64];
	int k;

	memset(L, 0, sizeof(*L));
	for (i = 0; i < n; i++) {
		if (!missing(c->value[i]))
			vmax = max_of(vmax, c->value[i]);
		if (c->hi && !missing(c->hi[i]))
			vmax = max_of(vmax, c->hi[i]);
		format_value(s, sizeof(s), c->value[i]);
		label = max_of(label, text_width(s, FONT_VALUE));
	}
	scale(L, vmax);
	for (k = 0; k <= L->nticks; k++) {
		format_tick(s, sizeof(s), L, k);
		ticks = max_of(ticks, text_width(s, FONT_LABEL));
	}
	for (i = 0; i < c->ngroups; i++)
		names = max_of(names, text_width(str(c->groups[i]), FONT_LABEL));

	/* A bar is at least as wide as its value, a group as its name. */
	L->bar = max_of(BAR_MIN, label + 4);
	L->cluster = c->nseries * (L->bar + BAR_GAP) - BAR_GAP;
	L->slot = max_of(L->cluster, names) + max_of(GROUP_GAP, L->bar);
	L->x0 = PAD + FONT_LABEL + 10 + ticks + TICK + 4;
	L->w = c->ngroups * L->slot;
	L->width = L->x0 + L->w + PAD;

	need = max_of(MIN_WIDTH, 2 * PAD + text_width(str(c->title),
						    FONT_TITLE * 1.1));
	for (i = 0; i < c->nseries; i++)
		need = max_of(need, 2 * PAD + SWATCH + 6 +
			    text_width(str(c->series[i]), FONT_LABEL));
	if (c->subtitle)
		need = max_of(need, 2 * PAD + text_width(c->subtitle,
						       FONT_SUBTITLE));
	if (c->note)
		need = max_of(need, 2 * PAD + text_width(c->note,
						       FONT_SUBTITLE));
	if (L->width < need) {
		L->w += need - L->width;
		L->width = need;
		if (c->ngroups)
			L->slot = L->w / c->ngroups;
		/* with room to spare, bars widen a little */
		if (c->nseries) {
			double room = (0.6 * L->slot + BAR_GAP) / c->nseries -
				BAR_GAP;

			L->bar = max_of(L->bar, min_of(BAR_MAX, room));
			L->cluster = c->nseries * (L->bar + BAR_GAP) - BAR_GAP;
		}
	}

	L->legend_y = PAD + 14 + (c->subtitle ? 22 : 0) + 16;
	L->y0 = L->legend_y + LEGEND_ROW * legend(NULL, c, L) + 20;
	L->h = max_of(PLOT_HEIGHT, text_width(axis, FONT_LABEL) + 20);
	L->height = ceil(L->y0 + L->h + 22 + (c->note ? 24 : 0) + PAD);
	L->width = ceil(L->width);
	free(axis);
}

static double ypos(const struct layout *L, double v)
{
	/* the axis starts at 0: a negative value is an empty bar */
	return L->y0 + L->h - max_of(v, 0) / L->top * L->h;
}

static void draw_axis(FILE *f, const struct chart *c, const struct layout *L)
{
	double base = L->y0 + L->h;
	char *axis = axis_label(c);
	char s[64];
	int k;

	fputs("<g stroke=\"#e3e3e3\" stroke-width=\"1\">\n", f);
	for (k = 1; k <= L->nticks; k++)
		fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\""
			" y2=\"%.1f\"/>\n", L->x0, ypos(L, k * L->step),
			L->x0 + L->w, ypos(L, k * L->step));
	fputs("</g>\n<g stroke=\"#444\" stroke-width=\"1\">\n", f);
	for (k = 0; k <= L->nticks; k++)
		fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\""
			" y2=\"%.1f\"/>\n", L->x0 - TICK, ypos(L, k * L->step),
			L->x0, ypos(L, k * L->step));
	fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n",
		L->x0, L->y0, L->x0, base);
	fputs("</g>\n", f);

	fprintf(f, "<g font-size=\"%d\" fill=\"#444\" text-anchor=\"end\">\n",
		FONT_LABEL);
	for (k = 0; k <= L->nticks; k++) {
		format_tick(s, sizeof(s), L, k);
		text(f, L->x0 - TICK - 4, ypos(L, k * L->step) + 4, 0, "", s);
	}
	fputs("</g>\n", f);
	fprintf(f, "<text transform=\"translate(%.1f %.1f) rotate(-90)\""
		" font-size=\"%d\" fill=\"#222\" text-anchor=\"middle\">",
		(double)PAD + FONT_LABEL, L->y0 + L->h / 2, FONT_LABEL);
	put_text(f, axis);
	fputs("</text>\n", f);
	free(axis);
}

/* The thin line from LO to HI with a cap at each end. */
static void whisker(FILE *f, const struct layout *L, double x, double lo,
		    double hi)
{
	double cap = min_of(L->bar / 4, 8);
	double y1 = ypos(L, lo), y2 = ypos(L, hi);

	fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n",
		x, y1, x, y2);
	fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n",
		x - cap, y1, x + cap, y1);
	fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n",
		x - cap, y2, x + cap, y2);
}

static int has_whisker(const struct chart *c, size_t i)
{
	return c->lo && c->hi && !missing(c->value[i]) &&
		!missing(c->lo[i]) && !missing(c->hi[i]);
}

/* The centre of series S's bar in group G. */
static double bar_x(const struct layout *L, size_t g, size_t s)
{
	return L->x0 + g * L->slot + (L->slot - L->cluster) / 2 +
		s * (L->bar + BAR_GAP) + L->bar / 2;
}

/* What a bar's tooltip says: "group, series: 123 ms (100 to 140)". */
static void tooltip(FILE *f, const struct chart *c, size_t g, size_t s)
{
	size_t i = g * c->nseries + s;
	char v[64];

	fputs("<title>", f);
	put_text(f, str(c->groups[g]));
	fputs(", ", f);
	put_text(f, str(c->series[s]));
	format_value(v, sizeof(v), c->value[i]);
	fprintf(f, ": %s", v);
	if (!missing(c->value[i]) && *str(c->unit)) {
		fputc(' ', f);
		put_text(f, c->unit);
	}
	if (has_whisker(c, i)) {
		format_value(v, sizeof(v), c->lo[i]);
		fprintf(f, " (%s to ", v);
		format_value(v, sizeof(v), c->hi[i]);
		fprintf(f, "%s)", v);
	}
	fputs("</title>", f);
}

static void draw_bars(FILE *f, const struct chart *c, const struct layout *L)
{
	double base = L->y0 + L->h;
	size_t g, s;
	char v[64];

	fputs("<g stroke=\"none\">\n", f);
	for (g = 0; g < c->ngroups; g++)
		for (s = 0; s < c->nseries; s++) {
			double x = bar_x(L, g, s);
			double y = ypos(L, c->value[g * c->nseries + s]);

			if (missing(c->value[g * c->nseries + s]))
				continue;
			fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\""
				" height=\"%.1f\" fill=\"%s\">", x - L->bar / 2,
				y, L->bar, base - y,
				palette[s % ARRAY_SIZE(palette)]);
			tooltip(f, c, g, s);
			fputs("</rect>\n", f);
		}
	fputs("</g>\n<g stroke=\"#222\" stroke-width=\"1.2\">\n", f);
	for (g = 0; g < c->ngroups; g++)
		for (s = 0; s < c->nseries; s++) {
			size_t i = g * c->nseries + s;

			if (has_whisker(c, i))
				whisker(f, L, bar_x(L, g, s), c->lo[i],
					c->hi[i]);
		}
	fprintf(f, "</g>\n<g font-size=\"%d\" fill=\"#222\""
		" text-anchor=\"middle\">\n", FONT_VALUE);
	for (g = 0; g < c->ngroups; g++)
		for (s = 0; s < c->nseries; s++) {
			size_t i = g * c->nseries + s;
			double x = bar_x(L, g, s), y;

			format_value(v, sizeof(v), c->value[i]);
			if (missing(c->value[i])) {
				fprintf(f, "<text x=\"%.1f\" y=\"%.1f\""
					" fill=\"#777\" font-style=\"italic\">"
					"%s", x, base - 5, v);
				tooltip(f, c, g, s);
				fputs("</text>\n", f);
				continue;
			}
			y = ypos(L, c->value[i]);
			if (has_whisker(c, i))
				y = min_of(y, ypos(L, c->hi[i]));
			text(f, x, y - 4, 0, "", v);
		}
	fputs("</g>\n", f);
}

static void draw_groups(FILE *f, const struct chart *c,
			const struct layout *L)
{
	size_t g;

	fprintf(f, "<g font-size=\"%d\" fill=\"#222\""
		" text-anchor=\"middle\">\n", FONT_LABEL);
	for (g = 0; g < c->ngroups; g++)
		text(f, L->x0 + (g + 0.5) * L->slot, L->y0 + L->h + 20, 0, "",
		     str(c->groups[g]));
	fputs("</g>\n", f);
}

int svg_write(FILE *f, const struct chart *c)
{
	struct layout L;

	layout(c, &L);
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\""
		" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\""
		" font-family=\"sans-serif\">\n<title>", L.width, L.height,
		L.width, L.height);
	put_text(f, str(c->title));
	fprintf(f, "</title>\n<rect width=\"%.0f\" height=\"%.0f\""
		" fill=\"#ffffff\"/>\n", L.width, L.height);
	if (*str(c->title))
		text(f, PAD, PAD + 14, FONT_TITLE,
		     " font-weight=\"bold\" fill=\"#111\"", c->title);
	if (c->subtitle)
		text(f, PAD, PAD + 36, FONT_SUBTITLE, " fill=\"#555\"",
		     c->subtitle);
	fprintf(f, "<g font-size=\"%d\" fill=\"#222\">\n", FONT_LABEL);
	legend(f, c, &L);
	fputs("</g>\n", f);
	draw_axis(f, c, &L);
	draw_bars(f, c, &L);
	draw_groups(f, c, &L);
	if (c->note)
		text(f, PAD, L.y0 + L.h + 44, FONT_SUBTITLE, " fill=\"#555\"",
		     c->note);
	fputs("</svg>\n", f);

	if (fflush(f) == EOF)
		return -1;
	if (ferror(f)) {
		errno = EIO;
		return -1;
	}
	return 0;
}
