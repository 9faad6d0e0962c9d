/*
 * stats.h: summary statistics of a series of measurements.
 */
#ifndef STATS_H
#define STATS_H

#include <stddef.h>

struct stats {
	size_t n;
	double median;
	double min;
	double max;
	double mean;
	double sd;		/* sample standard deviation (n - 1); 0 if n < 2 */
	double mad;		/* median of |x - median|, unscaled */
	size_t outliers;	/* samples stats_outlier() flags */
};

/*
 * Summarise the N values V (left unchanged; N may be 0, then every figure
 * is 0).
 */
void stats_compute(const double *v, size_t n, struct stats *s);

/*
 * Whether X is an outlier of the series S summarises: its modified
 * z-score, 0.6745 * |x - median| / MAD, is above 3.5 (Iglewicz and
 * Hoaglin).  With a MAD of 0 only values off the median by more than 1%
 * of it count (any value but 0 when the median is 0).
 */
int stats_outlier(const struct stats *s, double x);

/* The median of the N values V, which it sorts; 0 for N == 0.  For an even
 * N, the mean of the two middle values. */
double stats_median(double *v, size_t n);

#endif
