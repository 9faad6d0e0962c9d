/*
 * progress.c: "\rcompiling: 120/873 (13%)" on a terminal's stderr.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "progress.h"
#include "util.h"

static const char *label;
static size_t total;
static int active, shown;
static struct timespec last;

void progress_start(const char *what, size_t n, int enable)
{
	active = enable && isatty(STDERR_FILENO);
	label = what;
	total = n;
	shown = 0;
	last.tv_sec = 0;
	last.tv_nsec = 0;
}

void progress_update(size_t done)
{
	struct timespec now;
	char line[128];
	int n;

	if (!active)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (done < total && now.tv_sec - last.tv_sec < 2 &&
	    (now.tv_sec - last.tv_sec) * 1000000000L +
	    (now.tv_nsec - last.tv_nsec) < 100000000L)
		return;
	last = now;
	n = snprintf(line, sizeof(line), "\r%s: %zu/%zu (%zu%%)\033[K", label,
		     done, total, total ? done * 100 / total : 100);
	if (n > 0)
		write_full(STDERR_FILENO, line, strlen(line));
	shown = 1;
}

void progress_clear(void)
{
	if (!active || !shown)
		return;
	write_full(STDERR_FILENO, "\r\033[K", 4);
	shown = 0;
	last.tv_sec = 0;
}

void progress_end(void)
{
	progress_clear();
	active = 0;
}
