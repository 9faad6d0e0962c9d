/*
 * stats.c: median, spread and outliers of a series of measurements.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"
#include "util.h"

/* The modified z-score's constants (Iglewicz and Hoaglin, 1993). */
#define MAD_SCALE 0.6745
#define MAD_LIMIT 3.5

/* NaNs sort last, so that qsort() still sees a total order. */
static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	if (isnan(x) || isnan(y))
		return !!isnan(x) - !!isnan(y);
	return (x > y) - (x < y);
}

double stats_median(double *v, size_t n)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	if (n % 2)
		return v[n / 2];
	return (v[n / 2 - 1] + v[n / 2]) / 2;
}

void stats_compute(const double *v, size_t n, struct stats *s)
{
	double *tmp, sum = 0, ss = 0;
	size_t i;

	memset(s, 0, sizeof(*s));
	s->n = n;
	if (!n)
		return;
	tmp = xmalloc(n * sizeof(*tmp));
	memcpy(tmp, v, n * sizeof(*tmp));
	s->median = stats_median(tmp, n);
	s->min = tmp[0];
	s->max = tmp[n - 1];

	/* Two passes: the sum of squares about the mean loses no digits to
	 * cancellation, as sum(x^2) - n*mean^2 would. */
	for (i = 0; i < n; i++)
		sum += v[i];
	s->mean = sum / (double)n;
	for (i = 0; i < n; i++)
		ss += (v[i] - s->mean) * (v[i] - s->mean);
	if (n > 1)
		s->sd = sqrt(ss / (double)(n - 1));

	for (i = 0; i < n; i++)
		tmp[i] = fabs(v[i] - s->median);
	s->mad = stats_median(tmp, n);
	free(tmp);

	for (i = 0; i < n; i++)
		if (stats_outlier(s, v[i]))
			s->outliers++;
}

int stats_outlier(const struct stats *s, double x)
{
	double dev = fabs(x - s->median);

	if (!s->n)
		return 0;
	if (s->mad > 0)
		return MAD_SCALE * dev / s->mad > MAD_LIMIT;
	return dev > 0.01 * fabs(s->median);
}
