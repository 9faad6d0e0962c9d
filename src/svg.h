/*
 * svg.h: a grouped bar chart as a stand-alone SVG document.
 */
#ifndef SVG_H
#define SVG_H

#include <stddef.h>
#include <stdio.h>

/*
 * NGROUPS groups of NSERIES bars: bar (g, s) is value[g * nseries + s];
 * a NAN (or infinite) value is a missing bar, drawn as "n/a" in its place.
 * LO and HI, when not NULL, hold a whisker per bar (for example min and
 * max).
 */
struct chart {
	const char *title;
	const char *subtitle;	/* may be NULL */
	const char *unit;	/* of the values, for the axis label: "ms" */
	const char *axis;	/* what the values are: "start-up time" */
	size_t ngroups;
	const char *const *groups;
	size_t nseries;
	const char *const *series;
	const double *value;
	const double *lo;
	const double *hi;
	const char *note;	/* may be NULL: a line under the chart */
};

/*
 * Write chart C to F as an SVG 1.1 document: a labelled value axis from 0
 * with round ticks, one cluster of bars per group with its name under it,
 * a colour per series and a legend, each bar's value printed above it.
 * Strings are escaped, and may be NULL (but for the group and series
 * arrays when there are groups and series).  F is flushed; returns 0, or
 * -1 if writing failed (errno set).
 */
int svg_write(FILE *f, const struct chart *c);

#endif
