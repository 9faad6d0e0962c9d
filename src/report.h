/*
 * report.h: the engine of "pyprime report": a tree's variants built in a
 * scratch directory and timed warm and cold, on disk and in RAM
 * (report.c), and the figures written out as tables, Markdown, JSON, CSV
 * and an SVG chart (report-render.c).
 */
#ifndef REPORT_H
#define REPORT_H

#include <stddef.h>

#include "envinfo.h"
#include "ramdisk.h"
#include "stats.h"
#include "timing.h"
#include "tree.h"

enum variant { V_SOURCE, V_STRIPPED, V_PYC, V_PYC_O2, V_SOURCELESS, NVARIANTS };

/* Names of the variants, of the states (warm, cold) and of the media
 * (disk, ram), as the options and the outputs spell them. */
extern const char *const report_variants[NVARIANTS];
extern const char *const report_states[2];
extern const char *const report_media[2];

struct report_opts {
	struct timing_opts t;
	unsigned variants, states, media;	/* bit sets */
	const char *scratch;
	const char *csv, *svg;
	int markdown;
};

/* One variant timed in one state on one medium. */
struct report_cell {
	enum variant v;
	int state, medium;
	struct series s;
	struct stats wall;
	int done;		/* prepared and not failed */
};

struct report {
	const struct report_opts *o;
	char *self;		/* this program, to build the variants */
	char *scratch;
	struct ramdisk rd;
	int have_rd;
	char *dir[NVARIANTS][2];	/* variant trees, by medium */
	char *script[NVARIANTS][2];
	struct tree_usage usage[NVARIANTS];
	struct report_cell *cell;
	size_t ncells;
	struct series imports[NVARIANTS];
	int failed;
	struct envinfo env;
};

/*
 * Build O's variants in a new directory under O->scratch, copy them to a
 * RAM disk if O asks for one, and time every cell round-robin, then the
 * imports.  R is filled whatever happens and must be given to
 * report_release().  Returns 0 (R->failed is set if some cell's program
 * failed: the rest is measured), -1 after an error message, or
 * RUN_INTERRUPTED when a stop signal came (see run.h).
 */
int report_measure(struct report *r, const struct report_opts *o);

/* Remove R's scratch directory and RAM disk, and free what R holds. */
void report_release(struct report *r);

/*
 * Print the report of R to standard output (unless its JSON goes there)
 * and write the JSON, CSV and SVG files its options name.  Returns 0, or
 * -1 after an error message.
 */
int report_write(const struct report *r);

#endif
