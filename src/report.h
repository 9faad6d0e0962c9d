/*
 * report.h: the engine of "pyprime report": a tree's variants built in a
 * scratch directory and timed warm and cold, on disk and in RAM
 * (report.c), and the figures written out as tables, Markdown, JSON, CSV
 * and an SVG chart (report-render.c).
 */
#ifndef REPORT_H
#define REPORT_H

#include <stddef.h>
#include <sys/types.h>

#include "envinfo.h"
#include "ramdisk.h"
#include "smaps.h"
#include "stats.h"
#include "timing.h"
#include "tree.h"

/* PRELOADED is the PYC tree served by "pyprime preload", each run a
 * "pyprime launch"; it is not in the default set. */
enum variant {
	V_SOURCE, V_STRIPPED, V_PYC, V_PYC_O2, V_SOURCELESS, V_PRELOADED,
	NVARIANTS
};
#define REPORT_DEFAULT_VARIANTS ((1u << V_PRELOADED) - 1)

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
	/* preloaded: the launch command, the file its child writes its
	 * memory to, and each counted run's USS (kB; NAN if unread) */
	char **launcher;
	char *memfile;
	double *uss;
};

/* The server of the preloaded variant on one medium, a child of this
 * process ("pyprime preload --foreground"). */
struct report_server {
	pid_t pid;		/* 0: not running */
	int failed;		/* did not start: not tried again */
	char *socket, *log;
	struct smaps idle;	/* after the warm-up runs; 0s if unread */
	int have_idle;
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
	struct report_server server[2];	/* by medium */
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

/* Stop R's servers, remove its scratch directory and RAM disk, and free
 * what R holds. */
void report_release(struct report *r);

/*
 * Print the report of R to standard output (unless its JSON goes there)
 * and write the JSON, CSV and SVG files its options name.  Returns 0, or
 * -1 after an error message.
 */
int report_write(const struct report *r);

#endif
