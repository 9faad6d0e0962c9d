/*
 * imptime.h: gathering "python3 -X importtime" reports over many runs.
 */
#ifndef IMPTIME_H
#define IMPTIME_H

#include <stddef.h>

struct buf;

/* Figures for one module over the runs that imported it. */
struct imptime_row {
	const char *module;	/* owned by the struct imptime */
	size_t runs;		/* how many runs reported it */
	double self_us;		/* median of its own import time */
	double cumulative_us;	/* median of its time with what it imported */
};

struct imptime;

/* A new, empty gathering; imptime_free() releases it, names included. */
struct imptime *imptime_new(void);
void imptime_free(struct imptime *it);

/*
 * Take one run's standard error, TEXT of LEN bytes: every line of the
 * form "import time: SELF | CUMULATIVE | [spaces]NAME" is counted (the
 * header line "import time: self [us] | ..." is skipped); every other
 * line, a malformed "import time:" one too, is appended verbatim to OTHER
 * when OTHER is not NULL, with its newline if it had one.  A module
 * reported twice in a run gives two samples but counts as one run.
 * Returns the number of rows the run reported.
 */
size_t imptime_add_run(struct imptime *it, const char *text, size_t len,
		       struct buf *other);

/* How many runs have been added. */
size_t imptime_runs(const struct imptime *it);

/*
 * The modules seen so far, with medians, sorted by cumulative time, largest
 * first (ties by name).  Sets *COUNT; the array is new (free() it), the
 * names belong to IT.  The two medians are each over all of a module's
 * samples, independently.
 */
struct imptime_row *imptime_rows(struct imptime *it, size_t *count);

#endif
